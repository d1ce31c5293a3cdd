package console

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mitmgo/mitmgo/flow"
)

// row is what the flow list shows of one flow, taken where the flow may be
// read (in the view's event, on the flow's own goroutine, or when it is
// over): rendering a window of rows then reads no flow, so it cannot race
// with the proxy, and costs the same with 100,000 flows as with ten.
type row struct {
	kind string // "http", "tcp", "udp", "dns"
	ts   float64

	// HTTP
	method, scheme, host, path, url, version string
	push                                     bool
	code                                     int
	reason, ctype                            string
	// clen is the response's content length; -1 when the content is
	// missing.
	clen int64

	// TCP/UDP: the connection and the bytes exchanged.
	client, server string
	total          int64

	// DNS
	opcode, domain, qtype, rcode, answer string
	rcodeHTTP                            int
	answered                             bool

	duration    float64
	err         string
	marked      string
	replay      bool
	intercepted bool
	// ws: the HTTP flow has a WebSocket.
	ws bool
}

// summarize takes the row of a flow that may be read now.
func summarize(f flow.Any) *row {
	b := f.Base()
	r := &row{marked: b.Marked, replay: b.IsReplay != "", intercepted: b.IsIntercepted()}
	if b.Error != nil {
		r.err = clean(b.Error.Msg)
	}
	switch f := f.(type) {
	case *flow.HTTPFlow:
		r.kind = "http"
		if q := f.Request; q != nil {
			r.method, r.scheme, r.host, r.path = clean(q.Method), clean(q.Scheme), clean(q.PrettyHost()), clean(q.Path)
			r.url, r.version, r.ts = clean(q.PrettyURL()), clean(q.HTTPVersion), q.TimestampStart
		}
		if s := f.Response; s != nil {
			r.code, r.reason, r.ctype = s.StatusCode, clean(s.Reason), clean(s.Headers.Get("content-type"))
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
		for _, m := range f.Messages {
			r.total += int64(len(m.Content))
		}
		messageConn(r, b, len(f.Messages) > 0, func() float64 { return f.Messages[len(f.Messages)-1].Timestamp })
	case *flow.UDPFlow:
		r.kind = "udp"
		for _, m := range f.Messages {
			r.total += int64(len(m.Content))
		}
		messageConn(r, b, len(f.Messages) > 0, func() float64 { return f.Messages[len(f.Messages)-1].Timestamp })
	case *flow.DNSFlow:
		r.kind = "dns"
		if q := f.Request; q != nil {
			r.opcode, r.ts = flow.DNSOpCodeString(q.OpCode), q.Timestamp
			if qq := q.Question(); qq != nil {
				r.domain, r.qtype = clean(qq.Name), flow.DNSTypeString(qq.Type)
			}
		}
		if s := f.Response; s != nil {
			r.answered = true
			r.rcode = flow.DNSResponseCodeString(s.ResponseCode)
			r.rcodeHTTP = dnsHTTPEquiv(s.ResponseCode)
			var as []string
			for i := range s.Answers {
				as = append(as, s.Answers[i].String())
			}
			r.answer = clean(strings.Join(as, ", "))
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
	return r
}

func messageConn(r *row, b *flow.Flow, hasMsgs bool, last func() float64) {
	if c := b.ClientConn; c != nil {
		r.client = clean(formatAddress(c.Peername))
		r.ts = c.TimestampStart
		if c.TLSVersion == "QUICv1" {
			r.kind = "quic"
		}
		if hasMsgs {
			r.duration = last() - c.TimestampStart
		}
	}
	if s := b.ServerConn; s != nil {
		r.server = clean(formatAddress(s.Address))
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

// rowCache holds the rows of the flows in the store, by flow id.
type rowCache struct {
	mu   sync.Mutex
	rows map[string]*row
}

func newRowCache() *rowCache { return &rowCache{rows: map[string]*row{}} }

func (c *rowCache) get(id string) *row {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rows[id]
}

func (c *rowCache) put(id string, r *row) {
	c.mu.Lock()
	c.rows[id] = r
	c.mu.Unlock()
}

// touch updates what commands change on a flow in flight (its marker and
// interception): the rest of the row stays as its last hook left it.
func (c *rowCache) touch(f flow.Any) {
	b := f.Base()
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.rows[b.ID]
	r := &row{kind: f.Type()}
	if old != nil {
		cp := *old
		r = &cp
	}
	r.marked, r.intercepted = b.Marked, b.IsIntercepted()
	c.rows[b.ID] = r
}

func (c *rowCache) remove(id string) {
	c.mu.Lock()
	delete(c.rows, id)
	c.mu.Unlock()
}

// prune forgets the rows of flows that left the store.
func (c *rowCache) prune(v interface {
	StoreLen() int
	Get(id string) (flow.Any, bool)
}) {
	n := v.StoreLen()
	c.mu.Lock()
	defer c.mu.Unlock()
	if n == 0 {
		c.rows = map[string]*row{}
		return
	}
	if len(c.rows) <= n {
		return
	}
	for id := range c.rows {
		if _, ok := v.Get(id); !ok {
			delete(c.rows, id)
		}
	}
}

// Human formats ----------------------------------------------------------------

// prettySize is mitmproxy's human.pretty_size: "512b", "1.5k", "120m".
func prettySize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + "b"
	}
	s := float64(n)
	for _, suffix := range []string{"k", "m", "g", "t"} {
		s /= 1024
		if s < 99.95 {
			return strconv.FormatFloat(s, 'f', 1, 64) + suffix
		}
		if s < 1024 || suffix == "t" {
			return strconv.FormatFloat(s, 'f', 0, 64) + suffix
		}
	}
	return ""
}

// prettyDuration is mitmproxy's human.pretty_duration: "0ms", "999ms",
// "1.23s", "12.3s", "123s".
func prettyDuration(secs float64) string {
	if secs < 0 {
		return ""
	}
	switch {
	case secs < 1:
		return strconv.Itoa(int(math.Round(secs*1000))) + "ms"
	case secs < 10:
		return strconv.FormatFloat(secs, 'f', 2, 64) + "s"
	case secs < 100:
		return strconv.FormatFloat(secs, 'f', 1, 64) + "s"
	}
	return strconv.Itoa(int(secs)) + "s"
}

// formatTimestamp is mitmproxy's human.format_timestamp in local time.
func formatTimestamp(ts float64, loc *time.Location) string {
	t := time.Unix(0, int64(ts*1e9)).In(loc)
	return t.Format("2006-01-02 15:04:05")
}

// formatAddress is mitmproxy's human.format_address.
func formatAddress(a flow.Address) string {
	if a.IsZero() {
		return "<no address>"
	}
	host := a.Host
	if strings.HasPrefix(host, "::ffff:") && strings.Count(host, ".") == 3 {
		host = host[len("::ffff:"):]
	}
	if host == "::" || host == "0.0.0.0" {
		host = "*"
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(a.Port)
}

// flowSnaps keeps a copy of the flow the flow view shows, taken at each of
// its hooks, so that a flow in flight shows as it was at its last hook.
type flowSnaps struct {
	mu   sync.Mutex
	id   string
	copy flow.Any
}

// watch says which flow to copy ("" for none).
func (s *flowSnaps) watch(id string) {
	s.mu.Lock()
	if s.id != id {
		s.id, s.copy = id, nil
	}
	s.mu.Unlock()
}

// take copies f if it is the watched flow (where f may be read).
func (s *flowSnaps) take(f flow.Any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.id != "" && s.id == f.Base().ID {
		s.copy = flow.CopyAny(f)
	}
}

func (s *flowSnaps) get(id string) flow.Any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.id == id {
		return s.copy
	}
	return nil
}
