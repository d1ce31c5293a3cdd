package flow

import (
	"context"
	"errors"
	"net"
	"regexp"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/tnetstring"
)

func TestNewID(t *testing.T) {
	uuid4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if !uuid4.MatchString(id) {
			t.Fatalf("NewID = %q, not a uuid4", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
}

func TestNewFlows(t *testing.T) {
	c := NewClient(Address{"127.0.0.1", 5000}, Address{"127.0.0.1", 8080}, "regular")
	s := NewServer(Address{"example.com", 443})
	f := NewHTTPFlow(c, s)
	if !f.IsLive() || f.ID == "" || f.TimestampCreated == 0 || f.Type() != "http" || f.ClientConn != c || f.ServerConn != s {
		t.Errorf("NewHTTPFlow = %+v", f)
	}
	if f.TimestampStart() != f.TimestampCreated {
		t.Errorf("TimestampStart without request = %v", f.TimestampStart())
	}
	f.Request = &Request{Message: Message{TimestampStart: 42}}
	if f.TimestampStart() != 42 {
		t.Errorf("TimestampStart = %v, want the request's", f.TimestampStart())
	}
	tf := NewTCPFlow(c, s)
	if !tf.IsLive() || tf.Type() != "tcp" || tf.ID == f.ID {
		t.Errorf("NewTCPFlow = %+v", tf)
	}
	if c.TransportProtocol != "tcp" || c.ID == "" || c.TimestampStart == 0 || s.TransportProtocol != "tcp" || s.ID == "" {
		t.Errorf("connections: %+v %+v", c, s)
	}
}

func TestKill(t *testing.T) {
	f := NewHTTPFlow(nil, nil)
	if !f.Killable() {
		t.Fatal("a live flow is not killable")
	}
	f.Intercept()
	if err := f.Kill(); err != nil {
		t.Fatal(err)
	}
	// Nobody waited for the flow yet (a hook intercepted it, later
	// addons' hooks may still run): the proxy's next step records the
	// error.
	if f.Error != nil {
		t.Errorf("Kill wrote the error of a flow the proxy does not wait for: %v", f.Error)
	}
	_ = f.WaitForResume(context.Background())
	if !f.Killed() || f.Error == nil || KilledMessage != "Connection killed." || f.Error.Msg != KilledMessage || f.Error.Timestamp == 0 {
		t.Errorf("after Kill: error %+v", f.Error)
	}
	if f.IsIntercepted() || f.IsLive() || f.Killable() {
		t.Errorf("after Kill: intercepted %v live %v killable %v", f.IsIntercepted(), f.IsLive(), f.Killable())
	}
	if err := f.Kill(); !errors.Is(err, ErrNotKillable) {
		t.Errorf("second Kill = %v, want ErrNotKillable", err)
	}
	// Flows that are not live (loaded, copied) cannot be killed.
	g := &HTTPFlow{}
	if g.Killable() || !errors.Is(g.Kill(), ErrNotKillable) || g.Error != nil {
		t.Errorf("Kill of a dead flow: %+v", g.Error)
	}
	// A live flow with another error is still killable.
	h := NewHTTPFlow(nil, nil)
	h.Error = NewError("boom")
	if !h.Killable() || h.Killed() {
		t.Errorf("flow with another error: killable %v killed %v", h.Killable(), h.Killed())
	}
	if (&Error{Msg: "x"}).Error() != "x" {
		t.Errorf("Error.Error")
	}
}

func TestInterceptResume(t *testing.T) {
	ctx := context.Background()
	f := NewHTTPFlow(nil, nil)
	// Not intercepted: no wait.
	if err := f.WaitForResume(ctx); err != nil {
		t.Fatal(err)
	}
	if f.Resume() {
		t.Error("Resume of a flow that is not intercepted reports a change")
	}
	f.Intercept()
	f.Intercept() // idempotent
	if !f.IsIntercepted() {
		t.Fatal("not intercepted")
	}
	done := make(chan error, 1)
	go func() { done <- f.WaitForResume(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("WaitForResume returned early: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	if !f.Resume() {
		t.Error("Resume of an intercepted flow reports no change")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitForResume did not return after Resume")
	}
	if f.IsIntercepted() {
		t.Error("still intercepted after Resume")
	}

	// The context ends the wait.
	f.Intercept()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := f.WaitForResume(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitForResume with an expiring context = %v", err)
	}
	// Kill resumes.
	go func() { done <- f.WaitForResume(ctx) }()
	time.Sleep(5 * time.Millisecond)
	if err := f.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitForResume did not return after Kill")
	}
}

// An addon (or a UI) kills an intercepted flow from another goroutine while
// the flow's own goroutine waits and then inspects it. Run with -race: the
// waiter must see the whole effect of Kill once it is released.
func TestKillFromAnotherGoroutine(t *testing.T) {
	for range 100 {
		f := NewHTTPFlow(nil, nil)
		f.Intercept()
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = f.Kill()
		}()
		if err := f.WaitForResume(context.Background()); err != nil {
			t.Fatal(err)
		}
		// The proxy reads these right after the wait.
		killed, live := f.Killed(), f.IsLive()
		wg.Wait()
		if !killed || live {
			t.Fatalf("after the wait: killed %v live %v", killed, live)
		}
	}
}

// A command kills a flow that runs (not intercepted) from another goroutine
// while the proxy's goroutine reads and writes its Error. Run with -race:
// Kill only marks the flow, and the proxy's SetLive(false) records the
// kill's error, unless the proxy recorded another one first.
func TestKillWhileRunning(t *testing.T) {
	for _, proxyFails := range []bool{false, true} {
		f := NewHTTPFlow(nil, nil)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.Kill(); err != nil {
				t.Error(err)
			}
		}()
		// The proxy's own step, as flowRun.fail does it.
		if proxyFails && f.Error == nil {
			f.Error = NewError("server gone")
		}
		wg.Wait()
		if !f.Killed() || f.IsLive() {
			t.Fatalf("after Kill: killed %v live %v", f.Killed(), f.IsLive())
		}
		f.SetLive(false)
		want := KilledMessage
		if proxyFails {
			want = "server gone"
		}
		if f.Error == nil || f.Error.Msg != want {
			t.Errorf("proxy failed %v: error %+v, want %q", proxyFails, f.Error, want)
		}
	}
}

func fullFlow() *HTTPFlow {
	closed := true
	f := NewHTTPFlow(
		&Client{ID: "c", Peername: Address{"127.0.0.1", 1}, TLSInfo: TLSInfo{CertificateList: [][]byte{{1, 2}}, ALPNOffers: []string{"h2"}, CipherList: []string{"A"}}, MitmCert: []byte{3}},
		&Server{ID: "s", Address: Address{"example.com", 443}, Via: &ServerSpec{"http", Address{"proxy", 8080}}, TLSInfo: TLSInfo{CertificateList: [][]byte{{4}}}},
	)
	f.Request = treq()
	f.Request.Trailers = NewHeaders("T", "1")
	f.Response = NewResponse(200, []byte("body"), NewHeaders("A", "b"))
	f.Error = NewError("err")
	f.SetMarked(":default:")
	f.SetComment("c")
	f.IsReplay = "request"
	f.Metadata.Set("list", []any{int64(1), []byte("x")})
	d := tnetstring.NewDict()
	d.Set("k", []byte("v"))
	f.Metadata.Set("dict", d)
	f.WebSocket = &WebSocketData{
		Messages:       []*WebSocketMessage{{Type: WebSocketText, FromClient: true, Content: []byte("hi"), Timestamp: 1}},
		ClosedByClient: &closed, CloseCode: 1000,
	}
	return f
}

func TestCopy(t *testing.T) {
	f := fullFlow()
	c := f.Copy()
	if c.ID == f.ID || c.IsLive() {
		t.Errorf("copy: id %q (orig %q), live %v", c.ID, f.ID, c.IsLive())
	}
	// Same state apart from the id (mitmproxy's test_copy).
	a, b := f.State(), c.State()
	a.Set("id", "")
	b.Set("id", "")
	if !tnetstring.Equal(a, b) {
		t.Errorf("copy state differs:\n%s\n%s", renderPy(a), renderPy(b))
	}
	if c.Request == f.Request || c.Response == f.Response || c.Error == f.Error || c.ClientConn == f.ClientConn ||
		c.ServerConn == f.ServerConn || c.WebSocket == f.WebSocket {
		t.Fatal("copy shares objects with the original")
	}

	// Mutating every reachable part of the copy leaves the original alone.
	before := f.State()
	c.Request.Headers.Set("header", "x")
	c.Request.RawContent[0] = 'X'
	c.Request.Trailers[0].Value = "x"
	c.Response.RawContent[0] = 'X'
	c.Error.Msg = "x"
	c.ClientConn.CertificateList[0][0] = 9
	c.ClientConn.ALPNOffers[0] = "x"
	c.ClientConn.CipherList[0] = "x"
	c.ClientConn.MitmCert[0] = 9
	c.ServerConn.CertificateList[0][0] = 9
	c.ServerConn.Via.Address.Port = 1
	c.WebSocket.Messages[0].Content[0] = 'X'
	c.WebSocket.Messages[0].Dropped = true
	*c.WebSocket.ClosedByClient = false
	l, _ := c.Metadata.Get("list")
	l.([]any)[1].([]byte)[0] = 'X'
	md, _ := c.Metadata.Get("dict")
	md.(*tnetstring.Dict).Set("k", []byte("changed"))
	c.Metadata.Set("new", "x")
	if after := f.State(); !tnetstring.Equal(before, after) {
		t.Errorf("mutating the copy changed the original:\n%s", renderPy(after))
	}
}

func TestCopyIsNotLiveButKeepsIntercepted(t *testing.T) {
	f := NewHTTPFlow(nil, nil)
	f.Request = treq()
	f.Intercept()
	c := f.Copy()
	if c.IsLive() || c.Killable() || !c.IsIntercepted() {
		t.Errorf("copy: live %v killable %v intercepted %v", c.IsLive(), c.Killable(), c.IsIntercepted())
	}
	// The copy has its own pause state.
	c.Resume()
	if !f.IsIntercepted() {
		t.Error("resuming the copy resumed the original")
	}
}

func TestMetadata(t *testing.T) {
	var m Metadata
	if _, ok := m.Get("x"); ok || m.Len() != 0 {
		t.Error("zero Metadata not empty")
	}
	m.Set("b", 1)
	m.Set("a", 2)
	m.Set("b", 3)
	if v, _ := m.Get("b"); v != 3 || m.Len() != 2 || m.Keys[0] != "b" || m.Keys[1] != "a" {
		t.Errorf("Metadata = %+v", m)
	}
}

func TestWebSocketMessage(t *testing.T) {
	m := &WebSocketMessage{Type: WebSocketText}
	if !m.IsText() {
		t.Error("text message not IsText")
	}
	m.Drop()
	if !m.Dropped {
		t.Error("Drop did not drop")
	}
	if (&WebSocketMessage{Type: WebSocketBinary}).IsText() {
		t.Error("binary IsText")
	}
}

func TestAddress(t *testing.T) {
	tests := []struct {
		a    Address
		want string
	}{
		{Address{"127.0.0.1", 80}, "127.0.0.1:80"},
		{Address{"::1", 8080}, "[::1]:8080"},
		{Address{"example.com", 0}, "example.com:0"},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.a, got, tt.want)
		}
	}
	if !(Address{}).IsZero() || (Address{Port: 1}).IsZero() {
		t.Error("IsZero")
	}
	if (&TLSInfo{}).TLSEstablished() || !(&TLSInfo{TimestampTLSSetup: 1}).TLSEstablished() {
		t.Error("TLSEstablished")
	}
}

