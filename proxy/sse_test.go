package proxy_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// sseOrigin sends event i+1 only once next has been told i times, so that a
// test knows an event crossed the proxy before the next one existed.
func sseOrigin(t *testing.T, events int, next chan struct{}) string {
	t.Helper()
	o := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range events {
			if i > 0 {
				select {
				case <-next:
				case <-r.Context().Done():
					return
				case <-time.After(10 * time.Second):
					return
				}
			}
			fmt.Fprintf(w, "data: event %d\n\n", i)
			w.(http.Flusher).Flush()
		}
	}))
	return o.URL
}

// TestEventStreamStreamed: server-sent events reach the client one by one
// (each before the origin sends the next), and the flow keeps them all for
// the response hook.
func TestEventStreamStreamed(t *testing.T) {
	next := make(chan struct{})
	origin := sseOrigin(t, 3, next)
	var sawStream bool
	rec := &recorder{}
	hook := &onResponseHeaders{fn: func(f *flow.HTTPFlow) { sawStream = f.Response.Stream }}
	addr := startProxyAddons(t, []any{hook, rec})
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: addr})}}
	resp, err := c.Get(origin + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: event %d\n", i) {
			t.Fatalf("event %d: %q, %v", i, line, err)
		}
		br.ReadString('\n')
		if i < 2 {
			next <- struct{}{} // only now may the origin send the next event
		}
	}
	if !sawStream {
		t.Error("responseheaders did not see flow.Response.Stream set")
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return len(rec.Flows()) == 1 }, "no response hook")
	if got := string(rec.Flows()[0].Response.RawContent); got != "data: event 0\n\ndata: event 1\n\ndata: event 2\n\n" {
		t.Errorf("the flow kept %q", got)
	}
}

// TestEventStreamOptOut: an addon that says no in responseheaders gets the
// stream buffered as any other body.
func TestEventStreamOptOut(t *testing.T) {
	next := make(chan struct{}, 2)
	next <- struct{}{}
	next <- struct{}{}
	origin := sseOrigin(t, 3, next)
	hook := &onResponseHeaders{fn: func(f *flow.HTTPFlow) { f.Response.Stream = false }}
	rec := &recorder{}
	addr := startProxyAddons(t, []any{hook, rec})
	got := roundTrip(t, addr, "GET "+origin+"/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if !strings.Contains(got, "data: event 2\n\n") {
		t.Errorf("response %q", got)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return len(rec.Flows()) == 1 }, "no response hook")
	if f := rec.Flows()[0]; f.Response.Stream || len(f.Response.RawContent) != 45 {
		t.Errorf("stream %v, %d bytes kept", f.Response.Stream, len(f.Response.RawContent))
	}
}

type onResponseHeaders struct{ fn func(*flow.HTTPFlow) }

func (o *onResponseHeaders) ResponseHeaders(f *flow.HTTPFlow) { o.fn(f) }

// TestEventStreamHeadFirst: the response head of a streamed body reaches an
// HTTP/1 client before any of the body does, as the server sent it: an
// event-stream client sees the stream open while no event has come yet.
func TestEventStreamHeadFirst(t *testing.T) {
	first := make(chan struct{})
	o := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		select {
		case <-first:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "data: event 0\n\n")
	}))
	addr := startProxyAddons(t, nil)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: addr})}}
	type result struct {
		resp *http.Response
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := c.Get(o.URL + "/events")
		got <- result{resp, err}
	}()
	var r result
	testutil.Eventually(t, 5*time.Second, func() bool {
		select {
		case r = <-got:
			return true
		default:
			return false
		}
	}, "the response head did not arrive before the first event")
	close(first)
	if r.err != nil {
		t.Fatal(r.err)
	}
	resp := r.resp
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "data: event 0\n" {
		t.Fatalf("first event: %q, %v", line, err)
	}
}
