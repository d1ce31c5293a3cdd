package tlsconfig_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// tlsOrigin starts an HTTPS origin with Go's test certificate (valid for
// 127.0.0.1 and example.com, from a CA nobody trusts).
func tlsOrigin(t *testing.T) *httptest.Server {
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "secret %s %s", r.Method, r.URL.Path)
	}))
	t.Cleanup(s.Close)
	return s
}

func writePEM(t *testing.T, certs ...*x509.Certificate) string {
	p := filepath.Join(t.TempDir(), "ca.pem")
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// proxyClient trusts the CA in confdir and uses the proxy.
func proxyClient(t *testing.T, md *testutil.Mitmdump, confdir string) *http.Client {
	data, err := os.ReadFile(filepath.Join(confdir, "mitmproxy-ca-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(data)
	return &http.Client{
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			Proxy:           http.ProxyURL(md.ProxyURL()),
			TLSClientConfig: &tls.Config{RootCAs: pool},
		},
	}
}

func TestHTTPSInterception(t *testing.T) {
	origin := tlsOrigin(t)
	confdir := t.TempDir()
	md := testutil.StartMitmdump(t, "--set", "confdir="+confdir,
		"--set", "ssl_verify_upstream_trusted_ca="+writePEM(t, origin.Certificate()))
	client := proxyClient(t, md, confdir)
	for i := 0; i < 2; i++ {
		resp, err := client.Get(origin.URL + "/inside")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "secret GET /inside" {
			t.Fatalf("body %q", body)
		}
		leaf := resp.TLS.PeerCertificates[0]
		if leaf.Issuer.CommonName != "mitmproxy" {
			t.Errorf("leaf issued by %q, want the mitmproxy CA", leaf.Issuer.CommonName)
		}
		// upstream_cert: the leaf copies the server certificate's names.
		if !strings.Contains(fmt.Sprint(leaf.DNSNames), "example.com") {
			t.Errorf("leaf names %v do not mirror the upstream certificate", leaf.DNSNames)
		}
	}
}

func TestUpstreamVerification(t *testing.T) {
	origin := tlsOrigin(t)
	confdir := t.TempDir()
	md := testutil.StartMitmdump(t, "--set", "confdir="+confdir)
	client := proxyClient(t, md, confdir)
	resp, err := client.Get(origin.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 502 || !strings.Contains(string(body), "unknown authority") {
		t.Errorf("unknown CA: %d %q", resp.StatusCode, body)
	}

	// Name mismatch: the test certificate is not valid for "localhost".
	md2 := testutil.StartMitmdump(t, "--set", "confdir="+confdir,
		"--set", "ssl_verify_upstream_trusted_ca="+writePEM(t, origin.Certificate()))
	client2 := proxyClient(t, md2, confdir)
	u := strings.Replace(origin.URL, "127.0.0.1", "localhost", 1)
	resp, err = client2.Get(u + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 502 || !strings.Contains(string(body), "name mismatch") {
		t.Errorf("name mismatch: %d %q", resp.StatusCode, body)
	}

	// -k turns verification off.
	md3 := testutil.StartMitmdump(t, "--set", "confdir="+confdir, "-k")
	resp, err = proxyClient(t, md3, confdir).Get(origin.URL + "/k")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "secret GET /k" {
		t.Errorf("-k: %d %q", resp.StatusCode, body)
	}
}

func TestIgnoreHostsPassthrough(t *testing.T) {
	origin := tlsOrigin(t)
	confdir := t.TempDir()
	md := testutil.StartMitmdump(t, "--set", "confdir="+confdir, "--ignore-hosts", `^127\.0\.0\.1:`)
	pool := x509.NewCertPool()
	pool.AddCert(origin.Certificate())
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy: http.ProxyURL(md.ProxyURL()), TLSClientConfig: &tls.Config{RootCAs: pool},
	}}
	resp, err := client.Get(origin.URL + "/p")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !resp.TLS.PeerCertificates[0].Equal(origin.Certificate()) {
		t.Error("client did not see the origin's own certificate")
	}
}

func TestClientRejectsCertificate(t *testing.T) {
	origin := tlsOrigin(t)
	md := testutil.StartMitmdump(t, "-k")
	// A client that does not trust the mitmproxy CA.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(md.ProxyURL())}}
	if _, err := client.Get(origin.URL); err == nil {
		t.Fatal("client accepted an untrusted certificate")
	}
	md.WaitOutput(t, "does not trust the proxy's certificate for 127.0.0.1", 5*time.Second)
}

func TestOnboarding(t *testing.T) {
	confdir := t.TempDir()
	md := testutil.StartMitmdump(t, "--set", "confdir="+confdir)
	resp, err := md.Client().Get("http://mitm.it/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "/cert/pem") {
		t.Fatalf("onboarding page: %d %q", resp.StatusCode, page)
	}
	resp, err = md.Client().Get("http://mitm.it/cert/pem")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want, _ := os.ReadFile(filepath.Join(confdir, "mitmproxy-ca-cert.pem"))
	if string(certPEM) != string(want) {
		t.Errorf("served CA differs from the confdir's")
	}
}

func TestRawTunnelForNonTLS(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	md := testutil.StartMitmdump(t)
	c := md.Dial(t)
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\n\r\n", ln.Addr())
	br := bufio.NewReader(c)
	br.ReadString('\n')
	br.ReadString('\n')
	io.WriteString(c, "\x00binary")
	buf := make([]byte, 7)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "\x00binary" {
		t.Fatalf("%q %v", buf, err)
	}
}

// TestUpstreamSessionResumption: a second connection to the same server
// resumes the TLS session of the first (as a browser would), and the flow
// still knows the server's certificate, which a resumed handshake does not
// send again: the leaf for the client still mirrors its names.
func TestUpstreamSessionResumption(t *testing.T) {
	var mu sync.Mutex
	var resumed []bool
	origin := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	origin.TLS = &tls.Config{VerifyConnection: func(cs tls.ConnectionState) error {
		mu.Lock()
		resumed = append(resumed, cs.DidResume)
		mu.Unlock()
		return nil
	}}
	origin.StartTLS()
	t.Cleanup(origin.Close)

	confdir := t.TempDir()
	md := testutil.StartMitmdump(t, "--set", "confdir="+confdir,
		"--set", "ssl_verify_upstream_trusted_ca="+writePEM(t, origin.Certificate()))
	client := proxyClient(t, md, confdir)
	// A new CONNECT, and so a new server connection, for every request.
	client.Transport.(*http.Transport).DisableKeepAlives = true
	for i := range 3 {
		resp, err := client.Get(origin.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "ok" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
		if names := fmt.Sprint(resp.TLS.PeerCertificates[0].DNSNames); !strings.Contains(names, "example.com") {
			t.Errorf("request %d: leaf names %v do not mirror the upstream certificate", i, names)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(resumed) != 3 || resumed[0] || !resumed[1] || !resumed[2] {
		t.Errorf("upstream handshakes resumed: %v, want [false true true]", resumed)
	}
}

// TestClientSessionResumption: a client that comes back resumes its TLS
// session with the proxy, which needs the ticket keys to outlive the
// connection that issued the ticket. The resumed connection's flow still
// records the certificate the client was shown (mitmcert), although a
// resumed handshake sends none.
func TestClientSessionResumption(t *testing.T) {
	origin := tlsOrigin(t)
	confdir := t.TempDir()
	flows := filepath.Join(t.TempDir(), "flows")
	md := testutil.StartMitmdump(t, "--set", "confdir="+confdir, "-w", flows,
		"--set", "ssl_verify_upstream_trusted_ca="+writePEM(t, origin.Certificate()))
	client := proxyClient(t, md, confdir)
	tr := client.Transport.(*http.Transport)
	tr.DisableKeepAlives = true
	tr.TLSClientConfig.ClientSessionCache = tls.NewLRUClientSessionCache(8)
	var resumed []bool
	for i := range 3 {
		resp, err := client.Get(origin.URL + "/again")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
		resumed = append(resumed, resp.TLS.DidResume)
	}
	if resumed[0] || !resumed[1] || !resumed[2] {
		t.Errorf("client handshakes resumed: %v, want [false true true]", resumed)
	}
	md.Stop(t)

	fh, err := os.Open(flows)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r := flowfile.NewReader(fh)
	n := 0
	for ; ; n++ {
		d, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		f, err := flow.FromState(d)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(f.(*flow.HTTPFlow).ClientConn.MitmCert)
		if err != nil {
			t.Fatalf("flow %d: mitmcert: %v", n, err)
		}
		if err := cert.VerifyHostname("127.0.0.1"); err != nil {
			t.Errorf("flow %d: mitmcert: %v", n, err)
		}
	}
	if n != 3 {
		t.Errorf("%d flows saved, want 3", n)
	}
}

// TestAddUpstreamCertsToClientChain: the client gets our leaf and then the
// server's own certificates, only with the option on.
func TestAddUpstreamCertsToClientChain(t *testing.T) {
	origin := tlsOrigin(t)
	for _, on := range []bool{false, true} {
		confdir := t.TempDir()
		md := testutil.StartMitmdump(t, "--set", "confdir="+confdir, "-k",
			"--set", fmt.Sprintf("add_upstream_certs_to_client_chain=%v", on))
		resp, err := proxyClient(t, md, confdir).Get(origin.URL + "/chain")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		chain := resp.TLS.PeerCertificates
		if chain[0].Issuer.CommonName != "mitmproxy" {
			t.Errorf("option %v: the leaf is issued by %q", on, chain[0].Issuer.CommonName)
		}
		last := chain[len(chain)-1]
		if got := last.Equal(origin.Certificate()); got != on {
			t.Errorf("option %v: the chain ends with the server's certificate: %v (%d certificates)", on, got, len(chain))
		}
	}
}
