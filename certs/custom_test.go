package certs

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// customFile writes a PEM file with a key and a certificate for the given
// names (CN first), signed by a throwaway CA, and returns its path.
func customFile(t *testing.T, cn string, sans ...string) string {
	t.Helper()
	caKey := newECKey(t)
	ca := testCert(t, caTemplate("custom test CA"), caKey, nil, nil)
	key := newECKey(t)
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: cn}}
	for _, n := range sans {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	leaf := testCert(t, tmpl, key, ca, caKey)
	keyPEM, err := marshalKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), cn+".pem")
	data := slices.Concat(certPEM(leaf), keyPEM, certPEM(ca))
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCustomCertMatching(t *testing.T) {
	s := fixtureStore(t, Config{})
	files := map[string]string{
		"exact": customFile(t, "exact-cn.test", "exact-san.test"),
		"wild":  customFile(t, "wildcert"),
		"ip":    customFile(t, "ipcert"),
		"own":   customFile(t, "own.test", "*.own.test"),
	}
	for _, spec := range []string{
		"exact.test=" + files["exact"],
		"*.wild.test=" + files["wild"],
		"10.0.0.1=" + files["ip"],
		"ignored.test=" + files["own"], // registered under its own SANs too
	} {
		if err := s.AddCustom(spec); err != nil {
			t.Fatal(err)
		}
	}
	cnOf := func(spec LeafSpec) string {
		c, err := s.Leaf(spec)
		if err != nil {
			t.Fatal(err)
		}
		if c.Leaf.Issuer.CommonName == s.CA().Subject.CommonName {
			return "minted"
		}
		return c.Leaf.Subject.CommonName
	}
	for _, tc := range []struct {
		host, want string
	}{
		{"exact.test", "exact-cn.test"},
		{"EXACT.Test.", "exact-cn.test"},
		{"exact-cn.test", "exact-cn.test"},  // the certificate's CN
		{"exact-san.test", "exact-cn.test"}, // the certificate's SAN
		{"sub.exact.test", "minted"},        // no wildcard registered
		{"a.wild.test", "wildcert"},
		{"a.b.wild.test", "wildcert"}, // mitmproxy's wildcards span labels
		{"wild.test", "minted"},
		{"wildcert", "wildcert"},
		{"10.0.0.1", "ipcert"},
		{"10.0.0.2", "minted"},
		{"own.test", "own.test"},
		{"x.own.test", "own.test"},
		{"ignored.test", "own.test"},
		{"other.test", "minted"},
	} {
		if got := cnOf(LeafSpec{Names: []string{tc.host}}); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.host, got, tc.want)
		}
	}

	// The common name is looked up first, then the names in order.
	if got := cnOf(LeafSpec{CommonName: "x.wild.test", Names: []string{"exact.test"}}); got != "wildcert" {
		t.Errorf("CN before names: got %s", got)
	}
	if got := cnOf(LeafSpec{Names: []string{"nothing.test", "exact.test", "a.wild.test"}}); got != "exact-cn.test" {
		t.Errorf("names in order: got %s", got)
	}

	// A custom certificate is served with its chain and its own key.
	c, _ := s.Leaf(LeafSpec{Names: []string{"exact.test"}})
	if len(c.Certificate) != 2 {
		t.Errorf("chain of %d certificates, want the leaf and its CA from the file", len(c.Certificate))
	}
	if k, ok := c.PrivateKey.(crypto.Signer); !ok || !publicKeyEqual(k, c.Leaf.PublicKey) {
		t.Error("custom certificate served without its own key")
	}
}

func TestCustomCertDefault(t *testing.T) {
	s := fixtureStore(t, Config{})
	if err := s.AddCustom(customFile(t, "default")); err != nil { // no "domain=": "*"
		t.Fatal(err)
	}
	if err := s.AddCustom("*.special.test=" + customFile(t, "special")); err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{
		"anything.example": "default",
		"192.0.2.1":        "default",
		"a.special.test":   "special", // more specific than "*"
	} {
		c, err := s.Leaf(LeafSpec{Names: []string{host}})
		if err != nil {
			t.Fatal(err)
		}
		if c.Leaf.Subject.CommonName != want {
			t.Errorf("%s: got %s, want %s", host, c.Leaf.Subject.CommonName, want)
		}
	}
}

func TestCustomCertErrors(t *testing.T) {
	s := fixtureStore(t, Config{})
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o600)
		return p
	}
	key := newECKey(t)
	cert := testCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: "c.test"}}, key, nil, nil)
	otherKeyPEM, _ := marshalKeyPEM(newECKey(t))

	noKey := write("nokey.pem", certPEM(cert))
	mismatch := write("mismatch.pem", append(certPEM(cert), otherKeyPEM...))
	garbage := write("garbage.pem", []byte("garbage"))
	keyOnly := write("keyonly.pem", otherKeyPEM)
	missing := filepath.Join(dir, "missing.pem")

	for _, tc := range []struct {
		spec    string
		path    string
		wantErr error
	}{
		{noKey, noKey, ErrNoPrivateKey},
		{"a.test=" + mismatch, mismatch, ErrKeyMismatch},
		{garbage, garbage, nil},
		{keyOnly, keyOnly, ErrNoCertificate},
		{"x=" + missing, missing, os.ErrNotExist},
	} {
		err := s.AddCustom(tc.spec)
		if err == nil {
			t.Errorf("%s: no error", tc.spec)
			continue
		}
		if !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: error %q does not name the file", tc.spec, err)
		}
		if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: error %q is not %v", tc.spec, err, tc.wantErr)
		}
	}
	if err := s.AddCustom("domain="); err == nil {
		t.Error("empty path accepted")
	}

	// A certificate without a key is fine if it is for the CA's key, as in
	// mitmproxy: the CA key is used.
	forCA := testCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: "ca-key.test"}, DNSNames: []string{"ca-key.test"}},
		s.caKey, s.CA(), s.caKey)
	if err := s.AddCustom(write("cakey.pem", certPEM(forCA))); err != nil {
		t.Fatal(err)
	}
	c, err := s.Leaf(LeafSpec{Names: []string{"ca-key.test"}})
	if err != nil || c.Leaf.Subject.CommonName != "ca-key.test" || c.PrivateKey != s.caKey {
		t.Errorf("certificate for the CA key: %v", err)
	}
}

func TestAsteriskForms(t *testing.T) {
	for in, want := range map[string][]string{
		"www.example.com": {"www.example.com", "*.example.com", "*.com"},
		"localhost":       {"localhost"},
		"10.0.0.1":        {"10.0.0.1"},
		"::1":             {"::1"},
	} {
		if got := asteriskForms(in); !slices.Equal(got, want) {
			t.Errorf("asteriskForms(%q) = %v, want %v", in, got, want)
		}
	}
}
