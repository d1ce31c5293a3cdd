package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/filter"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
	"github.com/mitmgo/mitmgo/internal/websocket"
	"github.com/mitmgo/mitmgo/view"
)

// Benchmarks of mitmweb's server side at the sizes of issue 16 item 6 (see
// bench/cmd/webbench for the measurement in a browser):
//
//	go test -run '^$' -bench 'UpdateFilter100k|Broadcast|FlowsJSON' -benchmem ./web/

// benchFlows makes n finished HTTP flows as webbench's flow file has them:
// GET and POST alternating, paths /f/<i>, responses 200.
func benchFlows(tb testing.TB, n int) []flow.Any {
	tb.Helper()
	out := make([]flow.Any, n)
	for i := range out {
		method := "GET"
		if i%2 == 1 {
			method = "POST"
		}
		req, err := flow.NewRequest(method, fmt.Sprintf("http://127.0.0.1:8080/f/%d", i), nil, nil)
		if err != nil {
			tb.Fatal(err)
		}
		f := flow.NewHTTPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 40000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular"),
			flow.NewServer(flow.Address{Host: req.Host, Port: req.Port}))
		f.Request = req
		f.Response = flow.NewResponse(200, []byte("hello"), nil)
		f.TimestampCreated = float64(i)
		f.SetLive(false)
		out[i] = f
	}
	return out
}

// benchServer is a Server on a view of n flows, without a proxy or a web
// server.
func benchServer(tb testing.TB, n int) *Server {
	tb.Helper()
	s := New()
	s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	s.view = view.New()
	s.unsubscribe = s.view.Subscribe(s.viewEvent)
	s.view.Add(benchFlows(tb, n)...)
	return s
}

// sinkConn is a wsConn whose writes go nowhere and whose queue is emptied
// by the benchmark.
func sinkConn() *wsConn {
	a, b := net.Pipe()
	go func() { _, _ = io.Copy(io.Discard, b) }()
	out := &frames{conn: a}
	return &wsConn{conn: a, w: websocket.NewWriter(a, websocket.Server, nil), data: websocket.NewWriter(out, websocket.Server, nil), out: out,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (c *wsConn) take() []queued {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queue
	c.queue = nil
	clear(c.pending)
	return q
}

// BenchmarkUpdateFilter100k: the server's part of applying a filter over
// 100,000 flows (flows/updateFilter): matching them and encoding the
// answer with the matching ids, half of them.
func BenchmarkUpdateFilter100k(b *testing.B) {
	s := benchServer(b, 100_000)
	c := sinkConn()
	defer c.close()
	b.ResetTimer()
	for b.Loop() {
		s.updateFilter(c, "search", "~m POST")
		if q := c.take(); len(q) != 1 || len(q[0].b) < 100_000*18 {
			b.Fatalf("answer: %d messages", len(q))
		}
	}
}

// BenchmarkBroadcastFlow: a flow's update to two connections (the browser
// and another client), each with a filter.
func BenchmarkBroadcastFlow(b *testing.B) {
	s := benchServer(b, 1)
	f := s.view.Shown()[0]
	j := s.flowJSON(f)
	for range 2 {
		c := sinkConn()
		defer c.close()
		s.hub.add(c)
		s.updateFilter(c, "search", "~m POST")
	}
	b.ResetTimer()
	for b.Loop() {
		s.hub.broadcastFlow("flows/update", f, j, true)
		s.hub.mu.Lock()
		for c := range s.hub.conns {
			c.take()
		}
		s.hub.mu.Unlock()
	}
}

// BenchmarkRender: a flow's JSON made and kept, as each of its hooks does.
func BenchmarkRender(b *testing.B) {
	s := benchServer(b, 1)
	f := s.view.Shown()[0]
	for b.Loop() {
		s.render(f, false)
	}
}

// BenchmarkHookRender: a flow's hook in flight (the view's request hook,
// then the web server's render, kept JSON and copy for filters), with one
// browser connected that has a search filter.
func BenchmarkHookRender(b *testing.B) {
	s, c := hookRenderServer(b)
	f := inFlight(b, s)
	for b.Loop() {
		s.view.Request(f)
		c.take()
	}
}

// hookRenderServer is a Server without flows and one browser connected
// that has a search filter (closed when b ends).
func hookRenderServer(b *testing.B) (*Server, *wsConn) {
	s := benchServer(b, 0)
	c := sinkConn()
	b.Cleanup(c.close)
	s.hub.add(c)
	s.updateFilter(c, "search", "~m POST")
	return s, c
}

// inFlight adds a flow in flight to the view of s: its first hook.
func inFlight(b *testing.B, s *Server) *flow.HTTPFlow {
	f := benchFlows(b, 1)[0].(*flow.HTTPFlow)
	f.Response = nil
	f.SetLive(true)
	s.view.RequestHeaders(f)
	return f
}

// BenchmarkHookRenderParallel: BenchmarkHookRender with a flow per
// goroutine, as flows' hooks run at once on the proxy's goroutines: what
// the locks a hook's render takes (the view's, pubMu) cost when they are
// contended.
func BenchmarkHookRenderParallel(b *testing.B) {
	s, _ := hookRenderServer(b)
	b.RunParallel(func(pb *testing.PB) {
		f := inFlight(b, s)
		for pb.Next() {
			s.view.Request(f)
		}
	})
}

// TestFilterUpdateJSON: the flows/filterUpdate message is what
// json.Marshal makes of it, for ids that are UUIDs and ids that need
// escaping.
func TestFilterUpdateJSON(t *testing.T) {
	flows := benchFlows(t, 5)
	flows[3].Base().ID = "a\"<b>\u2028"
	for _, tc := range []struct {
		name  string
		match []bool
	}{
		{"search", []bool{true, false, true, true, false}},
		{"highlight\"", []bool{false, false, false, false, false}},
		{"x", []bool{true, true, true, true, true}},
	} {
		ids := []string{}
		for i, m := range tc.match {
			if m {
				ids = append(ids, flows[i].Base().ID)
			}
		}
		want, _ := json.Marshal(message{"type": "flows/filterUpdate", "payload": map[string]any{"name": tc.name, "matching_flow_ids": ids}})
		if got := filterUpdateJSON(tc.name, flows, tc.match); string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, want)
		}
	}
}

