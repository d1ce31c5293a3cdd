package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// verifyLeaf checks that c chains to the store's CA and is valid for name
// (a host name or an IP address) as a TLS server certificate.
func verifyLeaf(t testing.TB, s *Store, c *tls.Certificate, name string) {
	t.Helper()
	if len(c.Certificate) < 2 || !bytes.Equal(c.Certificate[0], c.Leaf.Raw) || !bytes.Equal(c.Certificate[1], s.CA().Raw) {
		t.Fatalf("chain is not [leaf, CA]")
	}
	inter := x509.NewCertPool()
	for _, der := range c.Certificate[2:] {
		ic, _ := x509.ParseCertificate(der)
		inter.AddCert(ic)
	}
	_, err := c.Leaf.Verify(x509.VerifyOptions{
		DNSName:       name,
		Roots:         caPool(s),
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		t.Errorf("leaf for %q does not verify: %v", name, err)
	}
	if k, ok := c.PrivateKey.(crypto.Signer); !ok || !publicKeyEqual(k, c.Leaf.PublicKey) {
		t.Error("private key does not match the leaf")
	}
}

func TestLeafVerifiesForNamesAndIPs(t *testing.T) {
	s := fixtureStore(t, Config{})
	for _, tc := range []struct {
		names   []string
		verify  []string
		wantDNS []string
		wantIPs []string
	}{
		{[]string{"example.com"}, []string{"example.com"}, []string{"example.com"}, nil},
		{[]string{"WWW.Example.COM."}, []string{"www.example.com"}, []string{"www.example.com"}, nil},
		{[]string{"127.0.0.1"}, []string{"127.0.0.1"}, nil, []string{"127.0.0.1"}},
		{[]string{"::1"}, []string{"::1"}, nil, []string{"::1"}},
		{[]string{"[2001:db8::1]"}, []string{"2001:db8::1"}, nil, []string{"2001:db8::1"}},
		{[]string{"a.example", "10.1.2.3", "b.example", "a.example"}, []string{"a.example", "b.example", "10.1.2.3"},
			[]string{"a.example", "b.example"}, []string{"10.1.2.3"}},
		{[]string{"bücher.example"}, []string{"xn--bcher-kva.example"}, []string{"xn--bcher-kva.example"}, nil},
		{[]string{"*.example.org"}, []string{"x.example.org"}, []string{"*.example.org"}, nil},
	} {
		c, err := s.Leaf(LeafSpec{Names: tc.names})
		if err != nil {
			t.Fatalf("%v: %v", tc.names, err)
		}
		for _, v := range tc.verify {
			verifyLeaf(t, s, c, v)
		}
		var ips []string
		for _, ip := range c.Leaf.IPAddresses {
			ips = append(ips, ip.String())
		}
		if !slices.Equal(c.Leaf.DNSNames, tc.wantDNS) || !slices.Equal(ips, tc.wantIPs) {
			t.Errorf("%v: SANs DNS=%v IP=%v, want DNS=%v IP=%v", tc.names, c.Leaf.DNSNames, ips, tc.wantDNS, tc.wantIPs)
		}
	}
}

func TestLeafFields(t *testing.T) {
	s := fixtureStore(t, Config{})
	c, err := s.Leaf(LeafSpec{Names: []string{"example.com", "www.example.com"}, Organization: "Example Org"})
	if err != nil {
		t.Fatal(err)
	}
	l := c.Leaf
	if l.Subject.CommonName != "example.com" || !slices.Equal(l.Subject.Organization, []string{"Example Org"}) {
		t.Errorf("subject = %v", l.Subject)
	}
	if l.Issuer.String() != s.CA().Subject.String() {
		t.Errorf("issuer = %v", l.Issuer)
	}
	now := time.Now()
	if d := now.Sub(l.NotBefore); d < 47*time.Hour || d > 49*time.Hour {
		t.Errorf("notBefore %v before now, want two days", d)
	}
	if d := l.NotAfter.Sub(now); d < leafValidity-time.Hour || d > leafValidity+time.Hour {
		t.Errorf("notAfter %v after now, want one year", d)
	}
	if !slices.Equal(l.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("extKeyUsage = %v", l.ExtKeyUsage)
	}
	if l.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("keyUsage = %b, want digitalSignature for an ECDSA leaf", l.KeyUsage)
	}
	if !bytes.Equal(l.AuthorityKeyId, s.CA().SubjectKeyId) {
		t.Errorf("authorityKeyId %x != CA's subjectKeyId %x", l.AuthorityKeyId, s.CA().SubjectKeyId)
	}
	if len(l.SubjectKeyId) == 0 || bytes.Equal(l.SubjectKeyId, s.CA().SubjectKeyId) {
		t.Error("leaf needs its own subject key identifier (mitmproxy #6494: equal SKIs break SChannel)")
	}
	if l.IsCA || l.SignatureAlgorithm != x509.SHA256WithRSA {
		t.Errorf("IsCA=%v sig=%v", l.IsCA, l.SignatureAlgorithm)
	}
	if _, ok := c.PrivateKey.(*ecdsa.PrivateKey); !ok {
		t.Errorf("default leaf key is %T, want ECDSA", c.PrivateKey)
	}
	// All leaves share one key, and a new serial each.
	c2, _ := s.Leaf(LeafSpec{Names: []string{"other.example"}})
	if c2.PrivateKey != c.PrivateKey {
		t.Error("leaves do not share the leaf key")
	}
	if c2.Leaf.SerialNumber.Cmp(l.SerialNumber) == 0 {
		t.Error("two leaves with one serial")
	}
}

