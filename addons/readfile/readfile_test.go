package readfile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// flowsDir holds the flow files written by mitmproxy itself.
const flowsDir = "../../../shared/testdata/mitmproxy-flows"

func needFlows(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(flowsDir); err != nil {
		t.Skipf("mitmproxy's flow files are not available (%v); skipping", err)
	}
}

// recorder records the events each flow gets, in order.
type recorder struct {
	mu     sync.Mutex
	flows  []any
	events [][]string
	logs   []string
	// wsLens and tcpLens record len(messages) at each message event.
	msgLens []int
}

func (r *recorder) add(f any, ev string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.flows); n == 0 || r.flows[n-1] != f {
		r.flows = append(r.flows, f)
		r.events = append(r.events, nil)
	}
	r.events[len(r.events)-1] = append(r.events[len(r.events)-1], ev)
}

func (r *recorder) RequestHeaders(f *flow.HTTPFlow)  { r.add(f, "requestheaders") }
func (r *recorder) Request(f *flow.HTTPFlow)         { r.add(f, "request") }
func (r *recorder) ResponseHeaders(f *flow.HTTPFlow) { r.add(f, "responseheaders") }
func (r *recorder) Response(f *flow.HTTPFlow)        { r.add(f, "response") }
func (r *recorder) Error(f *flow.HTTPFlow)           { r.add(f, "error") }
func (r *recorder) WebSocketStart(f *flow.HTTPFlow)  { r.add(f, "websocket_start") }
func (r *recorder) WebSocketMessage(f *flow.HTTPFlow) {
	r.add(f, "websocket_message")
	r.msgLens = append(r.msgLens, len(f.WebSocket.Messages))
}
func (r *recorder) WebSocketEnd(f *flow.HTTPFlow) { r.add(f, "websocket_end") }
func (r *recorder) TCPStart(f *flow.TCPFlow)      { r.add(f, "tcp_start") }
func (r *recorder) TCPMessage(f *flow.TCPFlow) {
	r.add(f, "tcp_message")
	r.msgLens = append(r.msgLens, len(f.Messages))
}
func (r *recorder) TCPEnd(f *flow.TCPFlow)   { r.add(f, "tcp_end") }
func (r *recorder) TCPError(f *flow.TCPFlow) { r.add(f, "tcp_error") }
func (r *recorder) AddLog(e *addon.LogEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, addon.LevelName(e.Level)+": "+e.Msg)
}

// setup returns a manager with readfile and a recorder after it, options
// set from specs.
func setup(t *testing.T, specs ...string) (*ReadFile, *recorder, *addon.Manager) {
	t.Helper()
	m := addon.NewManager()
	rf := New(m)
	rec := &recorder{}
	if err := m.Add(rf, rec); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Set(specs...); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	return rf, rec, m
}

// TestMitmproxyFiles reads every flow file of mitmproxy's test data and
// checks the events against testdata/events.json, which gen_events.py
// produced with mitmproxy 8.1.1's own reader and eventsequence where it can
// read the file.
func TestMitmproxyFiles(t *testing.T) {
	needFlows(t)
	raw, err := os.ReadFile("testdata/events.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string][][]string
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) < 10 {
		t.Fatalf("events.json lists only %d files", len(want))
	}
	for name, flows := range want {
		t.Run(name, func(t *testing.T) {
			rf, rec, _ := setup(t, "rfile="+filepath.Join(flowsDir, name))
			rf.Running()
			if !rf.Busy() {
				t.Error("Busy() = false after Running with rfile set")
			}
			if err := rf.ReadAll(context.Background()); err != nil {
				t.Fatalf("ReadAll: %v", err)
			}
			if rf.Busy() {
				t.Error("Busy() = true after ReadAll")
			}
			var wantFlows [][]string
			for _, evs := range flows {
				if len(evs) == 1 && strings.HasPrefix(evs[0], "skipped:") {
					continue
				}
				wantFlows = append(wantFlows, evs)
			}
			if got := fmt.Sprint(rec.events); got != fmt.Sprint(wantFlows) {
				t.Errorf("events:\n got %v\nwant %v", got, wantFlows)
			}
			// Message hooks see the messages arrive one by one.
			i := 0
			for _, evs := range rec.events {
				n := 0
				for _, ev := range evs {
					if strings.HasSuffix(ev, "_message") {
						n++
						if rec.msgLens[i] != n {
							t.Errorf("message event %d saw %d messages, want %d", i, rec.msgLens[i], n)
						}
						i++
					}
				}
			}
			for _, f := range rec.flows {
				if hf, ok := f.(*flow.HTTPFlow); ok && hf.IsLive() {
					t.Errorf("flow %s loaded live", hf.ID)
				}
			}
		})
	}
}

