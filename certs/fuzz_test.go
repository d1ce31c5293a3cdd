package certs

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"path/filepath"
	"testing"
)

// FuzzParsePEMBundle feeds arbitrary files to the CA and custom certificate
// reader: it must return an error or a bundle, never panic or hang.
//
// The seeds hold EC keys only: with an RSA key in the corpus, each execution
// spends about a second in instrumented big-number code and fuzzing stalls.
func FuzzParsePEMBundle(f *testing.F) {
	key := newECKey(f)
	ca := testCert(f, caTemplate("fuzz"), key, nil, nil)
	keyPEM, _ := marshalKeyPEM(key)
	legacy, _ := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", mustDecodePEM(f, keyPEM), []byte("pw"), x509.PEMCipherAES128)

	f.Add(append(keyPEM, certPEM(ca)...), "")
	f.Add(append(pem.EncodeToMemory(legacy), certPEM(ca)...), "pw")
	f.Add(mustRead(f, "testdata/encrypted-pkcs8-ca.pem"), "mitmgo-test")
	f.Add(mustRead(f, filepath.Join(fixtureDir, "mitmproxy-ca-cert.pem")), "")
	f.Add(mustRead(f, filepath.Join(fixtureDir, "mitmproxy-dhparam.pem")), "")
	f.Fuzz(func(t *testing.T, data []byte, passphrase string) {
		b, err := parsePEMBundle(data, passphrase)
		if err != nil {
			return
		}
		for _, c := range b.certs {
			if c == nil {
				t.Fatal("nil certificate without error")
			}
		}
	})
}

func mustDecodePEM(t testing.TB, data []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatal("no PEM")
	}
	return b.Bytes
}
