package web

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"

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
// they are reported as not matching until the flow's next hook.
func (h *hub) broadcastFlow(typ string, f flow.Any, j map[string]any, canRead bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns {
		c.mu.Lock()
		matching := make(map[string]bool, len(c.filters))
		for name, flt := range c.filters {
			matching[name] = canRead && flt.Match(f)
		}
		c.mu.Unlock()
		b, err := json.Marshal(message{"type": typ, "payload": map[string]any{"flow": j, "matching_filters": matching}})
		if err != nil {
			continue
		}
		c.send(b)
	}
}

// wsConn is one browser's /updates connection: a queue of messages that
// its own goroutine writes, so a slow browser holds up nobody else.
type wsConn struct {
	conn net.Conn
	w    *websocket.Writer

	mu      sync.Mutex
	filters map[string]filter.Filter
	exprs   map[string]string
	queue   [][]byte
	wake    chan struct{}
	closed  bool
	done    chan struct{}
}

func (c *wsConn) send(b []byte) {
	c.mu.Lock()
	if !c.closed {
		c.queue = append(c.queue, b)
	}
	c.mu.Unlock()
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
	for {
		c.mu.Lock()
		q := c.queue
		c.queue = nil
		c.mu.Unlock()
		for _, b := range q {
			if err := c.w.WriteMessage(websocket.OpText, b, nil); err != nil {
				c.close()
				return
			}
		}
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
	}
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
	h := w.Header()
	h.Set("Upgrade", "websocket")
	h.Set("Connection", "Upgrade")
	h.Set("Sec-WebSocket-Accept", base64.StdEncoding.EncodeToString(sum[:]))
	w.WriteHeader(http.StatusSwitchingProtocols)
	conn, brw, err := hj.Hijack()
	if err != nil {
		return
	}
	if err := brw.Flush(); err != nil {
		_ = conn.Close()
		return
	}
	c := &wsConn{conn: conn, w: websocket.NewWriter(conn, websocket.Server, nil),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.hub.add(c)
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
// expr (null when expr is empty). Flows still in flight are matched when
// they may be read.
func (s *Server) updateFilter(c *wsConn, name, expr string) {
	var ids any
	c.mu.Lock()
	if c.filters == nil {
		c.filters, c.exprs = map[string]filter.Filter{}, map[string]string{}
	}
	delete(c.filters, name)
	delete(c.exprs, name)
	c.mu.Unlock()
	if expr != "" {
		flt, err := filter.Parse(expr)
		if err != nil {
			s.log.Error("Error processing message from the web UI: " + err.Error())
			_ = c.w.WriteClose(1011, "Internal server error.")
			return
		}
		c.mu.Lock()
		c.filters[name], c.exprs[name] = flt, expr
		c.mu.Unlock()
		match := []string{}
		for _, f := range s.view.Shown() {
			if s.view.Readable(f) && flt.Match(f) {
				match = append(match, f.Base().ID)
			}
		}
		ids = match
	}
	b, err := json.Marshal(message{"type": "flows/filterUpdate", "payload": map[string]any{"name": name, "matching_flow_ids": ids}})
	if err == nil {
		c.send(b)
	}
}

// refilter answers every connection's filters again after flows/reset,
// as mitmproxy's broadcast_flow_reset.
func (h *hub) refilter(s *Server) {
	h.mu.Lock()
	type named struct {
		c          *wsConn
		name, expr string
	}
	var all []named
	for c := range h.conns {
		c.mu.Lock()
		for name, expr := range c.exprs {
			all = append(all, named{c, name, expr})
		}
		c.mu.Unlock()
	}
	h.mu.Unlock()
	for _, n := range all {
		s.updateFilter(n.c, n.name, n.expr)
	}
}