// TestHARFiles reads mitmproxy's HAR test files: each entry becomes an
// HTTP flow with the events of a flow with its response or error.
func TestHARFiles(t *testing.T) {
	needFlows(t)
	files, _ := filepath.Glob(filepath.Join(flowsDir, "*.har"))
	more, _ := filepath.Glob(filepath.Join(flowsDir, "har_files", "*.har"))
	files = append(files, more...)
	if len(files) == 0 {
		t.Skip("no HAR files")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			rf, rec, _ := setup(t, "rfile="+path)
			err := rf.ReadAll(context.Background())
			if strings.HasSuffix(path, "brokenfile.har") {
				if err == nil || !strings.Contains(err.Error(), path) {
					t.Fatalf("broken HAR: error %v, want one naming %s", err, path)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadAll: %v", err)
			}
			if len(rec.flows) == 0 {
				t.Fatal("no flows")
			}
			for i, f := range rec.flows {
				hf := f.(*flow.HTTPFlow)
				want := []string{"requestheaders", "request"}
				if hf.Response != nil {
					want = append(want, "responseheaders", "response")
				}
				if hf.WebSocket != nil {
					want = append(want, "websocket_start")
					for range hf.WebSocket.Messages {
						want = append(want, "websocket_message")
					}
					want = append(want, "websocket_end")
				} else if hf.Error != nil {
					want = append(want, "error")
				}
				if fmt.Sprint(rec.events[i]) != fmt.Sprint(want) {
					t.Errorf("flow %d: events %v, want %v", i, rec.events[i], want)
				}
			}
		})
	}
}

// corrupt returns a copy of a good file of two or more flows cut in the
// middle of its last flow, and the offset where that flow starts.
func corrupt(t *testing.T) (data []byte, flows int, lastStart int64) {
	t.Helper()
	needFlows(t)
	good, err := os.ReadFile(filepath.Join(flowsDir, "dumpfile-7.mitm"))
	if err != nil {
		t.Fatal(err)
	}
	// Find the flow boundaries by decoding.
	rd := flowfile.NewReader(bytes.NewReader(good))
	n := 0
	for {
		if _, err := rd.Next(); err != nil {
			break
		}
		n++
	}
	if n < 2 {
		t.Fatalf("dumpfile-7.mitm has %d flows", n)
	}
	// Append a truncated copy of the first flow after the good flows.
	_, rest, err := tnetstring.Unmarshal(good)
	if err != nil {
		t.Fatal(err)
	}
	firstLen := len(good) - len(rest)
	data = append(append([]byte{}, good...), good[:firstLen-20]...)
	return data, n, int64(len(good))
}

func TestCorruptFile(t *testing.T) {
	data, n, start := corrupt(t)
	tests := []struct {
		name string
		data []byte
		want int // flows dispatched before the error
	}{
		{"truncated flow after good ones", data, n},
		{"garbage after good ones", append(data[:start:start], "xyz:garbage"...), n},
		{"garbage at start", []byte("12:not a flow!"), 0},
		{"bad length prefix", []byte("1234567890123:"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "damaged.mitm")
			if err := os.WriteFile(path, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			rf, rec, _ := setup(t, "rfile="+path)
			err := rf.ReadAll(context.Background())
			if err == nil {
				t.Fatal("no error for a damaged file")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			var ce *flowfile.CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *flowfile.CorruptError", err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("byte %d", ce.Offset)) {
				t.Errorf("error %q does not give the offset %d", err, ce.Offset)
			}
			if tt.want > 0 && ce.FlowStart != start {
				t.Errorf("damaged flow starts at %d, want %d", ce.FlowStart, start)
			}
			if len(rec.flows) != tt.want {
				t.Errorf("%d flows dispatched before the damage, want %d", len(rec.flows), tt.want)
			}
			if tt.want > 0 {
				wantLog := fmt.Sprintf("warn: Flow file corrupted - loaded %d flows.", tt.want)
				if !strings.Contains(strings.Join(rec.logs, "\n"), wantLog) {
					t.Errorf("log %q lacks %q", rec.logs, wantLog)
				}
			}
		})
	}
}

func TestUnreadable(t *testing.T) {
	needFlows(t)
	tests := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(t.TempDir(), "nope.mitm"), "no such file"},
		{"version 0.10", filepath.Join(flowsDir, "dumpfile-010.mitm"), "cannot read files with flow format version (0, 10)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rf, rec, _ := setup(t, "rfile="+tt.path)
			err := rf.ReadAll(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.path) {
				t.Fatalf("error %v, want one naming %s and containing %q", err, tt.path, tt.want)
			}
			if len(rec.flows) != 0 {
				t.Errorf("%d flows dispatched", len(rec.flows))
			}
		})
	}
}

func TestNewerVersionRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v99.mitm")
	if err := os.WriteFile(path, []byte("29:7:version;2:99#4:type;4:http;}"), 0o644); err != nil {
		t.Fatal(err)
	}
	rf, _, _ := setup(t, "rfile="+path)
	err := rf.ReadAll(context.Background())
	var ve *flowfile.VersionError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "please update") {
		t.Fatalf("error %v, want a VersionError asking to update", err)
	}
}

