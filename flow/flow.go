// Package flow is mitmgo's flow model: HTTP flows with their requests and
// responses, header multidicts, decoded content views, the connections they
// travelled over, and conversion to and from mitmproxy's state dict (the
// format of flow files and of the Python script host's pipe).
//
// The package does no I/O. Its semantics follow mitmproxy's flow API so that
// Go addons and Python scripts see the same thing.
package flow

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/mitmgo/mitmgo/tnetstring"
)

// KilledMessage is the error message of a killed flow.
const KilledMessage = "Connection killed."

// ErrNotKillable is returned by Kill on a flow that is not live or was killed
// already.
var ErrNotKillable = errors.New("flow is not killable")

// Error is a failure that ended a flow (a broken upstream, a protocol error, a
// kill), as opposed to an HTTP error response.
type Error struct {
	Msg       string
	Timestamp float64
}

// NewError returns an Error stamped now.
func NewError(msg string) *Error { return &Error{Msg: msg, Timestamp: nowSeconds()} }

func (e *Error) Error() string { return e.Msg }

// Flow holds what every flow type shares.
type Flow struct {
	ID         string
	Error      *Error
	ClientConn *Client
	ServerConn *Server
	// IsReplay is "", "request" (client replay) or "response" (server replay).
	IsReplay string
	// Metadata is free-form data that addons attach; values must be
	// serialisable (nil, bool, int64, float64, string, []byte, []any,
	// map-like *Dict values of package tnetstring).
	Metadata         Metadata
	TimestampCreated float64

	// marked and comment (Marked, Comment) are written by a UI's commands
	// on its goroutine and by a Python script's reply on the proxy's,
	// while the other side reads them (the view files a flow by its mark,
	// the script host sends them with every hook): atomic pointers, read
	// without the lock as ctl is. A read is an atomic load, 16
	// instructions per read in BenchmarkMarked under callgrind against 32
	// under f.mu (whose lock and unlock are two atomic read-modify-writes
	// that a UI's reads would also contend for). nil is "".
	marked, comment atomic.Pointer[string]

	// mu serialises changes to the control state below, which other
	// goroutines (a UI, a script host thread, a command) make while the
	// flow's own goroutine runs its hooks or waits.
	mu sync.Mutex
	// ctl holds the ctl* bits (live, intercepted, killed). It is changed
	// under mu and read without it (atomically): the proxy reads it
	// several times per hook, and on a keep-alive request the lock pairs
	// cost about 0.2 µs of a 16 µs round trip (a perf profile of
	// mitmdump under wrk).
	ctl uint32
	// resumed is closed when an intercepted flow is resumed (under mu).
	resumed chan struct{}
	// backup is the state saved by Backup for Revert (see any.go).
	backup *tnetstring.Dict
}

// Metadata is a flow's free-form metadata, kept in insertion order.
type Metadata struct {
	Keys   []string
	Values map[string]any
}

// Get returns the value stored under key.
func (m *Metadata) Get(key string) (any, bool) {
	v, ok := m.Values[key]
	return v, ok
}

// Set stores value under key.
func (m *Metadata) Set(key string, value any) {
	if m.Values == nil {
		m.Values = map[string]any{}
	}
	if _, ok := m.Values[key]; !ok {
		m.Keys = append(m.Keys, key)
	}
	m.Values[key] = value
}

// Len is the number of keys.
func (m *Metadata) Len() int { return len(m.Keys) }

// clone copies the metadata deeply: values of the serialisable types
// ([]byte, []any, *tnetstring.Dict) are copied, not shared.
func (m Metadata) clone() Metadata {
	c := Metadata{Keys: append([]string(nil), m.Keys...)}
	if m.Values != nil {
		c.Values = make(map[string]any, len(m.Values))
		for k, v := range m.Values {
			c.Values[k] = tnetstring.Clone(v)
		}
	}
	return c
}

func newFlow(client *Client, server *Server, live bool) Flow {
	return Flow{ID: NewID(), ClientConn: client, ServerConn: server, TimestampCreated: nowSeconds(), ctl: ctlBits(live, ctlLive|ctlRunning)}
}

// Marked is the flow's marker, "" when unmarked; mitmproxy's default
// marker is ":default:". Any goroutine may call it.
func (f *Flow) Marked() string { return loadStr(&f.marked) }

