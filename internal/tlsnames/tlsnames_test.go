package tlsnames

import (
	"crypto/tls"
	"testing"
)

func TestCipherName(t *testing.T) {
	tests := []struct {
		id   uint16
		want string
	}{
		{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256"},
		{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305"},
		{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, "DES-CBC3-SHA"},
		{tls.TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384"},
		{0x1234, "0x1234"},
	}
	for _, tt := range tests {
		if got := CipherName(tt.id); got != tt.want {
			t.Errorf("CipherName(%#04x) = %q, want %q", tt.id, got, tt.want)
		}
	}
	// Every TLS 1.0-1.2 suite crypto/tls has gets OpenSSL's name.
	for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, s := range list {
			tls12 := false
			for _, v := range s.SupportedVersions {
				tls12 = tls12 || v <= tls.VersionTLS12
			}
			if _, ok := openSSL[s.ID]; tls12 && !ok {
				t.Errorf("%s has no OpenSSL name", s.Name)
			}
			// TLS 1.3 suites keep crypto/tls's (IANA's) name.
			if !tls12 && CipherName(s.ID) != s.Name {
				t.Errorf("CipherName(%s) = %q", s.Name, CipherName(s.ID))
			}
		}
	}
}

// A new TLS connection names its ciphers twice: naming one allocates
// nothing (tls.CipherSuiteName builds a list of every suite).
func TestCipherNameAllocates(t *testing.T) {
	for _, id := range []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256} {
		if n := testing.AllocsPerRun(10, func() { CipherName(id) }); n != 0 {
			t.Errorf("CipherName(%#04x): %v allocations", id, n)
		}
	}
}
