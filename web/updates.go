package web

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitmgo/mitmgo/filter"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/websocket"
)

// message is one /updates message: {"type": ..., "payload": ...}.
type message = map[string]any

// hub is the set of /updates connections.
type hub struct {
	mu    sync.Mutex
	conns map[*wsConn]struct{}
	// filtering: some connection has a filter (recount keeps it, under
	// mu). Flows in flight are copied for the filters only then
	// (Server.snaps): a browser that searches or highlights nothing costs
	// no copies.
	filtering atomic.Bool
}

// recountLocked updates filtering (h.mu held).
func (h *hub) recountLocked() {
	some := false
	for c := range h.conns {
		c.mu.Lock()
		some = some || len(c.filters) > 0
		c.mu.Unlock()
	}
	h.filtering.Store(some)
}

// broadcast queues msg on every connection. Messages are queued in the
// order broadcast is called, so a flow's add comes before its updates.
func (h *hub) broadcast(msg message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.conns) == 0 {
		return
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return
	}
	for c := range h.conns {
		c.send(b)
	}
}

func (h *hub) add(c *wsConn) {
	h.mu.Lock()
	h.conns[c] = struct{}{}
	h.mu.Unlock()
}

func (h *hub) remove(c *wsConn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.recountLocked()
	h.mu.Unlock()
}