// SetMarked sets the marker ("" unmarks). Any goroutine may call it.
func (f *Flow) SetMarked(marker string) { storeStr(&f.marked, marker) }

// Comment is the flow's comment. Any goroutine may call it.
func (f *Flow) Comment() string { return loadStr(&f.comment) }

// SetComment sets the comment. Any goroutine may call it.
func (f *Flow) SetComment(comment string) { storeStr(&f.comment, comment) }

func loadStr(p *atomic.Pointer[string]) string {
	if s := p.Load(); s != nil {
		return *s
	}
	return ""
}

// storeStr stores s; "" is stored as nil, so that unmarking and flows
// without a comment allocate nothing.
func storeStr(p *atomic.Pointer[string], s string) {
	if s == "" {
		p.Store(nil)
		return
	}
	p.Store(&s)
}

// The bits of Flow.ctl.
const (
	ctlLive uint32 = 1 << iota
	ctlIntercepted
	ctlKilled
	// ctlSettled: the flow's last hook ran (see Settle).
	ctlSettled
	// ctlWaiting: the proxy waits in WaitForResume (intercepted is not
	// enough: a hook intercepts, then later addons' hooks still run).
	ctlWaiting
	// ctlRunning: the proxy runs the flow, from its start (or a replay's)
	// until it ends it (SetLive(false)). Unlike ctlLive, Kill leaves it:
	// a flow killed while it runs is still the proxy's until it ends.
	ctlRunning
)

// ctlBits is bit when on is true, else 0.
func ctlBits(on bool, bit uint32) uint32 {
	if on {
		return bit
	}
	return 0
}

func (f *Flow) control() uint32 { return atomic.LoadUint32(&f.ctl) }

// setControlLocked changes the bits in mask to those of bits; f.mu is held.
func (f *Flow) setControlLocked(mask, bits uint32) {
	atomic.StoreUint32(&f.ctl, f.control()&^mask|bits&mask)
}

// IsLive reports whether the flow belongs to an active connection.
func (f *Flow) IsLive() bool { return f.control()&ctlLive != 0 }

// SetLive marks the flow as belonging to an active connection, or not. The
// proxy ends a flow with SetLive(false); a replay makes one live again.
//
// Ending a flow that was killed while it ran records the kill's error here
// (see Kill): the proxy's goroutine calls SetLive(false), so the write
// cannot race with the proxy's own reads and writes of Error.
func (f *Flow) SetLive(live bool) {
	f.mu.Lock()
	if live {
		// A replay runs the flow's hooks again.
		f.setControlLocked(ctlLive|ctlRunning|ctlSettled, ctlLive|ctlRunning)
	} else {
		f.setControlLocked(ctlLive|ctlRunning, 0)
		f.recordKillLocked()
	}
	f.mu.Unlock()
}

// Settle is called in the flow's last hook, on its goroutine, by the addon
// that lets other goroutines read flows that are over (the view), under
// the lock that those readers and the commands that kill take: from then
// on the proxy no longer reads or writes the flow's Error, so a Kill
// records its error at once, and a kill asked for while the flow ran is
// recorded here, before any reader may look.
func (f *Flow) Settle() {
	f.mu.Lock()
	f.setControlLocked(ctlSettled, ctlSettled)
	f.recordKillLocked()
	f.mu.Unlock()
}

// recordKillLocked gives a flow killed while it ran the kill's error, unless
// it has one (see Kill). Only the proxy's goroutine gets here, through
// SetLive(false), WaitForResume and Settle.
func (f *Flow) recordKillLocked() {
	if f.control()&ctlKilled != 0 && f.Error == nil {
		f.Error = NewError(KilledMessage)
	}
}

// Killable reports whether Kill may be called: the flow is live and not
// killed already.
func (f *Flow) Killable() bool { return f.control()&(ctlLive|ctlKilled) == ctlLive }

// Kill marks the flow as killed: the proxy drops its connection at the next
// step. It is a no-op returning ErrNotKillable on flows that are not live.
//
// Kill may be called from any goroutine. On an intercepted flow the proxy
// waits for, or one whose last hook ran (Settle), its Error is set at
// once, as mitmproxy's flow.kill() does: the proxy waits in WaitForResume,
// or no longer touches Error. On a flow that runs, the caller may be a
// command on another goroutine while the proxy writes the flow, so Kill
// only marks it: the proxy ends it at its next step and records the error
// then (WaitForResume after a hook, SetLive(false) when it ends the flow,
// Settle in its last hook), before the error hook and before other
// goroutines may read the flow.
func (f *Flow) Kill() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.control()&(ctlLive|ctlKilled) != ctlLive {
		return ErrNotKillable
	}
	quiet := f.control()&(ctlWaiting|ctlSettled) != 0
	f.setControlLocked(ctlLive|ctlKilled, ctlKilled)
	if quiet {
		f.Error = NewError(KilledMessage)
	}
	f.resumeLocked()
	return nil
}

