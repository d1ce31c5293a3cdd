package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/internal/testutil"
	"github.com/mitmgo/mitmgo/proxy"
)

// peerOrigin answers every request with the address it was connected from.
func peerOrigin(t *testing.T) *testutil.RawOrigin {
	return testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		for {
			if _, err := testutil.ReadRequest(r); err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(host), host)
		}
	})
}

// sockname records the local address an addon sees in server_connect.
type sockname struct{ seen, set string }

func (s *sockname) ServerConnect(d *addon.ServerConnectionData) {
	s.seen = d.Server.Sockname.Host
	if s.set != "" {
		d.Server.Sockname.Host = s.set
	}
}

func TestConnectAddr(t *testing.T) {
	origin := peerOrigin(t)
	get := "GET http://" + origin.Addr + "/ HTTP/1.1\r\nHost: " + origin.Addr + "\r\nConnection: close\r\n\r\n"
	tests := []struct {
		name       string
		sets       []string
		addonSets  string
		wantSeen   string
		wantPeer   string
		wantStatus string
	}{
		{name: "system's choice", wantPeer: "127.0.0.1", wantStatus: "200 OK"},
		// All of 127/8 is loopback on Linux: a second local address.
		{name: "connect_addr", sets: []string{"connect_addr=127.0.0.2"}, wantSeen: "127.0.0.2", wantPeer: "127.0.0.2", wantStatus: "200 OK"},
		// As in mitmproxy, the option is applied in server_connect, and
		// a later addon may choose otherwise.
		{name: "an addon overrides it", sets: []string{"connect_addr=127.0.0.2"}, addonSets: "127.0.0.3", wantSeen: "127.0.0.2", wantPeer: "127.0.0.3", wantStatus: "200 OK"},
		{name: "an addon sets a name", addonSets: "localhost", wantStatus: "502 Bad Gateway", wantPeer: "cannot connect from localhost:0: not an IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &sockname{set: tt.addonSets}
			addr := startProxyWith(t, a, tt.sets...)
			got := roundTrip(t, addr, get)
			if !strings.HasPrefix(got, "HTTP/1.1 "+tt.wantStatus) || !strings.Contains(got, tt.wantPeer) {
				t.Errorf("response %q, want %s naming %s", got, tt.wantStatus, tt.wantPeer)
			}
			if a.seen != tt.wantSeen {
				t.Errorf("server_connect saw sockname %q, want %q", a.seen, tt.wantSeen)
			}
		})
	}
}

func TestConnectAddrInvalid(t *testing.T) {
	m := addon.NewManager()
	m.Options().MustAdd("confdir", addon.String, "~/.mitmproxy", "")
	if err := m.Add(proxy.New(m)); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"example.com", "127.0.0.1:80", "fe80::1%eth0"} {
		err := m.Options().Set("connect_addr=" + v)
		if err == nil {
			err = m.ConfigureAll()
		}
		if err == nil || !strings.Contains(err.Error(), "connect_addr") || !strings.Contains(err.Error(), v) {
			t.Errorf("connect_addr=%s: error %v, want one naming the option and the value", v, err)
		}
	}
}

// TestSelfConnect: a request to the proxy's own address would loop back
// into the proxy; mitmproxy refuses it before connecting, and so do we.
func TestSelfConnect(t *testing.T) {
	rec := &recorder{}
	addr := startProxy(t, rec)
	_, port, _ := net.SplitHostPort(addr)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		target := net.JoinHostPort(host, port)
		for _, req := range []string{
			"GET http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\n\r\n",
			"CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n",
		} {
			got := roundTrip(t, addr, req)
			if !strings.HasPrefix(got, "HTTP/1.1 502") || !strings.Contains(got, "Request destination unknown") {
				t.Errorf("%s: got %q, want a 502 saying the destination is unknown", strings.Fields(req)[0], got)
			}
		}
	}
	// The GETs end in the error hook; failed CONNECTs in http_connect_error.
	// A form of our address that the names above miss still leads back
	// to us; the connection itself shows it: no endless chain of hops.
	sneaky := net.JoinHostPort("::ffff:127.0.0.1", port)
	got := roundTrip(t, addr, "GET http://"+sneaky+"/ HTTP/1.1\r\nHost: "+sneaky+"\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 502") || !strings.Contains(got, "Request destination unknown") {
		t.Errorf("absolute form to %s: got %q, want a 502 saying the destination is unknown", sneaky, got)
	}
	// In origin form, a Host header naming the proxy in any form makes it
	// a request to the proxy itself, as for 127.0.0.1.
	got = roundTrip(t, addr, "GET / HTTP/1.1\r\nHost: "+sneaky+"\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 400") || !strings.Contains(got, "not a web server") {
		t.Errorf("origin form with Host %s: got %q, want the 400 page of a request to the proxy", sneaky, got)
	}
	if n := len(rec.Flows()); n != 3 {
		t.Errorf("%d flows ended in the error hook, want 3", n)
	}
	for _, f := range rec.Flows() {
		if f.Error == nil || !strings.Contains(f.Error.Msg, "Request destination unknown") {
			t.Errorf("flow %s %s: error %v", f.Request.Method, f.Request.URL(), f.Error)
		}
	}
}

