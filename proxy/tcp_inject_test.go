package proxy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
	"github.com/mitmgo/mitmgo/proxy"
)

// tcpInjector records the TCP hooks, with whether each message was
// injected, and plays with injected messages: "shout" is upper-cased,
// "drop" dropped, "kill" kills the flow; a client message "inject from a
// hook" injects a message to the client from the hook itself.
type tcpInjector struct {
	srv     *proxy.Server
	started chan *flow.TCPFlow
	ended   chan *flow.TCPFlow

	mu        sync.Mutex
	messages  []string
	injectErr error
}

func (r *tcpInjector) TCPStart(f *flow.TCPFlow) { r.started <- f }

func (r *tcpInjector) TCPMessage(f *flow.TCPFlow) {
	m := f.Messages[len(f.Messages)-1]
	r.mu.Lock()
	r.messages = append(r.messages, describeTCPMessage(m))
	r.mu.Unlock()
	switch {
	case m.Injected && bytes.Contains(m.Content, []byte("shout")):
		m.Content = bytes.ToUpper(m.Content)
	case m.Injected && bytes.Contains(m.Content, []byte("drop")):
		m.Content = nil
	case m.Injected && bytes.Contains(m.Content, []byte("kill")):
		f.Kill()
	case m.FromClient && bytes.Contains(m.Content, []byte("inject from a hook")):
		if err := r.srv.InjectTCP(f, true, []byte("\x00from the hook\n")); err != nil {
			r.mu.Lock()
			r.injectErr = err
			r.mu.Unlock()
		}
	}
}

func (r *tcpInjector) TCPEnd(f *flow.TCPFlow)   { r.ended <- f }
func (r *tcpInjector) TCPError(f *flow.TCPFlow) { r.ended <- f }

func (r *tcpInjector) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.messages)
}

func describeTCPMessage(m *flow.TCPMessage) string {
	dir := "<-"
	if m.FromClient {
		dir = "->"
	}
	s := fmt.Sprintf("%s %q", dir, m.Content)
	if m.Injected {
		s += " injected"
	}
	return s
}

var (
	_ addon.TCPStartHook   = (*tcpInjector)(nil)
	_ addon.TCPMessageHook = (*tcpInjector)(nil)
	_ addon.TCPEndHook     = (*tcpInjector)(nil)
	_ addon.TCPErrorHook   = (*tcpInjector)(nil)
)

// logWarnings keeps the warnings logged.
type logWarnings struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logWarnings) AddLog(e *addon.LogEntry) {
	if e.Level == slog.LevelWarn {
		l.mu.Lock()
		l.msgs = append(l.msgs, e.Msg)
		l.mu.Unlock()
	}
}

func (l *logWarnings) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%q", l.msgs)
}

func (l *logWarnings) has(msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.msgs, msg)
}

// startTCPInjectProxy starts a proxy with rec (and more addons) and
// returns its address.
func startTCPInjectProxy(t *testing.T, rec *tcpInjector, more ...any) string {
	t.Helper()
	srv, addr := serveProxy(t, append([]any{rec}, more...))
	rec.srv = srv
	return addr
}

func newTCPInjector() *tcpInjector {
	return &tcpInjector{started: make(chan *flow.TCPFlow, 1), ended: make(chan *flow.TCPFlow, 1)}
}

// startInjectTunnel starts a proxy with a tcpInjector (and more addons),
// opens a tunnel through it to the line echo at originAddr, has a first
// line echoed, and returns the injector, the client's side and the flow
// that tcp_start saw.
func startInjectTunnel(t *testing.T, originAddr string, more ...any) (*tcpInjector, net.Conn, *bufio.Reader, *flow.TCPFlow) {
	t.Helper()
	rec := newTCPInjector()
	addr := startTCPInjectProxy(t, rec, more...)
	c, br, _ := testutil.ConnectTunnel(t, addr, originAddr)
	io.WriteString(c, "\x00hi\n")
	if line := readLine(t, br); line != "echo \x00hi\n" {
		t.Fatalf("reply %q", line)
	}
	return rec, c, br, waitFlow(t, rec.started, "tcp_start")
}

