package console

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

// TestCommandHistory: commands entered at the prompt are kept in the
// confdir's command_history and come back, filtered by what was typed, with
// up and down.
func TestCommandHistory(t *testing.T) {
	c, m := newTestConsole(t, 100, 20)
	for _, line := range []string{"view.order.set method", "set anticache true", "view.order.set url"} {
		press(c, ":")
		typeText(c, line)
		press(c, "enter")
	}
	path := filepath.Join(m.Options.String("confdir"), "command_history")
	data, err := os.ReadFile(path)
	if err != nil || strings.Count(string(data), "\n") != 3 {
		t.Fatalf("history file %q: %v", data, err)
	}
	press(c, ":")
	typeText(c, "view")
	press(c, "up")
	if got := promptText(c); got != "view.order.set url" {
		t.Errorf("up: %q", got)
	}
	press(c, "up")
	if got := promptText(c); got != "view.order.set method" {
		t.Errorf("up up: %q", got)
	}
	press(c, "down", "down")
	if got := promptText(c); got != "view" {
		t.Errorf("down down: %q", got)
	}
	press(c, "esc")

	// A new console reads it.
	c2, _ := newTestConsole(t, 100, 20, "confdir="+m.Options.String("confdir"))
	c2.Running()
	press(c2, ":", "up")
	if got := promptText(c2); got != "view.order.set url" {
		t.Errorf("after a restart: %q", got)
	}
	press(c2, "esc")
	if _, err := c2.st.Commands.Execute("commands.history.clear"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("history file after clear: %v", err)
	}
}

// TestKillAndResumeLive: X kills an intercepted flow in flight, a resumes
// one.
func TestKillAndResumeLive(t *testing.T) {
	c, m := newTestConsole(t, 120, 20)
	var live []*flow.HTTPFlow
	for i := range 2 {
		live = append(live, interceptedFlow(t, m, t0+float64(i)))
	}
	m.View.FocusIndex(0)
	c.app.Update(refreshMsg{})
	if s := screen(c); !strings.Contains(s, "a Resume") {
		t.Errorf("no Resume in the quick help:\n%s", s)
	}
	press(c, "X")
	if !live[0].Killed() {
		t.Error("X: not killed")
	}
	press(c, "j", "a")
	if live[1].IsIntercepted() {
		t.Error("a: still intercepted")
	}
}

// TestBodyView: v asks which body and opens it in $PAGER.
func TestBodyView(t *testing.T) {
	c, m := newTestConsole(t, 100, 20)
	m.View.Add(sampleFlows(t)...)
	m.View.FocusIndex(0)
	t.Setenv("MITMPROXY_EDITOR", "")
	t.Setenv("PAGER", "mypager -R")
	var got []string
	var content string
	c.spawn = func(cmd *exec.Cmd, done func(error) tea.Msg) tea.Cmd {
		got = cmd.Args
		b, _ := os.ReadFile(cmd.Args[len(cmd.Args)-1])
		content = string(b)
		return func() tea.Msg { return done(nil) }
	}
	press(c, "enter", "v")
	if _, ok := c.app.Top().(*chooser); !ok {
		t.Fatalf("top is %T", c.app.Top())
	}
	_, cmd := c.app.Update(keyMsg("j"))
	_, cmd = c.app.Update(keyMsg("enter")) // response
	runCmds(c, cmd)
	if len(got) != 3 || got[0] != "mypager" || got[1] != "-R" || !strings.Contains(content, `"a": 1`) {
		t.Errorf("pager %q on %q (%s)", got, content, statusOf(c))
	}
}

// TestDetailCertificate: the Detail tab describes the server's TLS
// connection and certificate.
func TestDetailCertificate(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(4242), Subject: pkix.Name{CommonName: "example.com"},
		NotBefore: time.Unix(int64(t0), 0), NotAfter: time.Unix(int64(t0)+86400, 0), DNSNames: []string{"example.com", "www.example.com"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, m := newTestConsole(t, 120, 50)
	f := httpFlow(t, "GET", "https://example.com/", 200, "ok", t0)
	f.ServerConn.TLSVersion, f.ServerConn.SNI, f.ServerConn.ALPN = "TLSv1.3", "example.com", "h2"
	f.ServerConn.CertificateList = [][]byte{der}
	m.View.Add(f)
	m.View.FocusIndex(0)
	press(c, "enter", "tab", "tab")
	s := screen(c)
	for _, want := range []string{"Server Connection:", "TLS Version", "TLSv1.3", "Server Certificate:", "EC (P-256), 256 bits",
		"Serial", "4242", "CN=example.com", "Alt names", "example.com, www.example.com", "Valid from", "2023-11-14 22:13:20+00:00"} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in:\n%s", want, s)
		}
	}
}

