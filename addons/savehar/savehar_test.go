package savehar

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/readfile"
	"github.com/mitmgo/mitmgo/addons/save"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
)

const flowsDir = "../../../shared/testdata/mitmproxy-flows"

func setup(t *testing.T, specs ...string) (*SaveHar, *addon.Manager) {
	t.Helper()
	m := addon.NewManager()
	s := New()
	// save declares save_stream_filter, which savehar honours.
	if err := m.Add(save.New(), s); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Set(specs...); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	return s, m
}

func httpFlow(t testing.TB, method, url string) *flow.HTTPFlow {
	t.Helper()
	f := flow.NewHTTPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 40000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular"),
		flow.NewServer(flow.Address{Host: "example.com", Port: 80}))
	req, err := flow.NewRequest(method, url, nil, flow.NewHeaders("Host", "example.com", "Cookie", "a=b"))
	if err != nil {
		t.Fatal(err)
	}
	f.Request = req
	f.ServerConn.Peername = flow.Address{Host: "93.184.216.34", Port: 80}
	return f
}

func complete(m *addon.Manager, f *flow.HTTPFlow, status int, body string) {
	m.RequestHeaders(f)
	m.Request(f)
	f.Response = flow.NewResponse(status, []byte(body), flow.NewHeaders("Content-Type", "text/html", "Set-Cookie", "s=1; Path=/"))
	m.ResponseHeaders(f)
	m.Response(f)
}