func TestLeafSubjectEdgeCases(t *testing.T) {
	s := fixtureStore(t, Config{})
	long := ""
	for len(long) < 70 {
		long += "abcdefghi."
	}
	long += "example"
	c, err := s.Leaf(LeafSpec{Names: []string{long}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Leaf.Subject.CommonName != "" {
		t.Error("a common name of 64 characters or more must be left out")
	}
	var sanCritical bool
	for _, e := range c.Leaf.Extensions {
		if e.Id.String() == "2.5.29.17" {
			sanCritical = e.Critical
		}
	}
	if !sanCritical {
		t.Error("SAN must be critical when the subject is empty (RFC 5280 4.2.1.6)")
	}
	verifyLeaf(t, s, c, long)

	if _, err := s.Leaf(LeafSpec{}); !errors.Is(err, ErrNoNames) {
		t.Errorf("empty spec: err = %v, want ErrNoNames", err)
	}
	if _, err := s.Leaf(LeafSpec{Names: []string{"", " ", "."}}); !errors.Is(err, ErrNoNames) {
		t.Errorf("blank names: err = %v, want ErrNoNames", err)
	}
	// An upstream common name that is no host name still mints.
	up := testCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: "Bücher GmbH Server"}}, newECKey(t), nil, nil)
	c, err = s.Leaf(LeafSpec{Upstream: up, Names: []string{"buecher.example"}})
	if err != nil {
		t.Fatal(err)
	}
	verifyLeaf(t, s, c, "buecher.example")
	if c.Leaf.Subject.CommonName != "Bücher GmbH Server" || !slices.Equal(c.Leaf.DNSNames, []string{"buecher.example"}) {
		t.Errorf("CN %q, SANs %v: want the upstream CN as is, and no SAN for it", c.Leaf.Subject.CommonName, c.Leaf.DNSNames)
	}

	c, err = s.Leaf(LeafSpec{CommonName: "Only A Common Name"})
	if err != nil || c.Leaf.Subject.CommonName != "Only A Common Name" || len(c.Leaf.DNSNames) != 0 {
		t.Errorf("common name only: %v %v", err, c)
	}
}

