//go:build linux

package proxy

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// wakeLog records the idle watch's wake-ups.
type wakeLog struct {
	mu    sync.Mutex
	woken []woken
}

type woken struct {
	cc      *clientConn
	st      *stream
	expired bool
}

func (l *wakeLog) wake(cc *clientConn, st *stream, expired bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.woken = append(l.woken, woken{cc, st, expired})
}

func (l *wakeLog) get() []woken {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]woken(nil), l.woken...)
}

// socketPair returns the two ends of a loopback TCP connection: the
// accepted one (the proxy's) and the dialled one (the client's).
func socketPair(t *testing.T) (proxyEnd, clientEnd net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	clientEnd, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	proxyEnd, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxyEnd.Close(); clientEnd.Close() })
	return proxyEnd, clientEnd
}

// startWatch starts an idle watch that records its wake-ups; the test's
// end closes it (closing twice is allowed).
func startWatch(t *testing.T) (*idleWatch, *wakeLog) {
	t.Helper()
	log := &wakeLog{}
	w, err := newIdleWatch(log.wake)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.close)
	return w, log
}

func newWatchedConn(t *testing.T) (*clientConn, net.Conn) {
	t.Helper()
	p, c := socketPair(t)
	return &clientConn{raw: p, conn: newIdleConn(p, time.Minute)}, c
}

// TestIdleWatch: a parked connection is woken (not expired) when its
// client sends or closes, and expired after its timeout when it does
// neither; one removed is not woken; closing the watch wakes those left.
func TestIdleWatch(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		// act does what the client (or the proxy) does once the
		// connection is parked.
		act         func(t *testing.T, w *idleWatch, cc *clientConn, client net.Conn)
		wantWake    bool
		wantExpired bool
	}{
		{"client sends", time.Minute, func(t *testing.T, _ *idleWatch, _ *clientConn, c net.Conn) {
			if _, err := c.Write([]byte("GET")); err != nil {
				t.Fatal(err)
			}
		}, true, false},
		{"client closes", time.Minute, func(_ *testing.T, _ *idleWatch, _ *clientConn, c net.Conn) { c.Close() }, true, false},
		{"idle timeout", 50 * time.Millisecond, func(*testing.T, *idleWatch, *clientConn, net.Conn) {}, true, true},
		{"removed", 50 * time.Millisecond, func(t *testing.T, w *idleWatch, cc *clientConn, _ net.Conn) {
			if w.remove(cc) == nil {
				t.Fatal("remove found nothing parked")
			}
			if w.remove(cc) != nil {
				t.Fatal("removed twice")
			}
		}, false, false},
		{"watch closed", time.Minute, func(_ *testing.T, w *idleWatch, _ *clientConn, _ net.Conn) { w.close() }, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, log := startWatch(t)
			cc, client := newWatchedConn(t)
			st := &stream{}
			if err := w.park(cc, st, time.Now().Add(tt.timeout)); err != nil {
				t.Fatal("not parked")
			}
			tt.act(t, w, cc, client)
			if !tt.wantWake {
				// Nothing is left to wake it: not in the sets, and no
				// timer set.
				w.mu.Lock()
				defer w.mu.Unlock()
				if len(w.parked) != 0 || len(w.byExpiry) != 0 || !w.timeAt.IsZero() {
					t.Fatalf("left in the watch: %d parked, %d deadlines, timer at %v", len(w.parked), len(w.byExpiry), w.timeAt)
				}
				return
			}
			testutil.Eventually(t, 5*time.Second, func() bool { return len(log.get()) > 0 }, "not woken")
			got := log.get()
			if len(got) != 1 || got[0].cc != cc || got[0].st != st || got[0].expired != tt.wantExpired {
				t.Fatalf("woken %+v, want once with its stream, expired %v", got, tt.wantExpired)
			}
		})
	}
}

// TestIdleWatchParksAgain: a connection woken and parked again (the next
// wait of a keep-alive connection) is woken again; its socket is re-armed
// in the epoll set, not added twice.
func TestIdleWatchParksAgain(t *testing.T) {
	w, log := startWatch(t)
	cc, client := newWatchedConn(t)
	buf := make([]byte, 16)
	for i := 1; i <= 3; i++ {
		if err := w.park(cc, &stream{}, time.Now().Add(time.Minute)); err != nil {
			t.Fatalf("round %d: not parked", i)
		}
		if _, err := client.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 5*time.Second, func() bool { return len(log.get()) == i }, "round %d: not woken", i)
		// What woke it is read, as the resumed connection would.
		if _, err := cc.raw.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
}

// TestIdleWatchExpiryOrder: connections expire in the order of their
// deadlines, whatever the order they parked in.
func TestIdleWatchExpiryOrder(t *testing.T) {
	w, log := startWatch(t)
	timeouts := []time.Duration{300 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}
	ccs := make([]*clientConn, len(timeouts))
	for i, d := range timeouts {
		ccs[i], _ = newWatchedConn(t)
		if err := w.park(ccs[i], &stream{}, time.Now().Add(d)); err != nil {
			t.Fatal("not parked")
		}
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return len(log.get()) == 3 }, "not all expired")
	got := log.get()
	for i, want := range []*clientConn{ccs[1], ccs[2], ccs[0]} {
		if got[i].cc != want || !got[i].expired {
			t.Fatalf("expiry %d: got connection %p (expired %v), want %p", i, got[i].cc, got[i].expired, want)
		}
	}
}

// TestIdleWatchClosedSocket: a socket closed before it parks is not taken
// (its owner then waits on its goroutine), and a closed watch takes none.
func TestIdleWatchClosedSocket(t *testing.T) {
	w, _ := startWatch(t)
	cc, _ := newWatchedConn(t)
	cc.raw.Close()
	if w.park(cc, &stream{}, time.Now().Add(time.Minute)) == nil {
		t.Fatal("a closed socket parked")
	}
	w.close()
	cc2, _ := newWatchedConn(t)
	if err := w.park(cc2, &stream{}, time.Now().Add(time.Minute)); !errors.Is(err, errWatchClosed) {
		t.Fatalf("parked in a closed watch: %v", err)
	}
}
