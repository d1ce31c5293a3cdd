package proxy_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// needTool returns the path of an external tool a test needs; without it
// the test skips with a message, or fails under CI=true (CI installs it).
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (apt-get install %s); CI must have it", name, pkg)
		}
		t.Skipf("%s is not installed (apt-get install %s)", name, pkg)
	}
	return p
}

// TestCurlHTTP2 runs curl --http2 through mitmdump against an h2-only
// origin: curl and the origin both speak HTTP/2 through the proxy, the
// dumper prints the flow as mitmproxy does, and -w records it with its
// version and trailers; -r reads it back.
func TestCurlHTTP2(t *testing.T) {
	curl := needTool(t, "curl", "curl")
	srv, _ := h2Origin(t, []string{"h2"})
	confdir := t.TempDir()
	dir := t.TempDir()
	out := filepath.Join(dir, "flows")
	md := testutil.StartMitmdump(t, "--set", "confdir="+confdir, "--set", "ssl_insecure=true", "-w", out)
	cmd := exec.Command(curl, "-sS", "--http2", "-x", "http://"+md.Addr, "--cacert", filepath.Join(confdir, "mitmproxy-ca-cert.pem"),
		"-D", "-", "--data-binary", "payload", srv.URL+"/echo/curl")
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, got)
	}
	if !strings.Contains(string(got), "\nHTTP/2 200") || !strings.Contains(string(got), "x-proto: HTTP/2.0") || !strings.HasSuffix(string(got), "hello HTTP/2.0") {
		t.Errorf("curl got:\n%s", got)
	}
	md.WaitOutput(t, "POST https://"+strings.TrimPrefix(srv.URL, "https://")+"/echo/curl HTTP/2.0", 5*time.Second)
	md.WaitOutput(t, "<< HTTP/2.0 200 OK 14b", 5*time.Second)
	if code := md.Stop(t); code != 0 {
		t.Fatalf("mitmdump exited with %d", code)
	}
	rd := testutil.StartMitmdumpWith(t, testutil.Options{NoListen: true}, "-n", "-r", out, "--flow-detail", "2")
	if code := rd.Wait(t, 20*time.Second); code != 0 {
		t.Fatalf("mitmdump -r exited with %d:\n%s", code, rd.Output())
	}
	for _, want := range []string{"/echo/curl HTTP/2.0", "<< HTTP/2.0 200 OK 14b", "x-proto: HTTP/2.0"} {
		if !strings.Contains(rd.Output(), want) {
			t.Errorf("mitmdump -r output lacks %q:\n%s", want, rd.Output())
		}
	}
}

// TestNghttpdOrigin: nghttpd (nghttp2's server, HTTP/2 only) as the origin,
// curl --http2 and Go's HTTP/2 client through mitmdump: both get the file
// over HTTP/2 on both sides (mitmgo used to answer 502 here).
func TestNghttpdOrigin(t *testing.T) {
	nghttpd := needTool(t, "nghttpd", "nghttp2-server")
	curl := needTool(t, "curl", "curl")
	dir := t.TempDir()
	keyFile, certFile := writeTestCert(t, dir)
	docroot := filepath.Join(dir, "www")
	os.Mkdir(docroot, 0o755)
	os.WriteFile(filepath.Join(docroot, "index.html"), []byte("from nghttpd\n"), 0o644)
	port := strings.TrimPrefix(testutil.UnusedAddr(t), "127.0.0.1:")
	cmd := exec.Command(nghttpd, "-a", "127.0.0.1", "-d", docroot, port, keyFile, certFile)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	origin := "127.0.0.1:" + port
	testutil.Eventually(t, 10*time.Second, func() bool {
		c, err := net.Dial("tcp", origin)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, "nghttpd did not listen on %s", origin)

	confdir := t.TempDir()
	md := testutil.StartMitmdump(t, "--set", "confdir="+confdir, "--set", "ssl_insecure=true")
	out, err := exec.Command(curl, "-sS", "--http2", "-x", "http://"+md.Addr, "--cacert", filepath.Join(confdir, "mitmproxy-ca-cert.pem"),
		"-w", "%{http_version} %{http_code}", "https://"+origin+"/index.html").CombinedOutput()
	if err != nil || string(out) != "from nghttpd\n2 200" {
		t.Errorf("curl: %v: %q", err, out)
	}
	c := h2Client(md.Addr, caPool(t, confdir))
	resp, err := c.Get("https://" + origin + "/index.html")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Proto != "HTTP/2.0" || string(b) != "from nghttpd\n" {
		t.Errorf("Go client: %s %q", resp.Proto, b)
	}
	md.WaitOutput(t, "GET https://"+origin+"/index.html HTTP/2.0", 5*time.Second)
	md.WaitOutput(t, "<< HTTP/2.0 200 OK 13b", 5*time.Second)
}

// writeTestCert writes a self-signed certificate for 127.0.0.1 and its key
// as PEM files into dir.
func writeTestCert(t *testing.T, dir string) (keyFile, certFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile, certFile = filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	return keyFile, certFile
}

// TestHTTP2FlowFileInterop: HTTP/2 flows that mitmdump saves in mitmproxy
// 8.1's format (17) are read by Debian's mitmproxy 8.1.1, which prints them
// as mitmgo does; skips when it is not installed.
func TestHTTP2FlowFileInterop(t *testing.T) {
	debian, err := exec.LookPath("mitmdump")
	if err != nil {
		t.Skip("mitmdump (Debian's mitmproxy 8.1.1) is not installed")
	}
	srv, _ := h2Origin(t, []string{"h2"})
	confdir, dir := t.TempDir(), t.TempDir()
	out := filepath.Join(dir, "flows")
	md := testutil.StartMitmdump(t, "--set", "confdir="+confdir, "--set", "ssl_insecure=true", "-w", out, "--set", "save_stream_version=17")
	c := h2Client(md.Addr, caPool(t, confdir))
	resp, err := c.Post(srv.URL+"/interop", "text/plain", strings.NewReader("abc"))
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if code := md.Stop(t); code != 0 {
		t.Fatalf("mitmdump exited with %d", code)
	}
	got, err := exec.Command(debian, "-n", "-r", out, "--set", "confdir="+t.TempDir()).CombinedOutput()
	if err != nil {
		t.Fatalf("mitmproxy 8.1.1 could not read the file: %v\n%s", err, got)
	}
	host := strings.TrimPrefix(srv.URL, "https://")
	for _, want := range []string{"POST https://" + host + "/interop HTTP/2.0", "<< HTTP/2.0 200 OK 14b"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("mitmproxy 8.1.1 printed no %q:\n%s", want, got)
		}
	}
}