func TestAddrFrom(t *testing.T) {
	tests := []struct {
		in   net.Addr
		want Address
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 80}, Address{"127.0.0.1", 80}},
		// IPv4-mapped IPv6 shows as IPv4, as mitmproxy does.
		{&net.TCPAddr{IP: net.ParseIP("::ffff:10.0.0.1"), Port: 1}, Address{"10.0.0.1", 1}},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 8080}, Address{"::1", 8080}},
		{&net.UDPAddr{IP: net.ParseIP("192.0.2.1"), Port: 53}, Address{"192.0.2.1", 53}},
		{nil, Address{}},
		{&net.UnixAddr{Name: "/tmp/sock", Net: "unix"}, Address{Host: "/tmp/sock"}},
	}
	for _, tt := range tests {
		if got := AddrFrom(tt.in); got != tt.want {
			t.Errorf("AddrFrom(%v) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

// TestInterceptRace resumes and kills intercepted flows from other
// goroutines while the flow's own goroutine waits and then reads the
// outcome, and a third goroutine polls the state (as a UI does). Under
// -race this fails if any of the control state is read or written without
// the flow's lock.
func TestInterceptRace(t *testing.T) {
	for i := range 200 {
		f := NewHTTPFlow(nil, nil)
		f.Intercept()
		kill := i%2 == 0
		done := make(chan struct{})
		go func() {
			defer close(done)
			for f.IsIntercepted() {
				_ = f.Killable()
			}
		}()
		go func() {
			if kill {
				_ = f.Kill()
			} else {
				f.Resume()
			}
		}()
		if err := f.WaitForResume(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-done
		if got := f.Killed(); got != kill {
			t.Fatalf("round %d: Killed() = %v, want %v", i, got, kill)
		}
		if kill && (f.Error == nil || f.Error.Msg != KilledMessage || f.IsLive()) {
			t.Fatalf("round %d: killed flow has error %v, live %v", i, f.Error, f.IsLive())
		}
	}
}

// TestShare: a flow made to show part of another has its fields, shared,
// and its live, intercepted and killed state.
func TestShare(t *testing.T) {
	src := fullFlow()
	src.Intercept()
	var c Flow
	c.Share(&src.Flow)
	if c.ID != src.ID || c.Error != src.Error || c.ClientConn != src.ClientConn || c.ServerConn != src.ServerConn ||
		c.Marked() != src.Marked() || c.Comment() != src.Comment() || c.IsReplay != src.IsReplay || c.TimestampCreated != src.TimestampCreated {
		t.Errorf("fields not shared: %+v", &c)
	}
	if !c.IsLive() || !c.IsIntercepted() || c.Killed() {
		t.Errorf("state: live %v intercepted %v killed %v", c.IsLive(), c.IsIntercepted(), c.Killed())
	}
	if err := src.Kill(); err != nil {
		t.Fatal(err)
	}
	var d Flow
	d.Share(&src.Flow)
	if d.IsLive() || d.IsIntercepted() || !d.Killed() {
		t.Errorf("after Kill: live %v intercepted %v killed %v", d.IsLive(), d.IsIntercepted(), d.Killed())
	}
}

func TestMarkedComment(t *testing.T) {
	for _, tc := range []struct{ marker, comment string }{
		{"", ""}, {":default:", ""}, {"", "a comment"}, {":star:", "note\nsecond line"},
	} {
		f := NewHTTPFlow(nil, nil)
		f.SetMarked(":old:")
		f.SetComment("old")
		f.SetMarked(tc.marker)
		f.SetComment(tc.comment)
		if f.Marked() != tc.marker || f.Comment() != tc.comment {
			t.Errorf("set %q %q: got %q %q", tc.marker, tc.comment, f.Marked(), f.Comment())
		}
		st := f.State()
		if st.Str("marked") != tc.marker || st.Str("comment") != tc.comment {
			t.Errorf("state of %q %q: %q %q", tc.marker, tc.comment, st.Str("marked"), st.Str("comment"))
		}
		c := f.Copy()
		c.SetMarked("changed")
		if c.Comment() != tc.comment || f.Marked() != tc.marker {
			t.Errorf("copy of %q %q: copy's comment %q, the original's marker after the copy's change %q", tc.marker, tc.comment, c.Comment(), f.Marked())
		}
	}
}

// TestMarkedCommentConcurrent: a UI marks and comments a flow while the
// proxy's goroutine, running a script's reply, does too and encodes the
// flow's state (run with -race).
func TestMarkedCommentConcurrent(t *testing.T) {
	f := NewHTTPFlow(nil, nil)
	f.Request = treq()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			f.SetMarked(":script:")
			f.SetComment("script")
			_ = f.State()
		}
	}()
	for i := 0; i < 200; i++ {
		if f.Marked() == "" {
			f.SetMarked(":default:")
		}
		f.SetComment("ui")
		_ = f.Copy()
	}
	<-done
	if m := f.Marked(); m != ":script:" && m != ":default:" {
		t.Errorf("marker %q", m)
	}
}

// BenchmarkMarked: reading the marker (the script host sends it with every
// hook, the view and the UIs read it for every row), atomically as Marked
// does, and under the flow's lock, the alternative.
func BenchmarkMarked(b *testing.B) {
	f := NewHTTPFlow(nil, nil)
	f.SetMarked(":default:")
	b.Run("atomic", func(b *testing.B) {
		for b.Loop() {
			_ = f.Marked()
		}
	})
	var locked string
	b.Run("mutex", func(b *testing.B) {
		for b.Loop() {
			f.mu.Lock()
			locked = f.Marked()
			f.mu.Unlock()
		}
	})
	_ = locked
}

// TestKillAsWaitBegins: a kill that takes the flow's lock between
// WaitForResume's first look (intercepted) and its own lock found the flow
// running, not waiting; the wait still records the kill's error, as the
// proxy's code after it reads f.Error (review).
func TestKillAsWaitBegins(t *testing.T) {
	for i := range 50 {
		f := NewHTTPFlow(nil, nil)
		f.Intercept()
		f.mu.Lock()
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = f.WaitForResume(context.Background())
		}()
		// The wait has looked (intercepted) and blocks on the lock; the
		// kill then waits on it too, and one of them goes first.
		runtime.Gosched()
		f.mu.Unlock()
		_ = f.Kill()
		<-done
		if f.Error == nil || f.Error.Msg != KilledMessage {
			t.Fatalf("round %d: killed flow has error %v", i, f.Error)
		}
	}
}