// TestMatchFlows: parallel matching gives the same answer as one by one,
// and flows that may not be read do not match.
func TestMatchFlows(t *testing.T) {
	s := benchServer(t, 3*parallelMatch+7)
	flows, readable := s.view.ShownReadable()
	readable[5] = false
	flt, err := filter.Parse("~m POST")
	if err != nil {
		t.Fatal(err)
	}
	got := matchFlows(flt, flows, readable)
	for i, f := range flows {
		if want := readable[i] && flt.Match(f); got[i] != want {
			t.Fatalf("flow %d: %v, want %v", i, got[i], want)
		}
	}
}

// writeBenchFile writes n flows of benchFlows as a flow file.
func writeBenchFile(tb testing.TB, n int) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "flows")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := flowfile.NewWriter(bw, 21)
	for _, fl := range benchFlows(tb, n) {
		if err := w.Write(fl.(*flow.HTTPFlow).State()); err != nil {
			tb.Fatal(err)
		}
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkLoad100k: mitmweb started with -r on a file of 100,000 flows,
// until GET /flows answers with all of them (webbench's "in /flows
// after"): reading the file, the hooks of every addon, the view, the
// flows' JSON, and GET /flows itself.
func BenchmarkLoad100k(b *testing.B) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	path := writeBenchFile(b, n)
	b.ResetTimer()
	for b.Loop() {
		e := start(b, "rfile="+path)
		e.login()
		deadline := time.Now().Add(5 * time.Minute)
		for e.w.view.Len() < n {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d flows loaded", e.w.view.Len(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t0 := time.Now()
		if got := len(e.call("GET", "/flows", nil)); got < n*1000 {
			b.Fatalf("GET /flows: %d bytes", got)
		}
		b.ReportMetric(float64(time.Since(t0).Milliseconds()), "ms-GET-flows")
		_ = e.m.Close()
	}
}

// TestCoalesce: a queued flows/update is replaced by its flow's next one,
// never across another kind of message; while congested a queued
// flows/add takes the updates; an update whose matching_filters is not
// complete neither replaces nor is replaced.
func TestCoalesce(t *testing.T) {
	msg := func(v string) []byte { return []byte(`{"payload":{"v":"` + v + `"},"type":"`) }
	for _, tc := range []struct {
		name      string
		congested bool
		steps     func(c *wsConn)
		want      []string
	}{
		{"updates", false, func(c *wsConn) {
			c.sendFlow("a", msg("a0"), "flows/add", true)
			c.sendFlow("a", msg("a1"), "flows/update", true)
			c.sendFlow("b", msg("b0"), "flows/add", true)
			c.sendFlow("a", msg("a2"), "flows/update", true)
			c.sendFlow("b", msg("b1"), "flows/update", true)
			c.sendFlow("a", msg("a3"), "flows/update", true)
		}, []string{"a0 flows/add", "a3 flows/update", "b0 flows/add", "b1 flows/update"}},
		{"barrier", false, func(c *wsConn) {
			c.sendFlow("a", msg("a1"), "flows/update", true)
			c.send([]byte("other"))
			c.sendFlow("a", msg("a2"), "flows/update", true)
			c.sendFlow("a", msg("a3"), "flows/update", true)
		}, []string{"a1 flows/update", "other", "a3 flows/update"}},
		{"congested", true, func(c *wsConn) {
			c.sendFlow("a", msg("a0"), "flows/add", true)
			c.sendFlow("a", msg("a1"), "flows/update", true)
			c.sendFlow("a", msg("a2"), "flows/update", true)
		}, []string{"a2 flows/add"}},
		{"incomplete", false, func(c *wsConn) {
			c.sendFlow("a", msg("a1"), "flows/update", true)
			c.sendFlow("a", msg("a2"), "flows/update", false)
			c.sendFlow("a", msg("a3"), "flows/update", true)
			c.sendFlow("a", msg("a4"), "flows/update", true)
		}, []string{"a1 flows/update", "a2 flows/update", "a4 flows/update"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sinkConn()
			defer c.close()
			c.congested = tc.congested
			tc.steps(c)
			var got []string
			for _, q := range c.take() {
				var m struct {
					Payload struct{ V string }
					Type    string
				}
				if json.Unmarshal(q.b, &m) != nil {
					got = append(got, string(q.b))
					continue
				}
				got = append(got, m.Payload.V+" "+m.Type)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("queue %q, want %q", got, tc.want)
			}
		})
	}
}

// TestUpdatesBurst: flows made faster than the browser reads keep their
// order on /updates (flows/add first, then updates), and each flow's last
// message has its whole response.
func TestUpdatesBurst(t *testing.T) {
	e := start(t)
	e.login()
	rd, conn := e.wsDial()
	w := websocket.NewWriter(conn, websocket.Client, nil)
	// The server registers the connection before it answers the
	// handshake: every flow made after is sent.
	const n = 300
	type state struct {
		added, done bool
	}
	seen := map[string]*state{}
	errc := make(chan error, 1)
	go func() {
		client := e.proxied()
		sem := make(chan struct{}, 16)
		for i := range n {
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				resp, err := client.Get(e.origin + fmt.Sprintf("/burst/%d", i))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		errc <- nil
	}()
	deadline := time.Now().Add(wait)
	done := 0
	for done < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d flows complete on /updates", done, n)
		}
		ev, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Opcode == websocket.OpPing {
			_ = w.WriteControl(websocket.OpPong, ev.Payload)
			continue
		}
		var m struct {
			Type    string
			Payload struct {
				Flow struct {
					ID       string
					Response *struct {
						TimestampEnd *float64 `json:"timestamp_end"`
					}
				}
			}
		}
		if json.Unmarshal(ev.Payload, &m) != nil || (m.Type != "flows/add" && m.Type != "flows/update") {
			continue
		}
		st := seen[m.Payload.Flow.ID]
		if st == nil {
			st = &state{}
			seen[m.Payload.Flow.ID] = st
		}
		switch {
		case m.Type == "flows/add" && st.added:
			t.Fatalf("flow %s added twice", m.Payload.Flow.ID)
		case m.Type == "flows/update" && !st.added:
			t.Fatalf("flow %s updated before it was added", m.Payload.Flow.ID)
		case st.done:
			t.Fatalf("flow %s: a message after the one with its response", m.Payload.Flow.ID)
		}
		st.added = true
		if r := m.Payload.Flow.Response; r != nil && r.TimestampEnd != nil {
			st.done = true
			done++
		}
	}
	<-errc
}

