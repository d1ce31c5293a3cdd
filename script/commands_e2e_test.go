package script_test

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// testdataScript copies testdata/name into dir and returns its path there.
func testdataScript(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestE2ECommandsListed: --commands lists the commands of scripts with
// their signatures and help, as mitmproxy's mitmdump does.
func TestE2ECommandsListed(t *testing.T) {
	needScripts(t)
	dir := t.TempDir()
	s := testdataScript(t, dir, "e2e_cmds.py")
	md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir, NoListen: true}, "-s", s, "--commands")
	if code := md.Wait(t, 60*time.Second); code != 0 {
		t.Fatalf("--commands: exit %d\n%s", code, md.Output())
	}
	out := md.Stdout()
	for _, want := range []string{
		"\nmyaddon.inc \n",
		"\nmyaddon.histogram flows path\n",
		"# Defines a command named \"search\" that matches         the given\n",
		"\nsearch flows regex\n",
		"\nflow.mark flows marker\n",
	} {
		if !strings.Contains("\n"+out, want) {
			t.Errorf("--commands lacks %q:\n%s", want, out)
		}
	}
}

// TestE2EDuplicateModifyReplay: a request hook copies the flow, changes
// its path and replays it with the replay.client command (mitmproxy's
// duplicate-modify-replay example): the origin sees both requests.
func TestE2EDuplicateModifyReplay(t *testing.T) {
	needScripts(t)
	var (
		mu    sync.Mutex
		paths []string
	)
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		io.WriteString(w, "ok")
	}))
	dir := t.TempDir()
	s := testdataScript(t, dir, "e2e_replay.py")
	md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir}, "-s", s)
	resp, err := md.Client().Get(origin.URL + "/orig")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	testutil.Eventually(t, 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(paths, " ") == "/orig /changed" || strings.Join(paths, " ") == "/changed /orig"
	}, "the origin to see /orig and the replayed /changed")
	if strings.Contains(md.Output(), "Addon error") {
		t.Errorf("script error:\n%s", md.Output())
	}
}

// TestE2EWebSocketInject: inject.websocket from a websocket_message hook
// (replacing a message) and from an asyncio task holding the flow of
// websocket_start (mitmproxy's websocket-inject-message example), against
// an echo origin.
func TestE2EWebSocketInject(t *testing.T) {
	needScripts(t)
	origin := testutil.HTTPOrigin(t, websocket.Handler(func(c *websocket.Conn) {
		for {
			var m string
			if err := websocket.Message.Receive(c, &m); err != nil {
				return
			}
			if err := websocket.Message.Send(c, "echo: "+m); err != nil {
				return
			}
		}
	}))
	dir := t.TempDir()
	s := testdataScript(t, dir, "e2e_wsinject.py")
	md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir}, "-s", s)
	target := strings.TrimPrefix(origin.URL, "http://")
	conn, _, status := testutil.ConnectTunnel(t, md.Addr, target)
	if !strings.Contains(status, "200") {
		t.Fatalf("CONNECT: %s", status)
	}
	cfg, err := websocket.NewConfig("ws://"+target+"/", "http://"+target+"/")
	if err != nil {
		t.Fatal(err)
	}
	ws, err := websocket.NewClient(cfg, conn)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if err := websocket.Message.Send(ws, "my secret"); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	greetings := 0
	// Both injections go to the client (the replaced message came from
	// it: to_client is its from_client); the secret never reaches the
	// origin, so no echo of it comes back.
	for !(got["ssssssh"] && greetings >= 2) {
		var m string
		if err := websocket.Message.Receive(ws, &m); err != nil {
			t.Fatalf("receiving (have %v, %d greetings): %v", got, greetings, err)
		}
		if strings.Contains(m, "secret") {
			t.Fatalf("the secret message reached the origin: %q", m)
		}
		if strings.Contains(m, "mitmgo") && !strings.HasPrefix(m, "echo: ") {
			greetings++
		}
		got[m] = true
	}
	ws.Close()
	md.WaitOutput(t, "injector stopped", 10*time.Second)
	if strings.Contains(md.Output(), "Addon error") {
		t.Errorf("script error:\n%s", md.Output())
	}
}

// TestE2EContentView: a script's content view renders the bodies it has
// the highest priority for at flow_detail 3 (mitmproxy's contentview
// example).
func TestE2EContentView(t *testing.T) {
	needScripts(t)
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/example" {
			w.Header().Set("Content-Type", "text/example")
			io.WriteString(w, "Hello World")
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "Plain Text")
	}))
	dir := t.TempDir()
	s := testdataScript(t, dir, "e2e_views.py")
	md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir}, "-s", s, "--flow-detail", "3")
	for _, p := range []string{"/example", "/plain"} {
		resp, err := md.Client().Get(origin.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	md.WaitOutput(t, "hELLO wORLD", 10*time.Second)
	md.WaitOutput(t, "Plain Text", 10*time.Second)
	if strings.Contains(md.Output(), "pLAIN") {
		t.Errorf("the script's view rendered a body it has priority 0 for:\n%s", md.Output())
	}
}

// TestE2EPortFile: ctx.master.addons.get("proxyserver") has mitmproxy's
// servers with their modes and listen addresses (mitmproxy's portfile
// example).
func TestE2EPortFile(t *testing.T) {
	needScripts(t)
	dir := t.TempDir()
	s := testdataScript(t, dir, "e2e_portfile.py")
	md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir}, "-s", s, "--set", "datadir="+dir)
	var got map[string]int
	testutil.Eventually(t, 10*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "portfile"))
		return err == nil && json.Unmarshal(b, &got) == nil
	}, "the portfile")
	_, port, _ := net.SplitHostPort(md.Addr)
	if p := got["regular"]; fmt.Sprint(p) != port {
		t.Errorf("portfile %v, want regular: %s", got, port)
	}
	md.WaitOutput(t, "False None", 5*time.Second)
}

// TestE2EOwnFlowCommand: a hook that edits its own flow through a command
// (flow.decode from a response hook) changes it, though the flow is in
// flight: the command runs on the flow's goroutine, which lends it
// (addon.Context.Lend); the client gets the decoded body.
func TestE2EOwnFlowCommand(t *testing.T) {
	needScripts(t)
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		io.WriteString(zw, "decoded by the script")
		zw.Close()
	}))
	dir := t.TempDir()
	s := testdataScript(t, dir, "e2e_own_decode.py")
	md := testutil.StartMitmdumpWith(t, testutil.Options{Dir: dir}, "-s", s)
	resp, err := md.Client().Get(origin.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" || string(body) != "decoded by the script" {
		t.Errorf("client got Content-Encoding %q, body %q; want the decoded body\n%s", ce, body, md.Output())
	}
	if out := md.Output(); strings.Contains(out, "in progress") {
		t.Errorf("the command refused the hook's own flow:\n%s", out)
	}
}
