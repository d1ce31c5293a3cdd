package clientplayback

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/readfile"
	"github.com/mitmgo/mitmgo/addons/save"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
)

// netSender is a Sender on net/http, for tests only: the proxy package
// provides the real one.
type netSender struct {
	client *http.Client
	calls  atomic.Int32
}

func newNetSender() *netSender {
	return &netSender{client: &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}}
}

func (s *netSender) Send(ctx context.Context, f *flow.HTTPFlow) error {
	s.calls.Add(1)
	r := f.Request
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL(), bytes.NewReader(r.RawContent))
	if err != nil {
		return err
	}
	for _, h := range r.Headers {
		if !strings.EqualFold(h.Name, "host") && !strings.EqualFold(h.Name, "content-length") {
			req.Header.Add(h.Name, h.Value)
		}
	}
	f.ServerConn.TimestampStart = float64(time.Now().UnixNano()) / 1e9
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	out := &flow.Response{StatusCode: resp.StatusCode, Reason: strings.TrimSpace(strings.TrimPrefix(resp.Status, fmt.Sprint(resp.StatusCode)))}
	out.HTTPVersion = resp.Proto
	for k, vs := range resp.Header {
		for _, v := range vs {
			out.Headers.Add(k, v)
		}
	}
	out.RawContent = body
	now := float64(time.Now().UnixNano()) / 1e9
	out.TimestampStart, out.TimestampEnd = now, now
	f.Response = out
	return nil
}

// recorder records each flow's events.
type recorder struct {
	mu     sync.Mutex
	events map[*flow.HTTPFlow][]string
	order  []*flow.HTTPFlow
	logs   []string
	// onRequest, if set, runs in the request hook.
	onRequest func(f *flow.HTTPFlow)
}

func (r *recorder) add(f *flow.HTTPFlow, ev string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.events == nil {
		r.events = map[*flow.HTTPFlow][]string{}
	}
	if _, ok := r.events[f]; !ok {
		r.order = append(r.order, f)
	}
	r.events[f] = append(r.events[f], ev)
}

func (r *recorder) RequestHeaders(f *flow.HTTPFlow) { r.add(f, "requestheaders") }
func (r *recorder) Request(f *flow.HTTPFlow) {
	r.add(f, "request")
	if r.onRequest != nil {
		r.onRequest(f)
	}
}
func (r *recorder) ResponseHeaders(f *flow.HTTPFlow) { r.add(f, "responseheaders") }
func (r *recorder) Response(f *flow.HTTPFlow)        { r.add(f, "response") }
func (r *recorder) Error(f *flow.HTTPFlow)           { r.add(f, "error") }
func (r *recorder) AddLog(e *addon.LogEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, addon.LevelName(e.Level)+": "+e.Msg)
}

func (r *recorder) summary() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, f := range r.order {
		out = append(out, f.Request.Path+" "+strings.Join(r.events[f], ","))
	}
	return out
}

// recordedFlow is a finished flow for url, as it would be read from a file.
func recordedFlow(t testing.TB, method, url, body string) *flow.HTTPFlow {
	t.Helper()
	r, err := flow.NewRequest(method, url, []byte(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	f := flow.NewHTTPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 5555}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular"), flow.NewServer(flow.Address{}))
	f.Request = r
	f.Response = flow.NewResponse(299, []byte("old"), nil)
	f.SetLive(false)
	return f
}

// writeFlows saves flows to a v21 file and returns its path.
func writeFlows(t *testing.T, flows ...*flow.HTTPFlow) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "replay.mitm")
	var buf bytes.Buffer
	w := flowfile.NewWriter(&buf, flowfile.Version21)
	for _, f := range flows {
		if err := w.Write(f.State()); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func setup(t *testing.T, sender Sender, extra []any, specs ...string) (*ClientPlayback, *recorder, *addon.Manager) {
	t.Helper()
	m := addon.NewManager()
	c := New(m, sender)
	rec := &recorder{}
	if err := m.Add(append([]any{c, rec}, extra...)...); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Set(specs...); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Done)
	return c, rec, m
}