func waitFlow(t *testing.T, ch chan *flow.TCPFlow, what string) *flow.TCPFlow {
	t.Helper()
	select {
	case f := <-ch:
		return f
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s", what)
		return nil
	}
}

func readLine(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("read %q: %v", line, err)
	}
	return line
}

// TestInjectTCP: Server.InjectTCP sends a message into a live TCP flow
// either way, as mitmproxy's inject.tcp: it is recorded in the flow
// (marked injected), goes through tcp_message (which may change or drop
// it) and reaches its side in order; a hook may inject into its own flow;
// a copy of the live flow finds its connection; a flow that ended, or no
// flow, is an error with mitmproxy's words.
func TestInjectTCP(t *testing.T) {
	rec, c, br, f := startInjectTunnel(t, lineEcho(t).Addr)
	srv := rec.srv

	if err := srv.InjectTCP(f, true, []byte("\x00to the client\n")); err != nil {
		t.Fatal(err)
	}
	if line := readLine(t, br); line != "\x00to the client\n" {
		t.Fatalf("client got %q", line)
	}
	// A copy finds the live connection, as in mitmproxy.
	if err := srv.InjectTCP(f.Copy(), false, []byte("\x00to the server\n")); err != nil {
		t.Fatal(err)
	}
	if line := readLine(t, br); line != "echo \x00to the server\n" {
		t.Fatalf("client got %q", line)
	}
	// Changed and dropped by the hook; in the order injected.
	for _, m := range []string{"\x00shout\n", "\x00drop\n", "\x00after it\n"} {
		if err := srv.InjectTCP(f, true, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"\x00SHOUT\n", "\x00after it\n"} {
		if line := readLine(t, br); line != want {
			t.Fatalf("client got %q, want %q", line, want)
		}
	}
	// From a hook, into its own flow: the injected message and the echo
	// race.
	io.WriteString(c, "\x00inject from a hook\n")
	got := []string{readLine(t, br), readLine(t, br)}
	slices.Sort(got)
	if want := []string{"\x00from the hook\n", "echo \x00inject from a hook\n"}; !slices.Equal(got, want) {
		t.Fatalf("client got %q, want %q", got, want)
	}
	c.Close()
	ended := waitFlow(t, rec.ended, "tcp_end")
	if ended != f || ended.Error != nil {
		t.Fatalf("ended: %v", ended.Error)
	}
	var inFlow []string
	for _, m := range f.Messages {
		inFlow = append(inFlow, describeTCPMessage(m))
	}
	want := []string{
		`-> "\x00hi\n"`,
		`<- "echo \x00hi\n"`,
		`<- "\x00to the client\n" injected`,
		`-> "\x00to the server\n" injected`,
		`<- "echo \x00to the server\n"`,
		`<- "\x00SHOUT\n" injected`,
		`<- "" injected`,
		`<- "\x00after it\n" injected`,
		`-> "\x00inject from a hook\n"`,
	}
	if len(inFlow) != len(want)+2 || !slices.Equal(inFlow[:len(want)], want) {
		t.Fatalf("flow messages:\n%s\nwant first:\n%s", strings.Join(inFlow, "\n"), strings.Join(want, "\n"))
	}
	last := inFlow[len(want):]
	slices.Sort(last)
	if w := []string{`<- "\x00from the hook\n" injected`, `<- "echo \x00inject from a hook\n"`}; !slices.Equal(last, w) {
		t.Errorf("last messages %q, want %q", last, w)
	}
	// tcp_message saw each message as it was injected.
	seen := rec.seen()
	if len(seen) != len(inFlow) || seen[5] != `<- "\x00shout\n" injected` || seen[6] != `<- "\x00drop\n" injected` {
		t.Errorf("tcp_message saw:\n%s", strings.Join(seen, "\n"))
	}
	rec.mu.Lock()
	if rec.injectErr != nil {
		t.Errorf("inject from a hook: %v", rec.injectErr)
	}
	rec.mu.Unlock()
	for _, m := range f.Messages {
		if m.Timestamp == 0 {
			t.Errorf("no timestamp: %s", describeTCPMessage(m))
		}
	}

	// Once the flow is over, nothing can be injected.
	if err := srv.InjectTCP(f, true, []byte("late")); !errors.Is(err, proxy.ErrNotLive) {
		t.Errorf("inject after the end: %v", err)
	}
	if err := srv.InjectTCP(nil, true, []byte("x")); !errors.Is(err, proxy.ErrNotTCP) || err.Error() != "Cannot inject TCP messages into non-TCP flows." {
		t.Errorf("inject into no flow: %v", err)
	}
}

// TestInjectTCPKill: a hook that kills the flow at an injected message
// ends the tunnel with tcp_error, as one that kills it at a relayed one.
func TestInjectTCPKill(t *testing.T) {
	rec, _, br, f := startInjectTunnel(t, lineEcho(t).Addr)
	if err := rec.srv.InjectTCP(f, false, []byte("\x00kill\n")); err != nil {
		t.Fatal(err)
	}
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Errorf("the client got %q after the kill", rest)
	}
	ended := waitFlow(t, rec.ended, "tcp_error")
	if !ended.Killed() || ended.Error == nil {
		t.Errorf("flow error %v, want killed", ended.Error)
	}
}

