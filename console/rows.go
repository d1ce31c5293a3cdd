package console

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/human"
)

// row is what the flow list shows of one flow, taken where the flow may be
// read (in the view's event, on the flow's own goroutine, or when it is
// over): rendering a window of rows then reads no flow, so it cannot race
// with the proxy, and costs the same with 100,000 flows as with ten.
//
// An HTTP row holds the flow's own strings (Go strings do not change, so
// they may be read later from any goroutine): taking it allocates only the
// row, and nothing when the flow shows as it did at its last hook, which
// keeps the proxy's cost per hook low. What is drawn is display's copy,
// with the strings cleaned and the URL made.
type row struct {
	kind string // "http", "tcp", "udp", "quic", "dns"
	ts   float64

	// HTTP, as the request holds them: host is the pretty host;
	// authority, hostHeader and port make the pretty URL.
	method, scheme, host, path, version string
	authority, hostHeader               string
	port                                int
	code                                int
	reason, ctype                       string
	// clen is the response's content length; -1 when the content is
	// missing.
	clen int64
	// url is the pretty URL, in display's copy only.
	url string

	// ext holds the fields of TCP, UDP and DNS rows (nil for HTTP).
	ext *rowExt

	duration    float64
	err         string
	marked      string
	push        bool
	replay      bool
	intercepted bool
	// ws: the HTTP flow has a WebSocket.
	ws bool
}

// rowExt is what TCP, UDP and DNS rows show, cleaned when taken.
type rowExt struct {
	// TCP/UDP: the connection and the bytes exchanged.
	client, server string
	total          int64

	// DNS
	opcode, domain, qtype, rcode, answer string
	rcodeHTTP                            int
	answered                             bool
}

// noExt is what an HTTP row's missing ext reads as.
var noExt = &rowExt{}

// x returns the TCP/UDP/DNS fields (empty for HTTP rows).
func (r *row) x() *rowExt {
	if r.ext == nil {
		return noExt
	}
	return r.ext
}

// display is the row as drawn: its strings cleaned of control characters
// and the pretty URL made (from the row alone: it reads no flow).
func (r *row) display() *row {
	d := *r
	d.method, d.scheme, d.host, d.path = clean(r.method), clean(r.scheme), clean(r.host), clean(r.path)
	d.version, d.reason, d.ctype, d.err = clean(r.version), clean(r.reason), clean(r.ctype), clean(r.err)
	if r.kind == "http" && (r.method != "" || r.host != "" || r.authority != "") {
		// Without a Host header (or authority) the pretty host is the
		// request's host, which is all the URL needs of it.
		q := flow.Request{Method: r.method, Scheme: r.scheme, Host: r.host, Port: r.port, Path: r.path,
			Authority: r.authority, Message: flow.Message{HTTPVersion: r.version, Headers: flow.NewHeaders()}}
		if r.hostHeader != "" {
			q.Headers = flow.NewHeaders("Host", r.hostHeader)
		}
		d.url = clean(q.PrettyURL())
	}
	return &d
}

// summarize takes the row of a flow that may be read now; it returns old
// itself when the flow shows as old does.
func summarize(f flow.Any, old *row) *row {
	b := f.Base()
	r := row{marked: b.Marked(), replay: b.IsReplay != "", intercepted: b.IsIntercepted()}
	if b.Error != nil {
		r.err = b.Error.Msg
	}
	switch f := f.(type) {
	case *flow.HTTPFlow:
		r.kind = "http"
		if q := f.Request; q != nil {
			r.method, r.scheme, r.host, r.path = q.Method, q.Scheme, q.PrettyHost(), q.Path
			r.authority, r.hostHeader, r.port = q.Authority, q.HostHeader(), q.Port
			r.version, r.ts = q.HTTPVersion, q.TimestampStart
		}
		if s := f.Response; s != nil {
			r.code, r.reason, r.ctype = s.StatusCode, s.Reason, s.Headers.Get("content-type")
			if s.RawContent == nil {
				r.clen = -1
			} else {
				r.clen = int64(len(s.RawContent))
			}
			if s.TimestampEnd > 0 && f.Request != nil {
				r.duration = s.TimestampEnd - f.Request.TimestampStart
			}
		}
		r.ws = f.WebSocket != nil
	case *flow.TCPFlow:
		r.kind = "tcp"
		r.ext = &rowExt{}
		for _, m := range f.Messages {
			r.ext.total += int64(len(m.Content))
		}
		messageConn(&r, b, len(f.Messages) > 0, func() float64 { return f.Messages[len(f.Messages)-1].Timestamp })
	case *flow.UDPFlow:
		r.kind = "udp"
		r.ext = &rowExt{}
		for _, m := range f.Messages {
			r.ext.total += int64(len(m.Content))
		}
		messageConn(&r, b, len(f.Messages) > 0, func() float64 { return f.Messages[len(f.Messages)-1].Timestamp })
	case *flow.DNSFlow:
		r.kind = "dns"
		x := &rowExt{}
		r.ext = x
		if q := f.Request; q != nil {
			x.opcode, r.ts = flow.DNSOpCodeString(q.OpCode), q.Timestamp
			if qq := q.Question(); qq != nil {
				x.domain, x.qtype = clean(qq.Name), flow.DNSTypeString(qq.Type)
			}
		}
		if s := f.Response; s != nil {
			x.answered = true
			x.rcode = flow.DNSResponseCodeString(s.ResponseCode)
			x.rcodeHTTP = dnsHTTPEquiv(s.ResponseCode)
			var as []string
			for i := range s.Answers {
				as = append(as, s.Answers[i].String())
			}
			x.answer = clean(strings.Join(as, ", "))
			if f.Request != nil && f.Request.Timestamp > 0 && s.Timestamp > 0 {
				r.duration = s.Timestamp - f.Request.Timestamp
			}
		}
	default:
		r.kind = f.Type()
	}
	if r.ts == 0 {
		r.ts = b.TimestampCreated
	}
	if old != nil && r.sameAs(old) {
		return old
	}
	p := new(row)
	*p = r
	return p
}

