package proxy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/pyrepr"
	"github.com/mitmgo/mitmgo/internal/websocket"
)

// The WebSocket layer takes over a connection whose WebSocket handshake
// succeeded (with the websocket option on), as mitmproxy's WebsocketLayer
// does: it reads the messages both sides send, gives each whole message to
// websocket_message before it is forwarded (an addon may change its
// content or type, or drop it), relays pings and pongs, and relays the
// close handshake and records it on the flow. Addons may inject messages
// (Server.InjectWebSocket).
//
// Each side is read on its own goroutine. Hooks run one at a time (the
// newest message is the one the hook is about, and an intercepted flow
// holds both directions, as mitmproxy's layer does); what a hook lets
// through is written outside that lock, so that a peer slow to read holds
// up only its own direction.

// Errors of Server.InjectWebSocket, with mitmproxy's words.
var (
	ErrNotWebSocket = errors.New("Cannot inject WebSocket messages into non-WebSocket flows.")
	ErrNotLive      = errors.New("Flow is not from a live connection.")
)

// InjectWebSocket sends a message into a live WebSocket connection, as
// mitmproxy's inject.websocket command: to the client when toClient, else
// to the server, as a text message when isText, else binary. Like a
// message read from either side, it goes through websocket_message first
// (marked Injected, from the side it pretends to come from) and may be
// changed or dropped there. It returns at once, so that a hook may inject
// into its own flow; injected messages go out in the order they were
// injected, each in pieces of websocket.FragmentSize bytes.
//
// As in mitmproxy, the connection is found by the flow's client
// connection (which carries at most one WebSocket), so a copy of the flow,
// or one rebuilt from its state, does; the message is recorded on the live
// flow. The error says the flow is not a WebSocket flow, or its connection
// is gone.
func (s *Server) InjectWebSocket(f *flow.HTTPFlow, toClient bool, content []byte, isText bool) error {
	if f == nil || f.WebSocket == nil {
		return ErrNotWebSocket
	}
	ws, err := s.webSockets.live(f.ClientConn)
	if err != nil {
		return err
	}
	typ := flow.WebSocketBinary
	if isText {
		typ = flow.WebSocketText
	}
	return ws.inject(&flow.WebSocketMessage{Type: typ, FromClient: !toClient, Content: content, Timestamp: nowSeconds(), Injected: true})
}

// wsRegistry finds the live WebSocket connections by the ID of their
// client connection, for injection.
type wsRegistry = connRegistry[*wsConn]

// wsConn is one WebSocket connection through the proxy.
type wsConn struct {
	cc     *clientConn
	m      *addon.Manager
	f      *flow.HTTPFlow
	ctx    context.Context
	client *stream
	server *stream
	ext    *websocket.Deflate
	// toClient and toServer send to either side; each is safe for
	// concurrent use.
	toClient *websocket.Writer
	toServer *websocket.Writer
	// bufs are what each direction's messages were read into (see
	// msgBufs), and msgs their records; index 1 is the client's.
	bufs [2]msgBufs
	msgs [2]records[flow.WebSocketMessage]

	// mu runs one hook at a time and guards f.WebSocket and ended.
	mu sync.Mutex
	// ended is set once the connection is closing: no more hooks.
	ended bool

	// The injected messages waiting for their hook, and the goroutine
	// that runs them.
	injectMu sync.Mutex
	queue    []*flow.WebSocketMessage
	stopped  bool
	wake     chan struct{}
}

// webSocket runs the WebSocket layer on a connection that switched
// protocols: websocket_start, the messages both ways, websocket_end once
// either side closed (or went away) and both directions are done.
func (r *flowRun) webSocket(client, server *stream) {
	f, cc := r.f, r.cc
	ext, unknown, err := websocket.ParseExtensions(f.Response.Headers.Get("sec-websocket-extensions"))
	for _, name := range unknown {
		cc.log().Info(fmt.Sprintf("Ignoring unknown WebSocket extension %s.", pyrepr.Str(name)))
	}
	if err != nil {
		cc.log().Info(fmt.Sprintf("Ignoring the WebSocket compression the server agreed to: %v", err))
		ext = nil
	}
	c := &wsConn{
		cc: cc, m: r.m, f: f, ctx: r.ctx, client: client, server: server, ext: ext,
		toClient: newWSWriter(client, websocket.Server, ext),
		toServer: newWSWriter(server, websocket.Client, ext),
		wake:     make(chan struct{}, 1),
	}
	c.bufs[0].pool, c.bufs[1].pool = &cc.s.bodies, &cc.s.bodies
	// Messages injected from websocket_start wait for its end.
	cc.s.webSockets.add(cc.client.ID, c)
	r.m.WebSocketStart(f)
	if c.afterHook() {
		var wg sync.WaitGroup
		wg.Go(c.injector)
		wg.Go(func() { c.pump(true) })
		c.pump(false)
		cc.s.webSockets.remove(cc.client.ID, c)
		c.stopInjector()
		wg.Wait()
	} else {
		cc.s.webSockets.remove(cc.client.ID, c)
		c.stopInjector()
	}
	c.mu.Lock()
	if f.WebSocket.TimestampEnd == 0 {
		f.WebSocket.TimestampEnd = nowSeconds()
	}
	c.mu.Unlock()
	r.m.WebSocketEnd(f)
	if !r.m.KeepsFlows() {
		c.bufs[0].recycle()
		c.bufs[1].recycle()
	}
}

