package proxy_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestProxyDebug: proxy_debug logs the core's inner workings at debug level,
// shown with termlog_verbosity=debug; without it, debug shows none of them.
func TestProxyDebug(t *testing.T) {
	origin := peerOrigin(t)
	for _, debug := range []bool{true, false} {
		args := []string{"--set", "termlog_verbosity=debug"}
		if debug {
			args = append(args, "--set", "proxy_debug=true")
		}
		md := testutil.StartMitmdump(t, args...)
		resp, err := md.Client().Get("http://" + origin.Addr + "/debug")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		md.WaitOutput(t, "GET http://"+origin.Addr+"/debug", 10*time.Second)
		md.Stop(t)
		out := md.Output()
		for _, want := range []string{
			"request head: GET http://" + origin.Addr + "/debug HTTP/1.1",
			"response head: HTTP/1.1 200 OK, 1 header fields, body content-length 9, server connection reusable",
		} {
			if got := strings.Contains(out, want); got != debug {
				t.Errorf("proxy_debug=%v: output has %q: %v\n%s", debug, want, got, out)
			}
		}
	}
}
