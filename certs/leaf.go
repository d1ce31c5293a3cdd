package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/idna"
)

// KeyType selects the key of minted leaves.
//
// All leaves share one key, generated when the store is opened: minting a
// leaf costs one CA signature and no key generation. Which key type to use is
// a question of handshake cost, because every full TLS handshake with a
// client makes one signature with the leaf key. Measured on the shared
// 2-core development machine (AMD EPYC, Go 1.26) with
// go test -run '^$' -bench . -benchtime 2s -count 2 ./certs/:
//
//	                                     ECDSA P-256   RSA-2048
//	one signature with the leaf key         50-70 µs     1.3 ms
//	full TLS 1.3 handshake, both ends         1.2 ms     2.4-2.8 ms
//	minting a leaf with an RSA-2048 CA        1.6 ms     1.6 ms (the CA signs; leaf key irrelevant)
//	minting a leaf with an ECDSA CA           0.2 ms     -
//	cached leaf lookup                         ~0.7 µs (1.1 µs with 1000 hosts, 2 goroutines)
//
// An ECDSA leaf saves the proxy about 1.2 ms of CPU per full handshake (the
// handshake figure also holds the client's work: key exchange and chain
// verification), and every TLS client of the last decade accepts it, so it is
// the default ([KeyAuto]). mitmproxy uses RSA (key_size bits) for everything;
// [KeyRSA] keeps that for those who ask for it, and [KeyAuto] switches to an
// RSA leaf by itself when a ClientHello shows that the client cannot use
// ECDSA.
type KeyType int

const (
	// KeyAuto mints ECDSA P-256 leaves, except in
	// [Store.GetCertificateFor] for a client whose ClientHello rules ECDSA
	// out (only RSA cipher suites, no P-256, no ECDSA signature
	// algorithms), which gets an RSA leaf. The RSA key is then generated
	// on first use.
	KeyAuto KeyType = iota
	// KeyECDSA mints ECDSA P-256 leaves; GetCertificateFor does not fall
	// back to RSA.
	KeyECDSA
	// KeyRSA mints RSA leaves of [Config.KeySize] bits, like mitmproxy.
	KeyRSA
)

func (k KeyType) String() string {
	switch k {
	case KeyAuto:
		return "auto"
	case KeyECDSA:
		return "ecdsa"
	case KeyRSA:
		return "rsa"
	}
	return fmt.Sprintf("KeyType(%d)", int(k))
}

// leafKey is the key shared by all leaves of one type.
type leafKey struct {
	key crypto.Signer
	ski []byte // subject key identifier of every leaf with this key
	// probe stands for any leaf with this key when asking a ClientHello
	// whether the client can use it.
	probe *tls.Certificate
}

func newLeafKey(t KeyType, rsaBits int) (*leafKey, error) {
	var k crypto.Signer
	var err error
	switch t {
	case KeyRSA:
		k, err = rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return nil, fmt.Errorf("certs: generate %s leaf key: %w", t, err)
	}
	ski, err := keyID(k.Public())
	if err != nil {
		return nil, err
	}
	probe := &tls.Certificate{PrivateKey: k, Leaf: &x509.Certificate{PublicKey: k.Public()}}
	return &leafKey{key: k, ski: ski, probe: probe}, nil
}

// initLeafKeys generates the ECDSA leaf key, cheap enough to have always,
// and the RSA one when it is the default. Otherwise the RSA key, which takes
// around a hundred milliseconds to generate, waits for its first use: most
// runs never meet a client that needs it.
func (s *Store) initLeafKeys() error {
	k, err := newLeafKey(KeyECDSA, 0)
	if err != nil {
		return err
	}
	s.ecKey = k
	s.rsaKey = sync.OnceValues(func() (*leafKey, error) { return newLeafKey(KeyRSA, s.keySize) })
	if s.leafKey == KeyRSA {
		if _, err := s.rsaKey(); err != nil {
			return err
		}
	}
	return nil
}

// keyFor returns the leaf key of type t, KeyAuto meaning the store's
// default.
func (s *Store) keyFor(t KeyType) (*leafKey, error) {
	if t == KeyAuto {
		t = s.leafKey
	}
	switch t {
	case KeyAuto, KeyECDSA:
		return s.ecKey, nil
	case KeyRSA:
		return s.rsaKey()
	}
	return nil, fmt.Errorf("certs: unknown leaf key type %d", int(t))
}

