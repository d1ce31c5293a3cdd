package script_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// End-to-end tests: the real mitmdump binary with the seed's command lines,
// an origin and a client, all on 127.0.0.1.

var (
	wiredOnce sync.Once
	wired     bool
)

// needScripts skips when python3 is missing or mitmdump does not load the
// script addon.
func needScripts(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test (-short)")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	wiredOnce.Do(func() {
		out, _ := exec.Command(testutil.Binary(t), "--options").Output()
		wired = bytes.Contains(out, []byte("\nscripts:")) || bytes.HasPrefix(out, []byte("scripts:"))
	})
	if !wired {
		t.Skip("mitmdump does not load the script addon yet (internal/cli.scriptAddons)")
	}
}

// seedDir copies the seed examples (and extra files name -> content) into a
// fresh directory, the working directory of mitmdump.
func seedDir(t *testing.T, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files, _ := filepath.Glob("testdata/seed/*.py")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range extra {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func htmlOrigin(t *testing.T) string {
	o := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		for _, k := range []string{"X-Tag", "X-List"} {
			if v := r.Header.Values(k); len(v) > 0 {
				w.Header().Set("Echo-"+k, strings.Join(v, ","))
			}
		}
		fmt.Fprint(w, "<html><body>an html page</body></html>")
	}))
	return o.URL
}

func get(t *testing.T, md *testutil.Mitmdump, url string) (*http.Response, string) {
	t.Helper()
	resp, err := md.Client().Get(url)
	if err != nil {
		t.Fatalf("GET %s through mitmdump: %v\n%s", url, err, md.Output())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestE2ESeedAddHeader(t *testing.T) {
	needScripts(t)
	for _, script := range []string{"add_header.py", "classes.py"} {
		t.Run(script, func(t *testing.T) {
			t.Parallel()
			url := htmlOrigin(t)
			md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: seedDir(t, nil)}, "-s", script)
			for i := 0; i < 3; i++ {
				resp, body := get(t, md, url+fmt.Sprintf("/page%d", i))
				if got := resp.Header.Get("newheader"); got != "foo" {
					t.Fatalf("newheader = %q; headers %v\n%s", got, resp.Header, md.Output())
				}
				if body != "<html><body>an html page</body></html>" {
					t.Fatalf("body changed: %q", body)
				}
			}
		})
	}
}

func TestE2ESeedArguments(t *testing.T) {
	needScripts(t)
	url := htmlOrigin(t)
	md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: seedDir(t, nil)}, "-dd", "-s", "./arguments.py html faketml")
	resp, body := get(t, md, url+"/")
	if body != "<faketml><body>an faketml page</body></faketml>" {
		t.Fatalf("body = %q\n%s", body, md.Output())
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/faketml" {
		t.Fatalf("content-type = %q", ct)
	}
}

func TestE2ESeedLogging(t *testing.T) {
	needScripts(t)
	dir := seedDir(t, nil)
	md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir}, "-s", "logging.py")
	md.WaitOutput(t, "This is some informative text.", 10*time.Second)
	md.WaitOutput(t, "This is an error.", 10*time.Second)
	// An error a script logs is no start-up failure: mitmdump keeps serving.
	url := htmlOrigin(t)
	get(t, md, url+"/")
	if code := md.Stop(t); code != 0 {
		t.Fatalf("exit status %d\n%s", code, md.Output())
	}
	// At their levels: with termlog_verbosity=error only the error shows.
	md = testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir}, "-s", "logging.py", "--set", "termlog_verbosity=error")
	md.WaitOutput(t, "This is an error.", 10*time.Second)
	get(t, md, url+"/")
	if strings.Contains(md.Output(), "This is some informative text.") {
		t.Fatalf("the info line shows at verbosity error:\n%s", md.Output())
	}
}

