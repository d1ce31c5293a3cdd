// Package peerca keeps the CA of mitmbench's Go peer proxies in a confdir
// in mitmproxy's file layout, so that the harness trusts it the way it
// trusts mitmgo's and mitmproxy's: mitmproxy-ca.pem holds the key and the
// certificate, mitmproxy-ca-cert.pem the certificate alone. The first start
// (the harness's cold start) creates it; later ones load it.
//
// It is a module of its own, which the peers' modules replace with this
// directory, so that the peers share it without the main module.
package peerca

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// File names, as mitmproxy's.
const (
	KeyAndCertFile = "mitmproxy-ca.pem"
	CertFile       = "mitmproxy-ca-cert.pem"
)

// LoadOrCreate returns the CA in dir, creating it (RSA 2048, as
// mitmproxy's) when dir has none.
func LoadOrCreate(dir string) (*tls.Certificate, error) {
	path := filepath.Join(dir, KeyAndCertFile)
	data, err := os.ReadFile(path)
	if err == nil {
		ca, err := tls.X509KeyPair(data, data)
		if err != nil {
			return nil, fmt.Errorf("CA %s: %w", path, err)
		}
		ca.Leaf, err = x509.ParseCertificate(ca.Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("CA %s: %w", path, err)
		}
		return &ca, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	keyPEM, certPEM, err := create()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// The certificate the harness trusts first, the key file (which marks
	// the CA as made) last: a crash in between leaves no CA without it.
	if err := os.WriteFile(filepath.Join(dir, CertFile), certPEM, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, append(keyPEM, certPEM...), 0o600); err != nil {
		return nil, err
	}
	return LoadOrCreate(dir)
}

func create() (keyPEM, certPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "mitmbench peer CA", Organization: []string{"mitmbench"}},
		NotBefore:             now.Add(-48 * time.Hour),
		NotAfter:              now.AddDate(3, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return keyPEM, certPEM, nil
}
