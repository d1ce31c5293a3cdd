package proxy_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestSOCKS5ParityWithMitmproxy811 sends the same SOCKS5 handshakes to
// mitmproxy 8.1.1 and to mitmdump in socks5 mode: both answer with the
// same bytes and log the same message.
func TestSOCKS5ParityWithMitmproxy811(t *testing.T) {
	unused := testutil.UnusedAddr(t)
	for _, auth := range []bool{false, true} {
		var args []string
		if auth {
			args = []string{"--proxyauth", "user:pass"}
		}
		pyAddr, pyOut, _ := startDebianMitmdump(t, append([]string{"--mode", "socks5"}, args...)...)
		md := testutil.StartMitmdump(t, append([]string{"--mode", "socks5"}, args...)...)
		cases := []socksCase{
			{"http request", []string{"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
				"Probably not a SOCKS request but a regular HTTP request. Invalid SOCKS version. Expected 0x05, got 0x47"},
			{"socks4", []string{"\x04\x01\x00\x50\x7f\x00\x00\x01\x00"}, "Invalid SOCKS version. Expected 0x05, got 0x4"},
		}
		if auth {
			cases = append(cases,
				socksCase{"no credentials", []string{"\x05\x01\x00"}, "Client does not support SOCKS5 with user/password authentication."},
				socksCase{"wrong password", []string{"\x05\x01\x02", "\x01\x04user\x05wrong"}, "authentication failed"},
				socksCase{"bind after authenticating", []string{"\x05\x01\x02", "\x01\x04user\x04pass", "\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50"},
					`Unsupported SOCKS5 request: b'\x05\x02\x00\x01\x7f\x00\x00\x01\x00P'`},
			)
		} else {
			cases = append(cases,
				socksCase{"client wants to authenticate", []string{"\x05\x01\x02"}, "Client does not support SOCKS5 with no authentication."},
				socksCase{"bind", []string{"\x05\x01\x00", "\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50"},
					`Unsupported SOCKS5 request: b'\x05\x02\x00\x01\x7f\x00\x00\x01\x00P'`},
				socksCase{"unknown address type", []string{"\x05\x01\x00", "\x05\x01\x00\x09\x00"}, "Unknown address type: 9"},
				socksCase{"unreachable", []string{"\x05\x01\x00", "\x05\x01\x00\x01\x7f\x00\x00\x01" + portBytes(t, unused)}, ""},
			)
		}
		for _, tc := range cases {
			name := tc.name
			if auth {
				name = "proxyauth/" + name
			}
			t.Run(name, func(t *testing.T) {
				// One message at a time, each once the previous one's
				// answer is in, so that both read the same pieces.
				py, got := socksConversation(t, pyAddr, tc.send), socksConversation(t, md.Addr, tc.send)
				if py != got {
					t.Errorf("mitmproxy 8.1.1 answered %q, mitmgo %q", py, got)
				}
				if tc.log != "" {
					testutil.Eventually(t, 10*time.Second, func() bool { return strings.Contains(pyOut.String(), tc.log) },
						"mitmproxy 8.1.1 logging %q:\n%s", tc.log, pyOut.String())
					md.WaitOutput(t, tc.log, 10*time.Second)
				}
			})
		}
	}
}

// socksCase is a handshake and the message it is logged with.
type socksCase struct {
	name string
	send []string
	log  string
}

// socksConversation sends the messages one by one, reading what the
// proxy answers to each (until it closes or is silent for a moment).
func socksConversation(t *testing.T, addr string, send []string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got []byte
	buf := make([]byte, 512)
	for _, s := range send {
		if _, err := c.Write([]byte(s)); err != nil {
			break
		}
		// Each message is answered (or the connection closed) at once;
		// a short silence means the proxy waits for the next one.
		for {
			_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			n, err := c.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
	}
	return string(got)
}
