package cli_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/cli"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := cli.Main(args, cli.Env{Stdout: &out, Stderr: &errOut, Stdin: strings.NewReader("")})
	return code, out.String(), errOut.String()
}

func TestBadInputToTheTool(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--no-such-flag"}, "unknown flag: --no-such-flag"},
		{"unknown option", []string{"--set", "no_such_option=1"}, "unknown option: no_such_option"},
		{"bad bool", []string{"--set", "rawtcp=maybe"}, `option rawtcp: "maybe" is not a boolean`},
		{"bad int", []string{"--set", "tcp_timeout=soon"}, `option tcp_timeout: "soon" is not an integer`},
		{"bad size", []string{"--set", "body_size_limit=lots"}, `option body_size_limit: invalid size "lots"`},
		{"bad port", []string{"-p", "http"}, `invalid port "http"`},
		{"bad mode", []string{"--mode", "nonsense"}, "Invalid proxy mode specification: nonsense (unknown mode)"},
		// mitmproxy's --key-size and --tcp-hosts reach their options.
		{"key size flag", []string{"--key-size", "512"}, "option key_size: 512 bits is too small"},
		{"tcp hosts flag", []string{"--tcp-hosts", "("}, `option tcp_hosts: invalid regular expression "("`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(append([]string{"--set", "confdir=" + dir}, tc.args...)...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want non-zero and %q", code, stderr, tc.want)
			}
		})
	}
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	code, _, stderr := runCLI("--set", "confdir="+t.TempDir(), "--listen-host", "127.0.0.1", "-p", fmt.Sprint(port))
	if code == 0 || !strings.Contains(stderr, fmt.Sprintf("127.0.0.1:%d", port)) || !strings.Contains(stderr, "address already in use") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestOptionsAndVersion(t *testing.T) {
	code, out, _ := runCLI("--options")
	if code != 0 || !strings.Contains(out, "listen_port: null") || !strings.Contains(out, "# Start a proxy server.") {
		t.Errorf("--options: %d %q", code, out)
	}
	code, out, _ = runCLI("--version")
	if code != 0 || !strings.Contains(out, "mitmgo") {
		t.Errorf("--version: %d %q", code, out)
	}
}

func TestConfigYAML(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("tcp_timeout: nope\n"), 0o644)
	code, _, stderr := runCLI("--set", "confdir="+dir)
	if code == 0 || !strings.Contains(stderr, "config.yaml") || !strings.Contains(stderr, "tcp_timeout") {
		t.Errorf("bad config.yaml: exit %d, %q", code, stderr)
	}
}

func TestShutdownOnSIGINT(t *testing.T) {
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("hello"))
	}))
	md := testutil.StartMitmdump(t)
	resp, err := md.Client().Get(origin.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// A request in flight when the signal arrives still completes.
	slow := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(500 * time.Millisecond)
		w.Write([]byte("late"))
	}))
	done := make(chan error, 1)
	go func() {
		resp, err := md.Client().Get(slow.URL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if code := md.Stop(t); code != 0 {
		t.Errorf("exit status %d after SIGINT", code)
	}
	if err := <-done; err != nil {
		t.Errorf("request in flight during shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", md.Addr, time.Second); err == nil {
		t.Error("listener still open after shutdown")
	}
}

func TestDumperOutput(t *testing.T) {
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Origin", "yes")
		w.Write([]byte("hello"))
	}))
	refused := func() string {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		return ln.Addr().String()
	}()
	for _, tc := range []struct {
		args []string
		want []string
		not  []string
	}{
		{nil, []string{": GET " + origin.URL + "/a\n", "<< 200 OK 5b\n", "client connect", " << connection to " + refused + " refused"}, []string{"X-Origin"}},
		{[]string{"-q"}, nil, []string{"GET ", "client connect"}},
		{[]string{"--flow-detail", "2"}, []string{"    X-Origin: yes\n"}, []string{"hello\n"}},
		{[]string{"-dd"}, []string{"    X-Origin: yes\n", "hello"}, nil},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			md := testutil.StartMitmdump(t, tc.args...)
			c := md.Client()
			resp, err := c.Get(origin.URL + "/a")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			resp, err = c.Get("http://" + refused + "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 502 {
				t.Errorf("refused: status %d", resp.StatusCode)
			}
			time.Sleep(100 * time.Millisecond)
			if code := md.Stop(t); code != 0 {
				t.Errorf("exit %d", code)
			}
			out := md.Stdout()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("output has %q:\n%s", n, out)
				}
			}
		})
	}
}
