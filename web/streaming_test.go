package web

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// sseOrigin is an origin that sends server-sent events, one per value on
// next, and ends the stream when next is closed.
func sseOrigin(t *testing.T, next chan string) string {
	o := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for ev := range next {
			_, _ = io.WriteString(w, "data: "+ev+"\n\n")
			w.(http.Flusher).Flush()
		}
	}))
	return o.URL
}

// TestStreamedBodyGrows: an event stream is shown while it arrives: the
// flow's response says how much of it the flow keeps so far (in /flows and
// in flows/update messages), its content and content views answer what
// arrived, and once it is over the flow's own content takes over.
func TestStreamedBodyGrows(t *testing.T) {
	next := make(chan string)
	var once sync.Once
	end := func() { once.Do(func() { close(next) }) }
	e := start(t)
	origin := sseOrigin(t, next)
	t.Cleanup(end)
	e.login()
	updates := e.collectUpdates()

	// The proxy may send the head with the first event.
	go func() { next <- "one" }()
	resp, err := e.proxied().Get(origin + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	var id string
	content := func() (string, int) {
		r := e.req(nil, "GET", "/flows/"+id+"/response/content.data", nil, nil)
		b, _ := io.ReadAll(r.Body)
		return string(b), r.StatusCode
	}
	view := func() string {
		r := e.req(nil, "GET", "/flows/"+id+"/response/content/auto.json", nil, nil)
		var v map[string]any
		_ = json.NewDecoder(r.Body).Decode(&v)
		s, _ := v["text"].(string)
		return s
	}
	contentLength := func() any {
		for _, f := range e.flows() {
			if f["id"] == id {
				if r, ok := f["response"].(map[string]any); ok {
					return r["contentLength"]
				}
			}
		}
		return nil
	}
	want := ""
	for _, ev := range []string{"one", "two"} {
		if ev != "one" {
			next <- ev
		}
		line, err := br.ReadString('\n')
		if err != nil || line != "data: "+ev+"\n" {
			t.Fatalf("client got %q %v", line, err)
		}
		_, _ = br.ReadString('\n')
		want += "data: " + ev + "\n\n"
		testutil.Eventually(t, wait, func() bool {
			fl := e.flows()
			if len(fl) != 1 {
				return false
			}
			id = fl[0]["id"].(string)
			return contentLength() == float64(len(want))
		}, "the kept length of the stream in /flows")
		if c, status := content(); status != 200 || c != want {
			t.Fatalf("content while streaming: %d %q, want %q", status, c, want)
		}
		if v := view(); !strings.Contains(v, ev) {
			t.Errorf("content view while streaming: %q", v)
		}
		updates.await(t, func(m map[string]any) bool {
			p, _ := m["payload"].(map[string]any)
			f, _ := p["flow"].(map[string]any)
			r, _ := f["response"].(map[string]any)
			mf, _ := p["matching_filters"].(map[string]any)
			return m["type"] == "flows/update" && r != nil && r["contentLength"] == float64(len(want)) &&
				r["contentHash"] == nil && mf != nil
		}, "flows/update with the stream's length")
	}
	// Edits still wait for the flow.
	if r := e.req(nil, "PUT", "/flows/"+id, `{"comment": "x"}`, nil); r.StatusCode != 409 {
		t.Errorf("edit while streaming: %d", r.StatusCode)
	}
	end()
	_, _ = io.ReadAll(br)
	testutil.Eventually(t, wait, func() bool {
		fl := e.flows()
		r, _ := fl[0]["response"].(map[string]any)
		return r != nil && r["timestamp_end"] != nil && r["contentHash"] != nil
	}, "the stream over")
	if c, status := content(); status != 200 || c != want {
		t.Errorf("content when over: %d %q", status, c)
	}
	if cl := contentLength(); cl != float64(len(want)) {
		t.Errorf("contentLength when over: %v", cl)
	}
	e.w.streamsMu.Lock()
	n := len(e.w.streams)
	e.w.streamsMu.Unlock()
	if n != 0 {
		t.Errorf("%d flows still watched", n)
	}
}

// TestStreamedBodyNotKept: a body streamed without being kept
// (event_stream_store=0) has no content while it streams: 409 with the
// reason, and its length stays null.
func TestStreamedBodyNotKept(t *testing.T) {
	next := make(chan string)
	var once sync.Once
	end := func() { once.Do(func() { close(next) }) }
	e := start(t, "event_stream_store=0")
	origin := sseOrigin(t, next)
	t.Cleanup(end)
	e.login()
	go func() { next <- "one" }()
	resp, err := e.proxied().Get(origin + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "data: one\n" {
		t.Fatalf("client got %q %v", line, err)
	}
	var id string
	testutil.Eventually(t, wait, func() bool {
		fl := e.flows()
		if len(fl) == 1 && fl[0]["response"] != nil {
			id = fl[0]["id"].(string)
			return true
		}
		return false
	}, "the flow with its response head")
	r := e.req(nil, "GET", "/flows/"+id+"/response/content.data", nil, nil)
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode != 409 || !strings.Contains(string(b), "not kept") {
		t.Errorf("content of a stream not kept: %d %q", r.StatusCode, b)
	}
	time.Sleep(3 * streamTick) // the watcher had its chance to get it wrong
	if cl := e.flows()[0]["response"].(map[string]any)["contentLength"]; cl != nil {
		t.Errorf("contentLength of a stream not kept: %v", cl)
	}
	end()
}

// updateLog collects the /updates messages of one connection.
type updateLog struct {
	mu   sync.Mutex
	msgs []map[string]any
}

func (e *env) collectUpdates() *updateLog {
	rd, _ := e.wsDial()
	l := &updateLog{}
	msgs := wsMessages(rd)
	go func() {
		for m := range msgs {
			l.mu.Lock()
			l.msgs = append(l.msgs, m)
			l.mu.Unlock()
		}
	}()
	return l
}

// await waits for a message that ok accepts (among all received so far).
func (l *updateLog) await(t *testing.T, ok func(map[string]any) bool, what string) map[string]any {
	t.Helper()
	var hit map[string]any
	testutil.Eventually(t, wait, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, m := range l.msgs {
			if ok(m) {
				hit = m
				return true
			}
		}
		return false
	}, what)
	return hit
}

// TestContentViewsUpdate: a content view that a script adds after the page
// loaded reaches it as a state/update with the new list.
func TestContentViewsUpdate(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil || testing.Short() {
		t.Skip("python3 absent or -short: no script to add a content view")
	}
	script := filepath.Join(t.TempDir(), "views.py")
	src := "from mitmproxy import contentviews\n\n" +
		"class Rot(contentviews.Contentview):\n" +
		"    def prettify(self, data, metadata):\n        return data.decode()[::-1]\n\n" +
		"contentviews.add(Rot)\n"
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	e := start(t)
	e.login()
	updates := e.collectUpdates()
	body, _ := json.Marshal(map[string]any{"scripts": []string{script}})
	e.call("PUT", "/options", string(body))
	m := updates.await(t, func(m map[string]any) bool {
		p, _ := m["payload"].(map[string]any)
		names, _ := p["contentViews"].([]any)
		return m["type"] == "state/update" && slices.ContainsFunc(names, func(n any) bool { return strings.EqualFold(fmt.Sprint(n), "rot") })
	}, "state/update with the script's view")
	if names := m["payload"].(map[string]any)["contentViews"].([]any); names[0] != "auto" {
		t.Errorf("contentViews: %v", names)
	}
}

// TestStreamedRequestGrows: a request body streamed to the server
// (stream_large_bodies, kept with store_streamed_bodies) is shown as it
// is sent.
func TestStreamedRequestGrows(t *testing.T) {
	got := make(chan []byte, 10)
	e := start(t, "stream_large_bodies=1k", "store_streamed_bodies=true")
	o := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 64<<10)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				got <- append([]byte(nil), buf[:n]...)
			}
			if err != nil {
				break
			}
		}
		_, _ = io.WriteString(w, "ok")
	}))
	e.login()
	pr, pw := io.Pipe()
	t.Cleanup(func() { _ = pw.CloseWithError(io.ErrUnexpectedEOF) })
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("POST", o.URL+"/upload", pr)
		req.Header.Set("Content-Type", "text/plain")
		resp, err := e.proxied().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	part := strings.Repeat("a", 3000)
	if _, err := io.WriteString(pw, part); err != nil {
		t.Fatal(err)
	}
	var id string
	testutil.Eventually(t, wait, func() bool {
		fl := e.flows()
		if len(fl) != 1 {
			return false
		}
		id = fl[0]["id"].(string)
		r := e.req(nil, "GET", "/flows/"+id+"/request/content.data", nil, nil)
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode == 200 && string(b) == part
	}, "the request body sent so far")
	testutil.Eventually(t, wait, func() bool {
		return fl0Request(e)["contentLength"] == float64(len(part))
	}, "the request's contentLength while streaming")
	_, _ = io.WriteString(pw, "bbb")
	_ = pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, wait, func() bool {
		r := e.req(nil, "GET", "/flows/"+id+"/request/content.data", nil, nil)
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode == 200 && string(b) == part+"bbb"
	}, "the whole request body once the flow is over")
}

func fl0Request(e *env) map[string]any {
	fl := e.flows()
	if len(fl) == 0 {
		return nil
	}
	r, _ := fl[0]["request"].(map[string]any)
	return r
}
