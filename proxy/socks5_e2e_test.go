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

// needCurl returns curl's path, or skips the test where it is not
// installed (fails instead when CI=true).
func needCurl(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: curl is not installed (apt-get install curl): %v", err)
		}
		t.Skipf("curl is not installed (apt-get install curl): %v", err)
	}
	return path
}

// curl runs curl with args and returns its output and exit code.
func curl(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-sS", "--max-time", "20"}, args...)...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// TestSOCKS5Curl runs mitmdump --mode socks5 and sends curl through it:
// host names resolved by the proxy (--socks5-hostname), IPv4 and IPv6
// literals (--socks5), HTTPS intercepted with the mitmgo CA, and the
// dumper's lines for each.
func TestSOCKS5Curl(t *testing.T) {
	bin := needCurl(t)
	o := startSOCKSOrigins(t)
	confdir := t.TempDir()
	md := testutil.StartMitmdump(t, "--mode", "socks5", "--set", "confdir="+confdir, "--ssl-insecure")
	md.WaitOutput(t, "SOCKS v5 proxy listening at", 10*time.Second)
	ca := filepath.Join(confdir, "mitmproxy-ca-cert.pem")
	_, httpPort, _ := strings.Cut(o.http, ":")
	_, httpsPort, _ := strings.Cut(o.https, ":")
	cases := []struct {
		name string
		args []string
		want string
		line string
	}{
		{"domain name", []string{"--socks5-hostname", md.Addr, "http://localhost:" + httpPort + "/a"},
			"http HTTP/1.1 /a host=localhost:" + httpPort, "GET http://localhost:" + httpPort + "/a"},
		{"ipv4", []string{"--socks5", md.Addr, "http://" + o.http + "/b"},
			"http HTTP/1.1 /b host=" + o.http, "GET http://" + o.http + "/b"},
		{"https, domain name", []string{"--socks5-hostname", md.Addr, "--cacert", ca, "--http1.1", "https://localhost:" + httpsPort + "/c"},
			"https sni=localhost HTTP/1.1 /c host=localhost:" + httpsPort, "GET https://localhost:" + httpsPort + "/c"},
		{"https, ipv4, http/2", []string{"--socks5", md.Addr, "--cacert", ca, "--http2", "https://" + o.https + "/d"},
			"https sni= HTTP/2.0 /d host=" + o.https, "GET https://" + o.https + "/d"},
	}
	if o.http6 != "" {
		cases = append(cases, struct {
			name string
			args []string
			want string
			line string
		}{"ipv6", []string{"--socks5", md.Addr, "http://" + o.http6 + "/e"}, "http HTTP/1.1 /e host=" + o.http6, "GET http://" + o.http6 + "/e"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, code := curl(t, bin, tc.args...)
			if code != 0 || out != tc.want {
				t.Fatalf("curl %v: exit %d, %q; want %q", tc.args, code, out, tc.want)
			}
			md.WaitOutput(t, tc.line, 10*time.Second)
		})
	}
	if code := md.Stop(t); code != 0 {
		t.Errorf("mitmdump exited with %d", code)
	}
}

// TestSOCKS5CurlProxyAuth: mitmdump --mode socks5 --proxyauth asks curl
// for its user name and password (RFC 1929) and refuses wrong ones.
func TestSOCKS5CurlProxyAuth(t *testing.T) {
	bin := needCurl(t)
	o := startSOCKSOrigins(t)
	md := testutil.StartMitmdump(t, "--mode", "socks5", "--proxyauth", "user:pass")
	url := "http://" + o.http + "/auth"
	if out, code := curl(t, bin, "--socks5-hostname", md.Addr, "--proxy-user", "user:pass", url); code != 0 || out != "http HTTP/1.1 /auth host="+o.http {
		t.Errorf("with credentials: exit %d, %q", code, out)
	}
	if out, code := curl(t, bin, "--socks5-hostname", md.Addr, "--proxy-user", "user:wrong", url); code == 0 {
		t.Errorf("wrong password went through: %q", out)
	}
	md.WaitOutput(t, "authentication failed", 10*time.Second)
	if out, code := curl(t, bin, "--socks5-hostname", md.Addr, url); code == 0 {
		t.Errorf("no credentials went through: %q", out)
	}
	md.WaitOutput(t, "Client does not support SOCKS5 with user/password authentication.", 10*time.Second)
	if code := md.Stop(t); code != 0 {
		t.Errorf("mitmdump exited with %d", code)
	}
}