// TestInjectTCPHalfClosed: once the client closed its sending half, a
// message injected towards the server is not sent (nor recorded), while
// one towards the client still is.
func TestInjectTCPHalfClosed(t *testing.T) {
	// An echo origin that, after the client's EOF, stays until released.
	eof, release := make(chan struct{}), make(chan struct{})
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				break
			}
			io.WriteString(c, "echo "+line)
		}
		close(eof)
		<-release
	})
	rec, c, br, f := startInjectTunnel(t, origin.Addr)
	c.(*net.TCPConn).CloseWrite()
	select {
	case <-eof:
	case <-time.After(10 * time.Second):
		t.Fatal("the client's EOF did not reach the origin")
	}
	if err := rec.srv.InjectTCP(f, false, []byte("\x00too late\n")); err != nil {
		t.Fatal(err)
	}
	if err := rec.srv.InjectTCP(f, true, []byte("\x00still open\n")); err != nil {
		t.Fatal(err)
	}
	if line := readLine(t, br); line != "\x00still open\n" {
		t.Fatalf("client got %q", line)
	}
	close(release)
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("client got %q, %v", rest, err)
	}
	waitFlow(t, rec.ended, "tcp_end")
	if seen := rec.seen(); len(seen) != 3 || seen[2] != `<- "\x00still open\n" injected` {
		t.Errorf("tcp_message saw:\n%s", strings.Join(seen, "\n"))
	}
}

// TestInjectTCPCommand: mitmproxy's inject.tcp command injects into a live
// TCP flow; a flow that cannot take it is a warning with mitmproxy's
// words, not a failed command.
func TestInjectTCPCommand(t *testing.T) {
	cmds := &cmdAddon{}
	warns := &logWarnings{}
	rec, c, br, f := startInjectTunnel(t, lineEcho(t).Addr, cmds, warns)
	if _, err := cmds.ctx.Commands.Call("inject.tcp", flow.Any(f), true, []byte("\x00by command\n")); err != nil {
		t.Fatal(err)
	}
	if line := readLine(t, br); line != "\x00by command\n" {
		t.Fatalf("client got %q", line)
	}
	if _, err := cmds.ctx.Commands.Call("inject.tcp", flow.Any(f), false, []byte("\x00to the origin\n")); err != nil {
		t.Fatal(err)
	}
	if line := readLine(t, br); line != "echo \x00to the origin\n" {
		t.Fatalf("client got %q", line)
	}
	if _, err := cmds.ctx.Commands.Call("inject.tcp", flow.Any(flow.NewHTTPFlow(nil, nil)), true, []byte("x")); err != nil {
		t.Errorf("an HTTP flow failed the command: %v", err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return warns.has("Cannot inject TCP messages into non-TCP flows.") },
		"no warning for an HTTP flow: %s", warns)
	c.Close()
	waitFlow(t, rec.ended, "tcp_end")
	if _, err := cmds.ctx.Commands.Call("inject.tcp", flow.Any(f), true, []byte("x")); err != nil {
		t.Errorf("an ended flow failed the command: %v", err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return warns.has("Flow is not from a live connection.") },
		"no warning for an ended flow: %s", warns)
}