// sameAs reports whether r shows as o does (an HTTP flow's hook that
// changed nothing shown: its row, and the lines drawn of it, stay).
func (r *row) sameAs(o *row) bool {
	if (r.ext == nil) != (o.ext == nil) || r.ext != nil && *r.ext != *o.ext {
		return false
	}
	a, b := *r, *o
	a.ext, b.ext = nil, nil
	return a == b
}

func messageConn(r *row, b *flow.Flow, hasMsgs bool, last func() float64) {
	if c := b.ClientConn; c != nil {
		r.ext.client = clean(human.FormatAddress(c.Peername))
		r.ts = c.TimestampStart
		if c.TLSVersion == "QUICv1" {
			r.kind = "quic"
		}
		if hasMsgs {
			r.duration = last() - c.TimestampStart
		}
	}
	if s := b.ServerConn; s != nil {
		r.ext.server = clean(human.FormatAddress(s.Address))
	}
}

// dnsHTTPEquiv is mitmproxy's http_equiv_status_code of a DNS response
// code.
func dnsHTTPEquiv(rc int) int {
	switch rc {
	case 0: // NOERROR
		return 200
	case 1, 4: // FORMERR, NOTIMP
		return 400
	case 2: // SERVFAIL
		return 500
	case 3: // NXDOMAIN
		return 404
	case 5: // REFUSED
		return 403
	}
	return 500
}

// rowCache holds the rows of the flows in the store, by flow id, in
// shards: the proxy's goroutines take rows at every hook of every flow
// while the UI reads them, and one lock for all was contended under load.
type rowCache struct {
	seed   maphash.Seed
	shards [rowShards]rowShard
	n      atomic.Int64
}

const rowShards = 64

type rowShard struct {
	mu   sync.Mutex
	rows map[string]*row
	_    [40]byte // a cache line of its own
}

func newRowCache() *rowCache {
	c := &rowCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].rows = map[string]*row{}
	}
	return c
}

func (c *rowCache) shard(id string) *rowShard {
	return &c.shards[maphash.String(c.seed, id)%rowShards]
}

func (c *rowCache) get(id string) *row {
	sh := c.shard(id)
	sh.mu.Lock()
	r := sh.rows[id]
	sh.mu.Unlock()
	return r
}

// update takes the row of f, which may be read now; a row that shows as
// before is kept (and so are the lines drawn of it), unless fresh (the
// flow view shows the flow, and a new row is how it learns of a change;
// or the flow was just added).
func (c *rowCache) update(f flow.Any, fresh bool) {
	id := f.Base().ID
	var old *row
	if !fresh {
		old = c.get(id)
	}
	if r := summarize(f, old); r != old {
		c.put(id, r)
	}
}

func (c *rowCache) put(id string, r *row) {
	sh := c.shard(id)
	sh.mu.Lock()
	n := len(sh.rows)
	sh.rows[id] = r
	if len(sh.rows) > n {
		c.n.Add(1)
	}
	sh.mu.Unlock()
}

// touch updates what commands change on a flow in flight (its marker and
// interception): the rest of the row stays as its last hook left it.
func (c *rowCache) touch(f flow.Any) {
	b := f.Base()
	sh := c.shard(b.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	marked, intercepted := b.Marked(), b.IsIntercepted()
	var r *row
	if old := sh.rows[b.ID]; old != nil {
		if old.marked == marked && old.intercepted == intercepted {
			// As it shows (the event of a hook whose row the console
			// took in its own hook): kept, with its lines drawn.
			return
		}
		cp := *old
		r = &cp
	} else {
		r = &row{kind: f.Type()}
		c.n.Add(1)
	}
	r.marked, r.intercepted = marked, intercepted
	sh.rows[b.ID] = r
}

func (c *rowCache) remove(id string) {
	sh := c.shard(id)
	sh.mu.Lock()
	if _, ok := sh.rows[id]; ok {
		delete(sh.rows, id)
		c.n.Add(-1)
	}
	sh.mu.Unlock()
}

// len is the number of rows kept.
func (c *rowCache) len() int { return int(c.n.Load()) }

// prune forgets the rows of flows that left the store.
func (c *rowCache) prune(v interface {
	StoreLen() int
	Get(id string) (flow.Any, bool)
}) {
	n := v.StoreLen()
	if c.len() <= n {
		return
	}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for id := range sh.rows {
			if n == 0 {
				delete(sh.rows, id)
				c.n.Add(-1)
			} else if _, ok := v.Get(id); !ok {
				delete(sh.rows, id)
				c.n.Add(-1)
			}
		}
		sh.mu.Unlock()
	}
}

