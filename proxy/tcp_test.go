package proxy_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addons/tlsconfig"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// tcpRecorder records the TCP hooks and changes what the client sends.
type tcpRecorder struct {
	mu     sync.Mutex
	events []string
	ended  chan *flow.TCPFlow
	// change rewrites client messages: "upper", "drop" (the word "drop"),
	// "kill" (on the word "kill").
	change string
}

func (r *tcpRecorder) add(ev string) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *tcpRecorder) TCPStart(*flow.TCPFlow) { r.add("tcp_start") }
func (r *tcpRecorder) TCPMessage(f *flow.TCPFlow) {
	m := f.Messages[len(f.Messages)-1]
	r.add("tcp_message")
	if !m.FromClient {
		return
	}
	switch {
	case r.change == "upper":
		m.Content = bytes.ToUpper(m.Content)
	case r.change == "drop" && bytes.Contains(m.Content, []byte("drop")):
		m.Content = nil
	case r.change == "kill" && bytes.Contains(m.Content, []byte("kill")):
		f.Kill()
	}
}
func (r *tcpRecorder) TCPEnd(f *flow.TCPFlow)   { r.add("tcp_end"); r.ended <- f }
func (r *tcpRecorder) TCPError(f *flow.TCPFlow) { r.add("tcp_error"); r.ended <- f }

func (r *tcpRecorder) wait(t *testing.T) *flow.TCPFlow {
	t.Helper()
	select {
	case f := <-r.ended:
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("the TCP flow did not end")
		return nil
	}
}

// lineEcho answers every line with "echo " and the line.
func lineEcho(t *testing.T) *testutil.RawOrigin {
	return testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			io.WriteString(c, "echo "+line)
		}
	})
}

