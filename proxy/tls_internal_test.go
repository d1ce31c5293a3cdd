package proxy

import (
	"errors"
	"testing"
)

func TestClientTLSErrorText(t *testing.T) {
	tests := []struct{ err, want string }{
		{"remote error: tls: unknown certificate authority", "tls: unknown certificate authority"},
		{"remote error: tls: bad certificate", "tls: bad certificate"},
		// What an OpenSSL client's rejection looks like to crypto/tls.
		{"local error: tls: bad record MAC", "the client aborted the handshake after our certificate; local error: tls: bad record MAC"},
		{"EOF", "EOF"},
	}
	for _, tt := range tests {
		if got := clientTLSErrorText(errors.New(tt.err)); got != tt.want {
			t.Errorf("clientTLSErrorText(%q) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestMayBecomeHTTP(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"G", true}, {"GE", true}, {"GET", true}, {"DEL", true},
		{"GET ", false}, // complete: looksLikeHTTP decides
		{"A\n", false}, {"HI\n", false}, {"\x00", false}, {"g", false},
	}
	for _, tt := range tests {
		if got := mayBecomeHTTP([]byte(tt.in)); got != tt.want {
			t.Errorf("mayBecomeHTTP(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