func waitIdle(t *testing.T, c *ClientPlayback) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Busy() {
		if time.Now().After(deadline) {
			t.Fatalf("replay not finished: Count() = %d", c.Count())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestReplayFromFile(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" "+string(body))
		mu.Unlock()
		w.Header().Set("X-Origin", "yes")
		fmt.Fprintf(w, "new %s", r.URL.Path)
	}))
	defer origin.Close()
	path := writeFlows(t,
		recordedFlow(t, "GET", origin.URL+"/a?x=1", ""),
		recordedFlow(t, "POST", origin.URL+"/b", "payload"),
	)
	out := filepath.Join(t.TempDir(), "out.mitm")
	c, rec, m := setup(t, newNetSender(), []any{save.New()}, "client_replay="+path, "save_stream_file="+out)
	if c.Count() != 2 {
		t.Fatalf("Count() = %d before running, want 2", c.Count())
	}
	m.Running()
	waitIdle(t, c)
	want := "[/a?x=1 requestheaders,request,responseheaders,response /b requestheaders,request,responseheaders,response]"
	if got := fmt.Sprint(rec.summary()); got != want {
		t.Errorf("events %s, want %s", got, want)
	}
	mu.Lock()
	if got := fmt.Sprint(seen); got != "[GET /a?x=1  POST /b payload]" {
		t.Errorf("origin saw %s", got)
	}
	mu.Unlock()
	for _, f := range rec.order {
		if f.IsReplay != "request" || f.Response == nil || !strings.HasPrefix(string(f.Response.RawContent), "new ") || f.IsLive() {
			t.Errorf("flow %s: is_replay %q, live %v, response %+v", f.Request.Path, f.IsReplay, f.IsLive(), f.Response)
		}
		if f.ServerConn.Address.Port != f.Request.Port {
			t.Errorf("server connection %v for port %d", f.ServerConn.Address, f.Request.Port)
		}
	}
	// The replayed flows went to -w with their new responses.
	m.Done()
	flows, err := readfile.ReadFlows([]string{out})
	if err != nil || len(flows) != 2 {
		t.Fatalf("saved %d flows, %v", len(flows), err)
	}
	if f := flows[0].(*flow.HTTPFlow); f.IsReplay != "request" || string(f.Response.RawContent) != "new /a" {
		t.Errorf("saved flow: is_replay %q, body %q", f.IsReplay, f.Response.RawContent)
	}
}

func TestConcurrency(t *testing.T) {
	tests := []struct {
		concurrency string
		wantMax     int32
	}{
		{"1", 1},
		{"-1", 4},
	}
	for _, tt := range tests {
		t.Run(tt.concurrency, func(t *testing.T) {
			var cur, max atomic.Int32
			all := make(chan struct{})
			var once sync.Once
			origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := cur.Add(1)
				defer cur.Add(-1)
				for {
					m := max.Load()
					if n <= m || max.CompareAndSwap(m, n) {
						break
					}
				}
				if n == 4 {
					once.Do(func() { close(all) })
				}
				// With unlimited concurrency, hold each request until all
				// four are in (bounded, so that a replay that serializes
				// fails rather than hangs); with a limit, hold it a little,
				// so that requests sent too early would overlap.
				hold := 50 * time.Millisecond
				if tt.wantMax > 1 {
					hold = 10 * time.Second
				}
				select {
				case <-all:
				case <-time.After(hold):
				}
			}))
			defer origin.Close()
			var flows []*flow.HTTPFlow
			for i := range 4 {
				flows = append(flows, recordedFlow(t, "GET", fmt.Sprintf("%s/%d", origin.URL, i), ""))
			}
			c, rec, m := setup(t, newNetSender(), nil, "client_replay="+writeFlows(t, flows...), "client_replay_concurrency="+tt.concurrency)
			m.Running()
			waitIdle(t, c)
			if got := max.Load(); got != tt.wantMax {
				t.Errorf("max concurrent requests %d, want %d", got, tt.wantMax)
			}
			if n := len(rec.summary()); n != 4 {
				t.Errorf("%d flows replayed", n)
			}
		})
	}
}

