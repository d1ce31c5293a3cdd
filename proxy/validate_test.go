package proxy_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestValidateInboundHeaders: as mitmproxy, messages with both
// Transfer-Encoding and Content-Length (request smuggling) and header names
// that are not tokens are refused unless validate_inbound_headers is off;
// then they are forwarded as they came.
func TestValidateInboundHeaders(t *testing.T) {
	const smuggling = "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n"
	var badResponse atomic.Pointer[string]
	origin := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		if _, err := testutil.ReadRequest(r); err != nil {
			return
		}
		io.WriteString(c, *badResponse.Load())
	})
	okResponse := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	tests := []struct {
		name, reqHeaders, response string
		validate                   bool
		want                       string
	}{
		{"request with TE and CL", smuggling, okResponse, true, "HTTP/1.1 400 Bad Request"},
		{"request with TE and CL, not validated", smuggling, okResponse, false, "HTTP/1.1 200 OK"},
		{"request header name with a space", "Bad Name: x\r\n", okResponse, true, "HTTP/1.1 400 Bad Request"},
		{"request header name with a space, not validated", "Bad Name: x\r\n", okResponse, false, "HTTP/1.1 200 OK"},
		{"response with TE and CL", "", "HTTP/1.1 200 OK\r\n" + smuggling + "\r\n2\r\nok\r\n0\r\n\r\n", true, "HTTP/1.1 502 Bad Gateway"},
		{"response with TE and CL, not validated", "", "HTTP/1.1 200 OK\r\n" + smuggling + "\r\n2\r\nok\r\n0\r\n\r\n", false, "HTTP/1.1 200 OK"},
		{"response header name with a space", "", "HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 2\r\n\r\nok", true, "HTTP/1.1 502 Bad Gateway"},
		{"response header name with a space, not validated", "", "HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 2\r\n\r\nok", false, "HTTP/1.1 200 OK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			badResponse.Store(&tt.response)
			sets := []string{"validate_inbound_headers=false"}
			if tt.validate {
				sets = nil
			}
			addr := startProxy(t, nil, sets...)
			body := ""
			if strings.Contains(tt.reqHeaders, "chunked") {
				body = "0\r\n\r\n"
			}
			got := roundTrip(t, addr, "POST http://"+origin.Addr+"/ HTTP/1.1\r\nHost: "+origin.Addr+"\r\n"+tt.reqHeaders+"Connection: close\r\n\r\n"+body)
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("got %q, want %s", got, tt.want)
			}
			if tt.validate && strings.Contains(got, "Content-Length header") && !strings.Contains(got, "validate_inbound_headers") {
				t.Errorf("the refusal does not name the option: %q", got)
			}
		})
	}
}