// LeafSpec describes a leaf certificate. Leaves are cached by the resolved
// spec: equal specs give the same *tls.Certificate.
type LeafSpec struct {
	// CommonName is the subject common name. Empty means the upstream
	// certificate's common name when Upstream is set (as in mitmproxy),
	// else the first name. A name of 64 characters or more is left out of
	// the subject, as RFC 5280's upper bound demands.
	CommonName string

	// Names are the subject alternative names: host names, or IP addresses
	// in text form (which become IP SANs). Host names are lower-cased,
	// internationalized ones converted to punycode; a trailing dot and the
	// "[v6]" form are accepted; duplicates and strings that cannot be DNS
	// names are dropped.
	Names []string

	// Organization is the subject organization. Empty means the upstream
	// certificate's, if Upstream is set, or none.
	Organization string

	// Upstream, if set, is the certificate of the real server, whose
	// common name, DNS and IP SANs come before Names, and whose
	// organization is used, as mitmproxy does with its upstream_cert option
	// (on by default).
	Upstream *x509.Certificate

	// KeyType selects the leaf key for this leaf: KeyECDSA or KeyRSA. The
	// zero value, KeyAuto, means the store's default ([Config.LeafKey]).
	KeyType KeyType

	// CRLURL, if set, becomes the leaf's CRL distribution point. mitmproxy 12
	// points it at a URL it answers with [Store.CRL], because Windows'
	// SChannel fails the handshake when it cannot check revocation.
	CRLURL string
}

// leafParams is a LeafSpec resolved into the fields of the certificate.
type leafParams struct {
	cn, org string
	names   []string // host names (ASCII, lower case) and IP addresses, deduplicated
	key     *leafKey
	keyType KeyType
	crlURL  string
}

// cacheKey identifies the certificate the params produce.
func (p *leafParams) cacheKey() string {
	var b strings.Builder
	b.WriteString(p.keyType.String())
	for _, f := range []string{p.cn, p.org, p.crlURL} {
		b.WriteByte(0)
		b.WriteString(f)
	}
	for _, n := range p.names {
		b.WriteByte(0)
		b.WriteString(n)
	}
	return b.String()
}

// ErrNoNames means a LeafSpec has no name at all to put in a certificate.
var ErrNoNames = errors.New("certs: leaf spec has no common name and no names")

func (s *Store) resolve(spec LeafSpec) (*leafParams, error) {
	p := &leafParams{org: spec.Organization, crlURL: spec.CRLURL}
	var raw []string
	if u := spec.Upstream; u != nil {
		if u.Subject.CommonName != "" {
			raw = append(raw, u.Subject.CommonName)
		}
		raw = append(raw, u.DNSNames...)
		for _, ip := range u.IPAddresses {
			raw = append(raw, ip.String())
		}
		if p.org == "" && len(u.Subject.Organization) > 0 {
			p.org = u.Subject.Organization[0]
		}
	}
	raw = append(raw, spec.Names...)
	p.names = make([]string, 0, len(raw))
	for _, r := range raw {
		n, ok := normalizeName(r)
		if !ok {
			s.log.Debug("certs: name left out of the leaf's SANs", "name", r)
			continue
		}
		// Names are few; a linear scan beats a map.
		if !slices.Contains(p.names, n) {
			p.names = append(p.names, n)
		}
	}
	// The common name is taken as it is: mitmproxy copies the upstream's
	// even when it is no host name ("Example Corp Server").
	p.cn = strings.TrimSpace(spec.CommonName)
	if p.cn == "" && spec.Upstream != nil {
		p.cn = strings.TrimSpace(spec.Upstream.Subject.CommonName)
	}
	if p.cn == "" && len(p.names) > 0 {
		p.cn = p.names[0]
	}
	if p.cn == "" && len(p.names) == 0 {
		return nil, ErrNoNames
	}
	k, err := s.keyFor(spec.KeyType)
	if err != nil {
		return nil, err
	}
	p.key = k
	p.keyType = KeyECDSA
	if _, ok := k.key.(*rsa.PrivateKey); ok {
		p.keyType = KeyRSA
	}
	return p, nil
}

// normalizeName turns a host name or IP address into its canonical SAN form:
// IP addresses in netip's form (zone dropped), host names lower case, without
// a trailing dot, in ASCII (punycode for internationalized names). It
// reports false for names that cannot be a SAN.
func normalizeName(n string) (string, bool) {
	n = strings.TrimSpace(n)
	if strings.HasPrefix(n, "[") && strings.HasSuffix(n, "]") {
		n = n[1 : len(n)-1]
	}
	if ip, err := netip.ParseAddr(n); err == nil {
		return ip.WithZone("").String(), true
	}
	n = strings.ToLower(strings.TrimSuffix(n, "."))
	if n == "" {
		return "", false
	}
	if !isASCII(n) {
		a, err := idna.Punycode.ToASCII(n)
		if err != nil {
			return "", false
		}
		n = a
	}
	// Letters, digits, hyphens, dots, plus the underscores and wildcards
	// found in real certificates. Anything else (an upstream common name
	// like "Example Corp Server") is no DNS name; mitmproxy puts it in a
	// SAN all the same, where no client can match it.
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '*') {
			return "", false
		}
	}
	return n, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Leaf returns a certificate for spec: a custom certificate added with
