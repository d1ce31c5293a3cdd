package proxy_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addons/tlsconfig"
	"github.com/mitmgo/mitmgo/internal/origdst/netnstest"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// The clients of TestTransparent connect from these source ports: only
// their connections are redirected to the proxy. Matching the destination
// alone would redirect the proxy's own connections to the same servers
// back to itself (a real deployment tells them apart by user, with
// iptables' owner match, or by running the proxy on a gateway).
const (
	transparentPortLo = 20000
	transparentPortHi = 20999
)

// TestTransparent runs transparent mode end to end inside a network
// namespace of the test's own: HTTP and HTTPS servers on ports 80 and 443
// of 127.0.0.2 and ::1, iptables and ip6tables REDIRECTing the clients'
// connections to them to the proxy, and Go's HTTP client and curl sending
// requests as they would to the servers directly. The proxy finds each
// server from SO_ORIGINAL_DST, intercepts TLS with a certificate for the
// ClientHello's server name, and the flows record the mode.
func TestTransparent(t *testing.T) {
	if !netnstest.Enter(t, "iptables", "ip6tables") {
		return
	}
	startTransparentOrigins(t, "127.0.0.2", "::1")

	confdir := t.TempDir()
	rec := &socksRecorder{}
	addr := startProxyAddons(t, []any{tlsconfig.New(), rec}, "mode=transparent", "listen_host=", "confdir="+confdir, "ssl_insecure=true")
	_, proxyPort, _ := net.SplitHostPort(addr)
	redirectToProxy(t, proxyPort)

	client := transparentClient(t, confdir, transparentPortLo)

	type exchange struct{ url, want string }
	goCases := []exchange{
		{"http://127.0.0.2/a", "http /a host=127.0.0.2"},
		{"http://origin.test/b", "http /b host=origin.test"},
		{"https://origin.test/c", "https sni=origin.test /c host=origin.test"},
		// No server name: the certificate is for the original destination.
		{"https://127.0.0.2/i", "https sni= /i host=127.0.0.2"},
		{"http://[::1]/d", "http /d host=[::1]"},
		{"https://origin6.test/e", "https sni=origin6.test /e host=origin6.test"},
	}
	for _, tc := range goCases {
		t.Run("go "+tc.url, func(t *testing.T) {
			if got := getBody(t, client, tc.url); got != tc.want {
				t.Errorf("body %q, want %q", got, tc.want)
			}
		})
	}

	flows := len(goCases)
	if bin, err := exec.LookPath("curl"); err == nil {
		ca := filepath.Join(confdir, "mitmproxy-ca-cert.pem")
		// curl binds a port of the range that is free.
		ports := []string{"--local-port", fmt.Sprintf("%d-%d", transparentPortLo+500, transparentPortHi)}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"http://127.0.0.2/f"}, "http /f host=127.0.0.2"},
			{[]string{"--cacert", ca, "--resolve", "origin.test:443:127.0.0.2", "https://origin.test/g"}, "https sni=origin.test /g host=origin.test"},
			{[]string{"-g", "http://[::1]/h"}, "http /h host=[::1]"},
		} {
			t.Run("curl "+tc.args[len(tc.args)-1], func(t *testing.T) {
				out, code := curl(t, bin, append(ports, tc.args...)...)
				if code != 0 || out != tc.want {
					t.Errorf("curl %v: exit %d, %q; want %q", tc.args, code, out, tc.want)
				}
			})
			flows++
		}
	} else {
		t.Logf("curl is not installed: only Go's client is tried (%v)", err)
	}

	testutil.Eventually(t, 10*time.Second, func() bool { return len(rec.Flows()) == flows }, "%d flows", flows)
	for _, f := range rec.Flows() {
		if f.ClientConn.ProxyMode != "transparent" {
			t.Errorf("%s: proxy_mode %q", f.Request.URL(), f.ClientConn.ProxyMode)
		}
		want := 80
		if f.Request.Scheme == "https" {
			want = 443
		}
		if f.Request.Port != want || f.ServerConn == nil || f.ServerConn.Address.Port != want {
			t.Errorf("%s: port %d, server %+v", f.Request.URL(), f.Request.Port, f.ServerConn)
		}
	}

	// A client that connects to the proxy itself has no other original
	// destination: refused as mitmproxy refuses it.
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", proxyPort))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("direct connection: read %d, %v; want it closed", n, err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, l := range rec.logs {
			if strings.Contains(l, "killed before connect: Request destination unknown") {
				return true
			}
		}
		return false
	}, "the self-connection refused in the log")

}

