package save

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/readfile"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
	"github.com/mitmgo/mitmgo/tnetstring"
)

const flowsDir = "../../../shared/testdata/mitmproxy-flows"

func needFlows(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(flowsDir); err != nil {
		t.Skipf("mitmproxy's flow files are not available (%v); skipping", err)
	}
}

// logs collects log entries.
type logs struct {
	mu  sync.Mutex
	msg []string
}

func (l *logs) AddLog(e *addon.LogEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msg = append(l.msg, addon.LevelName(e.Level)+": "+e.Msg)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.msg, "\n")
}

func setup(t *testing.T, specs ...string) (*Save, *addon.Manager, *logs) {
	t.Helper()
	m := addon.NewManager()
	s := New()
	lg := &logs{}
	if err := m.Add(lg, s); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Set(specs...); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	return s, m, lg
}

func httpFlow(t testing.TB, path string) *flow.HTTPFlow {
	t.Helper()
	f := flow.NewHTTPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 40000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular"),
		flow.NewServer(flow.Address{Host: "example.com", Port: 80}))
	req, err := flow.NewRequest("GET", "http://example.com"+path, nil, flow.NewHeaders("Host", "example.com"))
	if err != nil {
		t.Fatal(err)
	}
	f.Request = req
	return f
}

func withResponse(f *flow.HTTPFlow, body string) *flow.HTTPFlow {
	f.Response = flow.NewResponse(200, []byte(body), flow.NewHeaders("Content-Type", "text/plain"))
	return f
}

// complete sends an HTTP flow through its hooks up to its response.
func complete(m *addon.Manager, f *flow.HTTPFlow) {
	m.RequestHeaders(f)
	m.Request(f)
	m.ResponseHeaders(f)
	m.Response(f)
}

// readBack reads a flow file and returns the request paths (TCP flows as
// "tcp") and each flow's written format version.
func readBack(t *testing.T, path string) (paths []string, versions []int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for rest := data; len(rest) > 0; {
		v, r, err := tnetstring.Unmarshal(rest)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		versions = append(versions, v.(*tnetstring.Dict).Int("version"))
		rest = r
	}
	flows, err := flowfile.ReadAll(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, d := range flows {
		if d.Str("type") == "tcp" {
			paths = append(paths, "tcp")
			continue
		}
		paths = append(paths, d.Dict("request").Str("path"))
	}
	return paths, versions
}

func TestWrittenAsTheyComplete(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.mitm")
	s, m, _ := setup(t, "save_stream_file="+out)

	complete(m, withResponse(httpFlow(t, "/one"), "1"))
	// On disk before shutdown.
	if got, _ := readBack(t, out); fmt.Sprint(got) != "[/one]" {
		t.Fatalf("after the first response the file holds %v", got)
	}

	failed := httpFlow(t, "/failed")
	m.RequestHeaders(failed)
	m.Request(failed)
	failed.Error = flow.NewError("Connection refused")
	m.Error(failed)

	// As in mitmproxy, a WebSocket flow has its WebSocket data from the
	// 101 response's hook on.
	ws := withResponse(httpFlow(t, "/ws"), "")
	ws.Response.StatusCode = 101
	ws.WebSocket = &flow.WebSocketData{}
	complete(m, ws)
	m.WebSocketStart(ws)
	ws.WebSocket.Messages = append(ws.WebSocket.Messages, &flow.WebSocketMessage{Type: flow.WebSocketText, FromClient: true, Content: []byte("hi")})
	m.WebSocketMessage(ws)
	if got, _ := readBack(t, out); fmt.Sprint(got) != "[/one /failed]" {
		t.Fatalf("a WebSocket flow was written before its end: %v", got)
	}
	m.WebSocketEnd(ws)

	tcp := flow.NewTCPFlow(failed.ClientConn, failed.ServerConn)
	m.TCPStart(tcp)
	tcp.Messages = append(tcp.Messages, &flow.TCPMessage{FromClient: true, Content: []byte("x")})
	m.TCPMessage(tcp)
	m.TCPEnd(tcp)

	open := httpFlow(t, "/open")
	m.RequestHeaders(open)
	openTCP := flow.NewTCPFlow(failed.ClientConn, failed.ServerConn)
	m.TCPStart(openTCP)

	if got, _ := readBack(t, out); fmt.Sprint(got) != "[/one /failed /ws tcp]" {
		t.Fatalf("before done the file holds %v", got)
	}
	m.Done()
	got, versions := readBack(t, out)
	if fmt.Sprint(got) != "[/one /failed /ws tcp /open tcp]" {
		t.Fatalf("after done the file holds %v", got)
	}
	for _, v := range versions {
		if v != 21 {
			t.Errorf("written version %d, want 21", v)
		}
	}
	flows, _ := readfile.ReadFlows([]string{out})
	wsBack := flows[2].(*flow.HTTPFlow)
	if wsBack.WebSocket == nil || len(wsBack.WebSocket.Messages) != 1 {
		t.Errorf("WebSocket flow read back without its message: %+v", wsBack.WebSocket)
	}
	if flows[1].(*flow.HTTPFlow).Error == nil {
		t.Error("failed flow read back without its error")
	}
	if s.Err() != nil {
		t.Errorf("Err() = %v", s.Err())
	}
}

func TestFilterAndVersion(t *testing.T) {
	tests := []struct {
		name    string
		specs   []string
		want    string
		version int64
	}{
		{"all", nil, "[/a /b tcp]", 21},
		{"filter", []string{"save_stream_filter=~u /b"}, "[/b]", 21},
		{"tcp only", []string{"save_stream_filter=~tcp"}, "[tcp]", 21},
		{"version 17", []string{"save_stream_version=17"}, "[/a /b tcp]", 17},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.mitm")
			_, m, _ := setup(t, append(tt.specs, "save_stream_file="+out)...)
			complete(m, withResponse(httpFlow(t, "/a"), "a"))
			complete(m, withResponse(httpFlow(t, "/b"), "b"))
			tcp := flow.NewTCPFlow(nil, nil)
			m.TCPStart(tcp)
			tcp.Error = flow.NewError("reset")
			m.TCPError(tcp)
			m.Done()
			got, versions := readBack(t, out)
			if fmt.Sprint(got) != tt.want {
				t.Errorf("file holds %v, want %s", got, tt.want)
			}
			for _, v := range versions {
				if v != tt.version {
					t.Errorf("version %d, want %d", v, tt.version)
				}
			}
		})
	}
}

