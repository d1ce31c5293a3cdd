package proxy_test

import (
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
