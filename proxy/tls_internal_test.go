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