// newWSWriter is a Writer to st that sends a large frame with its header
// in one system call (see websocket.Writer.SetDirect).
func newWSWriter(st *stream, role websocket.Role, ext *websocket.Deflate) *websocket.Writer {
	w := websocket.NewWriter(st.w, role, ext)
	if d := st.direct; d != nil {
		w.SetDirect(d.writeHeadBody)
	}
	return w
}

// msgBufs gives one direction's Reader the buffers its messages are read
// into. Every message is kept in the flow (as mitmproxy keeps them), and
// its content is the buffer it was read into, the one it is forwarded
// from: no copy. Large messages get buffers from the body pool (when pool
// is set), given back once the connection ended if no addon keeps flows
// (addon.FlowKeeper): allocating, zeroing and collecting a fresh 64 KiB
// buffer per message took a fifth of the proxy's CPU time with 64 KiB
// messages (page faults, perf). Small ones are carved from a slab shared
// with the messages read before them, which costs a fraction of an
// allocation each and leaves the garbage collector fewer objects to mark;
// each piece's capacity ends where it does, so that an addon appending to
// a message's content cannot reach the next one.
type msgBufs struct {
	pool   *bodyPool
	pooled []*[]byte
	// slab is what is left of the current slab, slabSize its size.
	slab     []byte
	slabSize int
}

// maxSlabPiece is the largest message carved from a slab, maxSlab the
// largest slab: a slab starts small (a connection that sends little holds
// little) and doubles as messages come.
const (
	maxSlabPiece = 2 << 10
	minSlab      = 1 << 10
	maxSlab      = 32 << 10
)

// alloc is websocket.Reader's Alloc.
func (b *msgBufs) alloc(n int) []byte {
	if b.pool != nil {
		if p := b.pool.get(int64(n)); p != nil {
			b.pooled = append(b.pooled, p)
			return (*p)[:0]
		}
	}
	if n > maxSlabPiece {
		return make([]byte, 0, n)
	}
	if len(b.slab) < n {
		b.slabSize = min(max(2*b.slabSize, minSlab, n), maxSlab)
		b.slab = make([]byte, b.slabSize)
	}
	piece := b.slab[:0:n]
	b.slab = b.slab[n:]
	return piece
}

// free gives back p at once when it is a pooled buffer a message outgrew
// (see websocket.Reader.Free): a long connection carrying large fragmented
// messages would otherwise hold each outgrown buffer until it ends. Other
// buffers (slab pieces, made ones) are left to the collector.
func (b *msgBufs) free(p []byte) {
	if b.pool == nil || cap(p) == 0 {
		return
	}
	first := &p[:1][0]
	for i, q := range b.pooled {
		if cap(*q) > 0 && &(*q)[:1][0] == first {
			b.pool.put(q)
			b.pooled = slices.Delete(b.pooled, i, i+1)
			return
		}
	}
}

// clone returns a copy of p in a buffer from alloc.
func (b *msgBufs) clone(p []byte) []byte {
	return append(b.alloc(len(p)), p...)
}

// records hands out a flow's message records (flow.WebSocketMessage,
// flow.TCPMessage) from batches, for the reasons msgBufs carves small
// messages from slabs; batches grow from 4 to 64 records.
type records[T any] struct {
	free []T
	size int
}

// next returns a new record, zero.
func (r *records[T]) next() *T {
	if len(r.free) == 0 {
		r.size = min(max(2*r.size, 4), 64)
		r.free = make([]T, r.size)
	}
	m := &r.free[0]
	r.free = r.free[1:]
	return m
}

// recycle gives the pooled buffers back: the flow's messages must no
// longer be read.
func (b *msgBufs) recycle() {
	for _, p := range b.pooled {
		b.pool.put(p)
	}
	b.pooled = nil
}

// afterHook waits while the flow is intercepted and reports false when
// the connection must end: the flow was killed, or the client is gone
// while it waited. Either closes both sides at once.
func (c *wsConn) afterHook() bool {
	err := c.f.WaitForResume(c.ctx)
	if err == nil && !c.f.Killed() {
		return true
	}
	c.abort()
	return false
}

// abort ends the connection without a close handshake (an addon killed
// the flow): mitmproxy's code for a connection that ended without one.
func (c *wsConn) abort() {
	ws := c.f.WebSocket
	if !c.ended {
		c.ended = true
		ws.TimestampEnd = nowSeconds()
		ws.CloseCode = websocket.CloseAbnormal
	}
	c.server.conn.Close()
	c.client.conn.Close()
}

