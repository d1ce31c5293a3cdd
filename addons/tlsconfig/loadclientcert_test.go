package tlsconfig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLoadClientCert covers the file lookup of client_certs; the e2e tests
// in clientcerts_test.go cover the handshakes.
func TestLoadClientCert(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "client"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})

	dir := t.TempDir()
	write := func(name string, data ...[]byte) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		var b []byte
		for _, d := range data {
			b = append(b, d...)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	certFirst := write("files/cert-first.pem", certPEM, keyPEM)
	keyFirst := write("files/key-first.pem", keyPEM, certPEM)
	noKey := write("files/no-key.pem", certPEM)
	write("certs/example.com.pem", certPEM, keyPEM)
	write("certs/127.0.0.1.pem", keyPEM, certPEM)
	write("certs/broken.pem", certPEM)
	write("certs/sub/inner.pem", certPEM, keyPEM)
	write("certs/inner.pem/x", certPEM, keyPEM) // a directory named like a certificate
	certsDir := filepath.Join(dir, "certs")

	tests := []struct {
		name, path, server string
		want               bool   // a certificate is returned
		wantErr            string // substring of the error
	}{
		{name: "file cert first", path: certFirst, server: "any.example", want: true},
		{name: "file key first", path: keyFirst, server: "", want: true},
		{name: "file without a key", path: noKey, server: "x", wantErr: "no-key.pem"},
		{name: "dir by sni", path: certsDir, server: "example.com", want: true},
		{name: "dir by address", path: certsDir, server: "127.0.0.1", want: true},
		{name: "dir without a file", path: certsDir, server: "other.example"},
		{name: "dir without a name", path: certsDir, server: ""},
		{name: "dir broken file", path: certsDir, server: "broken", wantErr: "broken.pem"},
		{name: "dir name with a slash", path: certsDir, server: "sub/inner"},
		{name: "dir name leaving the dir", path: certsDir, server: "../files/cert-first"},
		{name: "dir entry is a directory", path: certsDir, server: "inner"},
		{name: "missing path", path: filepath.Join(dir, "nope"), server: "x", wantErr: "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cert, err := loadClientCert(tc.path, tc.server)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cert != nil; got != tc.want {
				t.Fatalf("certificate returned: %v, want %v", got, tc.want)
			}
			if cert != nil && cert.Leaf.Subject.CommonName != "client" {
				t.Errorf("leaf %v", cert.Leaf.Subject)
			}
		})
	}
}
