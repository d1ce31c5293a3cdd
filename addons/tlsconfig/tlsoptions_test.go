package tlsconfig_test

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
	"github.com/mitmgo/mitmgo/internal/testutil"
	"github.com/mitmgo/mitmgo/internal/tlsnames"
)

// The end-to-end tests of ciphers_client, ciphers_server,
// tls_ecdh_curve_client, tls_ecdh_curve_server and request_client_cert:
// real handshakes through mitmdump, whose outcome (suite, group, client
// certificate) is what the options ask for.

// echoTLSOrigin is an HTTPS origin with Go's test certificate (RSA) and
// cfg, which answers with the connection's cipher suite and key exchange
// group.
func echoTLSOrigin(t *testing.T, cfg *tls.Config) *httptest.Server {
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", tls.CipherSuiteName(r.TLS.CipherSuite), r.TLS.CurveID)
	}))
	s.TLS = cfg
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// startMitmdump starts mitmdump with a flow file, not checking upstream
// certificates; it returns the flow file's path.
func startMitmdump(t *testing.T, args ...string) (*testutil.Mitmdump, string) {
	t.Helper()
	flows := filepath.Join(t.TempDir(), "flows")
	md := testutil.StartMitmdumpWith(t, testutil.Options{Env: []string{quickRaceExit}}, append([]string{"-k", "-w", flows}, args...)...)
	return md, flows
}

// tlsClient is a client of the proxy with cfg (which it completes with the
// CA the proxy serves on mitm.it), a connection of its own per request.
func tlsClient(t *testing.T, md *testutil.Mitmdump, cfg *tls.Config) *http.Client {
	t.Helper()
	cfg = cfg.Clone()
	cfg.RootCAs = trustingClient(t, md).Transport.(*http.Transport).TLSClientConfig.RootCAs
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy: http.ProxyURL(md.ProxyURL()), TLSClientConfig: cfg, DisableKeepAlives: true,
	}}
}

// get fetches url and returns the response (with its TLS state) and body.
func get(t *testing.T, c *http.Client, url string) (*http.Response, string, error) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// readFlows stops mitmdump and returns the flows it saved, by path.
func readFlows(t *testing.T, md *testutil.Mitmdump, path string) map[string]*flow.HTTPFlow {
	t.Helper()
	if code := md.Stop(t); code != 0 {
		t.Fatalf("mitmdump exited with %d:\n%s", code, md.Output())
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	out := map[string]*flow.HTTPFlow{}
	r := flowfile.NewReader(fh)
	for {
		d, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		f, err := flow.FromState(d)
		if err != nil {
			t.Fatal(err)
		}
		if hf, ok := f.(*flow.HTTPFlow); ok {
			out[hf.Request.Path] = hf
		}
	}
}

// TestCiphersServer: ciphers_server limits the suites mitmdump offers
// servers. An origin that speaks TLS 1.2 with two AES-GCM suites only
// cannot be reached with other suites (502), and with one of its two it
// gets that one, also the one the flow records.
func TestCiphersServer(t *testing.T) {
	origin := echoTLSOrigin(t, &tls.Config{
		MaxVersion:   tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
	})
	tests := []struct {
		option string
		// want is the suite the origin reports; "" expects a 502.
		want string
	}{
		{"ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-SHA:AES128-GCM-SHA256", ""},
		// Without the option crypto/tls prefers AES-128.
		{"ECDHE-RSA-AES256-GCM-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
		{"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
		{"ECDHE+AESGCM:!AES128", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
	}
	for _, tc := range tests {
		t.Run(tc.option, func(t *testing.T) {
			t.Parallel()
			md, flows := startMitmdump(t, "--set", "ciphers_server="+tc.option)
			resp, body, err := get(t, tlsClient(t, md, &tls.Config{}), origin.URL+"/cipher")
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if resp.StatusCode != 502 || !strings.Contains(body, "handshake failure") {
					t.Errorf("got %d %q, want a 502 for a handshake failure", resp.StatusCode, body)
				}
				return
			}
			if resp.StatusCode != 200 || !strings.HasPrefix(body, tc.want+" ") {
				t.Errorf("got %d %q, want 200 with %s", resp.StatusCode, body, tc.want)
			}
			f := readFlows(t, md, flows)["/cipher"]
			if f == nil {
				t.Fatal("no flow saved")
			}
			// The flow names it as mitmproxy (OpenSSL) does.
			if want := "ECDHE-RSA-AES256-GCM-SHA384"; f.ServerConn.Cipher != want {
				t.Errorf("flow server_conn cipher %q, want %q", f.ServerConn.Cipher, want)
			}
			// mitmproxy records the option in the server connection.
			if want := strings.Split(tc.option, ":"); !slices.Equal(f.ServerConn.CipherList, want) {
				t.Errorf("flow server_conn cipher_list %q, want %q", f.ServerConn.CipherList, want)
			}
		})
	}
}

// TestCiphersClient: ciphers_client limits the suites mitmdump accepts
// from clients. With only the ChaCha20 suites allowed, a TLS 1.2 client
// offering only AES-GCM cannot connect, and one offering both gets
// ChaCha20 (crypto/tls alone would choose AES-GCM on AES hardware).
func TestCiphersClient(t *testing.T) {
	origin := tlsOrigin(t)
	const option = "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
	md, flows := startMitmdump(t, "--set", "ciphers_client="+option)
	aesGCM := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}
	chacha := []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}

	_, _, err := get(t, tlsClient(t, md, &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: aesGCM}), origin.URL+"/aes")
	if err == nil || !strings.Contains(err.Error(), "handshake failure") {
		t.Errorf("a client without the allowed suites: %v, want a handshake failure", err)
	}

	resp, body, err := get(t, tlsClient(t, md, &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: append(aesGCM, chacha...)}), origin.URL+"/chacha")
	if err != nil {
		t.Fatal(err)
	}
	got := tls.CipherSuiteName(resp.TLS.CipherSuite)
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "secret") || !slices.Contains(chacha, resp.TLS.CipherSuite) {
		t.Errorf("got %d %q with %s, want 200 with a ChaCha20 suite", resp.StatusCode, body, got)
	}
	fs := readFlows(t, md, flows)
	if f := fs["/chacha"]; f == nil {
		t.Error("no flow saved")
	} else {
		if want := tlsnames.CipherName(resp.TLS.CipherSuite); f.ClientConn.Cipher != want || !strings.HasSuffix(want, "-CHACHA20-POLY1305") {
			t.Errorf("flow client_conn cipher %q, want %q, OpenSSL's name for %s", f.ClientConn.Cipher, want, got)
		}
		if want := strings.Split(option, ":"); !slices.Equal(f.ClientConn.CipherList, want) {
			t.Errorf("flow client_conn cipher_list %q, want %q", f.ClientConn.CipherList, want)
		}
	}
	if fs["/aes"] != nil {
		t.Error("a flow from the client that could not connect")
	}
}