// har is the part of HAR 1.2 that viewers require.
type har struct {
	Log struct {
		Version string `json:"version"`
		Creator struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"creator"`
		Pages   []any `json:"pages"`
		Entries []struct {
			StartedDateTime string   `json:"startedDateTime"`
			Time            *float64 `json:"time"`
			Request         struct {
				Method      string `json:"method"`
				URL         string `json:"url"`
				HTTPVersion string `json:"httpVersion"`
				Cookies     []any  `json:"cookies"`
				Headers     []struct {
					Name, Value string
				} `json:"headers"`
				QueryString []any `json:"queryString"`
				HeadersSize *int  `json:"headersSize"`
				BodySize    *int  `json:"bodySize"`
			} `json:"request"`
			Response struct {
				Status      *int   `json:"status"`
				StatusText  string `json:"statusText"`
				HTTPVersion string `json:"httpVersion"`
				Cookies     []any  `json:"cookies"`
				Headers     []any  `json:"headers"`
				Content     struct {
					Size     *int   `json:"size"`
					MimeType string `json:"mimeType"`
					Text     string `json:"text"`
				} `json:"content"`
				RedirectURL *string `json:"redirectURL"`
				HeadersSize *int    `json:"headersSize"`
				BodySize    *int    `json:"bodySize"`
				Error       string  `json:"_error"`
			} `json:"response"`
			Cache   map[string]any `json:"cache"`
			Timings struct {
				Send    *float64 `json:"send"`
				Wait    *float64 `json:"wait"`
				Receive *float64 `json:"receive"`
			} `json:"timings"`
			WebSocketMessages []any `json:"_webSocketMessages"`
		} `json:"entries"`
	} `json:"log"`
}

// parseHAR decodes a HAR file and checks the fields HAR 1.2 requires.
func parseHAR(t *testing.T, data []byte) *har {
	t.Helper()
	var h har
	if err := json.Unmarshal(data, &h); err != nil {
		t.Fatalf("invalid JSON: %v\n%.500s", err, data)
	}
	if h.Log.Version != "1.2" || h.Log.Creator.Name == "" || h.Log.Pages == nil {
		t.Errorf("log header %+v", h.Log)
	}
	for i, e := range h.Log.Entries {
		missing := []string{}
		check := func(ok bool, name string) {
			if !ok {
				missing = append(missing, name)
			}
		}
		check(e.StartedDateTime != "", "startedDateTime")
		check(e.Time != nil, "time")
		check(e.Request.Method != "" && e.Request.URL != "" && e.Request.Cookies != nil && e.Request.Headers != nil && e.Request.QueryString != nil, "request fields")
		check(e.Request.HeadersSize != nil && e.Request.BodySize != nil, "request sizes")
		check(e.Response.Status != nil && e.Response.Cookies != nil && e.Response.Headers != nil && e.Response.RedirectURL != nil, "response fields")
		check(e.Response.HeadersSize != nil && e.Response.BodySize != nil, "response sizes")
		check(e.Cache != nil, "cache")
		check(e.Timings.Send != nil && e.Timings.Wait != nil && e.Timings.Receive != nil, "timings")
		if len(missing) > 0 {
			t.Errorf("entry %d lacks %v", i, missing)
		}
	}
	return &h
}

func urls(h *har) []string {
	var out []string
	for _, e := range h.Log.Entries {
		out = append(out, fmt.Sprintf("%s %s %d", e.Request.Method, e.Request.URL, *e.Response.Status))
	}
	return out
}

func TestWritesOnDone(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "dump.har")
	_, m := setup(t, "hardump="+out)

	complete(m, httpFlow(t, "GET", "http://example.com/a?x=1"), 200, "<p>hello</p>")
	failed := httpFlow(t, "POST", "http://example.com/form")
	m.RequestHeaders(failed)
	m.Request(failed)
	failed.Error = flow.NewError("Connection refused")
	m.Error(failed)
	ws := httpFlow(t, "GET", "http://example.com/ws")
	m.RequestHeaders(ws)
	m.Request(ws)
	ws.Response = flow.NewResponse(101, nil, flow.NewHeaders("Upgrade", "websocket"))
	ws.WebSocket = &flow.WebSocketData{}
	m.ResponseHeaders(ws)
	m.Response(ws)
	ws.WebSocket.Messages = append(ws.WebSocket.Messages, &flow.WebSocketMessage{Type: flow.WebSocketText, FromClient: true, Content: []byte("hi")})
	m.WebSocketEnd(ws)

	if _, err := os.Stat(out); err == nil {
		t.Fatal("HAR written before done")
	}
	m.Done()
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	h := parseHAR(t, data)
	want := "[GET http://example.com/a?x=1 200 POST http://example.com/form 0 GET http://example.com/ws 101]"
	if got := fmt.Sprint(urls(h)); got != want {
		t.Errorf("entries %s, want %s", got, want)
	}
	if e := h.Log.Entries[1]; e.Response.Error != "Connection refused" {
		t.Errorf("failed entry _error %q", e.Response.Error)
	}
	if n := len(h.Log.Entries[2].WebSocketMessages); n != 1 {
		t.Errorf("WebSocket entry has %d messages, want 1", n)
	}
	if c := h.Log.Entries[0].Response.Content; c.Text != "<p>hello</p>" || c.MimeType != "text/html" {
		t.Errorf("content %+v", c)
	}
	// Nothing is left behind but the HAR.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want only the HAR", len(entries))
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o644 {
		t.Errorf("HAR mode %v, want 0644", st.Mode().Perm())
	}
	// The HAR reads back as flows.
	flows, err := flowfile.ReadAll(bytes.NewReader(data))
	if err != nil || len(flows) != 3 {
		t.Fatalf("reading the HAR back: %d flows, %v", len(flows), err)
	}
}

func TestVariants(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		specs []string
		want  string
	}{
		{"filtered", "f.har", []string{"save_stream_filter=~m POST"}, "[POST http://example.com/p 200]"},
		{"zhar", "z.zhar", nil, "[GET http://example.com/g 200 POST http://example.com/p 200]"},
		{"stdout", "-", nil, "[GET http://example.com/g 200 POST http://example.com/p 200]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := tt.file
			if out != "-" {
				out = filepath.Join(t.TempDir(), tt.file)
			}
			s, m := setup(t, append(tt.specs, "hardump="+out)...)
			var stdout bytes.Buffer
			s.Stdout = &stdout
			complete(m, httpFlow(t, "GET", "http://example.com/g"), 200, "g")
			complete(m, httpFlow(t, "POST", "http://example.com/p"), 200, "p")
			m.Done()
			var data []byte
			switch {
			case out == "-":
				data = stdout.Bytes()
			case strings.HasSuffix(out, ".zhar"):
				raw, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				zr, err := zlib.NewReader(bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				if data, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			default:
				var err error
				if data, err = os.ReadFile(out); err != nil {
					t.Fatal(err)
				}
			}
			if got := fmt.Sprint(urls(parseHAR(t, data))); got != tt.want {
				t.Errorf("entries %s, want %s", got, tt.want)
			}
		})
	}
}

func TestOffOrUnwritable(t *testing.T) {
	dir := t.TempDir()
	// Off: nothing happens.
	_, m := setup(t)
	complete(m, httpFlow(t, "GET", "http://example.com/"), 200, "")
	m.Done()

	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{filepath.Join(file, "x.har"), filepath.Join(dir, "missing", "x.har")} {
		m := addon.NewManager()
		if err := m.Add(New()); err != nil {
			t.Fatal(err)
		}
		err := m.Options().Set("hardump=" + bad)
		if err == nil || !strings.Contains(err.Error(), "hardump") {
			t.Errorf("hardump=%s: error %v, want one naming hardump", bad, err)
		}
	}
	// Unset at run time: the entries are dropped.
	out := filepath.Join(dir, "dropped.har")
	_, m = setup(t, "hardump="+out)
	complete(m, httpFlow(t, "GET", "http://example.com/"), 200, "")
	if err := m.Options().Set("hardump="); err != nil {
		t.Fatal(err)
	}
	m.Done()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want only %s", len(entries), file)
	}
}

// TestLoadedFlows saves mitmproxy's flow files as HAR through readfile; a
// flow with both a response and an error is one entry.
func TestLoadedFlows(t *testing.T) {
	if _, err := os.Stat(flowsDir); err != nil {
		t.Skipf("mitmproxy's flow files are not available (%v); skipping", err)
	}
	for _, name := range []string{"flows/event_stream.mitm", "websocket.mitm", "flows/diff_data.mitm", "chrome.har"} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.har")
			m := addon.NewManager()
			rf := readfile.New(m)
			if err := m.Add(rf, New()); err != nil {
				t.Fatal(err)
			}
			in := filepath.Join(flowsDir, name)
			if err := m.Options().Set("rfile="+in, "hardump="+out); err != nil {
				t.Fatal(err)
			}
			if err := rf.ReadAll(context.Background()); err != nil {
				t.Fatal(err)
			}
			m.Done()
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			h := parseHAR(t, data)
			flows, err := readfile.ReadFlows([]string{in})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, f := range flows {
				if hf, ok := f.(*flow.HTTPFlow); ok {
					want = append(want, hf.Request.Method+" "+hf.Request.PrettyURL())
				}
			}
			var got []string
			for _, e := range h.Log.Entries {
				got = append(got, e.Request.Method+" "+e.Request.URL)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("entries\n%q\nwant\n%q", got, want)
			}
		})
	}
}

func TestConcurrent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "c.har")
	_, m := setup(t, "hardump="+out)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				complete(m, httpFlow(t, "GET", fmt.Sprintf("http://example.com/%d/%d", w, i)), 200, "x")
			}
		}()
	}
	wg.Wait()
	m.Done()
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(parseHAR(t, data).Log.Entries); n != 200 {
		t.Errorf("%d entries, want 200", n)
	}
}