func TestHookOutcomes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String()
	ln.Close()
	tests := []struct {
		name      string
		onRequest func(f *flow.HTTPFlow)
		sender    Sender
		want      string
		sends     int32
		errMsg    string
	}{
		{"connection refused", nil, newNetSender(), "requestheaders,request,error", 1, "refused"},
		{"answered by an addon", func(f *flow.HTTPFlow) { f.Response = flow.NewResponse(204, nil, nil) }, newNetSender(),
			"requestheaders,request,responseheaders,response", 0, ""},
		{"killed by an addon", func(f *flow.HTTPFlow) { _ = f.Kill() }, newNetSender(), "requestheaders,request,error", 0, flow.KilledMessage},
		{"no sender", nil, nil, "requestheaders,request,error", 0, "no upstream client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec, m := setup(t, tt.sender, nil)
			rec.onRequest = tt.onRequest
			m.Running()
			c.StartReplay([]any{recordedFlow(t, "GET", closedURL+"/x", "")})
			waitIdle(t, c)
			sum := rec.summary()
			if len(sum) != 1 || !strings.HasSuffix(sum[0], " "+tt.want) {
				t.Errorf("events %v, want %s", sum, tt.want)
			}
			f := rec.order[0]
			if tt.errMsg != "" && (f.Error == nil || !strings.Contains(f.Error.Msg, tt.errMsg)) {
				t.Errorf("error %+v, want one containing %q", f.Error, tt.errMsg)
			}
			if ns, ok := tt.sender.(*netSender); ok && ns.calls.Load() != tt.sends {
				t.Errorf("Send called %d times, want %d", ns.calls.Load(), tt.sends)
			}
		})
	}
}

func TestNotReplayable(t *testing.T) {
	c, rec, _ := setup(t, newNetSender(), nil)
	live := recordedFlow(t, "GET", "http://127.0.0.1:1/", "")
	live.SetLive(true)
	noContent := recordedFlow(t, "GET", "http://127.0.0.1:1/", "")
	noContent.Request.RawContent = nil
	ws := recordedFlow(t, "GET", "http://127.0.0.1:1/", "")
	ws.WebSocket = &flow.WebSocketData{}
	intercepted := recordedFlow(t, "GET", "http://127.0.0.1:1/", "")
	intercepted.Intercept()
	c.StartReplay([]any{live, noContent, ws, intercepted, flow.NewTCPFlow(nil, nil)})
	if c.Count() != 0 {
		t.Errorf("Count() = %d, want 0", c.Count())
	}
	want := []string{"Can't replay live flow.", "Can't replay flow with missing content.", "Can't replay WebSocket flows.", "Can't replay intercepted flow.", "Can only replay HTTP flows."}
	logs := strings.Join(rec.logs, "\n")
	for _, w := range want {
		if !strings.Contains(logs, "warn: "+w) {
			t.Errorf("log lacks %q:\n%s", w, logs)
		}
	}
}

func TestOptionsRefused(t *testing.T) {
	for _, spec := range []string{"client_replay_concurrency=2", "client_replay=/nonexistent/x.mitm"} {
		m := addon.NewManager()
		if err := m.Add(New(m, nil)); err != nil {
			t.Fatal(err)
		}
		name, _, _ := strings.Cut(spec, "=")
		if err := m.Options().Set(spec); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v, want one naming %s", spec, err, name)
		}
	}
}

func TestDoneCancelsAndStop(t *testing.T) {
	release := make(chan struct{})
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer origin.Close()
	defer close(release)
	m := addon.NewManager()
	c := New(m, newNetSender())
	rec := &recorder{}
	if err := m.Add(c, rec); err != nil {
		t.Fatal(err)
	}
	m.Running()
	c.StartReplay([]any{
		recordedFlow(t, "GET", origin.URL+"/1", ""),
		recordedFlow(t, "GET", origin.URL+"/2", ""),
		recordedFlow(t, "GET", origin.URL+"/3", ""),
	})
	deadline := time.Now().Add(5 * time.Second)
	for len(rec.summary()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	c.Stop()
	if n := c.Count(); n != 1 {
		t.Errorf("Count() = %d after Stop, want the one in flight", n)
	}
	start := time.Now()
	m.Done()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Done took %v", d)
	}
	sum := rec.summary()
	if len(sum) != 1 || !strings.HasSuffix(sum[0], "error") {
		t.Errorf("events %v, want the in-flight flow to end with error", sum)
	}
	if c.Busy() {
		t.Error("busy after Done")
	}
}