// TestOriginFormByHost: as mitmproxy, a request in origin form (or
// asterisk form) goes where its Host header says, byte for byte; without a
// Host header, or with the proxy's own address in it, it is refused.
func TestOriginFormByHost(t *testing.T) {
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		if _, err := testutil.ReadRequest(r); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	addr := startProxy(t, nil)
	tests := []struct {
		name, req, wantStatus, wantSent string
	}{
		{"origin form", "GET /x?y HTTP/1.1\r\nHost: " + origin.Addr + "\r\nConnection: close\r\n\r\n",
			"HTTP/1.1 200 OK", "GET /x?y HTTP/1.1\r\nHost: " + origin.Addr + "\r\nConnection: close\r\n\r\n"},
		{"asterisk form", "OPTIONS * HTTP/1.1\r\nHost: " + origin.Addr + "\r\nConnection: close\r\n\r\n",
			"HTTP/1.1 200 OK", "OPTIONS * HTTP/1.1\r\nHost: " + origin.Addr + "\r\nConnection: close\r\n\r\n"},
		{"no Host", "GET /x HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request", ""},
		{"the proxy itself", "GET / HTTP/1.1\r\nHost: " + addr + "\r\n\r\n", "HTTP/1.1 400 Bad Request", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := origin.Conns()
			got := roundTrip(t, addr, tt.req)
			if !strings.HasPrefix(got, tt.wantStatus) {
				t.Fatalf("got %q, want %s", got, tt.wantStatus)
			}
			switch conns := origin.Conns(); {
			case tt.wantSent == "" && conns != before:
				t.Errorf("the origin was connected to")
			case tt.wantSent != "" && (conns != before+1 || string(origin.Received(before)) != tt.wantSent):
				t.Errorf("the origin received %q, want %q", origin.Received(before), tt.wantSent)
			}
		})
	}
}

// TestSelfConnectAllInterfaces is issue 18's loop: a proxy on all
// interfaces, asked for another loopback address of its own port, in an
// IPv4-mapped form in the Host header, used to connect to itself again and
// again until no descriptor was left. Every form must be refused at once.
func TestSelfConnectAllInterfaces(t *testing.T) {
	addr := startProxyAddons(t, nil, "listen_host=")
	_, port, _ := net.SplitHostPort(addr)
	fds := openFDs(t)
	for _, tc := range []struct{ req, want string }{
		{"GET http://127.0.0.3:" + port + "/ HTTP/1.1\r\nHost: [::ffff:127.0.0.3]:" + port + "\r\n\r\n", "HTTP/1.1 502"},
		{"GET http://[::ffff:127.0.0.3]:" + port + "/ HTTP/1.1\r\nHost: 127.0.0.3:" + port + "\r\n\r\n", "HTTP/1.1 502"},
		{"CONNECT 127.0.0.4:" + port + " HTTP/1.1\r\nHost: 127.0.0.4:" + port + "\r\n\r\n", "HTTP/1.1 502"},
		{"CONNECT [::ffff:127.0.0.5]:" + port + " HTTP/1.1\r\n\r\n", "HTTP/1.1 502"},
		{"GET / HTTP/1.1\r\nHost: [::ffff:127.0.0.3]:" + port + "\r\n\r\n", "HTTP/1.1 400"},
		{"GET http://localhost.:" + port + "/ HTTP/1.1\r\nHost: localhost.:" + port + "\r\n\r\n", "HTTP/1.1 502"},
	} {
		got := roundTrip(t, "127.0.0.1:"+port, tc.req)
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("%q: got %q, want %s", tc.req, got, tc.want)
		}
	}
	if now := openFDs(t); now > fds+10 {
		t.Errorf("%d descriptors open, %d before: the proxy connected to itself", now, fds)
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(entries)
}