// TestECDHCurveClient: tls_ecdh_curve_client is the only key exchange
// group mitmdump accepts from clients (or the groups of a list).
func TestECDHCurveClient(t *testing.T) {
	origin := tlsOrigin(t)
	type attempt struct {
		client []tls.CurveID
		want   tls.CurveID // 0: the handshake fails
	}
	tests := []struct {
		option   string
		attempts []attempt
	}{
		{"secp384r1", []attempt{{[]tls.CurveID{tls.CurveP384}, tls.CurveP384}, {[]tls.CurveID{tls.CurveP256, tls.X25519}, 0}}},
		{"prime256v1", []attempt{{[]tls.CurveID{tls.CurveP384}, 0}, {[]tls.CurveID{tls.CurveP384, tls.CurveP256}, tls.CurveP256}}},
		{"X25519:P-384", []attempt{{[]tls.CurveID{tls.X25519MLKEM768, tls.X25519}, tls.X25519}, {[]tls.CurveID{tls.CurveP256}, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.option, func(t *testing.T) {
			t.Parallel()
			md, _ := startMitmdump(t, "--set", "tls_ecdh_curve_client="+tc.option)
			for _, a := range tc.attempts {
				resp, body, err := get(t, tlsClient(t, md, &tls.Config{CurvePreferences: a.client}), origin.URL+"/")
				switch {
				case a.want == 0 && err == nil:
					t.Errorf("a client with %v connected (%s)", a.client, resp.TLS.CurveID)
				case a.want == 0:
					if !strings.Contains(err.Error(), "handshake failure") {
						t.Errorf("a client with %v: %v, want a handshake failure", a.client, err)
					}
				case err != nil:
					t.Errorf("a client with %v: %v", a.client, err)
				case resp.StatusCode != 200 || resp.TLS.CurveID != a.want:
					t.Errorf("a client with %v: %d %q over %s, want %s", a.client, resp.StatusCode, body, resp.TLS.CurveID, a.want)
				}
			}
		})
	}
}

// TestECDHCurveServer: tls_ecdh_curve_server is the only key exchange
// group mitmdump offers servers.
func TestECDHCurveServer(t *testing.T) {
	p384 := echoTLSOrigin(t, &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP384}})
	anyGroup := echoTLSOrigin(t, &tls.Config{})
	tests := []struct {
		option string
		origin *httptest.Server
		want   tls.CurveID // 0 expects a 502
	}{
		{"secp384r1", p384, tls.CurveP384},
		{"prime256v1", p384, 0},
		{"secp521r1", anyGroup, tls.CurveP521},
		{"P-256:X25519", anyGroup, tls.X25519},
	}
	for _, tc := range tests {
		t.Run(tc.option, func(t *testing.T) {
			t.Parallel()
			md, _ := startMitmdump(t, "--set", "tls_ecdh_curve_server="+tc.option)
			resp, body, err := get(t, tlsClient(t, md, &tls.Config{}), tc.origin.URL+"/")
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == 0 {
				if resp.StatusCode != 502 || !strings.Contains(body, "handshake failure") {
					t.Errorf("got %d %q, want a 502 for a handshake failure", resp.StatusCode, body)
				}
				return
			}
			if resp.StatusCode != 200 || !strings.HasSuffix(body, " "+tc.want.String()) {
				t.Errorf("got %d %q, want the origin to report %s", resp.StatusCode, body, tc.want)
			}
		})
	}
}