func (h *hub) closeAll() {
	h.mu.Lock()
	conns := make([]*wsConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// broadcastFlow sends flows/add or flows/update, with whether the flow
// matches each of the connection's filters (flows/updateFilter). The
// filters are matched only where the flow may be read (canRead); elsewhere
// matching_filters names none of them, so that the browsers keep their
// last answer until the flow's next hook.
func (h *hub) broadcastFlow(typ string, f flow.Any, j map[string]any, canRead bool) {
	var m flow.Any
	if canRead {
		m = f
	}
	h.broadcastFlowJSON(typ, f.Base().ID, m, j, nil)
}

// broadcastFlowJSON is broadcastFlow for the flow id with j encoded already
// (fj), or not (nil); the filters are matched against m, the flow or the
// copy of it that its last hook left (nil: none, they are not matched).
func (h *hub) broadcastFlowJSON(typ, id string, m flow.Any, j map[string]any, fj []byte) {
	canRead := m != nil
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.conns) == 0 {
		return
	}
	// The flow's JSON is encoded once for every connection; only
	// matching_filters differs between them.
	if fj == nil {
		var err error
		if fj, err = json.Marshal(j); err != nil {
			return
		}
	}
	for c := range h.conns {
		matching := map[string]bool{}
		c.mu.Lock()
		complete := canRead || len(c.filters) == 0
		if canRead {
			for name, flt := range c.filters {
				matching[name] = flt.Match(m)
			}
		}
		c.mu.Unlock()
		mj, err := json.Marshal(matching)
		if err != nil {
			continue
		}
		// As json.Marshal(message{...}) writes it: keys in order; the
		// type is appended by sendFlow.
		b := make([]byte, 0, len(fj)+len(mj)+len(typ)+64)
		b = append(b, `{"payload":{"flow":`...)
		b = append(b, fj...)
		b = append(b, `,"matching_filters":`...)
		b = append(b, mj...)
		b = append(b, `},"type":"`...)
		c.sendFlow(id, b, typ, complete)
	}
}

// wsConn is one browser's /updates connection: a queue of messages that
// its own goroutine writes, so a slow browser holds up nobody else.
//
// A browser takes a flow's messages more slowly than the server makes them
// when flows come quickly (at 1,000 flows a second, four messages each,
// about 5.5 MB/s: on a loaded machine Chrome read less than that, and the
// backlog waited in the sockets' buffers, several MB, for seconds, while
// the page's script idled). So the writer sends what is queued in one write, at most once
// per batchGap, and a flows/update still queued is replaced by the same
// flow's next one: a browser behind gets each flow's latest state once
// rather than every state in turn. While the connection is congested (its
// last write was slow or large) a flow's queued flows/add takes its
// updates too, becoming an add of the flow as it is now. The kernel's
// send buffer is kept small, so that a backlog waits in the queue, where
// it shrinks so, rather than in the socket. A flow's messages keep their
// order: a message replaces only one of its flow queued after every other
// kind of message (remove, reset, filterUpdate, events and options are
// never replaced nor passed).
type wsConn struct {
	conn net.Conn
	// w writes control frames straight to conn (the reading goroutine's
	// pongs and close); data writes the messages into out, which the
	// writer sends in one write per batch.
	w    *websocket.Writer
	data *websocket.Writer
	out  *frames

	// filterMu serialises the changes of the connection's filters and
	// their answers (updateFilter, refilter): each runs to its end before
	// the next starts, so the last one made is the one in force.
	filterMu sync.Mutex

	mu      sync.Mutex
	filters map[string]filter.Filter
	exprs   map[string]string
	queue   []queued
	// pending: the queued flows/add or flows/update of each flow that
	// a later update may replace (its index in queue).
	pending map[string]int
	// congested: the last write was slow or large (the browser is
	// behind): updates merge into queued adds.
	congested bool
	// queued is the size of the messages in queue.
	queued int
	wake   chan struct{}
	closed bool
	done   chan struct{}
}

// queued is one message waiting to be written; add: a flows/add.
type queued struct {
	b   []byte
	add bool
}

// batchGap is the least time between two writes to a connection: the
// messages of a burst gather meanwhile (a flow's updates within it become
// one), and it adds at most this much to a message's way.
const batchGap = 10 * time.Millisecond

// maxBatch is how many bytes of frames are gathered before a write.
const maxBatch = 256 << 10

// A connection is congested when a write took congestedWrite or more
// (the browser does not read as fast as it is sent to), or a batch had
// congestedBatch bytes or more.
const (
	congestedWrite = 5 * time.Millisecond
	congestedBatch = 64 << 10
)

// sendBuffer is the kernel's send buffer of an /updates connection (see
// wsConn).
const sendBuffer = 64 << 10

// A browser that stops reading (a tab stopped in the debugger, a
// connection whose peer is gone) must not make the server keep every
// change for it: past maxQueued bytes waiting, or a write that takes
// writeTimeout, the connection is closed, and the page reconnects and
// loads the flows afresh.
const (
	maxQueued    = 64 << 20
	writeTimeout = 30 * time.Second
)

// enqueueLocked appends a message to the queue (c.mu held) and reports
// whether the queue has grown past maxQueued.
func (c *wsConn) enqueueLocked(m queued) (over bool) {
	c.queue = append(c.queue, m)
	c.queued += len(m.b)
	return c.queued > maxQueued
}

// send queues a message that no later one replaces.
func (c *wsConn) send(b []byte) {
	over := false
	c.mu.Lock()
	if !c.closed {
		over = c.enqueueLocked(queued{b: b})
		clear(c.pending)
	}
	c.mu.Unlock()
	if over {
		c.close()
		return
	}
	c.wakeUp()
}

// sendFlow queues a flow's flows/add or flows/update: msg is the message
// up to its type's value, typ the type; complete says its
// matching_filters names every filter of the connection, so that it may
// replace the flow's queued message.
func (c *wsConn) sendFlow(id string, msg []byte, typ string, complete bool) {
	isAdd := typ == "flows/add"
	over := false
	c.mu.Lock()
	if !c.closed {
		i, ok := c.pending[id]
		switch {
		case ok && complete && !isAdd && (!c.queue[i].add || c.congested):
			t := "flows/update"
			if c.queue[i].add {
				t = "flows/add"
			}
			c.queued -= len(c.queue[i].b)
			c.queue[i].b = append(append(msg, t...), `"}`...)
			c.queued += len(c.queue[i].b)
		default:
			over = c.enqueueLocked(queued{b: append(append(msg, typ...), `"}`...), add: isAdd})
			if complete {
				if c.pending == nil {
					c.pending = map[string]int{}
				}
				c.pending[id] = len(c.queue) - 1
			} else {
				// Nothing of this flow passes it.
				delete(c.pending, id)
			}
		}
	}
	c.mu.Unlock()
	if over {
		c.close()
		return
	}
	c.wakeUp()
}

func (c *wsConn) wakeUp() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *wsConn) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	close(c.done)
	_ = c.conn.Close()
}

func (c *wsConn) writeLoop() {
	var last time.Time
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		if d := batchGap - time.Since(last); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-c.done:
				t.Stop()
				return
			}
		}
		c.mu.Lock()
		q := c.queue
		c.queue, c.queued = nil, 0
		clear(c.pending)
		c.mu.Unlock()
		if len(q) == 0 {
			continue
		}
		start := time.Now()
		_ = c.conn.SetWriteDeadline(start.Add(writeTimeout))
		n, err := c.writeBatch(q)
		if err != nil {
			c.close()
			return
		}
		now := time.Now()
		c.mu.Lock()
		c.congested = now.Sub(start) >= congestedWrite || n >= congestedBatch
		c.mu.Unlock()
		last = now
	}
}

// writeBatch writes the messages in as few writes as maxBatch allows; n
// is the number of bytes of their payloads.
func (c *wsConn) writeBatch(q []queued) (n int, err error) {
	if c.w.Closed() {
		// A close frame was sent: nothing follows it.
		return 0, websocket.ErrClosed
	}
	c.out.begin()
	for i, m := range q {
		if err := c.data.WriteMessage(websocket.OpText, m.b, nil); err != nil {
			_ = c.out.flush()
			return n, err
		}
		n += len(m.b)
		q[i].b = nil
		if c.out.size() >= maxBatch {
			if err := c.out.flush(); err != nil {
				return n, err
			}
			c.out.begin()
		}
	}
	return n, c.out.flush()
}