// startTransparentOrigins runs HTTP servers on port 80 and HTTPS servers on
// port 443 of the addresses, answering with what they were asked.
func startTransparentOrigins(t *testing.T, addrs ...string) {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto := "http"
		if r.TLS != nil {
			proto = "https sni=" + r.TLS.ServerName
		}
		fmt.Fprintf(w, "%s %s host=%s", proto, r.URL.Path, r.Host)
	})
	for _, a := range addrs {
		for _, port := range []string{"80", "443"} {
			ln, err := net.Listen("tcp", net.JoinHostPort(a, port))
			if err != nil {
				t.Fatalf("origin: %v", err)
			}
			s := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
			if port == "443" {
				s.StartTLS()
			} else {
				s.Start()
			}
			t.Cleanup(s.Close)
		}
	}
}

// redirectToProxy REDIRECTs the connections to ports 80 and 443 made from
// the clients' source ports to the proxy's port, for IPv4 and IPv6.
func redirectToProxy(t *testing.T, proxyPort string) {
	t.Helper()
	for _, cmd := range []string{"iptables", "ip6tables"} {
		netnstest.Run(t, cmd, "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-m", "multiport", "--dports", "80,443",
			"-m", "tcp", "--sport", fmt.Sprintf("%d:%d", transparentPortLo, transparentPortHi),
			"-j", "REDIRECT", "--to-ports", proxyPort)
	}
}

// transparentClient is an HTTP client that dials the host names
// origin.test and origin6.test at 127.0.0.2 and ::1, from source ports
// after firstPort (which the rules redirect), trusting the CA in confdir.
func transparentClient(t *testing.T, confdir string, firstPort int32) *http.Client {
	resolve := map[string]string{"origin.test": "127.0.0.2", "origin6.test": "::1"}
	var nextPort atomic.Int32
	nextPort.Store(firstPort)
	tr := &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{RootCAs: caPool(t, confdir)},
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			host, port, _ := net.SplitHostPort(address)
			if ip, ok := resolve[host]; ok {
				host = ip
			}
			d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{Port: int(nextPort.Add(1))}}
			return d.DialContext(ctx, network, net.JoinHostPort(host, port))
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// TestTransparentMitmdump runs mitmdump --mode transparent inside a
// network namespace of the test's own, with iptables REDIRECTing to it,
// and reads its output: the dumper's lines for HTTP and HTTPS requests
// that went through it.
func TestTransparentMitmdump(t *testing.T) {
	if !netnstest.Enter(t, "iptables", "ip6tables") {
		return
	}
	startTransparentOrigins(t, "127.0.0.2")
	confdir := t.TempDir()
	md := testutil.StartMitmdump(t, "--mode", "transparent", "--set", "confdir="+confdir, "--ssl-insecure")
	md.WaitOutput(t, "listening at", 10*time.Second)
	_, port, _ := net.SplitHostPort(md.Addr)
	redirectToProxy(t, port)
	client := transparentClient(t, confdir, transparentPortLo)
	for _, tc := range []struct{ url, want, line string }{
		{"http://127.0.0.2/plain", "http /plain host=127.0.0.2", "GET http://127.0.0.2/plain"},
		// As mitmproxy's, the URL names the original destination; the
		// server name is in the Host header (shown with showhost).
		{"https://origin.test/secure", "https sni=origin.test /secure host=origin.test", "GET https://127.0.0.2/secure"},
	} {
		if got := getBody(t, client, tc.url); got != tc.want {
			t.Errorf("%s: body %q, want %q", tc.url, got, tc.want)
		}
		md.WaitOutput(t, tc.line, 10*time.Second)
	}
	if code := md.Stop(t); code != 0 {
		t.Errorf("mitmdump exited with %d", code)
	}
}
