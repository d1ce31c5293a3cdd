package main

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/cli"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

const wait = 10 * time.Second

// TestMitmweb runs mitmweb's command line in process: the start line with
// its token, the API behind the token, a flow through the proxy in /flows,
// and a clean exit on a signal.
func TestMitmweb(t *testing.T) {
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hi")
	}))
	var out testutil.SyncBuffer
	sig := make(chan os.Signal, 1)
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"--listen-host", "127.0.0.1", "-p", "0", "--web-port", "0", "--web-host", "127.0.0.1",
			"--no-web-open-browser", "--intercept", "~u /never", "--set", "confdir=" + t.TempDir()},
			cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Signals: sig})
	}()
	webRe := regexp.MustCompile(`Web server listening at (http://127\.0\.0\.1:\d+/\?token=([0-9a-f]{32}))`)
	proxyRe := regexp.MustCompile(`HTTP\(S\) proxy listening at \*?:?([0-9.]*):?(\d+)\.`)
	testutil.Eventually(t, wait, func() bool {
		return webRe.MatchString(out.String()) && proxyRe.MatchString(out.String())
	}, "start lines in %q", out.String())
	m := webRe.FindStringSubmatch(out.String())
	web, _ := url.Parse(m[1])
	base := "http://" + web.Host
	port := proxyRe.FindStringSubmatch(out.String())[2]

	if resp, err := http.Get(base + "/flows"); err != nil || resp.StatusCode != 403 {
		t.Fatalf("without the token: %v %v", resp, err)
	}
	proxied := &http.Client{Timeout: wait, Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: "127.0.0.1:" + port})}}
	resp, err := proxied.Get(origin.URL + "/through")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	testutil.Eventually(t, wait, func() bool {
		resp, err := http.Get(m[1][:strings.Index(m[1], "?")] + "flows?token=" + m[2])
		if err != nil || resp.StatusCode != 200 {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.Contains(string(b), `"path":"/through"`) && strings.Contains(string(b), `"status_code":200`)
	}, "the flow in /flows")
	_ = base
	sig <- os.Interrupt
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out.String())
		}
	case <-time.After(wait):
		t.Fatal("mitmweb did not stop")
	}
}

func TestOptionsAndVersion(t *testing.T) {
	var out testutil.SyncBuffer
	if code := run([]string{"--options"}, cli.Env{Stdout: &out, Stderr: &out}); code != 0 {
		t.Fatalf("--options: %d", code)
	}
	for _, want := range []string{"\nweb_port: 8081", "\nweb_host: 127.0.0.1", "\nweb_password:", "\nview_order:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--options lacks %q", want)
		}
	}
	out = testutil.SyncBuffer{}
	if code := run([]string{"--help"}, cli.Env{Stdout: &out, Stderr: &out}); code != 0 || !strings.HasPrefix(out.String(), "usage: mitmweb ") ||
		!strings.Contains(out.String(), "--web-port PORT") || !strings.Contains(out.String(), "--intercept FILTER") {
		t.Errorf("--help: %d %q", code, out.String())
	}
	out = testutil.SyncBuffer{}
	if code := run([]string{"--version"}, cli.Env{Stdout: &out, Stderr: &out}); code != 0 || !strings.HasPrefix(out.String(), "mitmgo mitmweb ") {
		t.Errorf("--version: %d %q", code, out.String())
	}
	out = testutil.SyncBuffer{}
	if code := run([]string{"--set", "web_password=$argon2id$bad"}, cli.Env{Stdout: &out, Stderr: &out}); code == 0 || !strings.Contains(out.String(), "mitmweb: ") {
		t.Errorf("bad hash: %d %q", code, out.String())
	}
}

// TestWebPortInUse: mitmweb says why and exits with 1.
func TestWebPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	var out testutil.SyncBuffer
	code := run([]string{"--listen-host", "127.0.0.1", "-p", "0", "--set", "web_port=" + strconv.Itoa(port),
		"--set", "web_open_browser=false", "--set", "confdir=" + t.TempDir()},
		cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out})
	if code != 1 || !strings.Contains(out.String(), "Web server failed to listen on 127.0.0.1:"+strconv.Itoa(port)) ||
		!strings.Contains(out.String(), "--set web_port=") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
}
