package proxy_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addons/tlsconfig"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
	"github.com/mitmgo/mitmgo/internal/websocket"
)

// wsFlowKeeper keeps every WebSocket flow it is handed, and says nothing
// of it (no KeepsFlows): the proxy must then leave the messages' buffers
// alone after the connection ends.
type wsFlowKeeper struct {
	mu    sync.Mutex
	flows []*flow.HTTPFlow
}

func (k *wsFlowKeeper) WebSocketEnd(f *flow.HTTPFlow) {
	k.mu.Lock()
	k.flows = append(k.flows, f)
	k.mu.Unlock()
}

func (k *wsFlowKeeper) ended() []*flow.HTTPFlow {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]*flow.HTTPFlow(nil), k.flows...)
}

// wsContentChecker keeps no flow (KeepsFlows false, so the proxy reuses
// the buffers of large messages once a connection ends) and checks each
// message while its hook runs against what the test sent.
type wsContentChecker struct {
	mu   sync.Mutex
	sent map[string]bool // the payloads sent, by content
	bad  []string
}

func (c *wsContentChecker) KeepsFlows() bool { return false }

func (c *wsContentChecker) WebSocketMessage(f *flow.HTTPFlow) {
	m := f.WebSocket.Messages[len(f.WebSocket.Messages)-1]
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.sent[string(m.Content)] {
		c.bad = append(c.bad, fmt.Sprintf("a message of %d bytes that no client sent", len(m.Content)))
	}
}

// wsTestPayloads are the messages one connection sends: small ones (carved
// from slabs), ones of each pooled size class, one too large for the pool,
// and fragmented ones, each different from every other connection's.
func wsTestPayloads(conn int) [][]byte {
	rng := rand.New(rand.NewPCG(uint64(conn), 7))
	var out [][]byte
	for _, n := range []int{0, 1, 100, 2 << 10, 3 << 10, 16 << 10, 20 << 10, 64 << 10, 64 << 10, 70 << 10, 300 << 10, 1<<20 + 1, 100, 64 << 10} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		out = append(out, b)
	}
	return out
}

// TestWebSocketMessageBuffers: messages of every size, sent on several
// connections at once and one after another, come back byte for byte, and
// the flow records them so: while the hooks run when no addon keeps flows
// (the proxy then reuses large messages' buffers for later connections),
// and after the connection ended when one does (the proxy must not).
func TestWebSocketMessageBuffers(t *testing.T) {
	for _, tc := range []struct {
		keep, secure bool
	}{{false, false}, {true, false}, {false, true}} {
		keep := tc.keep
		t.Run(fmt.Sprintf("keeper=%v/wss=%v", tc.keep, tc.secure), func(t *testing.T) {
			o := startWSOrigin(t, tc.secure, "", nil)
			keeper := &wsFlowKeeper{}
			checker := &wsContentChecker{sent: map[string]bool{}}
			var extra []any
			if keep {
				extra = []any{keeper}
			} else {
				extra = []any{checker}
			}
			confdir := t.TempDir()
			_, addr := serveProxy(t, append([]any{tlsconfig.New()}, extra...), "confdir="+confdir, "ssl_insecure=true")
			roots := caPool(t, confdir)
			sent := map[int][][]byte{}
			for c := range 8 {
				sent[c] = wsTestPayloads(c)
				for _, p := range sent[c] {
					checker.sent[string(p)] = true
				}
			}
			run := func(conns []int) {
				peers := map[int]*wsPeer{}
				for _, c := range conns {
					// wss through a CONNECT tunnel: large frames
					// to the client go out as TLS records.
					peers[c], _ = wsDial(t, addr, o, tc.secure, roots, "/buffers", "")
				}
				var wg sync.WaitGroup
				errs := make(chan error, len(conns))
				for _, c := range conns {
					wg.Go(func() { errs <- wsExchange(peers[c], sent[c]) })
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			// Two at a time, then four at a time: the later connections
			// get the buffers the earlier ones gave back.
			run([]int{0, 1})
			run([]int{2, 3})
			run([]int{4, 5, 6, 7})
			if keep {
				testutil.Eventually(t, 10*time.Second, func() bool { return len(keeper.ended()) == 8 }, "%d of 8 flows ended", len(keeper.ended()))
				for _, f := range keeper.ended() {
					checkRecorded(t, f, sent)
				}
				return
			}
			checker.mu.Lock()
			defer checker.mu.Unlock()
			if len(checker.bad) > 0 {
				t.Fatalf("%d bad messages, the first: %s", len(checker.bad), checker.bad[0])
			}
		})
	}
}

// wsExchange sends each payload (every other one in 5 fragments), reads
// its echo and checks it, then closes.
func wsExchange(p *wsPeer, payloads [][]byte) error {
	for i, b := range payloads {
		var frags []int
		if i%2 == 1 && len(b) >= 5 {
			n := len(b) / 5
			frags = []int{n, n, n, n, len(b) - 4*n}
		}
		if err := p.w.WriteMessage(websocket.OpBinary, b, frags); err != nil {
			return err
		}
		ev, err := p.r.Next()
		if err != nil {
			return fmt.Errorf("echo of message %d: %w", i, err)
		}
		if !bytes.Equal(ev.Payload, b) {
			return fmt.Errorf("echo of message %d (%d bytes) differs (%d bytes back)", i, len(b), len(ev.Payload))
		}
	}
	if err := p.w.WriteClose(1000, ""); err != nil {
		return err
	}
	if ev, err := p.r.Next(); err != nil || ev.Opcode != websocket.OpClose {
		return fmt.Errorf("close answered with %v, %v", ev, err)
	}
	return nil
}

// checkRecorded checks that a kept flow still holds what one connection
// sent, both ways.
func checkRecorded(t *testing.T, f *flow.HTTPFlow, sent map[int][][]byte) {
	t.Helper()
	msgs := f.WebSocket.Messages
	if len(msgs) == 0 || len(msgs)%2 != 0 {
		t.Fatalf("%d messages recorded", len(msgs))
	}
	var conn = -1
	for c, p := range sent {
		if len(p) > 7 && bytes.Equal(msgs[2*7].Content, p[7]) {
			conn = c
		}
	}
	if conn < 0 || len(msgs) != 2*len(sent[conn]) {
		t.Fatalf("the recorded messages (%d) are no connection's", len(msgs))
	}
	for i, m := range msgs {
		if want := sent[conn][i/2]; !bytes.Equal(m.Content, want) || m.FromClient != (i%2 == 0) {
			t.Fatalf("message %d (from client %v): %d bytes recorded, not the %d sent %x %x", i, m.FromClient, len(m.Content), len(want), m.Content[:min(8, len(m.Content))], want[:min(8, len(want))])
		}
	}
}