// Killed reports whether the flow was killed: by Kill, or, for a flow read
// from a file, as its recorded error says.
func (f *Flow) Killed() bool { return f.control()&ctlKilled != 0 }

// Waiting reports whether the proxy waits for the flow to be resumed
// (WaitForResume): until Resume or Kill it neither reads nor writes the
// flow, so a command may (see addon.Context.EditReadable).
func (f *Flow) Waiting() bool { return f.control()&ctlWaiting != 0 }

// Running reports whether the proxy runs the flow: from its start (or a
// replay's) until the proxy ends it, killed or not. A flow that is not
// running, or that the proxy waits for (Waiting), is not written by the
// proxy (see addon.Quiet).
func (f *Flow) Running() bool { return f.control()&ctlRunning != 0 }

// IsIntercepted reports whether the flow is paused.
func (f *Flow) IsIntercepted() bool { return f.control()&ctlIntercepted != 0 }

// Intercept pauses the flow: the proxy waits at the next step until Resume
// (or Kill) is called.
func (f *Flow) Intercept() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.IsIntercepted() {
		return
	}
	f.resumed = make(chan struct{})
	f.setControlLocked(ctlIntercepted, ctlIntercepted)
}

// Resume continues an intercepted flow, and reports whether it was
// intercepted: whether a UI's resume changed it (and its update hook is
// due). It may be called from any goroutine.
func (f *Flow) Resume() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resumeLocked()
}

func (f *Flow) resumeLocked() bool {
	if !f.IsIntercepted() {
		return false
	}
	f.setControlLocked(ctlIntercepted|ctlWaiting, 0)
	if f.resumed != nil {
		close(f.resumed)
		f.resumed = nil
	}
	return true
}

// WaitForResume blocks while the flow is intercepted, until Resume, Kill or
// the context ends. It returns at once for a flow that is not intercepted.
//
// The proxy calls it after every hook, so it also records the error of a
// flow killed while it ran (see Kill).
func (f *Flow) WaitForResume(ctx context.Context) error {
	if c := f.control(); c&ctlIntercepted == 0 {
		// Intercept, when it comes from another goroutine, races with
		// this step either way; from the flow's own hooks it happened
		// before.
		if c&ctlKilled != 0 {
			f.mu.Lock()
			f.recordKillLocked()
			f.mu.Unlock()
		}
		return nil
	}
	f.mu.Lock()
	ch := f.resumed
	if ch != nil {
		f.setControlLocked(ctlWaiting, ctlWaiting)
	} else {
		// Resumed or killed between the look above and the lock: a kill
		// then found the flow running, and its error is recorded here,
		// as in the first branch (review: dns.go read a nil Error).
		f.recordKillLocked()
	}
	f.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		f.mu.Lock()
		f.setControlLocked(ctlWaiting, 0)
		f.mu.Unlock()
		return ctx.Err()
	}
}

// setControl restores the control state of a flow read from a state dict
// or copied: a flow that is not live is never waited on, so an intercepted
// one gets no channel until Intercept is called again.
func (f *Flow) setControl(intercepted, killed bool) {
	f.mu.Lock()
	f.setControlLocked(ctlIntercepted|ctlKilled, ctlBits(intercepted, ctlIntercepted)|ctlBits(killed, ctlKilled))
	f.mu.Unlock()
}

// HTTPFlow is one HTTP request and its response, or the error that ended it.
// A WebSocket connection lives on in the flow of its handshake.
type HTTPFlow struct {
	Flow
	Request  *Request
	Response *Response
	// WebSocket is set once the connection has switched to WebSocket.
	WebSocket *WebSocketData
	// streams is the progress of bodies the proxy streams (StreamProgress);
	// a copy of the flow does not share it.
	streams streamProgress
}

