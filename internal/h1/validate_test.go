package h1

import (
	"bufio"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

func TestValidateHeaders(t *testing.T) {
	tests := []struct {
		name    string
		headers flow.Headers
		wantErr bool
	}{
		{"none", nil, false},
		{"content-length", flow.NewHeaders("Content-Length", "3"), false},
		{"chunked", flow.NewHeaders("Transfer-Encoding", "chunked"), false},
		{"both", flow.NewHeaders("transfer-encoding", "chunked", "CONTENT-LENGTH", "3"), true},
		{"both, length first", flow.NewHeaders("Content-Length", "0", "Transfer-Encoding", "gzip, chunked"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateHeaders(tt.headers)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ValidateHeaders = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && (!isProtocolError(err) || !strings.Contains(err.Error(), "validate_inbound_headers")) {
				t.Errorf("error %v should be a protocol error naming the option", err)
			}
		})
	}
}

func TestAnyHeaderNames(t *testing.T) {
	const head = "GET / HTTP/1.1\r\nBad Name: x\r\n(odd): y\r\n\r\n"
	if _, err := ReadRequestHead(bufio.NewReader(strings.NewReader(head)), 4096); err == nil || !strings.Contains(err.Error(), "validate_inbound_headers") {
		t.Errorf("strict read: error %v, want one naming validate_inbound_headers", err)
	}
	h, err := ReadRequestHead(bufio.NewReader(strings.NewReader(head)), 4096, AnyHeaderNames)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Headers.Get("Bad Name") + h.Headers.Get("(odd)"); got != "xy" {
		t.Errorf("lenient read: %v", h.Headers)
	}
	for _, bad := range []string{"GET / HTTP/1.1\r\n: empty name\r\n\r\n", "GET / HTTP/1.1\r\nNUL\x00: x\r\n\r\n"} {
		if _, err := ReadRequestHead(bufio.NewReader(strings.NewReader(bad)), 4096, AnyHeaderNames); err == nil {
			t.Errorf("%q: accepted even leniently", bad)
		}
	}
}
