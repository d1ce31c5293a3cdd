package proxy

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// testCert is a self-signed certificate (a CA, so it can stand for both
// the server and the client side).
func testCert(t *testing.T, cn string) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}

// TestClientCertWatch runs handshakes with a server on loopback that
// requires a client certificate from one CA, in TLS 1.2 and 1.3, and checks
// what the watch records and how the failure is described.
func TestClientCertWatch(t *testing.T) {
	serverCert, _ := testCert(t, "server")
	trusted, trustedX509 := testCert(t, "trusted")
	other, _ := testCert(t, "other")
	pool := x509.NewCertPool()
	pool.AddCert(trustedX509)

	const missing = "the server asked for a TLS client certificate and none was sent (see the client_certs option; TLS alert: "
	tests := []struct {
		name       string
		clientAuth tls.ClientAuthType
		certs      []tls.Certificate
		// get is the addon's GetClientCertificate, if any.
		get               func(*tls.CertificateRequestInfo) (*tls.Certificate, error)
		wantAsked, wantOK bool
		want12, want13    string // the described failure ("" when wantOK)
	}{
		{name: "no certificate", clientAuth: tls.RequireAndVerifyClientCert, wantAsked: true,
			want12: missing + "handshake failure)", want13: missing + "certificate required)"},
		{name: "matching certificate", clientAuth: tls.RequireAndVerifyClientCert, certs: []tls.Certificate{other, trusted},
			wantAsked: true, wantOK: true},
		{name: "certificate of another CA", clientAuth: tls.RequireAndVerifyClientCert, certs: []tls.Certificate{other}, wantAsked: true,
			want12: "the server asked for a TLS client certificate and none was sent: the client_certs certificate does not match its request (",
			want13: "the server asked for a TLS client certificate and none was sent: the client_certs certificate does not match its request ("},
		{name: "addon's GetClientCertificate sends none", clientAuth: tls.RequireAnyClientCert, wantAsked: true,
			get:    func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &tls.Certificate{}, nil },
			want12: missing + "handshake failure)", want13: missing + "certificate required)"},
		{name: "addon's GetClientCertificate sends one", clientAuth: tls.RequireAnyClientCert, wantAsked: true, wantOK: true,
			get: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &other, nil }},
		{name: "server does not ask", clientAuth: tls.NoClientCert, wantOK: true},
	}
	for _, tc := range tests {
		for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(tc.name+"/"+tls.VersionName(version), func(t *testing.T) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				done := make(chan struct{})
				go func() {
					defer close(done)
					c, err := ln.Accept()
					if err != nil {
						return
					}
					defer c.Close()
					sconn := tls.Server(c, &tls.Config{
						Certificates: []tls.Certificate{serverCert},
						ClientAuth:   tc.clientAuth, ClientCAs: pool, MaxVersion: version,
					})
					if sconn.Handshake() == nil {
						io.WriteString(sconn, "ok")
					}
				}()
				defer func() { <-done }()

				raw, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer raw.Close()
				raw.SetDeadline(time.Now().Add(10 * time.Second))
				addonCfg := &tls.Config{InsecureSkipVerify: true, MaxVersion: version, Certificates: tc.certs, GetClientCertificate: tc.get}
				cfg, w := watchClientCert(addonCfg)
				conn := tls.Client(raw, cfg)
				err = conn.Handshake()
				var got string
				if err != nil {
					got = describeTLSError("localhost:1", w.explain(err))
				} else {
					// As startServerTLS: read through clientCertReader only
					// when the server asked and nothing was sent.
					var r io.Reader = conn
					if w.asked && !w.sent {
						r = &clientCertReader{r: conn, w: w}
					}
					var b []byte
					b, err = io.ReadAll(bufio.NewReader(r))
					if err != nil {
						got = describeResponseError(err)
					} else if string(b) != "ok" {
						t.Errorf("read %q, want ok", b)
					}
				}
				if (addonCfg.GetClientCertificate == nil) != (tc.get == nil) {
					t.Error("the addon's config was modified")
				}
				if w.asked != tc.wantAsked {
					t.Errorf("asked = %v, want %v", w.asked, tc.wantAsked)
				}
				if tc.wantOK {
					if err != nil {
						t.Fatalf("failed: %v (%s)", err, got)
					}
					if w.asked && !w.sent {
						t.Error("sent = false, want true")
					}
					return
				}
				want := tc.want13
				if version == tls.VersionTLS12 {
					// The server rejects the handshake itself.
					if err == nil || !strings.HasPrefix(got, "TLS handshake with localhost:1 failed: ") {
						t.Errorf("got %q (%v), want a handshake failure", got, err)
					}
					want = tc.want12
				}
				t.Logf("described as %q", got)
				if !strings.Contains(got, want) {
					t.Errorf("described as %q, want it to contain %q", got, want)
				}
				var ce *clientCertError
				if !errors.As(w.explain(err), &ce) || !errors.Is(w.explain(err), err) {
					t.Errorf("explain(%v) is not a *clientCertError wrapping it", err)
				}
			})
		}
	}
}

// TestClientCertAlert: only the peer's alerts that mean a missing
// certificate are recognised.
func TestClientCertAlert(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "remote error", Err: errors.New("tls: certificate required")}, "certificate required"},
		{&net.OpError{Op: "remote error", Err: errors.New("tls: bad certificate")}, "bad certificate"},
		{&net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")}, "handshake failure"},
		{&net.OpError{Op: "remote error", Err: errors.New("tls: unknown certificate authority")}, ""},
		{&net.OpError{Op: "local error", Err: errors.New("tls: bad certificate")}, ""},
		{io.EOF, ""},
	} {
		got, ok := clientCertAlert(tc.err)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("clientCertAlert(%v) = %q, %v; want %q", tc.err, got, ok, tc.want)
		}
	}
}