// Human formats ----------------------------------------------------------------

// formatTimestamp is mitmproxy's human.format_timestamp in local time.
func formatTimestamp(ts float64, loc *time.Location) string {
	t := time.Unix(0, int64(ts*1e9)).In(loc)
	return t.Format("2006-01-02 15:04:05")
}

// flowSnaps keeps a copy of the flow the flow view shows, taken at each of
// its hooks, so that a flow in flight shows as it was at its last hook.
// A WebSocket flow's messages that are the same, unchanged, as at the last
// copy are shared with that copy instead of copied again: a connection's
// thousandth message costs one message's copy, not a thousand.
type flowSnaps struct {
	mu   sync.Mutex
	id   string
	copy flow.Any
	// seen are the WebSocket messages the last copy was taken from, with
	// their copies (under mu).
	seen []seenMsg
	// watched is id, read without the lock by every flow's hooks.
	watched atomic.Pointer[string]
}

// seenMsg is one WebSocket message as it was copied: the original, what
// of it was read, and the copy. The content is compared by identity (the
// same bytes at the same place): the proxy and the scripts replace a
// message's content, they do not write into it.
type seenMsg struct {
	orig                          *flow.WebSocketMessage
	typ                           int
	fromClient, dropped, injected bool
	ts                            float64
	data                          *byte
	n                             int
	copy                          *flow.WebSocketMessage
}

func firstByte(b []byte) *byte {
	if len(b) == 0 {
		return nil
	}
	return &b[0]
}

// same reports whether m is the message seen, unchanged.
func (s *seenMsg) same(m *flow.WebSocketMessage) bool {
	return s.orig == m && s.typ == m.Type && s.fromClient == m.FromClient && s.dropped == m.Dropped &&
		s.injected == m.Injected && s.ts == m.Timestamp && s.n == len(m.Content) && s.data == firstByte(m.Content)
}

// watch says which flow to copy ("" for none: the flow view was left).
func (s *flowSnaps) watch(id string) {
	s.mu.Lock()
	if s.id != id {
		s.id, s.copy, s.seen = id, nil, nil
		s.watched.Store(&id)
	}
	s.mu.Unlock()
}

// take copies f if it is the watched flow (where f may be read), and says
// whether it was.
func (s *flowSnaps) take(f flow.Any) bool {
	if w := s.watched.Load(); w == nil || *w == "" || *w != f.Base().ID {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.id != "" && s.id == f.Base().ID {
		s.copy = s.copyShared(f)
		return true
	}
	return false
}

// copyShared copies f as flow.CopyAny does, sharing the WebSocket
// messages that have not changed since the last copy. Called with mu held.
func (s *flowSnaps) copyShared(f flow.Any) flow.Any {
	hf, ok := f.(*flow.HTTPFlow)
	if !ok || hf.WebSocket == nil {
		s.seen = nil
		return flow.CopyAny(f)
	}
	// Everything but the messages, copied as Copy copies it.
	bare := &flow.HTTPFlow{Request: hf.Request, Response: hf.Response}
	bare.Flow.Share(&hf.Flow)
	cp := bare.Copy()
	ws := *hf.WebSocket
	if c := hf.WebSocket.ClosedByClient; c != nil {
		v := *c
		ws.ClosedByClient = &v
	}
	msgs := hf.WebSocket.Messages
	// k: how many leading messages are as at the last copy.
	k := 0
	for k < len(msgs) && k < len(s.seen) && s.seen[k].same(msgs[k]) {
		k++
	}
	var prev []*flow.WebSocketMessage
	if pc, ok := s.copy.(*flow.HTTPFlow); ok && pc.WebSocket != nil {
		prev = pc.WebSocket.Messages
	}
	var out []*flow.WebSocketMessage
	if k == len(s.seen) && k == len(prev) {
		// Only new messages: the last copy's list goes on (a copy still
		// drawn reads only up to its own length).
		out = prev[:k:cap(prev)]
	} else {
		out = make([]*flow.WebSocketMessage, k, len(msgs))
		for i := range out {
			out[i] = s.seen[i].copy
		}
	}
	s.seen = s.seen[:k]
	for _, m := range msgs[k:] {
		mc := *m
		mc.Content = slices.Clone(m.Content)
		out = append(out, &mc)
		s.seen = append(s.seen, seenMsg{orig: m, typ: m.Type, fromClient: m.FromClient, dropped: m.Dropped,
			injected: m.Injected, ts: m.Timestamp, data: firstByte(m.Content), n: len(m.Content), copy: &mc})
	}
	ws.Messages = out
	cp.WebSocket = &ws
	return cp
}

func (s *flowSnaps) get(id string) flow.Any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.id == id {
		return s.copy
	}
	return nil
}
