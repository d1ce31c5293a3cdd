package filter

import (
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

// benchFlow is a typical browser request with its response.
func benchFlow(b *testing.B) *flow.HTTPFlow {
	f := flow.NewHTTPFlow(tclient(), tserver())
	req, err := flow.NewRequest("GET", "https://example.com/index.html?q=1", nil, flow.NewHeaders(
		"Host", "example.com",
		"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"Accept-Language", "en-US,en;q=0.5",
		"Accept-Encoding", "gzip, deflate, br",
		"Connection", "keep-alive",
	))
	if err != nil {
		b.Fatal(err)
	}
	f.Request = req
	f.Response = flow.NewResponse(200, []byte("<html><body>hello</body></html>"), flow.NewHeaders(
		"Content-Type", "text/html; charset=utf-8",
		"Cache-Control", "max-age=600",
		"Server", "nginx",
	))
	return f
}

func benchMatch(b *testing.B, expr string, want bool) {
	f := benchFlow(b)
	flt, err := ParseWith(expr, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if got := flt.Match(f); got != want {
		b.Fatalf("%q matched %v, want %v", expr, got, want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		flt.Match(f)
	}
}

// BenchmarkMatchSimple: single operators on the hot path.
func BenchmarkMatchSimple(b *testing.B) {
	for _, tc := range []struct {
		name, expr string
		want       bool
	}{
		{"domain", `~d example.com`, true},
		{"domain_miss", `~d example\.org`, false},
		{"code", `~c 200`, true},
		{"method", `~m get`, true},
		{"header", `~h "content-type: text/html"`, true},
		{"src", `~src 127.0.0.1`, true},
		{"url", `~u /index\.html`, true},
		{"body", `~bs hello`, true},
	} {
		b.Run(tc.name, func(b *testing.B) { benchMatch(b, tc.expr, tc.want) })
	}
}

// BenchmarkMatchCompound: a realistic combined expression.
func BenchmarkMatchCompound(b *testing.B) {
	benchMatch(b, `~d example\.com & (~m get | ~m post ) & !~c 404 & ~hs "content-type: text/html" & !~a`, true)
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ParseWith(`~d example\.com & (~m get | ~m post ) & !~c 404 & ~hs "content-type: text/html" & !~a`, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
