package tlsconfig

import (
	"crypto/x509"
	"sync"
)

// maxParsedCerts bounds parsedCerts. A parsed certificate with its DER
// takes a few KiB; 256 servers' are at most about 1.5 MiB, and cover the
// servers a client is busy with.
const maxParsedCerts = 256

// parsedCerts remembers the servers' certificates parsed for upstream_cert,
// by their DER bytes. Every intercepted connection to a server whose
// certificate is known names its leaf after it; parsing the same DER again
// for each connection cost about a fifth of what tls_start_client did
// besides the handshake itself. The certificates are shared and never
// modified. The zero value is ready to use.
type parsedCerts struct {
	mu sync.Mutex
	m  map[string]*x509.Certificate
}

// parse returns der parsed, from the cache when it was parsed before.
func (p *parsedCerts) parse(der []byte) (*x509.Certificate, error) {
	p.mu.Lock()
	c := p.m[string(der)]
	p.mu.Unlock()
	if c != nil {
		return c, nil
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = make(map[string]*x509.Certificate)
	}
	if len(p.m) >= maxParsedCerts {
		// Full: forget one (any); a server seen again is parsed again.
		for k := range p.m {
			delete(p.m, k)
			break
		}
	}
	p.m[string(der)] = c
	return c, nil
}

func (p *parsedCerts) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.m)
}
