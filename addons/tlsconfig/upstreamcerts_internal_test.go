package tlsconfig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addon"
)

// serverCertDER is a self-signed server certificate for the names.
func serverCertDER(t *testing.T, cn, org string, names ...string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{org}},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: names,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestUpstreamCertNamesPerConnection: with upstream_cert, every connection's
// leaf carries the names and organization of the certificate its server
// presented, also when the certificates were parsed before (the parse
// cache is keyed by the DER, so a server that changes its certificate gets
// a leaf with the new names at once).
func TestUpstreamCertNamesPerConnection(t *testing.T) {
	_, tc := configured(t)
	certA := serverCertDER(t, "a.example", "Org A", "a.example", "www.a.example")
	certB := serverCertDER(t, "b.example", "Org B", "b.example")
	for i, c := range []struct {
		der   []byte
		names []string
		org   string
	}{
		{certA, []string{"a.example", "www.a.example", "example.com"}, "Org A"},
		{certB, []string{"b.example", "example.com"}, "Org B"},
		{certA, []string{"a.example", "www.a.example", "example.com"}, "Org A"},
		{certB, []string{"b.example", "example.com"}, "Org B"},
	} {
		client, server := newConns()
		server.CertificateList = [][]byte{c.der}
		cd := &addon.TLSData{Client: client, Server: server, IsClient: true}
		tc.TLSStartClient(cd)
		leaf, err := cd.Config.GetCertificate(&tls.ClientHelloInfo{ServerName: "example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(leaf.Leaf.DNSNames, c.names) {
			t.Errorf("connection %d: leaf names %v, want %v", i, leaf.Leaf.DNSNames, c.names)
		}
		if got := leaf.Leaf.Subject.Organization; !slices.Equal(got, []string{c.org}) {
			t.Errorf("connection %d: leaf organization %v, want %v", i, got, c.org)
		}
	}
	if n := tc.upstreamCerts.len(); n != 2 {
		t.Errorf("%d certificates parsed and kept, want 2", n)
	}
}

// TestUpstreamCertUnparsable: a server certificate crypto/x509 cannot parse
// leaves the leaf without upstream names, as before, and is not kept.
func TestUpstreamCertUnparsable(t *testing.T) {
	_, tc := configured(t)
	client, server := newConns()
	server.CertificateList = [][]byte{[]byte("not a certificate")}
	cd := &addon.TLSData{Client: client, Server: server, IsClient: true}
	tc.TLSStartClient(cd)
	leaf, err := cd.Config.GetCertificate(&tls.ClientHelloInfo{ServerName: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"example.com"}; !slices.Equal(leaf.Leaf.DNSNames, want) {
		t.Errorf("leaf names %v, want %v", leaf.Leaf.DNSNames, want)
	}
	if n := tc.upstreamCerts.len(); n != 0 {
		t.Errorf("%d certificates kept, want 0", n)
	}
}

// TestParsedCertsShareAndBound: a DER seen before gives the same parsed
// certificate; the cache never holds more than maxParsedCerts.
func TestParsedCertsShareAndBound(t *testing.T) {
	var p parsedCerts
	der := serverCertDER(t, "a.example", "Org A", "a.example")
	c1, err := p.parse(der)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := p.parse(slices.Clone(der))
	if err != nil {
		t.Fatal(err)
	}
	if c1 != c2 {
		t.Error("the same DER was parsed twice")
	}
	// Fill it past the bound with distinct (fake) entries, then one real.
	p.mu.Lock()
	for i := 0; len(p.m) < maxParsedCerts; i++ {
		p.m[string(big.NewInt(int64(i)).Bytes())+"x"] = c1
	}
	p.mu.Unlock()
	if _, err := p.parse(serverCertDER(t, "b.example", "Org B", "b.example")); err != nil {
		t.Fatal(err)
	}
	if n := p.len(); n != maxParsedCerts {
		t.Errorf("%d kept, want %d", n, maxParsedCerts)
	}
}
