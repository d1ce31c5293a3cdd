package certs

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// customCert is a certificate added with AddCustom.
type customCert struct {
	cert *tls.Certificate
	path string
}

// AddCustom adds a certificate given as mitmproxy's --certs option gives it:
// "[domain=]path". The file is PEM and holds the certificate, its chain, and
// the private key (encrypted keys use [Config.Passphrase]); a file without a
// key is accepted only if the certificate is for the CA's own key, as in
// mitmproxy. Without "domain=", the domain is "*", which matches every host.
//
// The certificate is registered under the domain and under its own common
// name, DNS names and IP addresses; a later registration of the same name
// replaces an earlier one. [Store.Leaf] serves it instead of minting when one
// of these names matches. For each of the leaf's common name and names in
// turn, and then for "*", it looks for the name itself and then its wildcard
// forms from the most specific up: for "www.example.com", the registrations
// "www.example.com", "*.example.com", "*.com", and last "*". As in mitmproxy,
// "*.example.com" therefore also matches "a.b.example.com"; unlike mitmproxy,
// names match case-insensitively.
func (s *Store) AddCustom(spec string) error {
	domain, path, ok := strings.Cut(spec, "=")
	if !ok {
		domain, path = "*", spec
	}
	if path == "" {
		return fmt.Errorf("certs: custom certificate %q: no file name", spec)
	}
	path, err := expandHome(path)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("certs: custom certificate: %w", err)
	}
	b, err := parsePEMBundle(data, s.passphrase)
	if err != nil {
		return fmt.Errorf("certs: custom certificate %s: %w", path, err)
	}
	if len(b.certs) == 0 {
		return fmt.Errorf("certs: custom certificate %s: %w", path, ErrNoCertificate)
	}
	leaf := b.certs[0]
	key := b.key
	if key == nil {
		if !publicKeyEqual(s.caKey, leaf.PublicKey) {
			return fmt.Errorf("certs: custom certificate %s: %w", path, ErrNoPrivateKey)
		}
		key = s.caKey
	}
	if !publicKeyEqual(key, leaf.PublicKey) {
		return fmt.Errorf("certs: custom certificate %s: %w", path, ErrKeyMismatch)
	}
	if leaf.IsCA {
		s.log.Warn("certs: custom certificate is a certificate authority, not a leaf certificate; this is probably a misconfiguration",
			"file", path, "subject", leaf.Subject.String())
	}
	c := &customCert{path: path, cert: &tls.Certificate{PrivateKey: key, Leaf: leaf}}
	for _, bc := range b.certs {
		c.cert.Certificate = append(c.cert.Certificate, bc.Raw)
	}

	names := []string{}
	if leaf.Subject.CommonName != "" {
		names = append(names, leaf.Subject.CommonName)
	}
	names = append(names, leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		names = append(names, ip.String())
	}
	names = append(names, domain)

	s.customMu.Lock()
	defer s.customMu.Unlock()
	for _, n := range names {
		if n = customKey(n); n != "" {
			s.custom[n] = c
		}
	}
	s.log.Debug("certs: added custom certificate", "file", path, "names", names)
	return nil
}

// customKey is the form under which a custom certificate is registered and
// looked up.
func customKey(n string) string {
	if n == "*" {
		return n
	}
	if k, ok := normalizeName(n); ok {
		return k
	}
	return strings.ToLower(n)
}

// matchCustom returns the custom certificate for a leaf with these names,
// or nil.
func (s *Store) matchCustom(cn string, names []string) *tls.Certificate {
	s.customMu.RLock()
	defer s.customMu.RUnlock()
	if len(s.custom) == 0 {
		return nil
	}
	try := func(n string) *tls.Certificate {
		if n == "" {
			return nil
		}
		for _, f := range asteriskForms(customKey(n)) {
			if c, ok := s.custom[f]; ok {
				return c.cert
			}
		}
		return nil
	}
	if c := try(cn); c != nil {
		return c
	}
	for _, n := range names {
		if c := try(n); c != nil {
			return c
		}
	}
	if c, ok := s.custom["*"]; ok {
		return c.cert
	}
	return nil
}

// asteriskForms returns name and its wildcard forms, most specific first:
// "www.example.com", "*.example.com", "*.com". An IP address has none.
func asteriskForms(name string) []string {
	if _, err := netip.ParseAddr(name); err == nil {
		return []string{name}
	}
	forms := []string{name}
	rest := name
	for {
		_, after, ok := strings.Cut(rest, ".")
		if !ok {
			return forms
		}
		forms = append(forms, "*."+after)
		rest = after
	}
}