// TestLeafCopiesUpstream: with upstream_cert, mitmproxy puts the upstream
// certificate's CN first, then its SANs, then the SNI, and takes its O.
func TestLeafCopiesUpstream(t *testing.T) {
	s := fixtureStore(t, Config{})
	key := newECKey(t)
	up := testCert(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "upstream.example", Organization: []string{"Upstream Inc."}},
		DNSNames:    []string{"upstream.example", "*.upstream.example"},
		IPAddresses: []net.IP{net.ParseIP("192.0.2.1")},
	}, key, nil, nil)

	c, err := s.Leaf(LeafSpec{Upstream: up, Names: []string{"sni.example"}})
	if err != nil {
		t.Fatal(err)
	}
	l := c.Leaf
	if l.Subject.CommonName != "upstream.example" || !slices.Equal(l.Subject.Organization, []string{"Upstream Inc."}) {
		t.Errorf("subject = %v", l.Subject)
	}
	if want := []string{"upstream.example", "*.upstream.example", "sni.example"}; !slices.Equal(l.DNSNames, want) {
		t.Errorf("DNS SANs = %v, want %v", l.DNSNames, want)
	}
	if len(l.IPAddresses) != 1 || !l.IPAddresses[0].Equal(net.ParseIP("192.0.2.1")) {
		t.Errorf("IP SANs = %v", l.IPAddresses)
	}
	for _, n := range []string{"upstream.example", "www.upstream.example", "sni.example", "192.0.2.1"} {
		verifyLeaf(t, s, c, n)
	}
	// The spec's organization wins over the upstream's.
	c, _ = s.Leaf(LeafSpec{Upstream: up, Organization: "Mine"})
	if !slices.Equal(c.Leaf.Subject.Organization, []string{"Mine"}) {
		t.Errorf("organization = %v", c.Leaf.Subject.Organization)
	}
}

func TestLeafCacheReturnsSameCertificate(t *testing.T) {
	s := fixtureStore(t, Config{})
	sigs := countSignatures(s)
	a, _ := s.Leaf(LeafSpec{Names: []string{"example.com"}})
	b, _ := s.Leaf(LeafSpec{Names: []string{"EXAMPLE.com."}})
	if a != b || sigs.n.Load() != 1 {
		t.Errorf("equal specs: same=%v signatures=%d, want one cached certificate", a == b, sigs.n.Load())
	}
	// Anything that changes the certificate changes the key.
	for i, spec := range []LeafSpec{
		{Names: []string{"example.com"}, Organization: "O"},
		{Names: []string{"example.com", "www.example.com"}},
		{Names: []string{"example.com"}, CommonName: "other"},
		{Names: []string{"example.com"}, KeyType: KeyRSA},
		{Names: []string{"example.com"}, CRLURL: "http://x/y.crl"},
	} {
		c, err := s.Leaf(spec)
		if err != nil {
			t.Fatal(err)
		}
		if c == a {
			t.Errorf("spec %d got the cached certificate of another spec", i)
		}
	}
}

func TestLeafCacheIsBounded(t *testing.T) {
	s := fixtureStore(t, Config{CacheSize: 3})
	sigs := countSignatures(s)
	for i := range 10 {
		s.Leaf(LeafSpec{Names: []string{fmt.Sprintf("h%d.example", i)}})
	}
	if n := s.cache.len(); n != 3 {
		t.Errorf("cache holds %d leaves, want 3", n)
	}
	s.Leaf(LeafSpec{Names: []string{"h9.example"}}) // most recent: cached
	s.Leaf(LeafSpec{Names: []string{"h0.example"}}) // evicted: minted again
	if got := sigs.n.Load(); got != 11 {
		t.Errorf("%d signatures, want 11", got)
	}

	off := fixtureStore(t, Config{CacheSize: -1})
	sigs = countSignatures(off)
	off.Leaf(LeafSpec{Names: []string{"a.example"}})
	off.Leaf(LeafSpec{Names: []string{"a.example"}})
	if sigs.n.Load() != 2 || off.cache.len() != 0 {
		t.Errorf("disabled cache: %d signatures, %d cached", sigs.n.Load(), off.cache.len())
	}
}