func TestAppendAndTruncate(t *testing.T) {
	tests := []struct {
		prefix string
		want   string
	}{
		{"", "[/new]"},
		{"+", "[/old /new]"},
	}
	for _, tt := range tests {
		t.Run("prefix "+tt.prefix, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.mitm")
			_, m, _ := setup(t, "save_stream_file="+out)
			complete(m, withResponse(httpFlow(t, "/old"), ""))
			m.Done()

			_, m, _ = setup(t, "save_stream_file="+tt.prefix+out)
			complete(m, withResponse(httpFlow(t, "/new"), ""))
			m.Done()
			if got, _ := readBack(t, out); fmt.Sprint(got) != tt.want {
				t.Errorf("file holds %v, want %s", got, tt.want)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	m := addon.NewManager()
	s := New()
	clock := time.Date(2024, 3, 5, 10, 59, 58, 0, time.Local)
	var mu sync.Mutex
	s.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	if err := m.Add(s); err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(dir, "%Y-%m-%d", "flows-%H.mitm")
	if err := m.Options().Set("save_stream_file=" + spec); err != nil {
		t.Fatal(err)
	}
	complete(m, withResponse(httpFlow(t, "/1"), ""))
	complete(m, withResponse(httpFlow(t, "/2"), ""))
	mu.Lock()
	clock = clock.Add(time.Hour)
	mu.Unlock()
	complete(m, withResponse(httpFlow(t, "/3"), ""))
	mu.Lock()
	clock = clock.Add(24 * time.Hour)
	mu.Unlock()
	complete(m, withResponse(httpFlow(t, "/4"), ""))
	m.Done()
	for file, want := range map[string]string{
		"2024-03-05/flows-10.mitm": "[/1 /2]",
		"2024-03-05/flows-11.mitm": "[/3]",
		"2024-03-06/flows-11.mitm": "[/4]",
	} {
		if got, _ := readBack(t, filepath.Join(dir, file)); fmt.Sprint(got) != want {
			t.Errorf("%s holds %v, want %s", file, got, want)
		}
	}
}

func TestStrftime(t *testing.T) {
	ts := time.Date(2009, 2, 3, 4, 5, 6, 7000, time.UTC)
	tests := []struct{ in, want string }{
		{"plain.mitm", "plain.mitm"},
		{"%Y%m%d-%H%M%S.mitm", "20090203-040506.mitm"},
		{"%y %b %B %a %A %j %p %I %e %f %%", "09 Feb February Tue Tuesday 034 AM 04  3 000007 %"},
		{"%F %T %Z %z %s", "2009-02-03 04:05:06 UTC +0000 1233633906"},
		{"%Q unknown", "%Q unknown"},
		{"trailing %", "trailing %"},
	}
	for _, tt := range tests {
		if got := strftime(tt.in, ts); got != tt.want {
			t.Errorf("strftime(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUnwritableRefusedInConfigure(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, spec string
	}{
		{"parent is a file", filepath.Join(file, "sub", "out.mitm")},
		{"path is a directory", dir},
		{"bad filter", "save_stream_filter=~zzz"},
		{"bad version", "save_stream_version=18"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := addon.NewManager()
			if err := m.Add(New()); err != nil {
				t.Fatal(err)
			}
			spec := tt.spec
			if !strings.Contains(spec, "=") {
				spec = "save_stream_file=" + spec
			}
			err := m.Options().Set(spec)
			option, _, _ := strings.Cut(spec, "=")
			if err == nil || !strings.Contains(err.Error(), option) {
				t.Fatalf("Set(%q) = %v, want an error naming %s", spec, err, option)
			}
			if v := m.Options().String(option); v != "" && option == "save_stream_file" {
				t.Errorf("rejected value kept: %q", v)
			}
		})
	}
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		m := addon.NewManager()
		if err := m.Add(New()); err != nil {
			t.Fatal(err)
		}
		if err := m.Options().Set("save_stream_file=" + filepath.Join(ro, "x.mitm")); err == nil {
			t.Error("a path in a read-only directory was accepted")
		}
	}
}

func TestWriteErrorShutsDown(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	s, m, lg := setup(t)
	var stopped atomic.Bool
	m.SetShutdown(func() { stopped.Store(true) })
	if err := m.Options().Set("save_stream_file=/dev/full"); err != nil {
		t.Fatal(err)
	}
	complete(m, withResponse(httpFlow(t, "/x"), "x"))
	if s.Err() == nil || !strings.Contains(s.Err().Error(), "/dev/full") {
		t.Fatalf("Err() = %v, want a write error naming /dev/full", s.Err())
	}
	deadline := time.Now().Add(5 * time.Second)
	for !stopped.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !stopped.Load() {
		t.Error("a write error did not ask mitmgo to shut down")
	}
	if !strings.Contains(lg.String(), "error: error while writing to /dev/full") {
		t.Errorf("log %q lacks the write error", lg.String())
	}
	m.Done()
}

func TestUnsetAtRunTimeWritesOpenFlows(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.mitm")
	_, m, _ := setup(t, "save_stream_file="+out)
	open := httpFlow(t, "/open")
	m.RequestHeaders(open)
	if err := m.Options().Set("save_stream_file="); err != nil {
		t.Fatal(err)
	}
	if got, _ := readBack(t, out); fmt.Sprint(got) != "[/open]" {
		t.Errorf("file holds %v, want the open flow", got)
	}
	// Nothing more is written.
	complete(m, withResponse(httpFlow(t, "/later"), ""))
	m.Done()
	if got, _ := readBack(t, out); fmt.Sprint(got) != "[/open]" {
		t.Errorf("file holds %v after unset", got)
	}
}

func TestConcurrentFlows(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.mitm")
	_, m, _ := setup(t, "save_stream_file="+out)
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				f := withResponse(httpFlow(t, fmt.Sprintf("/%d/%d", w, i)), strings.Repeat("x", i*37))
				complete(m, f)
			}
		}()
	}
	// Flows still open at shutdown, started concurrently too.
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.RequestHeaders(httpFlow(t, fmt.Sprintf("/open/%d", i)))
		}()
	}
	wg.Wait()
	m.Done()
	got, _ := readBack(t, out)
	if len(got) != workers*each+5 {
		t.Fatalf("file holds %d flows, want %d", len(got), workers*each+5)
	}
	seen := map[string]bool{}
	for _, p := range got {
		if seen[p] {
			t.Errorf("flow %s written twice", p)
		}
		seen[p] = true
	}
}

