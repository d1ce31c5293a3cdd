package tlsconfig_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// issued is a certificate with its key.
type issued struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// issue creates a certificate from tmpl signed by parent (self-signed when
// parent is nil). ECDSA keys keep the test fast.
func issue(t *testing.T, tmpl *x509.Certificate, parent *issued) issued {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	signer, signerKey := tmpl, crypto.Signer(key)
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return issued{cert, key}
}

func caTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
}

// clientPKI is the client side: a CA the origin trusts for client
// certificates, an intermediate, and leaves.
type clientPKI struct {
	ca, intermediate issued
	// direct is issued by the CA; chained by the intermediate (the origin
	// only knows the CA, so the proxy must send the intermediate too).
	direct, chained issued
}

func newClientPKI(t *testing.T) *clientPKI {
	p := &clientPKI{}
	p.ca = issue(t, caTemplate("client-ca"), nil)
	p.intermediate = issue(t, caTemplate("client-intermediate"), &p.ca)
	leaf := func(cn string, parent *issued) issued {
		return issue(t, &x509.Certificate{
			Subject:     pkix.Name{CommonName: cn},
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}, parent)
	}
	p.direct = leaf("alice", &p.ca)
	p.chained = leaf("bob", &p.intermediate)
	return p
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// pkcs8PEM is what `openssl genpkey` writes ("PRIVATE KEY").
func pkcs8PEM(t *testing.T, k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// sec1PEM is what `openssl ecparam -genkey` writes: EC PARAMETERS, then
// EC PRIVATE KEY.
func sec1PEM(t *testing.T, k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	// The OID of prime256v1, as openssl writes it.
	params := []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}
	return append(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: params}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})...)
}

func writeFile(t *testing.T, path string, parts ...[]byte) string {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(parts, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mtlsOrigin is an HTTPS origin on 127.0.0.1 (also reachable as localhost)
// that requires a client certificate issued by clientCA and answers with
// the certificate's CN. Its log records rejected handshakes.
type mtlsOrigin struct {
	*httptest.Server
	log *testutil.SyncBuffer
}

func startMTLSOrigin(t *testing.T, server issued, clientCA *x509.Certificate) *mtlsOrigin {
	o := &mtlsOrigin{log: &testutil.SyncBuffer{}}
	o.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "client cn="+r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	pool := x509.NewCertPool()
	pool.AddCert(clientCA)
	o.TLS = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{server.cert.Raw}, PrivateKey: server.key}},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}
	o.Config.ErrorLog = log.New(o.log, "", 0)
	o.StartTLS()
	t.Cleanup(o.Close)
	return o
}

// quickRaceExit drops the second a -race build of mitmdump sleeps before it
// exits (to catch late races), which would dominate the test's time: every
// case stops its mitmdump after its requests are done.
var quickRaceExit = "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")

// trustingClient is a client of the proxy that trusts the CA the proxy
// serves on mitm.it. (Passing our own confdir would make mitmdump generate
// a second CA after the one in testutil's confdir, which is slow with -race.)
func trustingClient(t *testing.T, md *testutil.Mitmdump) *http.Client {
	t.Helper()
	c := md.Client()
	c.Timeout = 10 * time.Second
	resp, err := c.Get("http://mitm.it/cert/pem")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	pool := x509.NewCertPool()
	if err != nil || resp.StatusCode != 200 || !pool.AppendCertsFromPEM(ca) {
		t.Fatalf("mitm.it/cert/pem: %d %q %v", resp.StatusCode, ca, err)
	}
	c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool}
	// Cleanups run last first: this one before testutil stops mitmdump.
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// flowErrorLine waits for the dumper's " << error" line that follows the
// line with request, and returns it.
func flowErrorLine(t *testing.T, md *testutil.Mitmdump, request string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		lines := strings.Split(md.Output(), "\n")
		for i, l := range lines {
			// i+2: the error line is complete (a newline follows it).
			if strings.Contains(l, request) && i+2 < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i+1]), "<< ") {
				return lines[i+1]
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no flow error logged after %q:\n%s", request, md.Output())
	return ""
}

