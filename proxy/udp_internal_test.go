package proxy

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/spec"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

type connEvents struct {
	mu     sync.Mutex
	events []string
}

func (c *connEvents) add(s string) {
	c.mu.Lock()
	c.events = append(c.events, s)
	c.mu.Unlock()
}

func (c *connEvents) ClientConnected(cl *flow.Client)    { c.add("connect " + cl.TransportProtocol) }
func (c *connEvents) ClientDisconnected(cl *flow.Client) { c.add("disconnect") }

func (c *connEvents) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.events...)
}

// TestUDPSessionIdle: a client address is a connection until it has been
// quiet for the idle timeout; its next datagram opens a new one.
func TestUDPSessionIdle(t *testing.T) {
	m := addon.NewManager()
	ev := &connEvents{}
	if err := m.Add(ev); err != nil {
		t.Fatal(err)
	}
	s := New(m)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 10)
	u := &udpListener{s: s, pc: pc, mode: &spec.ProxyMode{FullSpec: "reverse:udp://x:1", Name: "reverse"},
		idle: 100 * time.Millisecond, sessions: map[string]*udpSession{}}
	u.handler = func(ss *udpSession) {
		for {
			b, ok := ss.next()
			if !ok {
				return
			}
			got <- string(b)
			_ = ss.send(b)
		}
	}
	done := make(chan error, 1)
	go func() { done <- u.serve() }()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 10)
	for _, msg := range []string{"a", "b"} {
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(buf); err != nil || string(buf[:n]) != msg {
			t.Fatalf("echo %q, %v", buf[:n], err)
		}
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return len(ev.list()) == 2 }, "the idle session to end")
	if _, err := c.Write([]byte("c")); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return len(ev.list()) == 3 }, "a new session")
	pc.Close()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	want := []string{"connect udp", "disconnect", "connect udp", "disconnect"}
	if l := ev.list(); len(l) != 4 || l[0] != want[0] || l[1] != want[1] || l[2] != want[2] || l[3] != want[3] {
		t.Errorf("events %v, want %v", l, want)
	}
	close(got)
	var all string
	for s := range got {
		all += s
	}
	if all != "abc" {
		t.Errorf("handler got %q", all)
	}
}