// NewHTTPFlow returns a live flow for a request from client to server.
func NewHTTPFlow(client *Client, server *Server) *HTTPFlow {
	return &HTTPFlow{Flow: newFlow(client, server, true)}
}

// Type is "http".
func (f *HTTPFlow) Type() string { return "http" }

// TimestampStart is the request's start time.
func (f *HTTPFlow) TimestampStart() float64 {
	if f.Request != nil {
		return f.Request.TimestampStart
	}
	return f.TimestampCreated
}

// Copy returns a deep copy with a new id that is not live, as mitmproxy's
// flow.copy() (which goes through the state dict): nothing reachable from
// the copy is shared with f.
func (f *HTTPFlow) Copy() *HTTPFlow {
	c := &HTTPFlow{Request: f.Request.Clone(), Response: f.Response.Clone()}
	f.Flow.copyInto(&c.Flow)
	if f.WebSocket != nil {
		ws := *f.WebSocket
		ws.Messages = append([]*WebSocketMessage(nil), f.WebSocket.Messages...)
		for i, m := range ws.Messages {
			mc := *m
			mc.Content = cloneBytes(m.Content)
			ws.Messages[i] = &mc
		}
		if f.WebSocket.ClosedByClient != nil {
			b := *f.WebSocket.ClosedByClient
			ws.ClosedByClient = &b
		}
		c.WebSocket = &ws
	}
	return c
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func cloneTLSInfo(t TLSInfo) TLSInfo {
	if t.CertificateList != nil {
		certs := make([][]byte, len(t.CertificateList))
		for i, c := range t.CertificateList {
			certs[i] = cloneBytes(c)
		}
		t.CertificateList = certs
	}
	t.ALPNOffers = slices.Clone(t.ALPNOffers)
	t.CipherList = slices.Clone(t.CipherList)
	return t
}

func cloneError(e *Error) *Error {
	if e == nil {
		return nil
	}
	c := *e
	return &c
}

func cloneClient(c *Client) *Client {
	if c == nil {
		return nil
	}
	cc := *c
	cc.end = nil
	cc.SetTimestampEnd(c.TimestampEnd())
	cc.TLSInfo = cloneTLSInfo(c.TLSInfo)
	cc.MitmCert = cloneBytes(c.MitmCert)
	return &cc
}

func cloneServer(s *Server) *Server {
	if s == nil {
		return nil
	}
	sc := *s
	sc.end = nil
	sc.SetTimestampEnd(s.TimestampEnd())
	sc.TLSInfo = cloneTLSInfo(s.TLSInfo)
	if s.Via != nil {
		via := *s.Via
		sc.Via = &via
	}
	return &sc
}

// WebSocket message types, as in RFC 6455 opcodes.
const (
	WebSocketText   = 1
	WebSocketBinary = 2
)

// WebSocketData is the WebSocket part of an HTTPFlow.
type WebSocketData struct {
	Messages []*WebSocketMessage
	// ClosedByClient is nil while open or when unknown.
	ClosedByClient *bool
	CloseCode      int
	CloseReason    string
	TimestampEnd   float64
}

// WebSocketMessage is one reassembled WebSocket message.
type WebSocketMessage struct {
	// Type is WebSocketText or WebSocketBinary.
	Type       int
	FromClient bool
	Content    []byte
	Timestamp  float64
	Dropped    bool
	Injected   bool
}

// IsText reports a text message.
func (m *WebSocketMessage) IsText() bool { return m.Type == WebSocketText }

// Drop stops the message from being forwarded.
func (m *WebSocketMessage) Drop() { m.Dropped = true }

// TCPMessage is one chunk of a raw TCP stream, as read.
type TCPMessage struct {
	FromClient bool
	Content    []byte
	Timestamp  float64
	// Injected marks a message an addon injected (the inject.tcp
	// command), which FromClient's side never sent. mitmproxy's
	// TCPMessage has no such field, and its flow files keep three values
	// per message, so this one lives in memory only.
	Injected bool
}

// TCPFlow is a raw TCP (or TLS-decrypted) stream that is not HTTP.
type TCPFlow struct {
	Flow
	Messages []*TCPMessage
}

// NewTCPFlow returns a live TCP flow.
func NewTCPFlow(client *Client, server *Server) *TCPFlow {
	return &TCPFlow{Flow: newFlow(client, server, true)}
}

// Type is "tcp".
func (f *TCPFlow) Type() string { return "tcp" }