// TestEventLogFeed: log entries reach the event log (with the client they
// are about), and eventstore.clear empties it.
func TestEventLogFeed(t *testing.T) {
	c, m := newTestConsole(t, 100, 20)
	c.ctx.Log.Warn("something odd")
	c.AddLog(&addon.LogEntry{Time: time.Unix(int64(t0), 0), Level: slog.LevelInfo, Msg: "client connect", Client: "127.0.0.1:5000"})
	var found []string
	for _, e := range c.st.Log.Entries() {
		found = append(found, e.Msg)
	}
	joined := strings.Join(found, "|")
	if !strings.Contains(joined, "something odd") || !strings.Contains(joined, "127.0.0.1:5000: client connect") {
		t.Errorf("entries %q", joined)
	}
	if _, err := m.Commands.Execute("eventstore.clear"); err != nil {
		t.Fatal(err)
	}
	if n := c.st.Log.Len(); n != 0 {
		t.Errorf("%d entries after clear", n)
	}
	// The ring keeps the newest entries.
	r := newEventRing(3)
	for i := range 5 {
		r.Add(LogEntry{Msg: strings.Repeat("x", i)})
	}
	if e := r.Entries(); len(e) != 3 || e[0].Msg != "xx" || e[2].Msg != "xxxx" || r.Total() != 5 {
		t.Errorf("ring %+v total %d", e, r.Total())
	}
}

// TestNoControlCharacters: flow data with terminal escapes (a hostile
// server or client) is drawn escaped, not sent to the terminal.
func TestNoControlCharacters(t *testing.T) {
	c, m := newTestConsole(t, 120, 40)
	f := httpFlow(t, "GET", "http://example.com/a%1b", 200, "body \x1b[2J\x1b]0;pwned\x07 end\n\x9b31m", t0)
	f.Request.Path = "/\x1b[31mred"
	f.Response.Headers.Set("X-Evil", "\x1b[?1049l")
	f.Response.Headers.Set("content-type", "text/plain")
	f.Response.Reason = "OK\x1b[5m"
	m.View.Add(f)
	m.View.FocusIndex(0)
	c.AddLog(&addon.LogEntry{Msg: "log \x1b[31m line"})
	for _, keys := range [][]string{nil, {"enter"}, {"tab"}, {"tab"}, {"q", "E"}} {
		press(c, keys...)
		s := screen(c)
		if strings.ContainsAny(s, "\x1b\x07\x9b") || strings.Contains(s, "\u009b") {
			t.Errorf("after %v: a control character on screen:\n%q", keys, s)
		}
	}
	if got := clean("a\x1bb\tc\xffd\u009be✓"); got != `a\x1bb    c\xffd\x9be✓` {
		t.Errorf("clean: %q", got)
	}
}

// TestTinyTerminal draws every screen at sizes down to one cell: nothing
// panics, and the screen is never taller than the terminal.
func TestTinyTerminal(t *testing.T) {
	c, m := newTestConsole(t, 80, 24)
	m.View.Add(sampleFlows(t)...)
	m.View.Add(otherFlows(t)...)
	m.View.FocusIndex(0)
	sizes := [][2]int{{1, 1}, {2, 2}, {10, 3}, {30, 5}, {99, 4}, {101, 6}}
	for _, keys := range [][]string{nil, {"enter"}, {"tab"}, {"tab"}, {"q", "o"}, {"q", "E"}, {"q", "-"}, {"-"}, {"q", ":"}} {
		press(c, keys...)
		for _, sz := range sizes {
			c.app.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			s := c.app.View()
			if n := strings.Count(s, "\n") + 1; n > sz[1] {
				t.Errorf("after %v at %dx%d: %d lines", keys, sz[0], sz[1], n)
			}
		}
		c.app.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	}
}

// TestRowsForgotten: the rows of flows that leave the store go too.
func TestRowsForgotten(t *testing.T) {
	c, m := newTestConsole(t, 100, 20)
	m.View.Add(sampleFlows(t)...)
	m.View.Add(otherFlows(t)...)
	count := func() int {
		n := 0
		for i := range c.st.rows.shards {
			n += len(c.st.rows.shards[i].rows)
		}
		if n != c.st.rows.len() {
			t.Errorf("%d rows, counted %d", n, c.st.rows.len())
		}
		return n
	}
	if n := count(); n != 8 {
		t.Fatalf("%d rows", n)
	}
	press(c, "d")
	if n := count(); n != 7 {
		t.Errorf("after d: %d rows", n)
	}
	m.View.At(0).Base().SetMarked(":default:")
	m.View.Update([]flow.Any{m.View.At(0)})
	if _, err := m.Commands.Execute("view.clear_unmarked"); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 { // that one, and the sample's marked PUT
		t.Errorf("after view.clear_unmarked: %d rows", n)
	}
	if _, err := m.Commands.Execute("view.clear"); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Errorf("after view.clear: %d rows", n)
	}
}

// TestFlowViewIntercepted: the tab says what is intercepted; deleting the
// last flow leaves the flow view.
func TestFlowViewIntercepted(t *testing.T) {
	c, m := newTestConsole(t, 100, 20)
	interceptedFlow(t, m, t0)
	m.View.FocusIndex(0)
	press(c, "enter")
	if s := screen(c); !strings.Contains(s, "Request intercepted") {
		t.Errorf("screen:\n%s", s)
	}
	press(c, "d")
	c.app.Update(refreshMsg{})
	if _, ok := c.app.Top().(*flowList); !ok {
		t.Errorf("top is %T after the last flow went", c.app.Top())
	}
}