// frames is what a connection's data writer writes to: while a batch is
// gathered (begin to flush) the frames are kept and then written at once,
// one system call rather than one per message.
type frames struct {
	mu       sync.Mutex
	conn     net.Conn
	buf      []byte
	batching bool
}

func (f *frames) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.batching {
		f.buf = append(f.buf, p...)
		return len(p), nil
	}
	return f.conn.Write(p)
}

func (f *frames) begin() {
	f.mu.Lock()
	f.batching = true
	f.mu.Unlock()
}

func (f *frames) size() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.buf)
}

// flush writes the gathered frames and ends the batch.
func (f *frames) flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batching = false
	if len(f.buf) == 0 {
		return nil
	}
	_, err := f.conn.Write(f.buf)
	if cap(f.buf) > 4*maxBatch {
		f.buf = nil
	} else {
		f.buf = f.buf[:0]
	}
	return err
}

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// updates upgrades GET /updates to a WebSocket and sends it the changes.
func (s *Server) updates(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if !headerHas(r.Header, "Connection", "upgrade") || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || key == "" {
		http.Error(w, "Can \"Upgrade\" only to \"WebSocket\".", http.StatusBadRequest)
		return
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "Unsupported WebSocket version", http.StatusUpgradeRequired)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot upgrade", http.StatusInternalServerError)
		return
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	h := w.Header().Clone()
	h.Set("Upgrade", "websocket")
	h.Set("Connection", "Upgrade")
	h.Set("Sec-WebSocket-Accept", base64.StdEncoding.EncodeToString(sum[:]))
	// The answer is written here rather than by WriteHeader: Hijack sends
	// a header written before it at once, and the connection must be
	// registered before the browser learns that it is connected.
	conn, brw, err := hj.Hijack()
	if err != nil {
		return
	}
	// Buffered until the Flush below (the answer is far smaller than
	// the buffer).
	_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	_ = h.Write(brw)
	_, _ = brw.WriteString("\r\n")
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(sendBuffer)
	}
	out := &frames{conn: conn}
	c := &wsConn{conn: conn, w: websocket.NewWriter(conn, websocket.Server, nil),
		data: websocket.NewWriter(out, websocket.Server, nil), out: out,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	// Registered before the client learns that it is connected, so that
	// it is sent every change it may cause from then on (what is queued
	// meanwhile follows the handshake's answer).
	s.hub.add(c)
	if err := brw.Flush(); err != nil {
		s.hub.remove(c)
		c.close()
		return
	}
	go c.writeLoop()
	go s.readLoop(c, brw.Reader)
}

// readLoop reads the browser's messages: pings are answered, a close ends
// the connection, and flows/updateFilter is answered with an empty match
// (per-connection filters come with the front end).
func (s *Server) readLoop(c *wsConn, br *bufio.Reader) {
	defer func() {
		s.hub.remove(c)
		c.close()
	}()
	rd := websocket.NewReader(br, websocket.Server, nil)
	rd.MaxMessageSize = 1 << 20
	for {
		ev, err := rd.Next()
		if err != nil {
			return
		}
		switch ev.Opcode {
		case websocket.OpClose:
			_ = c.w.WriteClose(1000, "")
			return
		case websocket.OpPing:
			_ = c.w.WriteControl(websocket.OpPong, ev.Payload)
		case websocket.OpText, websocket.OpBinary:
			var m struct {
				Type    string `json:"type"`
				Payload struct {
					Name string `json:"name"`
					Expr string `json:"expr"`
				} `json:"payload"`
			}
			if json.Unmarshal(ev.Payload, &m) != nil || m.Type != "flows/updateFilter" {
				s.log.Error("Error processing message from the web UI: unsupported command " + m.Type)
				_ = c.w.WriteClose(1011, "Internal server error.")
				return
			}
			s.updateFilter(c, m.Payload.Name, m.Payload.Expr)
		}
	}
}