// TestRoundTrip reads each of mitmproxy's flow files with readfile, saves
// the flows with save and checks that reading the result gives the same
// state dicts.
func TestRoundTrip(t *testing.T) {
	needFlows(t)
	files, _ := filepath.Glob(filepath.Join(flowsDir, "*.mitm"))
	more, _ := filepath.Glob(filepath.Join(flowsDir, "flows", "*.mitm"))
	for _, in := range append(files, more...) {
		if strings.HasSuffix(in, "dumpfile-010.mitm") {
			continue
		}
		t.Run(filepath.Base(in), func(t *testing.T) {
			// Older versions get connection ids made up on every read:
			// start from a v21 copy, so that the ids stay put.
			in := v21Copy(t, in)
			out := filepath.Join(t.TempDir(), "out.mitm")
			m := addon.NewManager()
			rf := readfile.New(m)
			if err := m.Add(rf, New()); err != nil {
				t.Fatal(err)
			}
			if err := m.Options().Set("rfile="+in, "save_stream_file="+out); err != nil {
				t.Fatal(err)
			}
			if err := m.ConfigureAll(); err != nil {
				t.Fatal(err)
			}
			if err := rf.ReadAll(context.Background()); err != nil {
				t.Fatal(err)
			}
			m.Done()
			orig := readStates(t, in)
			got := readStates(t, out)
			if len(got) != len(orig) {
				t.Fatalf("%d flows written, %d read", len(got), len(orig))
			}
			for i := range orig {
				// save writes exactly what the flow model holds...
				f, err := flow.FromState(orig[i].Clone())
				if err != nil {
					t.Fatal(err)
				}
				if want := stateOf(f); !tnetstring.Equal(got[i], want) {
					t.Errorf("flow %d: written state differs from the flow's: %s", i, diffHint(got[i], want))
				}
				// ...and what matters of the original survives the trip.
				for _, key := range []string{"id", "type", "request", "response", "error", "is_replay", "marked", "comment", "timestamp_created", "messages"} {
					a, _ := got[i].Get(key)
					b, _ := orig[i].Get(key)
					if !sameValue(a, b) {
						t.Errorf("flow %d: %s differs after the round trip: %s", i, key, diffHint(a, b))
					}
				}
				if ws := orig[i].Dict("websocket"); ws != nil {
					if a, b := got[i].Dict("websocket").List("messages"), ws.List("messages"); !sameValue(a, b) {
						t.Errorf("flow %d: WebSocket messages differ after the round trip: %s", i, diffHint(a, b))
					}
				}
			}
		})
	}
}