// pump reads one side until it closes, or the connection ends.
func (c *wsConn) pump(fromClient bool) {
	src, role, dst, bufs, msgs := c.server, websocket.Client, c.toClient, &c.bufs[0], &c.msgs[0]
	if fromClient {
		src, role, dst, bufs, msgs = c.client, websocket.Server, c.toServer, &c.bufs[1], &c.msgs[1]
	}
	rd := websocket.NewReader(src.r, role, c.ext)
	rd.Alloc = bufs.alloc
	rd.Free = bufs.free
	for {
		ev, err := rd.Next()
		if err != nil {
			var pe *websocket.ProtocolError
			if errors.As(err, &pe) {
				c.close(fromClient, pe.Code, pe.Reason, false)
			} else {
				// The side went away without a close frame.
				c.close(fromClient, websocket.CloseAbnormal, "", true)
			}
			return
		}
		switch ev.Opcode {
		case websocket.OpText, websocket.OpBinary:
			fragments := ev.Fragments
			if fragments == nil {
				fragments = []int{len(ev.Payload)}
			}
			msg := msgs.next()
			*msg = flow.WebSocketMessage{Type: int(ev.Opcode), FromClient: fromClient, Content: ev.Payload, Timestamp: nowSeconds()}
			if !c.message(msg, fragments) {
				return
			}
		case websocket.OpPing, websocket.OpPong:
			c.cc.log().Info(fmt.Sprintf("Received WebSocket %s from %s (payload: %s)",
				map[websocket.Opcode]string{websocket.OpPing: "ping", websocket.OpPong: "pong"}[ev.Opcode],
				side(fromClient), pyrepr.Bytes(ev.Payload)))
			_ = dst.WriteControl(ev.Opcode, ev.Payload)
		case websocket.OpClose:
			c.close(fromClient, ev.CloseCode, ev.CloseReason, false)
			return
		}
	}
}

func side(fromClient bool) string {
	if fromClient {
		return "client"
	}
	return "server"
}

// message runs websocket_message for a message (read, or injected) and
// forwards what the hooks leave of it. original are the lengths of the
// frames it came in (nil for an injected one). It reports false once the
// connection is ending.
func (c *wsConn) message(msg *flow.WebSocketMessage, original []int) bool {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return false
	}
	ws := c.f.WebSocket
	ws.Messages = append(ws.Messages, msg)
	c.m.WebSocketMessage(c.f)
	if !c.afterHook() {
		c.mu.Unlock()
		return false
	}
	dropped, typ, content := msg.Dropped, msg.Type, msg.Content
	c.mu.Unlock()
	if dropped {
		return true
	}
	// A hook may have changed the type (mitmproxy keeps the one the
	// message came with) or the content; text goes out as valid UTF-8
	// (as mitmproxy's decoding with errors="replace" makes it).
	op := websocket.OpBinary
	if typ == flow.WebSocketText {
		op = websocket.OpText
		content = websocket.ValidUTF8(content)
	}
	dst := c.toServer
	if !msg.FromClient {
		dst = c.toClient
	}
	// A write that fails means that side is gone: its reader finds out
	// and ends the connection.
	_ = dst.WriteMessage(op, content, websocket.Refragment(content, original, op == websocket.OpText))
	return true
}

// close ends the connection because one side closed it (fromClient), with
// a close frame, a protocol error, or by going away (gone): as mitmproxy,
// the flow records the close, each side that can still take it gets the
// close frame (the one that sent it, its answer), and both connections
// close. The first close wins.
func (c *wsConn) close(fromClient bool, code int, reason string, gone bool) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	ws := c.f.WebSocket
	ws.TimestampEnd = nowSeconds()
	byClient := fromClient
	ws.ClosedByClient = &byClient
	ws.CloseCode, ws.CloseReason = code, reason
	c.mu.Unlock()
	for _, toClient := range []bool{false, true} {
		w, st := c.toServer, c.server
		if toClient {
			w, st = c.toClient, c.client
		}
		if !(gone && toClient == fromClient) {
			_ = w.WriteClose(code, reason)
		}
		st.conn.Close()
	}
}

// inject queues an injected message for its hook.
func (c *wsConn) inject(msg *flow.WebSocketMessage) error {
	c.injectMu.Lock()
	defer c.injectMu.Unlock()
	if c.stopped {
		return ErrNotLive
	}
	c.queue = append(c.queue, msg)
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// injector runs the injected messages through the hooks, in order, until
// the connection ends.
func (c *wsConn) injector() {
	for range c.wake {
		for {
			c.injectMu.Lock()
			if c.stopped || len(c.queue) == 0 {
				c.injectMu.Unlock()
				break
			}
			msg := c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			c.injectMu.Unlock()
			c.message(msg, nil)
		}
	}
}

// stopInjector ends the injector; messages still queued are not sent.
func (c *wsConn) stopInjector() {
	c.injectMu.Lock()
	defer c.injectMu.Unlock()
	if !c.stopped {
		c.stopped = true
		c.queue = nil
		close(c.wake)
	}
}
