package origdst_test

import (
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/mitmgo/mitmgo/internal/origdst"
	"github.com/mitmgo/mitmgo/internal/origdst/netnstest"
)

// TestGetRedirected connects, inside a network namespace of the test's
// own, to addresses that iptables REDIRECTs to a listener, and reads the
// original destination of the accepted connections: IPv4, IPv6, and IPv4
// accepted on a dual-stack socket (an IPv4-mapped local address).
func TestGetRedirected(t *testing.T) {
	if !netnstest.Enter(t, "iptables", "ip6tables") {
		return
	}
	v4 := listen(t, "tcp4", "127.0.0.1:0")
	v6 := listen(t, "tcp6", "[::1]:0")
	dual := listen(t, "tcp", ":0")
	redirect := func(cmd, dst string, dport int, ln net.Listener) {
		netnstest.Run(t, cmd, "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", dst, "--dport", strconv.Itoa(dport),
			"-j", "REDIRECT", "--to-ports", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	redirect("iptables", "127.0.0.2", 80, v4)
	redirect("ip6tables", "::1", 443, v6)
	redirect("iptables", "127.0.0.3", 8443, dual)

	for _, tc := range []struct {
		name string
		ln   net.Listener
		dial string
	}{
		{"ipv4", v4, "127.0.0.2:80"},
		{"ipv6", v6, "[::1]:443"},
		{"ipv4 on a dual-stack socket", dual, "127.0.0.3:8443"},
		// Not redirected: connection tracking knows the connection as it
		// is, to the listener itself.
		{"direct", v4, v4.Addr().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", tc.dial)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s, err := tc.ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := origdst.Get(s.(*net.TCPConn))
			if err != nil {
				t.Fatal(err)
			}
			if want := netip.MustParseAddrPort(tc.dial); got != want {
				t.Errorf("original destination %v, want %v (accepted on %v)", got, want, s.LocalAddr())
			}
		})
	}
}

func listen(t *testing.T, network, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// TestGetNotTCP: a connection that is not TCP is refused with a message.
func TestGetNotTCP(t *testing.T) {
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if _, err := origdst.Get(u); err == nil {
		t.Fatal("a UDP socket has an original destination")
	}
}