// v21Copy writes the flows of path to a version 21 file and returns its
// name.
func v21Copy(t *testing.T, path string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "v21.mitm")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	w := flowfile.NewWriter(f, flowfile.Version21)
	for _, d := range readStates(t, path) {
		if err := w.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameValue is tnetstring.Equal, except that an int and a float of the
// same value are the same (mitmproxy accepts either for a timestamp; the
// flow model keeps floats).
//
// nil and a zero number are the same too: the flow model cannot tell an
// unset timestamp from 0 (only migrated dummy flows have 0).
func sameValue(a, b any) bool {
	if a == nil || b == nil {
		z, ok := tnetstring.AsFloat(a)
		if a == nil {
			z, ok = tnetstring.AsFloat(b)
		}
		if ok && z == 0 {
			return true
		}
	}
	if x, ok := tnetstring.AsFloat(a); ok {
		if _, isBool := a.(bool); !isBool {
			y, ok := tnetstring.AsFloat(b)
			return ok && x == y
		}
	}
	switch a := a.(type) {
	case []any:
		bb, ok := b.([]any)
		if !ok || len(a) != len(bb) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], bb[i]) {
				return false
			}
		}
		return true
	case *tnetstring.Dict:
		bb, ok := b.(*tnetstring.Dict)
		if !ok || a.Len() != bb.Len() {
			return false
		}
		for _, e := range a.Entries {
			v, ok := bb.Get(e.Key)
			if !ok || !sameValue(e.Value, v) {
				return false
			}
		}
		return true
	}
	return tnetstring.Equal(a, b)
}

func readStates(t *testing.T, path string) []*tnetstring.Dict {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flows, err := flowfile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return flows
}