func TestE2ESeedNonblocking(t *testing.T) {
	needScripts(t)
	blocking := strings.Replace(readFile(t, "testdata/seed/nonblocking.py"), "@concurrent\n", "", 1)
	for _, tc := range []struct {
		script   string
		min, max time.Duration
	}{
		// Two requests sent together: about 5 s with @concurrent, about 10 s
		// without it, as the seed says.
		{"nonblocking.py", 4500 * time.Millisecond, 8 * time.Second},
		{"blocking.py", 9500 * time.Millisecond, 20 * time.Second},
	} {
		t.Run(tc.script, func(t *testing.T) {
			t.Parallel()
			url := htmlOrigin(t)
			md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: seedDir(t, map[string]string{"blocking.py": blocking})}, "-s", tc.script)
			var wg sync.WaitGroup
			start := time.Now()
			took := make([]time.Duration, 2)
			for i := range took {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := md.Client().Get(fmt.Sprintf("%s/req%d", url, i))
					if err != nil {
						t.Errorf("request %d: %v", i, err)
						return
					}
					resp.Body.Close()
					took[i] = time.Since(start)
				}()
			}
			wg.Wait()
			total := max(took[0], took[1])
			t.Logf("%s: requests finished after %s and %s", tc.script, took[0], took[1])
			if total < tc.min || total > tc.max {
				t.Fatalf("%s: two requests took %s, want %s..%s\n%s", tc.script, total, tc.min, tc.max, md.Output())
			}
			md.WaitOutput(t, "start  request: 127.0.0.1/req", time.Second)
		})
	}
}

func TestE2EModernOptions(t *testing.T) {
	needScripts(t)
	modern := readFile(t, "testdata/modern.py")
	dir := seedDir(t, map[string]string{"modern.py": modern})
	url := htmlOrigin(t)
	md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir},
		"-s", "modern.py", "--set", "tag_value=hello", "--set", "tag_count=2", "--set", "tag_list=a", "--set", "tag_list=b")
	resp, _ := get(t, md, url+"/")
	if got := resp.Header.Get("Echo-X-Tag"); got != "hello,hello" {
		t.Fatalf("the origin saw x-tag %q\n%s", got, md.Output())
	}
	if got := resp.Header.Get("Echo-X-List"); got != "a,b" {
		t.Fatalf("the origin saw x-list %q", got)
	}
	resp, body := get(t, md, url+"/answer")
	if resp.StatusCode != 201 || body != "answered by the script" {
		t.Fatalf("answer: %d %q", resp.StatusCode, body)
	}
	md.WaitOutput(t, "tagger running", 5*time.Second)
	if code := md.Stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
}

func TestE2EStartupFailures(t *testing.T) {
	needScripts(t)
	dir := seedDir(t, map[string]string{
		"modern.py":       readFile(t, "testdata/modern.py"),
		"syntax_error.py": readFile(t, "testdata/syntax_error.py"),
	})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"options error", []string{"-s", "modern.py", "--set", "tag_count=9"}, "tag_count must be between 0 and 5"},
		{"syntax error", []string{"-s", "syntax_error.py"}, "in script syntax_error.py:1"},
		{"no such script", []string{"-s", "missing.py"}, "No such script: missing.py"},
		{"missing arguments", []string{"-s", "arguments.py"}, "Script exited with code 2"},
		{"no python", []string{"-s", "add_header.py", "--set", "python=/nonexistent/python3"}, "MITMGO_PYTHON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir, NoListen: true}, tc.args...)
			code := md.Wait(t, 30*time.Second)
			if code == 0 {
				t.Fatalf("exit status 0\n%s", md.Output())
			}
			if !strings.Contains(md.Output(), tc.want) {
				t.Fatalf("output lacks %q:\n%s", tc.want, md.Output())
			}
		})
	}
}

func TestE2ESavedFlows(t *testing.T) {
	needScripts(t)
	// Record a flow, then transform the file as the seed does:
	// mitmdump -n -s "./arguments.py html faketml" -r in -w out.
	dir := seedDir(t, nil)
	url := htmlOrigin(t)
	in := filepath.Join(dir, "in.flows")
	md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir}, "-w", in)
	get(t, md, url+"/saved")
	if code := md.Stop(t); code != 0 {
		t.Fatalf("recording: exit %d\n%s", code, md.Output())
	}
	out := filepath.Join(dir, "out.flows")
	md = testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir, NoListen: true},
		"-n", "-s", "./arguments.py html faketml", "-r", in, "-w", out)
	if code := md.Wait(t, 30*time.Second); code != 0 {
		t.Fatalf("transforming: exit %d\n%s", code, md.Output())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	states, err := flowfile.ReadAll(f)
	if err != nil || len(states) != 1 {
		t.Fatalf("reading %s: %d flows, %v", out, len(states), err)
	}
	v, err := flow.FromState(states[0])
	if err != nil {
		t.Fatal(err)
	}
	hf := v.(*flow.HTTPFlow)
	if got := string(hf.Response.RawContent); got != "<faketml><body>an faketml page</body></faketml>" {
		t.Fatalf("saved body = %q\n%s", got, md.Output())
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestE2EConnectHooks: a script's http_connect, http_connected and
// http_connect_error (mitmproxy 10.4) run for CONNECT requests, with the
// flow's response in the last two.
func TestE2EConnectHooks(t *testing.T) {
	needScripts(t)
	script := `import logging

def http_connect(flow):
    logging.info("http_connect %s" % flow.request.host_header)

def http_connected(flow):
    logging.info("http_connected %d %s" % (flow.response.status_code, flow.response.reason))

def http_connect_error(flow):
    logging.info("http_connect_error %d error=%s" % (flow.response.status_code, flow.error))
`
	dir := seedDir(t, map[string]string{"connect.py": script})
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir}, "-s", "connect.py")
	up := strings.TrimPrefix(origin.URL, "http://")
	down := testutil.UnusedAddr(t)
	for _, target := range []string{up, down} {
		c := md.Dial(t)
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
		buf := make([]byte, 256)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		c.Read(buf)
		c.Close()
	}
	md.WaitOutput(t, "http_connect_error 502 error=None", 10*time.Second)
	md.WaitOutput(t, "http_connected 200 Connection established", 10*time.Second)
	md.WaitOutput(t, "http_connect "+up, 10*time.Second)
}

