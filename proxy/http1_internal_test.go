package proxy

import (
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
