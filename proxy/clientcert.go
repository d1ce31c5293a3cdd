package proxy

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
)

// clientCertWatch records, during the handshake with a server, whether the
// server asked for a TLS client certificate and whether one was sent.
// Servers report a missing certificate only with a generic alert ("handshake
// failure" in TLS 1.2, "certificate required" on the first read in TLS 1.3,
// after the client's side of the handshake is done), which alone does not
// tell the user that client_certs is what is missing.
//
// crypto/tls calls GetClientCertificate on the goroutine that runs the
// handshake, and the connection is handed to others only after it, so the
// fields need no lock.
type clientCertWatch struct {
	asked bool // the server sent a CertificateRequest
	sent  bool // a certificate was sent in reply
	// unfit is why the configured certificate was not sent (it does not
	// match the server's request), nil when none was configured.
	unfit error
}

// watchClientCert returns a clone of cfg (the addon's config stays as it
// is) whose GetClientCertificate records the server's request in the
// returned watch and picks the certificate as crypto/tls would have.
func watchClientCert(cfg *tls.Config) (*tls.Config, *clientCertWatch) {
	w := &clientCertWatch{}
	cfg = cfg.Clone()
	get, certs := cfg.GetClientCertificate, cfg.Certificates
	cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		w.asked = true
		var c *tls.Certificate
		if get != nil {
			var err error
			if c, err = get(cri); err != nil {
				return nil, err
			}
		} else {
			c = w.choose(cri, certs)
		}
		w.sent = c != nil && len(c.Certificate) > 0
		return c, nil
	}
	return cfg, w
}

// choose is crypto/tls's choice from Config.Certificates: the first one
// the server's request accepts, else no certificate at all.
func (w *clientCertWatch) choose(cri *tls.CertificateRequestInfo, certs []tls.Certificate) *tls.Certificate {
	for i := range certs {
		if err := cri.SupportsCertificate(&certs[i]); err != nil {
			if w.unfit == nil {
				w.unfit = err
			}
			continue
		}
		c := certs[i]
		return &c
	}
	return new(tls.Certificate)
}

// explain returns err as a *clientCertError when it is the server's alert
// after it asked for a certificate that was not sent, else err unchanged.
func (w *clientCertWatch) explain(err error) error {
	if !w.asked || w.sent {
		return err
	}
	if alert, ok := clientCertAlert(err); ok {
		return &clientCertError{err: err, alert: alert, unfit: w.unfit}
	}
	return err
}

// clientCertAlert reports whether err is a TLS alert from the peer that a
// server sends for a missing client certificate, and which one.
func clientCertAlert(err error) (string, bool) {
	var oe *net.OpError
	// crypto/tls reports the peer's alerts as a *net.OpError "remote
	// error" around an unexported alert type: its text is all we can test.
	if !errors.As(err, &oe) || oe.Op != "remote error" || oe.Err == nil {
		return "", false
	}
	switch s := oe.Err.Error(); s {
	case "tls: certificate required", "tls: bad certificate", "tls: handshake failure":
		return strings.TrimPrefix(s, "tls: "), true
	}
	return "", false
}

// clientCertError is a server's alert that followed its request for a
// client certificate the proxy did not send.
type clientCertError struct {
	err   error  // the alert as crypto/tls reported it
	alert string // its description ("certificate required")
	unfit error  // see clientCertWatch.unfit
}

func (e *clientCertError) Error() string {
	if e.unfit != nil {
		return "the server asked for a TLS client certificate and none was sent: the client_certs certificate does not match its request (" +
			e.unfit.Error() + "; TLS alert: " + e.alert + ")"
	}
	return "the server asked for a TLS client certificate and none was sent (see the client_certs option; TLS alert: " + e.alert + ")"
}

func (e *clientCertError) Unwrap() error { return e.err }

// clientCertReader reads a server connection whose server asked for a
// client certificate that was not sent: in TLS 1.3 the server's alert comes
// with the first read, which it turns into a *clientCertError. Only such
// connections are read through it.
type clientCertReader struct {
	r io.Reader
	w *clientCertWatch
}

func (r *clientCertReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil {
		err = r.w.explain(err)
	}
	return n, err
}