// TestFlowsJSON: GET /flows's body, made from the kept bytes of flows that
// are over, is what json.Marshal makes of their JSON; flows that are over
// keep no maps.
func TestFlowsJSON(t *testing.T) {
	s := benchServer(t, 10)
	shown := s.view.Shown()
	var want []map[string]any
	for _, f := range shown {
		want = append(want, FlowJSON(f))
	}
	wb, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.flowsJSON(shown); string(got) != string(wb) {
		t.Errorf("flowsJSON:\n got %.300s\nwant %.300s", got, wb)
	}
	s.flowsMu.Lock()
	defer s.flowsMu.Unlock()
	if len(s.flows) != 0 || len(s.enc) != 10 {
		t.Errorf("kept %d maps and %d encoded flows, want 0 and 10", len(s.flows), len(s.enc))
	}
}

// TestQueueBounded: a browser that reads nothing has its connection
// closed once more than maxQueued bytes wait for it, instead of the server
// keeping every change (adds are never merged, so they would pile up).
func TestQueueBounded(t *testing.T) {
	c := sinkConn() // no writer runs: nothing leaves the queue
	msg := bytes.Repeat([]byte("x"), 1<<20)
	for i := 0; i <= maxQueued>>20; i++ {
		c.sendFlow(fmt.Sprint(i), append([]byte(nil), msg...), "flows/add", true)
	}
	c.mu.Lock()
	closed, n := c.closed, c.queued
	c.mu.Unlock()
	if !closed {
		t.Fatalf("%d bytes queued and the connection is still open", n)
	}
}
