package web

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

// manyFlows adds n finished HTTP flows to the view, as a busy session
// leaves them: a dozen header fields each way and small bodies.
func (e *env) manyFlows(n int) {
	e.t.Helper()
	flows := make([]flow.Any, 0, n)
	for i := range n {
		c := flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50000 + i%1000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular")
		srv := flow.NewServer(flow.Address{Host: "example.com", Port: 443})
		f := flow.NewHTTPFlow(c, srv)
		hdr := flow.Headers{}
		for _, kv := range [][2]string{{"Host", "example.com"}, {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"},
			{"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, {"Accept-Language", "en-US,en;q=0.5"},
			{"Accept-Encoding", "gzip, deflate, br"}, {"Cookie", fmt.Sprintf("session=%032x", i)}, {"Connection", "keep-alive"}} {
			hdr.Add(kv[0], kv[1])
		}
		req, err := flow.NewRequest("GET", fmt.Sprintf("https://example.com/api/items/%d?page=%d&sort=name", i, i%7), nil, hdr)
		if err != nil {
			e.t.Fatal(err)
		}
		f.Request = req
		rh := flow.Headers{}
		for _, kv := range [][2]string{{"Content-Type", "application/json"}, {"Cache-Control", "no-cache"}, {"Date", "Mon, 07 Dec 2026 18:00:00 GMT"},
			{"Server", "nginx"}, {"X-Request-Id", fmt.Sprintf("%016x", i*7919)}} {
			rh.Add(kv[0], kv[1])
		}
		f.Response = flow.NewResponse(200, []byte(fmt.Sprintf(`{"id": %d, "name": "item %d"}`, i, i)), rh)
		f.SetLive(false)
		flows = append(flows, f)
	}
	e.m.View.Add(flows...)
}

// rawGet asks for path with the given Accept-Encoding ("" for none),
// without the transport's own decompression.
func (e *env) rawGet(path, acceptEncoding string) *http.Response {
	e.t.Helper()
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Jar: e.api.Jar, Timeout: wait, Transport: tr}
	hdr := map[string]string{}
	if acceptEncoding != "" {
		hdr["Accept-Encoding"] = acceptEncoding
	}
	return e.req(c, "GET", path, nil, hdr)
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGzip: the API's large answers (flows, flow files) are compressed
// for a client that accepts gzip, and are the same once decompressed;
// small ones, clients that do not accept it and the front end's files
// are answered as they are.
func TestGzip(t *testing.T) {
	e := start(t)
	e.login()
	e.manyFlows(200)
	for _, tc := range []struct {
		path, accept string
		gzip         bool
	}{
		{"/flows", "gzip, deflate, br", true},
		{"/flows.json", "br;q=1.0, gzip;q=0.5", true},
		{"/flows/dump", "gzip", true},
		{"/flows", "", false},
		{"/flows", "gzip;q=0", false},
		{"/flows", "br", false},
		{"/events", "gzip", false}, // "[]": too small
		{"/", "gzip", false},
	} {
		r := e.rawGet(tc.path, tc.accept)
		body, _ := io.ReadAll(r.Body)
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d", tc.path, r.StatusCode)
		}
		got := r.Header.Get("Content-Encoding") == "gzip"
		if got != tc.gzip {
			t.Errorf("GET %s with Accept-Encoding %q: gzip %v, want %v", tc.path, tc.accept, got, tc.gzip)
			continue
		}
		if !got {
			continue
		}
		if !strings.Contains(r.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("%s: Vary %q", tc.path, r.Header.Values("Vary"))
		}
		plain, _ := io.ReadAll(e.rawGet(tc.path, "").Body)
		if !bytes.Equal(gunzip(t, body), plain) {
			t.Errorf("%s: the compressed answer differs from the plain one", tc.path)
		}
		if len(body)*3 > len(plain) {
			t.Errorf("%s: %d bytes compressed from %d", tc.path, len(body), len(plain))
		}
	}
	// An error stays plain and keeps its status.
	if r := e.rawGet("/flows/00000000-0000-0000-0000-000000000000/response/content.data", "gzip"); r.StatusCode != 404 || r.Header.Get("Content-Encoding") != "" {
		t.Errorf("error answer: %d %q", r.StatusCode, r.Header.Get("Content-Encoding"))
	}
}

// BenchmarkGetFlows measures GET /flows and GET /flows/dump with 10,000
// flows over loopback, plain and compressed: the time per request (ns/op)
// and the bytes on the wire (wire-bytes).
func BenchmarkGetFlows(b *testing.B) {
	e := start(b)
	e.login()
	e.manyFlows(10000)
	for _, path := range []string{"/flows", "/flows/dump"} {
		for _, accept := range []string{"", "gzip"} {
			name := strings.TrimPrefix(path, "/") + "/identity"
			if accept != "" {
				name = strings.TrimPrefix(path, "/") + "/gzip"
			}
			b.Run(name, func(b *testing.B) {
				tr := &http.Transport{DisableCompression: true}
				defer tr.CloseIdleConnections()
				c := &http.Client{Jar: e.api.Jar, Timeout: wait, Transport: tr}
				hdr := map[string]string{}
				if accept != "" {
					hdr["Accept-Encoding"] = accept
				}
				var n int
				for b.Loop() {
					body, _ := io.ReadAll(e.req(c, "GET", path, nil, hdr).Body)
					n = len(body)
				}
				b.ReportMetric(float64(n), "wire-bytes")
			})
		}
	}
}

func TestGzipAccepted(t *testing.T) {
	for _, tc := range []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"gzip"}, true},
		{[]string{"GZip"}, true},
		{[]string{"x-gzip"}, true},
		{[]string{"deflate, br"}, false},
		{[]string{"br;q=1.0, gzip;q=0.5"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.000"}, false},
		{[]string{"gzip;q=0.001"}, true},
		{[]string{"*"}, true},
		{[]string{"*;q=0"}, false},
		// gzip's own entry wins over "*", in either order and field.
		{[]string{"*, gzip;q=0"}, false},
		{[]string{"gzip;q=0, *"}, false},
		{[]string{"*;q=0", "gzip"}, true},
		{[]string{"br", "gzip"}, true},
		// A qvalue that cannot be read, or out of range, is 0.
		{[]string{"gzip;q=x"}, false},
		{[]string{"gzip;q=NaN"}, false},
		{[]string{"gzip;q=2"}, false},
		{[]string{"gzip;q=-1"}, false},
		{[]string{"gzip;level=1"}, true},
		{[]string{"gzipx"}, false},
	} {
		if got := gzipAccepted(tc.values); got != tc.want {
			t.Errorf("gzipAccepted(%q) = %v, want %v", tc.values, got, tc.want)
		}
	}
}

// FuzzGzipAccepted: the Accept-Encoding parser never panics, accepts only
// a field that names gzip or "*", and answers the same for one field as
// for its entries sent as separate fields (RFC 9110 5.3).
func FuzzGzipAccepted(f *testing.F) {
	for _, s := range []string{"gzip", "gzip;q=0, *", "br;q=1.0, gzip;q=0.5", "*;q=0.1", "x-gzip;q=1;q=0", ";,;=,", "gzip;q=1e-400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := gzipAccepted([]string{s})
		l := strings.ToLower(s)
		if got && !strings.Contains(l, "gzip") && !strings.Contains(l, "*") {
			t.Fatalf("%q accepted without naming gzip or *", s)
		}
		if split := gzipAccepted(strings.Split(s, ",")); split != got {
			t.Fatalf("%q: %v as one field, %v split into fields", s, got, split)
		}
	})
}