// TestE2ETCPMessages: a tunnel that is neither TLS nor HTTP is a TCP flow:
// a script changes its messages in tcp_message (as mitmproxy's
// tcp-simple.py example), the dumper prints each one, and -w saves the
// flow when it ends.
func TestE2ETCPMessages(t *testing.T) {
	needScripts(t)
	script := `from mitmproxy import tcp

def tcp_message(flow: tcp.TCPFlow):
    message = flow.messages[-1]
    message.content = message.content.replace(b"foo", b"bar")
`
	dir := seedDir(t, map[string]string{"tcpsimple.py": script})
	echo := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		line, err := r.ReadString('\n')
		if err == nil {
			io.WriteString(c, "echo "+line)
		}
	})
	flows := filepath.Join(dir, "tcp.flows")
	md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir}, "-s", "tcpsimple.py", "-w", flows)
	c, br, _ := testutil.ConnectTunnel(t, md.Addr, echo.Addr)
	io.WriteString(c, "\x01foo\n")
	if line, err := br.ReadString('\n'); err != nil || line != "echo \x01bar\n" {
		t.Fatalf("reply %q, %v\n%s", line, err, md.Output())
	}
	c.Close()
	md.WaitOutput(t, "<- tcp <- "+echo.Addr, 10*time.Second)
	if !strings.Contains(md.Output(), "-> tcp -> "+echo.Addr) {
		t.Errorf("the dumper printed no client message:\n%s", md.Output())
	}
	md.Stop(t)
	fh, err := os.Open(flows)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	d, err := flowfile.NewReader(fh).Next()
	if err != nil {
		t.Fatal(err)
	}
	f, err := flow.FromState(d)
	if err != nil {
		t.Fatal(err)
	}
	tf, ok := f.(*flow.TCPFlow)
	if !ok || len(tf.Messages) != 2 || string(tf.Messages[0].Content) != "\x01bar\n" {
		t.Errorf("saved flow %T %+v", f, f)
	}
}

// TestE2EHookTimeout: with --set script_hook_timeout, a request whose
// handler never returns is killed, the log names the script and the hook,
// and mitmdump goes on serving with the same script.
func TestE2EHookTimeout(t *testing.T) {
	needScripts(t)
	dir := seedDir(t, map[string]string{"spin.py": `seen = 0

def request(flow):
    global seen
    if flow.request.path == "/stuck":
        while True:
            pass
    seen += 1
    flow.request.headers["x-tag"] = str(seen)
`})
	url := htmlOrigin(t)
	md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir}, "-s", "spin.py", "--set", "script_hook_timeout=1")
	start := time.Now()
	if resp, err := md.Client().Get(url + "/stuck"); err == nil {
		resp.Body.Close()
		t.Fatalf("the stuck request was answered: %s", resp.Status)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the stuck request ended after %s", took)
	}
	md.WaitOutput(t, "in script spin.py: the request hook ran for more than 1 s (script_hook_timeout); flow ", 5*time.Second)
	for i := 1; i <= 2; i++ {
		resp, _ := get(t, md, url+"/ok")
		if got := resp.Header.Get("Echo-X-Tag"); got != fmt.Sprint(i) {
			t.Fatalf("request %d after the timeout: the origin saw x-tag %q\n%s", i, got, md.Output())
		}
	}
}