func TestStdinAndFilter(t *testing.T) {
	needFlows(t)
	data, err := os.ReadFile(filepath.Join(flowsDir, "flows", "diff_data.mitm"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		filter string
		want   string // the kinds of flows dispatched
	}{
		{"", "http http http http tcp tcp http"},
		{"~tcp", "tcp tcp"},
		{"~http", "http http http http http"},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			specs := []string{"rfile=-"}
			if tt.filter != "" {
				specs = append(specs, "readfile_filter="+tt.filter)
			}
			rf, rec, _ := setup(t, specs...)
			rf.Stdin = bytes.NewReader(data)
			if err := rf.ReadAll(context.Background()); err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, f := range rec.flows {
				switch f.(type) {
				case *flow.HTTPFlow:
					kinds = append(kinds, "http")
				case *flow.TCPFlow:
					kinds = append(kinds, "tcp")
				}
			}
			if got := strings.Join(kinds, " "); got != tt.want {
				t.Errorf("flows %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBadFilterRefused(t *testing.T) {
	m := addon.NewManager()
	if err := m.Add(New(m)); err != nil {
		t.Fatal(err)
	}
	err := m.Options().Set("readfile_filter=~zzz")
	if err == nil || !strings.Contains(err.Error(), "readfile_filter") {
		t.Fatalf("error %v, want one naming readfile_filter", err)
	}
}

func TestNoRfile(t *testing.T) {
	rf, rec, _ := setup(t)
	rf.Running()
	if rf.Busy() {
		t.Error("busy without rfile")
	}
	if err := rf.ReadAll(context.Background()); err != nil || len(rec.flows) != 0 {
		t.Fatalf("ReadAll = %v with %d flows, want nil and none", err, len(rec.flows))
	}
}

// interceptor holds each flow at request until the test resumes it.
type interceptor struct{ held chan *flow.HTTPFlow }

func (i *interceptor) Request(f *flow.HTTPFlow) {
	f.Intercept()
	i.held <- f
}

func TestInterceptWaitsAndCancel(t *testing.T) {
	needFlows(t)
	m := addon.NewManager()
	rf := New(m)
	ic := &interceptor{held: make(chan *flow.HTTPFlow, 1)}
	rec := &recorder{}
	if err := m.Add(rf, ic, rec); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Set("rfile=" + filepath.Join(flowsDir, "dumpfile-7.mitm")); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- rf.ReadAll(ctx) }()
	f := <-ic.held
	select {
	case err := <-done:
		t.Fatalf("ReadAll returned %v while the flow was intercepted", err)
	default:
	}
	f.Resume()
	<-ic.held // the second flow
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ReadAll = %v after cancel, want nil (a shutdown is no error)", err)
	}
	if n := len(rec.flows); n != 2 {
		t.Errorf("%d flows reached the recorder, want 2", n)
	}
}

func TestReverseMode(t *testing.T) {
	needFlows(t)
	tests := []struct {
		mode         string
		scheme, host string
		port         int
		retargeted   bool
	}{
		{"regular", "", "", 0, false},
		{"reverse:https://example.org", "https", "example.org", 443, true},
		{"reverse:http://10.0.0.1:8080/", "http", "10.0.0.1", 8080, true},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			m := addon.NewManager()
			m.Options().MustAdd("mode", addon.Strings, []string{"regular"}, "proxy mode")
			rf := New(m)
			rec := &recorder{}
			if err := m.Add(rf, rec); err != nil {
				t.Fatal(err)
			}
			if err := m.Options().Set("mode="+tt.mode, "rfile="+filepath.Join(flowsDir, "dumpfile-7.mitm")); err != nil {
				t.Fatal(err)
			}
			if err := m.ConfigureAll(); err != nil {
				t.Fatal(err)
			}
			if err := rf.ReadAll(context.Background()); err != nil {
				t.Fatal(err)
			}
			f := rec.flows[0].(*flow.HTTPFlow)
			if !tt.retargeted {
				if f.Request.Host == "example.org" {
					t.Errorf("regular mode retargeted the flow")
				}
				return
			}
			if f.Request.Scheme != tt.scheme || f.Request.Host != tt.host || f.Request.Port != tt.port {
				t.Errorf("request target %s://%s:%d, want %s://%s:%d", f.Request.Scheme, f.Request.Host, f.Request.Port, tt.scheme, tt.host, tt.port)
			}
		})
	}
}

func TestReadFlows(t *testing.T) {
	needFlows(t)
	flows, err := ReadFlows([]string{filepath.Join(flowsDir, "dumpfile-7.mitm"), filepath.Join(flowsDir, "websocket.mitm")})
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != 5 {
		t.Errorf("%d flows, want 5", len(flows))
	}
	_, err = ReadFlows([]string{filepath.Join(flowsDir, "dumpfile-010.mitm")})
	if err == nil || !strings.Contains(err.Error(), "dumpfile-010.mitm") {
		t.Errorf("error %v, want one naming the file", err)
	}
}
