package proxy

import (
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestServerGreetedDecidesAtOnce: when the server has greeted before the
// tunnel's next layer is chosen (SMTP's "220" arrives while the CONNECT is
// answered), the choice is the server's at once, as mitmproxy makes it:
// the client's socket is not read at all, so no grace is waited for it.
func TestServerGreetedDecidesAtOnce(t *testing.T) {
	pools := &bufPools{}
	clientSide, _ := loopbackStream(t, pools)
	counted := &countingConn{Conn: clientSide.src.(*idleConn).Conn}
	a := plainStream(newIdleConn(counted, 10*time.Second), pools)
	b, server := loopbackStream(t, pools)
	if _, err := server.Write([]byte("220 smtp ready\r\n")); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return readable(b) }, "the greeting to arrive")
	if err := firstOfTwo(a, b, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if b.r.Buffered() == 0 {
		t.Fatal("the server's greeting did not decide")
	}
	if n := counted.reads.Load(); n != 0 {
		t.Fatalf("the client's socket was read %d times before the decision: it waited for the client", n)
	}
}