// [Store.AddCustom] if one matches the names (see there), else a leaf minted
// by the CA. Minted leaves are cached; concurrent calls for the same leaf
// wait for one signature. The chain holds the leaf, the CA certificate and
// the rest of the CA file's chain.
func (s *Store) Leaf(spec LeafSpec) (*tls.Certificate, error) {
	p, err := s.resolve(spec)
	if err != nil {
		return nil, err
	}
	if c := s.matchCustom(p.cn, p.names); c != nil {
		return c, nil
	}
	key := p.cacheKey()
	if c := s.cache.get(key); c != nil {
		return c, nil
	}
	v, err, _ := s.group.Do(key, func() (any, error) {
		// Check again: a flight that ended between our cache miss and our
		// Do has already stored this leaf.
		if c := s.cache.get(key); c != nil {
			return c, nil
		}
		c, err := s.mint(p)
		if err != nil {
			return nil, err
		}
		s.cache.add(key, c)
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*tls.Certificate), nil
}

// mint signs a leaf with mitmproxy's fields (dummy_cert in certs.py):
// random serial, backdated two days, one year, subject CN (when shorter than
// 64 characters) and O, SANs (critical when the subject is empty, RFC 5280
// §4.2.1.6, which crypto/x509 does by itself), extendedKeyUsage serverAuth,
// authority key identifier. Unlike mitmproxy, which signs its leaves for the
// CA's own key and so must leave the subject key identifier out (SChannel
// breaks when leaf and CA share one, mitmproxy issue #6494), leaves here have
// their own key and carry its identifier, plus the keyUsage that key needs.
func (s *Store) mint(p *leafParams) (*tls.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:   serial,
		NotBefore:      now.Add(-backdate),
		NotAfter:       now.Add(leafValidity),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		SubjectKeyId:   p.key.ski,
		AuthorityKeyId: s.caKeyID,
	}
	if p.keyType == KeyRSA {
		// TLS 1.2's RSA key exchange encrypts to the leaf key.
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	cn := p.cn
	if len([]rune(cn)) >= 64 {
		cn = ""
	}
	if tmpl.RawSubject, err = rawName(cn, p.org); err != nil {
		return nil, err
	}
	for _, n := range p.names {
		if ip, err := netip.ParseAddr(n); err == nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.AsSlice()))
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	if p.crlURL != "" {
		tmpl.CRLDistributionPoints = []string{p.crlURL}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.ca, p.key.key.Public(), s.signer)
	if err != nil {
		return nil, fmt.Errorf("certs: sign leaf for %q: %w", p.cn, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certs: parse minted leaf for %q: %w", p.cn, err)
	}
	chain := make([][]byte, 0, 1+len(s.chain))
	chain = append(chain, der)
	chain = append(chain, s.chain...)
	s.log.Debug("certs: minted leaf", "cn", p.cn, "names", p.names, "key", p.keyType)
	return &tls.Certificate{Certificate: chain, PrivateKey: p.key.key, Leaf: leaf}, nil
}

// GetCertificateFor returns a [tls.Config.GetCertificate] callback for one
// intercepted connection. The leaf's names are chosen as mitmproxy's
// tlsconfig addon chooses them: the upstream certificate's common name and
// SANs when upstream is not nil (mitmproxy's upstream_cert option; pass nil
// when it is off or the server has not been contacted), then the client's SNI
// or, without SNI, host (the CONNECT target or the server address; a port is
// ignored), and as a last resort the local address the client connected to
// (a proxy addressed by IP). With [KeyAuto], a client that cannot use an
// ECDSA certificate gets an RSA one.
func (s *Store) GetCertificateFor(host string, upstream *x509.Certificate) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		spec := LeafSpec{Upstream: upstream}
		switch {
		case hello.ServerName != "":
			spec.Names = []string{hello.ServerName}
		case host != "":
			spec.Names = []string{host}
		case upstream == nil && hello.Conn != nil:
			if ap, err := netip.ParseAddrPort(hello.Conn.LocalAddr().String()); err == nil {
				spec.Names = []string{ap.Addr().Unmap().String()}
			}
		}
		if s.leafKey == KeyAuto && !s.clientAcceptsECDSA(hello) {
			spec.KeyType = KeyRSA
		}
		return s.Leaf(spec)
	}
}

func (s *Store) clientAcceptsECDSA(hello *tls.ClientHelloInfo) bool {
	h := *hello
	h.ServerName = "" // the probe has no names; only the key matters here
	return h.SupportsCertificate(s.ecKey.probe) == nil
}

// CRL returns an empty certificate revocation list signed by the CA, in DER,
// valid for seven days and renewed daily, as mitmproxy 12 serves it for the
// URLs put in [LeafSpec.CRLURL].
func (s *Store) CRL() ([]byte, error) {
	s.crlMu.Lock()
	defer s.crlMu.Unlock()
	now := time.Now()
	if s.crl != nil && now.Sub(s.crlTime) < 24*time.Hour {
		return s.crl, nil
	}
	tmpl := &x509.RevocationList{
		Number:     big.NewInt(1000), // meaningless, as in mitmproxy
		ThisUpdate: now.Add(-backdate),
		NextUpdate: now.Add(crlValidity),
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, s.ca, s.signer)
	if err != nil {
		return nil, fmt.Errorf("certs: sign CRL: %w", err)
	}
	s.crl, s.crlTime = der, now
	return der, nil
}