// TestRequestClientCert: with request_client_cert, mitmdump asks clients
// for a certificate and records it in the flow (client_conn
// certificate_list); a client without one still connects. Without the
// option no certificate is asked for.
func TestRequestClientCert(t *testing.T) {
	origin := tlsOrigin(t)
	alice := issue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "alice"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, nil)
	withCert := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{alice.cert.Raw}, PrivateKey: alice.key}}}
	for _, tc := range []struct {
		name string
		args []string
		// wantCert: the flow of the client with a certificate has it.
		wantCert bool
	}{
		{"requested", []string{"--set", "request_client_cert=true"}, true},
		{"flag, TLS 1.2", []string{"--request-client-cert", "--set", "tls_version_client_max=TLS1_2"}, true},
		{"not requested", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			md, flows := startMitmdump(t, tc.args...)
			for _, c := range []struct {
				path string
				cfg  *tls.Config
			}{{"/with", withCert}, {"/without", &tls.Config{}}} {
				resp, body, err := get(t, tlsClient(t, md, c.cfg), origin.URL+c.path)
				if err != nil {
					t.Fatalf("%s: %v", c.path, err)
				}
				if resp.StatusCode != 200 || body != "secret GET "+c.path {
					t.Errorf("%s: got %d %q", c.path, resp.StatusCode, body)
				}
			}
			fs := readFlows(t, md, flows)
			with, without := fs["/with"], fs["/without"]
			if with == nil || without == nil {
				t.Fatalf("flows saved: %v", fs)
			}
			got := with.ClientConn.CertificateList
			switch {
			case tc.wantCert && (len(got) != 1 || !alice.cert.Equal(mustParse(t, got[0]))):
				t.Errorf("certificate_list of the client with a certificate: %d certificates, want alice's", len(got))
			case !tc.wantCert && len(got) != 0:
				t.Errorf("certificate_list %d certificates without request_client_cert", len(got))
			}
			if n := len(without.ClientConn.CertificateList); n != 0 {
				t.Errorf("certificate_list of the client without a certificate: %d certificates", n)
			}
		})
	}
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTLSOptionBadValues: mitmdump refuses to start with a value it cannot
// use, and says which option and which word.
func TestTLSOptionBadValues(t *testing.T) {
	for _, tc := range []struct {
		option, value string
		want          []string
	}{
		{"ciphers_client", "NOPE", []string{`"NOPE"`}},
		{"ciphers_server", "HIGH:!aNULL:FOO", []string{`"FOO"`}},
		{"ciphers_server", "DHE-RSA-AES128-GCM-SHA256", []string{"selects no cipher suite"}},
		{"tls_ecdh_curve_client", "nope", []string{`"nope"`, "prime256v1"}},
		{"tls_ecdh_curve_server", "brainpoolP256r1", []string{`"brainpoolP256r1"`, "secp384r1"}},
	} {
		t.Run(tc.option+"="+tc.value, func(t *testing.T) {
			t.Parallel()
			md := testutil.StartMitmdumpWith(t, testutil.Options{NoListen: true, Env: []string{quickRaceExit}}, "--set", tc.option+"="+tc.value)
			if code := md.Wait(t, 20*time.Second); code == 0 {
				t.Fatalf("mitmdump started with %s=%s:\n%s", tc.option, tc.value, md.Output())
			}
			out := md.Output()
			for _, s := range append([]string{"option " + tc.option}, tc.want...) {
				if !strings.Contains(out, s) {
					t.Errorf("the error does not contain %q:\n%s", s, out)
				}
			}
		})
	}
}
