package proxy

import (
	"net"
	"net/netip"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

func TestSelfAddrsIsListener(t *testing.T) {
	var s selfAddrs
	s.addListener(&net.TCPAddr{IP: net.IPv4zero, Port: 8080})
	s.addListener(&net.TCPAddr{IP: net.ParseIP("127.0.0.9"), Port: 9090})
	tests := []struct {
		host string
		port int
		want bool
	}{
		{"127.0.0.1", 8080, true},
		{"127.0.0.3", 8080, true},
		{"::ffff:127.0.0.3", 8080, true},
		{"::1", 8080, true},
		{"0.0.0.0", 8080, true},
		{"localhost", 8080, true},
		{"127.0.0.1", 8081, false},
		{"192.0.2.1", 8080, false}, // TEST-NET: no interface has it
		{"example.com", 8080, false},
		{"127.0.0.9", 9090, true},
		{"::ffff:127.0.0.9", 9090, true},
		{"127.0.0.1", 9090, false},
	}
	for _, tt := range tests {
		if got := s.isOwn(flow.Address{Host: tt.host, Port: tt.port}); got != tt.want {
			t.Errorf("isOwn(%s:%d) = %v, want %v", tt.host, tt.port, got, tt.want)
		}
	}
}

// fakeConn is a connection with given addresses.
type fakeConn struct {
	net.Conn
	local, remote net.Addr
}

func (c fakeConn) LocalAddr() net.Addr  { return c.local }
func (c fakeConn) RemoteAddr() net.Addr { return c.remote }

func TestSelfAddrsDialed(t *testing.T) {
	var s selfAddrs
	s.addListener(&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8080})
	elsewhere := fakeConn{remote: net.TCPAddrFromAddrPort(netip.MustParseAddrPort("198.51.100.7:80"))}
	if s.dialed(elsewhere) {
		t.Error("a server elsewhere counted as ourselves")
	}
	direct := fakeConn{remote: net.TCPAddrFromAddrPort(netip.MustParseAddrPort("[::ffff:127.0.0.1]:8080"))}
	if !s.dialed(direct) {
		t.Error("a connection to our listener was not recognised")
	}
}