func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// updateFilter answers flows/updateFilter: the ids of the flows that match
// expr (null when expr is empty). Every flow of the view is matched, as
// mitmproxy's view does: a flow in flight (which may not be read between
// its hooks) as its last render left it (Server.snaps), so that a filter
// does not hide flows in progress until they end. The copies are made
// while some browser has a filter (hub.filtering): a flow in flight since
// before the first filter is matched from its next hook on.
//
// The answer keeps its place among the flow messages: the hub's lock is
// held from setting the filter to queueing the answer, so a flow message
// matched against the new filter never goes out before an answer made
// without it (the browser would replace its match with the answer's). The
// flows are matched under the view's lock, so that no command changes or
// resumes one while it is read.
func (s *Server) updateFilter(c *wsConn, name, expr string) {
	var flt filter.Filter
	if expr != "" {
		var err error
		if flt, err = filter.Parse(expr); err != nil {
			s.log.Error("Error processing message from the web UI: " + err.Error())
			c.filterMu.Lock()
			c.mu.Lock()
			delete(c.filters, name)
			delete(c.exprs, name)
			c.mu.Unlock()
			s.hub.mu.Lock()
			s.hub.recountLocked()
			s.hub.mu.Unlock()
			c.filterMu.Unlock()
			_ = c.w.WriteClose(1011, "Internal server error.")
			return
		}
	}
	c.filterMu.Lock()
	defer c.filterMu.Unlock()
	s.setFilterLocked(c, name, expr, flt)
}

// setFilterLocked sets (or, flt nil, removes) a filter of the connection
// and queues its answer; c.filterMu is held.
func (s *Server) setFilterLocked(c *wsConn, name, expr string, flt filter.Filter) {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	c.mu.Lock()
	if c.filters == nil {
		c.filters, c.exprs = map[string]filter.Filter{}, map[string]string{}
	}
	if flt == nil {
		delete(c.filters, name)
		delete(c.exprs, name)
	} else {
		c.filters[name], c.exprs[name] = flt, expr
	}
	c.mu.Unlock()
	s.hub.recountLocked()
	if flt == nil {
		b, err := json.Marshal(message{"type": "flows/filterUpdate", "payload": map[string]any{"name": name, "matching_flow_ids": nil}})
		if err == nil {
			c.send(b)
		}
		return
	}
	var answer []byte
	s.view.WithShownReadable(func(flows []flow.Any, readable []bool) {
		targets, ok := s.matchTargets(flows, readable)
		answer = filterUpdateJSON(name, flows, matchFlows(flt, targets, ok))
	})
	c.send(answer)
}

// parallelMatch is the number of flows from which a filter is matched on
// every CPU.
const parallelMatch = 4096

// matchFlows says which of the flows that may be read match flt, matching
// them in parallel on large views.
func matchFlows(flt filter.Filter, flows []flow.Any, readable []bool) []bool {
	match := make([]bool, len(flows))
	run := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			match[i] = readable[i] && flt.Match(flows[i])
		}
	}
	n := runtime.GOMAXPROCS(0)
	if len(flows) < parallelMatch || n < 2 {
		run(0, len(flows))
		return match
	}
	var wg sync.WaitGroup
	per := (len(flows) + n - 1) / n
	for lo := 0; lo < len(flows); lo += per {
		hi := min(lo+per, len(flows))
		wg.Go(func() { run(lo, hi) })
	}
	wg.Wait()
	return match
}

// filterUpdateJSON is the flows/filterUpdate message with the ids of the
// matching flows, as json.Marshal writes it, made without a []string of
// the ids and with the usual ids (UUIDs) copied as they are.
func filterUpdateJSON(name string, flows []flow.Any, match []bool) []byte {
	n := 0
	for _, m := range match {
		if m {
			n++
		}
	}
	nj, _ := json.Marshal(name)
	b := make([]byte, 0, 96+len(nj)+n*39)
	b = append(b, `{"payload":{"matching_flow_ids":[`...)
	first := true
	for i, m := range match {
		if !m {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, flows[i].Base().ID)
	}
	b = append(b, `],"name":`...)
	b = append(b, nj...)
	b = append(b, `},"type":"flows/filterUpdate"}`...)
	return b
}

// plainJSON marks the bytes that json.Marshal copies into a string as
// they are and that ids usually consist of.
var plainJSON = func() (t [256]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") {
		t[c] = true
	}
	return t
}()

// appendJSONString appends s as a JSON string, as json.Marshal would.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plainJSON[s[i]] {
			j, _ := json.Marshal(s)
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// refilter answers every connection's filters again after flows/reset,
// as mitmproxy's broadcast_flow_reset. Each connection's filters are read
// once its filterMu is held, not before: a filter the browser changes
// meanwhile is answered as it is now, never put back as it was.
func (h *hub) refilter(s *Server) {
	h.mu.Lock()
	conns := make([]*wsConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.filterMu.Lock()
		c.mu.Lock()
		type named struct {
			name, expr string
			flt        filter.Filter
		}
		all := make([]named, 0, len(c.exprs))
		for name, expr := range c.exprs {
			all = append(all, named{name, expr, c.filters[name]})
		}
		c.mu.Unlock()
		for _, n := range all {
			s.setFilterLocked(c, n.name, n.expr, n.flt)
		}
		c.filterMu.Unlock()
	}
}