// TestLeafConcurrentRequestsSignOnce: 50 concurrent requests for each of a
// few hosts make exactly one signature per host.
func TestLeafConcurrentRequestsSignOnce(t *testing.T) {
	s := fixtureStore(t, Config{})
	sigs := countSignatures(s)
	hosts := []string{"a.example", "b.example", "c.example"}
	results := make([][]*tls.Certificate, len(hosts))
	for i := range results {
		results[i] = make([]*tls.Certificate, 50)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for h, host := range hosts {
		for j := range 50 {
			wg.Go(func() {
				<-start
				c, err := s.Leaf(LeafSpec{Names: []string{host}})
				if err != nil {
					t.Error(err)
				}
				results[h][j] = c
			})
		}
	}
	close(start)
	wg.Wait()
	if got := sigs.n.Load(); got != int64(len(hosts)) {
		t.Errorf("%d signatures for %d hosts, want one each", got, len(hosts))
	}
	for h := range hosts {
		for _, c := range results[h] {
			if c != results[h][0] {
				t.Fatalf("%s: callers got different certificates", hosts[h])
			}
		}
	}
}

func TestLeafKeyTypes(t *testing.T) {
	s := fixtureStore(t, Config{LeafKey: KeyRSA, KeySize: 2048})
	c, err := s.Leaf(LeafSpec{Names: []string{"rsa.example"}})
	if err != nil {
		t.Fatal(err)
	}
	k, ok := c.PrivateKey.(*rsa.PrivateKey)
	if !ok || k.N.BitLen() != 2048 {
		t.Fatalf("KeyRSA store minted a %T leaf", c.PrivateKey)
	}
	if c.Leaf.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment {
		t.Errorf("RSA leaf keyUsage = %b", c.Leaf.KeyUsage)
	}
	verifyLeaf(t, s, c, "rsa.example")
	c, _ = s.Leaf(LeafSpec{Names: []string{"ec.example"}, KeyType: KeyECDSA})
	if _, ok := c.PrivateKey.(*ecdsa.PrivateKey); !ok {
		t.Errorf("explicit KeyECDSA gave %T", c.PrivateKey)
	}
}

// handshake runs a TLS handshake between a server using GetCertificateFor
// and a client trusting the CA; it returns the certificate the client saw.
func handshake(t *testing.T, s *Store, host string, up *x509.Certificate, client *tls.Config) (*x509.Certificate, error) {
	t.Helper()
	cc, sc := net.Pipe()
	defer cc.Close()
	defer sc.Close()
	srv := tls.Server(sc, &tls.Config{GetCertificate: s.GetCertificateFor(host, up)})
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if client.RootCAs == nil {
		client.RootCAs = caPool(s)
	}
	cl := tls.Client(cc, client)
	err := cl.Handshake()
	if err != nil {
		cc.Close()
		<-errc
		return nil, err
	}
	if err := <-errc; err != nil {
		return nil, err
	}
	return cl.ConnectionState().PeerCertificates[0], nil
}

func TestGetCertificateFor(t *testing.T) {
	s := fixtureStore(t, Config{})

	// SNI.
	got, err := handshake(t, s, "connect.example:443", nil, &tls.Config{ServerName: "sni.example"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.DNSNames, []string{"sni.example"}) || got.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("SNI: names %v, key %v", got.DNSNames, got.PublicKeyAlgorithm)
	}

	// No SNI (an IP literal is never sent as SNI): the CONNECT host.
	got, err = handshake(t, s, "192.0.2.10:443", nil, &tls.Config{ServerName: "192.0.2.10"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.IPAddresses) != 1 || got.IPAddresses[0].String() != "192.0.2.10" {
		t.Errorf("no SNI: IPs %v", got.IPAddresses)
	}

	// Upstream certificate first.
	up := testCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: "up.example"}, DNSNames: []string{"alt.example"}}, newECKey(t), nil, nil)
	got, err = handshake(t, s, "", up, &tls.Config{ServerName: "alt.example"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.DNSNames, []string{"up.example", "alt.example"}) {
		t.Errorf("upstream: names %v", got.DNSNames)
	}

	// A client that only does RSA (TLS 1.2, ECDHE-RSA suites only) gets an
	// RSA leaf with KeyAuto.
	got, err = handshake(t, s, "", nil, &tls.Config{
		ServerName:   "legacy.example",
		MaxVersion:   tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.PublicKeyAlgorithm != x509.RSA {
		t.Errorf("RSA-only client got a %v leaf", got.PublicKeyAlgorithm)
	}
	// ... but not with KeyECDSA, which never falls back.
	ec := fixtureStore(t, Config{LeafKey: KeyECDSA})
	if _, err := handshake(t, ec, "", nil, &tls.Config{
		ServerName:   "legacy.example",
		MaxVersion:   tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
	}); err == nil {
		t.Error("KeyECDSA store served an RSA-only client")
	}
}

// TestGetCertificateForLocalAddress: no SNI, no host, no upstream: the
// address the client connected to (a proxy addressed by IP).
func TestGetCertificateForLocalAddress(t *testing.T) {
	s := fixtureStore(t, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		done <- tls.Server(c, &tls.Config{GetCertificate: s.GetCertificateFor("", nil)}).Handshake()
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: caPool(s), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	leaf := c.ConnectionState().PeerCertificates[0]
	if len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("IPs %v, want the local address", leaf.IPAddresses)
	}
}
