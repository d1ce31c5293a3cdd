package proxy_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// bodyKeeper keeps every response body it sees, without saying so (it does
// not implement addon.FlowKeeper).
type bodyKeeper struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (k *bodyKeeper) Response(f *flow.HTTPFlow) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.bodies = append(k.bodies, f.Response.RawContent)
}

func (k *bodyKeeper) kept() [][]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.bodies
}

// honestKeeper says it keeps flows; liar says it does not (and still does,
// which is how the test sees that buffers are reused).
type (
	honestKeeper struct{ bodyKeeper }
	liar         struct{ bodyKeeper }
)

func (*honestKeeper) KeepsFlows() bool { return true }
func (*liar) KeepsFlows() bool         { return false }

// distinctBodies answers the i-th request on a connection with a 40 KiB
// body of the byte 'a'+i.
func distinctBodies(t *testing.T) string {
	o := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		for i := 0; ; i++ {
			if _, err := testutil.ReadRequest(r); err != nil {
				return
			}
			body := bytes.Repeat([]byte{byte('a' + i%26)}, 40<<10)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		}
	})
	return o.Addr
}

// fetchBodies sends n requests over one keep-alive connection.
func fetchBodies(t *testing.T, proxyAddr, origin string, n int) {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	for i := 0; i < n; i++ {
		fmt.Fprintf(c, "GET http://%s/%d HTTP/1.1\r\nHost: %s\r\n\r\n", origin, i, origin)
		resp := readResponse(t, br)
		if want := bytes.Repeat([]byte{byte('a' + i%26)}, 40<<10); !bytes.HasSuffix([]byte(resp), want) {
			t.Fatalf("response %d: wrong body", i)
		}
	}
}

// An addon that keeps flows, by saying so or by not saying anything, finds
// their bodies as they were: the proxy recycles body buffers only when no
// addon keeps flows.
func TestKeptBodiesStayIntact(t *testing.T) {
	const n = 12
	for _, tt := range []struct {
		name   string
		keeper interface {
			Response(*flow.HTTPFlow)
			kept() [][]byte
		}
	}{
		{"addon without FlowKeeper", &bodyKeeper{}},
		{"addon keeping flows", &honestKeeper{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := startProxyWith(t, tt.keeper)
			fetchBodies(t, addr, distinctBodies(t), n)
			kept := tt.keeper.kept()
			if len(kept) != n {
				t.Fatalf("kept %d bodies, want %d", len(kept), n)
			}
			for i, b := range kept {
				if !bytes.Equal(b, bytes.Repeat([]byte{byte('a' + i%26)}, 40<<10)) {
					t.Errorf("body %d was changed after its flow ended", i)
				}
			}
		})
	}
}

// With no addon keeping flows, body buffers are used again: an addon that
// (against its word) keeps the bodies sees old ones overwritten.
func TestBodyBuffersReused(t *testing.T) {
	const n = 12
	l := &liar{}
	addr := startProxyWith(t, l)
	fetchBodies(t, addr, distinctBodies(t), n)
	reused := 0
	for i, b := range l.kept() {
		if !bytes.Equal(b, bytes.Repeat([]byte{byte('a' + i%26)}, 40<<10)) {
			reused++
		}
	}
	if reused == 0 {
		t.Error("no body buffer was used twice")
	}
}

func TestBodyBufferNotExtendable(t *testing.T) {
	k := &bodyKeeper{}
	addr := startProxyWith(t, k)
	fetchBodies(t, addr, distinctBodies(t), 1)
	if b := k.kept()[0]; cap(b) != len(b) {
		t.Errorf("body of %d bytes has capacity %d: appending would write into a recycled buffer", len(b), cap(b))
	}
}