// TestClientCerts runs mitmdump with client_certs against an origin that
// requires a client certificate: a file is used for every server, a
// directory is searched for <sni>.pem (or <ip>.pem without SNI), and a
// missing or unusable certificate ends in a 502 that says why.
func TestClientCerts(t *testing.T) {
	pki := newClientPKI(t)
	// The origin's certificate, valid for both names we reach it by; the
	// proxy trusts it through ssl_verify_upstream_trusted_ca.
	server := issue(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "origin"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, nil)
	trusted := writePEM(t, server.cert)

	alice, bob := pki.direct, pki.chained
	// How the proxy explains a server's alert after it asked for a client
	// certificate and none was sent; the alert's name follows.
	const noClientCert = "the server asked for a TLS client certificate and none was sent (see the client_certs option; TLS alert: "
	tests := []struct {
		name string
		// setup writes the certificates into dir and returns the option's
		// value ("" leaves client_certs unset).
		setup func(t *testing.T, dir string) string
		// host is how the client addresses the origin: "localhost" sends
		// it as SNI, "127.0.0.1" sends no SNI.
		host string
		// args are more mitmdump arguments.
		args   []string
		wantCN string // "" expects a 502
		// want502 are substrings of the 502 body and of the flow error
		// mitmdump logs.
		want502 []string
		// wantOriginLog is a substring of the origin's log.
		wantOriginLog string
	}{
		{
			name: "file cert first",
			setup: func(t *testing.T, dir string) string {
				return writeFile(t, filepath.Join(dir, "client.pem"), certPEM(alice.cert), pkcs8PEM(t, alice.key))
			},
			host: "localhost", wantCN: "alice",
		},
		{
			// Key first, as mitmproxy's docs build PEM files (`cat cert.key
			// cert.crt`); OpenSSL, which mitmproxy loads them with, finds the
			// key and the certificates anywhere in the file.
			name: "file key first",
			setup: func(t *testing.T, dir string) string {
				return writeFile(t, filepath.Join(dir, "client.pem"), pkcs8PEM(t, alice.key), certPEM(alice.cert))
			},
			host: "127.0.0.1", wantCN: "alice",
		},
		{
			name: "file openssl EC key with parameters",
			setup: func(t *testing.T, dir string) string {
				return writeFile(t, filepath.Join(dir, "client.pem"), sec1PEM(t, alice.key), certPEM(alice.cert))
			},
			host: "localhost", wantCN: "alice",
		},
		{
			// The origin trusts only the root: the intermediate after the
			// leaf must be sent as well (use_certificate_chain_file).
			name: "file with chain",
			setup: func(t *testing.T, dir string) string {
				return writeFile(t, filepath.Join(dir, "client.pem"), certPEM(bob.cert), certPEM(pki.intermediate.cert), pkcs8PEM(t, bob.key))
			},
			host: "localhost", wantCN: "bob",
		},
		{
			name: "dir with sni.pem",
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, "localhost.pem"), pkcs8PEM(t, bob.key), certPEM(bob.cert), certPEM(pki.intermediate.cert))
				writeFile(t, filepath.Join(dir, "127.0.0.1.pem"), certPEM(alice.cert), pkcs8PEM(t, alice.key))
				return dir
			},
			host: "localhost", wantCN: "bob",
		},
		{
			// Without SNI mitmproxy looks up the server's address.
			name: "dir with ip.pem",
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, "localhost.pem"), pkcs8PEM(t, bob.key), certPEM(bob.cert), certPEM(pki.intermediate.cert))
				writeFile(t, filepath.Join(dir, "127.0.0.1.pem"), certPEM(alice.cert), pkcs8PEM(t, alice.key))
				return dir
			},
			host: "127.0.0.1", wantCN: "alice",
		},
		{
			name: "dir without a matching file",
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, "example.com.pem"), certPEM(alice.cert), pkcs8PEM(t, alice.key))
				return dir
			},
			// TLS 1.3: the client's handshake is done before the server
			// checks its certificate, so the server's alert comes with the
			// response.
			host:          "localhost",
			want502:       []string{"server localhost:", ": " + noClientCert + "certificate required)"},
			wantOriginLog: "client didn't provide a certificate",
		},
		{
			// TLS 1.2: the server rejects the handshake itself, with the
			// generic alert Go and OpenSSL servers send for a missing
			// client certificate.
			name: "dir without a matching file, TLS 1.2",
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, "example.com.pem"), certPEM(alice.cert), pkcs8PEM(t, alice.key))
				return dir
			},
			host:          "localhost",
			args:          []string{"--set", "tls_version_server_max=TLS1_2"},
			want502:       []string{"TLS handshake with localhost:", " failed: " + noClientCert + "handshake failure)"},
			wantOriginLog: "client didn't provide a certificate",
		},
		{
			name:          "no client_certs",
			setup:         func(t *testing.T, dir string) string { return "" },
			host:          "127.0.0.1",
			want502:       []string{"server 127.0.0.1:", ": " + noClientCert + "certificate required)"},
			wantOriginLog: "client didn't provide a certificate",
		},
		{
			// A file without a key fails the server connection with the
			// reason, as mitmproxy does ("Cannot load TLS client
			// certificate"), rather than going on without a certificate.
			name: "file without a key",
			setup: func(t *testing.T, dir string) string {
				return writeFile(t, filepath.Join(dir, "nokey.pem"), certPEM(alice.cert))
			},
			host:    "localhost",
			want502: []string{"TLS handshake with localhost:", "client_certs", "nokey.pem", "private key"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			origin := startMTLSOrigin(t, server, pki.ca.cert)
			_, port, _ := net.SplitHostPort(origin.Listener.Addr().String())
			args := []string{"--set", "ssl_verify_upstream_trusted_ca=" + trusted}
			if v := tc.setup(t, t.TempDir()); v != "" {
				args = append(args, "--set", "client_certs="+v)
			}
			args = append(args, tc.args...)
			md := testutil.StartMitmdumpWith(t, testutil.Options{Env: []string{quickRaceExit}}, args...)
			client := trustingClient(t, md)

			url := "https://" + net.JoinHostPort(tc.host, port) + "/whoami"
			resp, err := client.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			defer func() {
				// mitmdump itself stays race-free and exits cleanly.
				client.CloseIdleConnections()
				if code := md.Stop(t); code != 0 || strings.Contains(md.Output(), "DATA RACE") {
					t.Errorf("mitmdump exited with %d:\n%s", code, md.Output())
				}
			}()
			if tc.wantCN != "" {
				if resp.StatusCode != 200 || string(body) != "client cn="+tc.wantCN {
					t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, "client cn="+tc.wantCN)
				}
				return
			}
			if resp.StatusCode != 502 {
				t.Errorf("got %d %q, want 502", resp.StatusCode, body)
				return
			}
			for _, s := range tc.want502 {
				if !strings.Contains(string(body), s) {
					t.Errorf("502 body %q does not contain %q", body, s)
				}
			}
			// The flow error, as the dumper prints it under the request.
			line := flowErrorLine(t, md, "GET "+url)
			for _, s := range tc.want502 {
				if !strings.Contains(line, s) {
					t.Errorf("logged flow error %q does not contain %q", line, s)
				}
			}
			if tc.wantOriginLog != "" {
				// The origin logs after it sent its alert: wait a little.
				deadline := time.Now().Add(5 * time.Second)
				for !strings.Contains(origin.log.String(), tc.wantOriginLog) && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if !strings.Contains(origin.log.String(), tc.wantOriginLog) {
					t.Errorf("origin log %q does not contain %q", origin.log.String(), tc.wantOriginLog)
				}
			}
		})
	}
}

// TestClientCertsMissingPath: mitmdump refuses to start when client_certs
// names a path that does not exist, and says which option is wrong.
func TestClientCertsMissingPath(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-certs")
	md := testutil.StartMitmdumpWith(t, testutil.Options{NoListen: true}, "--set", "client_certs="+missing)
	if code := md.Wait(t, 20*time.Second); code == 0 {
		t.Fatalf("mitmdump started with a missing client_certs path:\n%s", md.Output())
	}
	out := md.Output()
	if !strings.Contains(out, "client_certs") || !strings.Contains(out, missing) {
		t.Errorf("the error does not name the option and the path:\n%s", out)
	}
}