// TestTCPFlow: a tunnel that carries neither TLS nor HTTP is a TCP flow, as
// in mitmproxy: tcp_start, a tcp_message per piece, whose content addons may
// change or drop, then tcp_end; a killed flow ends the tunnel with
// tcp_error.
func TestTCPFlow(t *testing.T) {
	t.Run("messages, changed", func(t *testing.T) {
		origin := lineEcho(t)
		rec := &tcpRecorder{ended: make(chan *flow.TCPFlow, 1), change: "upper"}
		addr := startProxyWith(t, rec)
		c, br, _ := testutil.ConnectTunnel(t, addr, origin.Addr)
		io.WriteString(c, "\x00hello\n")
		if line, err := br.ReadString('\n'); err != nil || line != "echo \x00HELLO\n" {
			t.Fatalf("reply %q, %v", line, err)
		}
		c.Close()
		f := rec.wait(t)
		if len(f.Messages) != 2 || string(f.Messages[0].Content) != "\x00HELLO\n" || !f.Messages[0].FromClient ||
			string(f.Messages[1].Content) != "echo \x00HELLO\n" || f.Messages[1].FromClient {
			for _, m := range f.Messages {
				t.Logf("message from client %v: %q", m.FromClient, m.Content)
			}
			t.Errorf("%d messages", len(f.Messages))
		}
		if f.Error != nil || f.IsLive() {
			t.Errorf("error %v, live %v", f.Error, f.IsLive())
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if got := strings.Join(rec.events, ","); got != "tcp_start,tcp_message,tcp_message,tcp_end" {
			t.Errorf("hooks %s", got)
		}
	})
	t.Run("dropped", func(t *testing.T) {
		origin := lineEcho(t)
		rec := &tcpRecorder{ended: make(chan *flow.TCPFlow, 1), change: "drop"}
		addr := startProxyWith(t, rec)
		c, br, _ := testutil.ConnectTunnel(t, addr, origin.Addr)
		io.WriteString(c, "\x00drop this\n")
		time.Sleep(50 * time.Millisecond)
		io.WriteString(c, "\x00keep\n")
		if line, err := br.ReadString('\n'); err != nil || line != "echo \x00keep\n" {
			t.Fatalf("reply %q, %v", line, err)
		}
		c.Close()
		rec.wait(t)
	})
	t.Run("killed", func(t *testing.T) {
		origin := lineEcho(t)
		rec := &tcpRecorder{ended: make(chan *flow.TCPFlow, 1), change: "kill"}
		addr := startProxyWith(t, rec)
		c, br, _ := testutil.ConnectTunnel(t, addr, origin.Addr)
		io.WriteString(c, "\x00kill\n")
		if rest, _ := io.ReadAll(br); len(rest) != 0 {
			t.Errorf("the client got %q after the kill", rest)
		}
		f := rec.wait(t)
		if !f.Killed() {
			t.Errorf("flow error %v, want killed", f.Error)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if last := rec.events[len(rec.events)-1]; last != "tcp_error" {
			t.Errorf("hooks %v, want tcp_error last", rec.events)
		}
	})
}

// TestTCPHosts: tcp_hosts makes a tunnel a TCP flow whatever it carries:
// HTTP is not parsed, and TLS is intercepted with the decrypted stream as
// the flow's messages. Other hosts are HTTP as usual.
func TestTCPHosts(t *testing.T) {
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		if _, err := testutil.ReadRequest(r); err == nil {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
		}
	})
	_, port, _ := net.SplitHostPort(origin.Addr)
	for _, pattern := range []string{`^127\.0\.0\.1:` + port + `$`, `^nomatch$`} {
		rec := &tcpRecorder{ended: make(chan *flow.TCPFlow, 1)}
		addr := startProxyWith(t, rec, "tcp_hosts="+pattern)
		c, br, _ := testutil.ConnectTunnel(t, addr, origin.Addr)
		io.WriteString(c, "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
		if line, err := br.ReadString('\n'); err != nil || line != "HTTP/1.1 200 OK\r\n" {
			t.Fatalf("%s: %q, %v", pattern, line, err)
		}
		c.Close()
		tcp := pattern != "^nomatch$"
		if tcp {
			if f := rec.wait(t); len(f.Messages) == 0 || !strings.HasPrefix(string(f.Messages[0].Content), "GET /plain") {
				t.Errorf("%s: messages %v", pattern, f.Messages)
			}
		} else {
			time.Sleep(50 * time.Millisecond)
			rec.mu.Lock()
			if len(rec.events) != 0 {
				t.Errorf("%s: TCP hooks %v for an HTTP tunnel", pattern, rec.events)
			}
			rec.mu.Unlock()
		}
	}
}

// TestTCPHostsTLS: with tcp_hosts, TLS is still intercepted, and what the
// client sends inside it, HTTP or not, is the TCP flow's decrypted messages.
func TestTCPHostsTLS(t *testing.T) {
	origin := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secret")
	}))
	t.Cleanup(origin.Close)
	target := strings.TrimPrefix(origin.URL, "https://")
	rec := &tcpRecorder{ended: make(chan *flow.TCPFlow, 1)}
	confdir := t.TempDir()
	addr := startProxyAddons(t, []any{tlsconfig.New(), rec}, "confdir="+confdir, "ssl_insecure=true", "tcp_hosts=example\\.com")
	c, _, _ := testutil.ConnectTunnel(t, addr, target)
	tc := tls.Client(c, &tls.Config{RootCAs: caPool(t, confdir), ServerName: "example.com", NextProtos: []string{"http/1.1"}})
	if body := get(t, tc, bufio.NewReader(tc), "example.com", "/inside"); body != "secret" {
		t.Fatalf("body %q", body)
	}
	if leaf := tc.ConnectionState().PeerCertificates[0]; leaf.Issuer.CommonName != "mitmproxy" {
		t.Errorf("leaf issued by %q: not intercepted", leaf.Issuer.CommonName)
	}
	tc.Close()
	f := rec.wait(t)
	if len(f.Messages) < 2 || !strings.HasPrefix(string(f.Messages[0].Content), "GET /inside HTTP/1.1") || f.ServerConn.SNI != "example.com" {
		t.Errorf("flow: %d messages, first %q, server SNI %q", len(f.Messages), f.Messages[0].Content, f.ServerConn.SNI)
	}
}

// TestShortFirstMessage: a client whose first message is shorter than an
// HTTP method ("A\n") and that waits for the answer is not kept waiting
// for more bytes.
func TestShortFirstMessage(t *testing.T) {
	origin := lineEcho(t)
	addr := startProxy(t, nil)
	c, br, _ := testutil.ConnectTunnel(t, addr, origin.Addr)
	io.WriteString(c, "A\n")
	if line, err := br.ReadString('\n'); err != nil || line != "echo A\n" {
		t.Fatalf("reply %q, %v", line, err)
	}
}

// TestHTTP2PriorKnowledgeWarned: with the http2 option off, an HTTP/2 client
// in a tunnel gets its bytes relayed (a TCP flow), with a warning that says
// why there are no HTTP flows.
func TestHTTP2PriorKnowledgeWarned(t *testing.T) {
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		buf := make([]byte, 24)
		if _, err := io.ReadFull(r, buf); err == nil {
			c.Write(buf[:3])
		}
	})
	md := testutil.StartMitmdump(t, "--set", "http2=false")
	c, br, _ := testutil.ConnectTunnel(t, md.Addr, origin.Addr)
	io.WriteString(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	got := make([]byte, 3)
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "PRI" {
		t.Fatalf("the preface was not relayed (%q, %v)\n%s", got, err, md.Output())
	}
	md.WaitOutput(t, "The client speaks HTTP/2 but the http2 option is off", 10*time.Second)
}
