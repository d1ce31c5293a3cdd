package proxy

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

// TestWantsClose checks wantsClose's field-by-field reading against what
// reading the joined value (as Headers.Get gives it) says.
func TestWantsClose(t *testing.T) {
	tests := []struct {
		proto string
		h     flow.Headers
		want  bool
	}{
		{"HTTP/1.1", nil, false},
		{"HTTP/1.1", flow.NewHeaders("Connection", "close"), true},
		{"HTTP/1.1", flow.NewHeaders("connection", "Keep-Alive, CLOSE"), true},
		{"HTTP/1.1", flow.NewHeaders("CONNECTION", "keep-alive"), false},
		{"HTTP/1.1", flow.NewHeaders("Connection", "upgrade", "Connection", "close"), true},
		{"HTTP/1.1", flow.NewHeaders("Connections", "close"), false},
		{"HTTP/1.1", flow.NewHeaders("X-Connection", "close"), false},
		{"HTTP/1.1", flow.NewHeaders("Connection", "clo", "Connection", "se"), false},
		{"HTTP/1.0", nil, true},
		{"HTTP/1.0", flow.NewHeaders("Connection", "Keep-Alive"), false},
		{"HTTP/1.0", flow.NewHeaders("Connection", "close"), true},
		{"HTTP/1.0", flow.NewHeaders("Connection", "x", "connection", "keep-alive"), false},
		// Unicode lower-casing, as strings.ToLower of the joined value:
		// the Kelvin sign is a k.
		{"HTTP/1.0", flow.NewHeaders("Connection", "\u212aeep-alive"), false},
	}
	for _, tt := range tests {
		if got := wantsClose(tt.proto, tt.h); got != tt.want {
			t.Errorf("wantsClose(%s, %v) = %v, want %v", tt.proto, tt.h, got, tt.want)
		}
		// The reading through Headers.Get agrees.
		c := strings.ToLower(tt.h.Get("connection"))
		byGet := strings.Contains(c, "close")
		if tt.proto == "HTTP/1.0" {
			byGet = !strings.Contains(c, "keep-alive")
		}
		if byGet != tt.want {
			t.Errorf("%s %v: through Headers.Get: %v, want %v", tt.proto, tt.h, byGet, tt.want)
		}
	}
}

// TestHasLength: hasLength answers as Headers.Has("content-length").
func TestHasLength(t *testing.T) {
	for _, h := range []flow.Headers{
		nil,
		flow.NewHeaders("Content-Length", "5"),
		flow.NewHeaders("Host", "a", "CONTENT-LENGTH", "0"),
		flow.NewHeaders("Content-Lengths", "5"),
		flow.NewHeaders("Content-Type", "text/plain"),
		flow.NewHeaders("Content-Length\u212a", "5"),
	} {
		if got, want := hasLength(h), h.Has("content-length"); got != want {
			t.Errorf("hasLength(%v) = %v, Headers.Has says %v", h, got, want)
		}
	}
}

// checkSplitAuthority: splitAuthority answers as net.SplitHostPort and
// strconv.Atoi do, and authorityEnd as strings.IndexAny.
func checkSplitAuthority(t *testing.T, a string) {
	t.Helper()
	h1, p1, err1 := splitAuthority(a, 80)
	h2, p2, err2 := "", 0, errors.New("empty host in request target")
	if a != "" {
		h2, p2, err2 = splitAuthoritySlow(a, 80)
	}
	if h1 != h2 || p1 != p2 || fmt.Sprint(err1) != fmt.Sprint(err2) {
		t.Fatalf("splitAuthority(%q) = %q %d %v, want %q %d %v", a, h1, p1, err1, h2, p2, err2)
	}
	if got, want := authorityEnd(a), strings.IndexAny(a, "/?"); got != want {
		t.Fatalf("authorityEnd(%q) = %d, want %d", a, got, want)
	}
}

var authoritySeeds = []string{
	"example.com", "example.com:80", "127.0.0.1:18300", "h:1", "h:65535", "h:65536", "h:0", "h:00080",
	"h:123456", "h:+80", "h:-1", ":80", "h:", "[::1]:443", "[::1]", "::1", "a:b:c", "h:8a", "h/x:80",
	"h x", "", "[h]:80", "h]:80", "x.y:443/path?q", "h:80?x",
}

func TestSplitAuthority(t *testing.T) {
	for _, a := range authoritySeeds {
		t.Run(a, func(t *testing.T) { checkSplitAuthority(t, a) })
	}
}

func FuzzSplitAuthority(f *testing.F) {
	for _, a := range authoritySeeds {
		f.Add(a)
	}
	f.Fuzz(checkSplitAuthority)
}