// diffHint names the first differing key path.
func diffHint(a, b any) string {
	da, ok1 := a.(*tnetstring.Dict)
	db, ok2 := b.(*tnetstring.Dict)
	if ok1 && ok2 {
		for _, e := range da.Entries {
			v, ok := db.Get(e.Key)
			if !ok {
				return e.Key + ": only in the written file"
			}
			if !sameValue(e.Value, v) {
				return e.Key + "." + diffHint(e.Value, v)
			}
		}
		for _, e := range db.Entries {
			if !da.Has(e.Key) {
				return e.Key + ": missing from the written file"
			}
		}
		return "(key order or key kinds)"
	}
	la, ok1 := a.([]any)
	lb, ok2 := b.([]any)
	if ok1 && ok2 && len(la) == len(lb) {
		for i := range la {
			if !sameValue(la[i], lb[i]) {
				return fmt.Sprintf("[%d].%s", i, diffHint(la[i], lb[i]))
			}
		}
	}
	return fmt.Sprintf("%#v != %#v", a, b)
}

// TestMitmproxy811ReadsVersion17 writes flows with save_stream_version=17
// and has Debian's mitmproxy 8.1.1 list them.
func TestMitmproxy811ReadsVersion17(t *testing.T) {
	needFlows(t)
	mitmdump, err := exec.LookPath("mitmdump")
	if err != nil {
		t.Skip("mitmdump (Debian's mitmproxy 8.1.1) is not installed; skipping")
	}
	if out, err := exec.Command(mitmdump, "--version").CombinedOutput(); err != nil || !strings.Contains(string(out), "Mitmproxy: 8.") {
		t.Skipf("mitmdump is not mitmproxy 8.x (%s); skipping", bytes.TrimSpace(out))
	}
	out := filepath.Join(t.TempDir(), "v17.mitm")
	m := addon.NewManager()
	rf := readfile.New(m)
	if err := m.Add(rf, New()); err != nil {
		t.Fatal(err)
	}
	// Files of several eras: v21 (flows/), v20 with WebSockets, v18.
	var ins []string
	for _, name := range []string{"flows/corrupted_gzip_body.mitm", "websocket.mitm", "successful_log.mitm", "flows/diff_data.mitm"} {
		ins = append(ins, filepath.Join(flowsDir, name))
	}
	if err := m.Options().Set("save_stream_file="+out, "save_stream_version=17"); err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		n, err := rf.ReadPath(context.Background(), in)
		if err != nil || n == 0 {
			t.Fatalf("reading %s: %d flows, %v", in, n, err)
		}
	}
	m.Done()
	flows, err := readfile.ReadFlows([]string{out})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range flows {
		switch f := f.(type) {
		case *flow.HTTPFlow:
			want = append(want, f.Request.Method+" "+f.Request.Path)
		case *flow.TCPFlow:
			want = append(want, fmt.Sprintf("tcp %d", len(f.Messages)))
		}
	}
	// A script in mitmdump lists what 8.1.1 loads.
	dir := t.TempDir()
	script := filepath.Join(dir, "list.py")
	listed := filepath.Join(dir, "listed.json")
	if err := os.WriteFile(script, []byte(listScript), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mitmdump, "-n", "-r", out, "-s", script, "--set", "flow_detail=1")
	cmd.Env = append(os.Environ(), "HOME="+dir, "LIST_OUT="+listed)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		t.Fatalf("mitmdump -nr: %v\n%s", err, buf.String())
	}
	if s := buf.String(); strings.Contains(s, "cannot read") || strings.Contains(s, "Traceback") || strings.Contains(s, "Addon error") {
		t.Fatalf("mitmdump 8.1.1 failed to read the file:\n%s", s)
	}
	raw, err := os.ReadFile(listed)
	if err != nil {
		t.Fatalf("the listing script wrote nothing: %v\n%s", err, buf.String())
	}
	var got []string
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("mitmdump 8.1.1 loaded\n%q\nwant\n%q", got, want)
	}
	if len(want) < 10 {
		t.Errorf("only %d flows written", len(want))
	}
}

// listScript is a mitmproxy 8 script that records each loaded flow.
const listScript = `import json, os
seen = []
def requestheaders(flow):
    seen.append(flow.request.method + " " + flow.request.path)
def tcp_end(flow):
    seen.append("tcp %d" % len(flow.messages))
def tcp_error(flow):
    tcp_end(flow)
def done():
    with open(os.environ["LIST_OUT"], "w") as f:
        json.dump(seen, f)
`
