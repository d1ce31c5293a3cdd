package dumper

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

func textFlow(t testing.TB, url string, body string) *flow.HTTPFlow {
	t.Helper()
	f := flow.NewHTTPFlow(
		flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular"),
		flow.NewServer(flow.Address{Host: "example.com", Port: 80}))
	req := &flow.Request{Message: flow.Message{HTTPVersion: "HTTP/1.1", Headers: flow.NewHeaders("Host", "example.com"), RawContent: []byte{}}, Method: "GET"}
	scheme, rest, _ := strings.Cut(url, "://")
	host, path, _ := strings.Cut(rest, "/")
	req.Scheme, req.Host, req.Port, req.Path = scheme, host, 80, "/"+path
	if scheme == "https" {
		req.Port = 443
	}
	if h, p, ok := strings.Cut(host, ":"); ok {
		req.Host = h
		fmt.Sscan(p, &req.Port)
	}
	f.Request = req
	f.Response = flow.NewResponse(200, []byte(body), flow.NewHeaders("Content-Type", "text/plain"))
	return f
}

func TestDetailAndOptions(t *testing.T) {
	long := strings.Repeat("line\n", 600)
	tests := []struct {
		name  string
		specs []string
		tty   bool
		width int
		flow  func(t testing.TB) *flow.HTTPFlow
		want  string
	}{
		{
			name: "quiet", specs: []string{"flow_detail=0"},
			flow: func(t testing.TB) *flow.HTTPFlow { return textFlow(t, "http://example.com/", "x") },
			want: "",
		},
		{
			name: "showhost uses the Host header", specs: []string{"showhost=true"},
			flow: func(t testing.TB) *flow.HTTPFlow {
				f := textFlow(t, "http://10.0.0.1:8000/p", "x")
				f.Request.Headers.Set("Host", "example.org")
				return f
			},
			want: "127.0.0.1:50000: GET http://example.org/p\n              << 200 OK 1b\n",
		},
		{
			name: "no cut when not a terminal",
			flow: func(t testing.TB) *flow.HTTPFlow {
				return textFlow(t, "http://example.com/"+strings.Repeat("a", 100), "")
			},
			want: "127.0.0.1:50000: GET http://example.com/" + strings.Repeat("a", 100) + "\n              << 200 OK 0b\n",
		},
		{
			name: "cut to a wide terminal", width: 100,
			flow: func(t testing.TB) *flow.HTTPFlow {
				return textFlow(t, "http://example.com/"+strings.Repeat("ä", 100), "")
			},
			want: "127.0.0.1:50000: GET http://example.com/" + strings.Repeat("ä", 75-19) + "…\n              << 200 OK 0b\n",
		},
		{
			name: "no cut at flow_detail 2", width: 60, specs: []string{"flow_detail=2"},
			flow: func(t testing.TB) *flow.HTTPFlow {
				return textFlow(t, "http://example.com/"+strings.Repeat("a", 60), "")
			},
			want: "127.0.0.1:50000: GET http://example.com/" + strings.Repeat("a", 60) + "\n" +
				"    Host: example.com\n << 200 OK 0b\n    Content-Type: text/plain\n    content-length: 0\n",
		},
		{
			name: "cut after content_view_lines_cutoff lines", specs: []string{"flow_detail=3", "content_view_lines_cutoff=3"},
			flow: func(t testing.TB) *flow.HTTPFlow { return textFlow(t, "http://example.com/", long) },
			want: "127.0.0.1:50000: GET http://example.com/\n    Host: example.com\n\n" +
				" << 200 OK 2.9k\n    Content-Type: text/plain\n    content-length: 3000\n\n" +
				"    line\n    line\n    line\n    (cut off)\n\n",
		},
		{
			name: "nothing cut at flow_detail 4", specs: []string{"flow_detail=4", "content_view_lines_cutoff=3"},
			flow: func(t testing.TB) *flow.HTTPFlow { return textFlow(t, "http://example.com/", "a\nb\nc\nd\n") },
			want: "127.0.0.1:50000: GET http://example.com/\n    Host: example.com\n\n" +
				" << 200 OK 8b\n    Content-Type: text/plain\n    content-length: 8\n\n" +
				"    a\n    b\n    c\n    d\n\n",
		},
		{
			name: "pushed stream, HTTP/2 reason from the table",
			flow: func(t testing.TB) *flow.HTTPFlow {
				f := textFlow(t, "https://example.com/push", "x")
				f.Metadata.Set("h2-pushed-stream", true)
				f.Request.HTTPVersion, f.Response.HTTPVersion, f.Response.Reason = "HTTP/2.0", "HTTP/2.0", ""
				f.Response.StatusCode = 404
				return f
			},
			want: "127.0.0.1:50000: GET PUSH_PROMISE https://example.com/push HTTP/2.0\n" +
				"     << HTTP/2.0 404 Not Found 1b\n",
		},
		{
			name: "HTTP/1.0 error flow shows the version",
			flow: func(t testing.TB) *flow.HTTPFlow {
				f := textFlow(t, "http://example.com/", "")
				f.Response = nil
				f.Request.HTTPVersion = "HTTP/1.0"
				f.Error = flow.NewError("Connection killed.\x1b[2J")
				return f
			},
			want: "127.0.0.1:50000: GET http://example.com/ HTTP/1.0\n << Connection killed..[2J\n",
		},
		{
			name: "control characters in the method and URL are escaped",
			flow: func(t testing.TB) *flow.HTTPFlow {
				f := textFlow(t, "http://example.com/", "")
				f.Request.Method = "GE\x07T"
				f.Request.Path = "/a\x1bb"
				return f
			},
			want: "127.0.0.1:50000: GE.T http://example.com/a.b\n              << 200 OK 0b\n",
		},
		{
			name: "colours on a terminal", tty: true, width: 80,
			flow: func(t testing.TB) *flow.HTTPFlow {
				f := textFlow(t, "http://example.com/", "")
				f.Request.Method = "DELETE"
				f.Response.StatusCode, f.Response.Reason = 101, "Switching Protocols"
				return f
			},
			want: "127.0.0.1:50000: \x1b[31m\x1b[1mDELETE\x1b[0m \x1b[1mhttp://example.com/\x1b[0m\n" +
				"             \x1b[1m <<\x1b[0m \x1b[1m\x1b[25m101\x1b[0m \x1b[1mSwitching Protocols\x1b[0m \x1b[1m0b\x1b[0m\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			d, m := newTestDumper(t, &buf, tt.tty, tt.specs...)
			d.SetTerminalWidth(nil)
			if tt.width > 0 {
				d.SetTerminalWidth(func() int { return tt.width })
			}
			m.Response(tt.flow(t))
			if got := buf.String(); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

type hostFilter string

func (h hostFilter) Match(f any) bool {
	hf, ok := f.(*flow.HTTPFlow)
	return ok && hf.Request.Host == string(h)
}

func TestDumperFilter(t *testing.T) {
	var buf bytes.Buffer
	m := addon.NewManager()
	d := New(&buf, false)
	d.SetFilterParser(func(expr string) (Matcher, error) {
		host, ok := strings.CutPrefix(expr, "~d ")
		if !ok {
			return nil, errors.New("Invalid filter expression: " + expr)
		}
		return hostFilter(host), nil
	})
	if err := m.Add(d); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Set("dumper_filter=bogus"); err == nil || !strings.Contains(err.Error(), "dumper_filter") {
		t.Fatalf("bad filter: got %v, want an error naming dumper_filter", err)
	}
	if err := m.Options().Set("dumper_filter=~d example.org"); err != nil {
		t.Fatal(err)
	}
	m.Response(textFlow(t, "http://example.com/no", ""))
	m.Response(textFlow(t, "http://example.org/yes", ""))
	if got, want := buf.String(), "127.0.0.1:50000: GET http://example.org/yes\n              << 200 OK 0b\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// Unsetting the filter shows everything again.
	if err := m.Options().Set("dumper_filter="); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	m.Response(textFlow(t, "http://example.com/no", ""))
	if buf.Len() == 0 {
		t.Error("flow not shown after the filter was removed")
	}
}

func TestConfigureRejects(t *testing.T) {
	tests := []struct {
		spec, want string
	}{
		{"content_view_lines_cutoff=0", "content_view_lines_cutoff"},
		{"dumper_default_contentview=nonsense", "dumper_default_contentview"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			var buf bytes.Buffer
			_, m := newTestDumper(t, &buf, false)
			err := m.Options().Set(tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Set(%q) = %v, want an error naming %s", tt.spec, err, tt.want)
			}
		})
	}
}

func TestUnsupportedViewFallsBack(t *testing.T) {
	var buf bytes.Buffer
	_, m := newTestDumper(t, &buf, false, "flow_detail=3", "dumper_default_contentview=css")
	m.Response(textFlow(t, "http://example.com/", "body{}"))
	if !strings.Contains(buf.String(), "\n    body{}\n") {
		t.Errorf("css view did not fall back to the best match:\n%s", buf.String())
	}
}

func TestExplicitViewFailureIsShown(t *testing.T) {
	var buf bytes.Buffer
	_, m := newTestDumper(t, &buf, false, "flow_detail=3", "dumper_default_contentview=json")
	m.Response(textFlow(t, "http://example.com/", "not json"))
	if !strings.Contains(buf.String(), "    Couldn't parse as JSON:\n") {
		t.Errorf("missing parse error:\n%s", buf.String())
	}
}

// TestConcurrentFlowsDoNotInterleave prints many flows from many goroutines
// and checks every flow's lines stay together.
func TestConcurrentFlowsDoNotInterleave(t *testing.T) {
	var buf bytes.Buffer
	_, m := newTestDumper(t, &buf, false, "flow_detail=3")
	const workers, perWorker = 8, 25
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				m.Response(textFlow(t, fmt.Sprintf("http://example.com/%d/%d", w, i), fmt.Sprintf("w%d-i%d\n", w, i)))
			}
		}()
	}
	wg.Wait()
	blocks := strings.Split(buf.String(), "127.0.0.1:50000: GET ")
	if len(blocks) != workers*perWorker+1 {
		t.Fatalf("got %d flows, want %d", len(blocks)-1, workers*perWorker)
	}
	for _, b := range blocks[1:] {
		var w, i int
		if _, err := fmt.Sscanf(b, "http://example.com/%d/%d", &w, &i); err != nil {
			t.Fatalf("bad block %q: %v", b, err)
		}
		if !strings.Contains(b, fmt.Sprintf("\n    w%d-i%d\n", w, i)) {
			t.Fatalf("block for %d/%d holds another flow's body:\n%s", w, i, b)
		}
	}
}

// TestFilterExpressions uses the real filter language.
func TestFilterExpressions(t *testing.T) {
	var buf bytes.Buffer
	_, m := newTestDumper(t, &buf, false, "dumper_filter=~d example.org & ~c 200")
	m.Response(textFlow(t, "http://example.com/no", ""))
	m.Response(textFlow(t, "http://example.org/yes", ""))
	if got, want := buf.String(), "127.0.0.1:50000: GET http://example.org/yes\n              << 200 OK 0b\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := m.Options().Set("dumper_filter=~nonsense"); err == nil || !strings.Contains(err.Error(), "dumper_filter") {
		t.Errorf("bad expression: got %v", err)
	}
}
