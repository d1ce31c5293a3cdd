package web

import (
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/mitmgo/mitmgo/addons/dumper/contentview"
	"github.com/mitmgo/mitmgo/flow"
)

// extraViews are the content views scripts add (the script host's).
func (s *Server) extraViews() []contentview.View {
	a, ok := s.ctx.Addon("scriptloader")
	if !ok {
		return nil
	}
	if cv, ok := a.(interface{ ContentViews() []contentview.View }); ok {
		return cv.ContentViews()
	}
	return nil
}

// cutLines keeps the first n lines of text (mitmproxy's
// cut_after_n_lines).
func cutLines(text string, n int) string {
	i := 0
	for ; n > 0; n-- {
		j := strings.IndexByte(text[i:], '\n')
		if j < 0 {
			return text
		}
		i += j + 1
	}
	if i > 0 {
		return text[:i-1]
	}
	return ""
}

func viewJSON(res contentview.Result, maxLines int) map[string]any {
	text := res.Text
	if maxLines > 0 {
		text = cutLines(text, maxLines)
	}
	syntax := string(res.Syntax)
	return map[string]any{"text": text, "view_name": res.ViewName, "syntax_highlight": syntax, "description": res.Description}
}

// liveMessage is one message of a flow still open, as the web UI shows it.
type liveMessage struct {
	content    []byte
	fromClient bool
	ts         float64
}

// liveMessages keeps a copy of the message list of each WebSocket, TCP
// and UDP flow while it is open, taken in the flow's hooks (where it may
// be read), so that the web UI can show the messages as they arrive: the
// flow itself may not be read between its hooks.
type liveMessages struct {
	mu sync.Mutex
	m  map[string][]liveMessage
}

// flowMessages appends a flow's messages from index from on to msgs (ok:
// it is a flow with messages; n: how many it has).
func flowMessages(f flow.Any, msgs []liveMessage, from int) (out []liveMessage, n int, ok bool) {
	add := func(content []byte, fromClient bool, ts float64) {
		if n >= from {
			msgs = append(msgs, liveMessage{content, fromClient, ts})
		}
		n++
	}
	switch f := f.(type) {
	case *flow.HTTPFlow:
		if f.WebSocket == nil {
			return nil, 0, false
		}
		for _, m := range f.WebSocket.Messages {
			add(m.Content, m.FromClient, m.Timestamp)
		}
	case *flow.TCPFlow:
		for _, m := range f.Messages {
			add(m.Content, m.FromClient, m.Timestamp)
		}
	case *flow.UDPFlow:
		for _, m := range f.Messages {
			add(m.Content, m.FromClient, m.Timestamp)
		}
	default:
		return nil, 0, false
	}
	return msgs, n, true
}

// keep copies the messages of f, which its hook lets us read; a flow that
// is over (readable from now on) needs no copy. Messages are only ever
// added while a flow is open, so the copy grows by the new ones (readers
// hold a shorter slice of it and do not see the appends).
func (l *liveMessages) keep(f flow.Any, over bool) {
	id := f.Base().ID
	if over {
		l.drop(id)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	prev := l.m[id]
	msgs, n, ok := flowMessages(f, prev, len(prev))
	if !ok {
		return
	}
	if n < len(prev) { // messages were removed: copy them again
		msgs, _, _ = flowMessages(f, nil, 0)
	}
	if l.m == nil {
		l.m = map[string][]liveMessage{}
	}
	l.m[id] = msgs
}

func (l *liveMessages) drop(id string) {
	l.mu.Lock()
	delete(l.m, id)
	l.mu.Unlock()
}

func (l *liveMessages) get(id string) ([]liveMessage, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	msgs, ok := l.m[id]
	return msgs, ok
}

// renderMessages renders messages with a content view; maxLines (when
// positive) bounds the lines of all of them together.
func renderMessages(msgs []liveMessage, name string, extra []contentview.View, maxLines int) []any {
	list := []any{}
	left := maxLines
	for _, m := range msgs {
		d := viewJSON(contentview.PrettifyWith(contentview.ForData(m.content), name, extra), left)
		d["from_client"] = m.fromClient
		d["timestamp"] = m.ts
		list = append(list, d)
		if maxLines > 0 {
			left -= strings.Count(d["text"].(string), "\n") + 1
			if left <= 0 {
				break
			}
		}
	}
	return list
}

// contentView renders a message body, or a WebSocket/TCP/UDP flow's
// messages, with a content view (app.py FlowContentView).
func (s *Server) contentView(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimSuffix(r.PathValue("view"), ".json")
	if strings.EqualFold(name, "auto") {
		name = "auto"
	}
	maxLines := 0
	if l := r.URL.Query().Get("lines"); l != "" {
		var err error
		if maxLines, err = strconv.Atoi(l); err != nil {
			return errorf(400, "Invalid lines: %s", l)
		}
	}
	extra := s.extraViews()
	part := r.PathValue("message")
	if part == "messages" {
		// The messages of a flow still open, as its last hook left them.
		if f, err := s.flow(r); err == nil && !s.view.Readable(f) {
			if msgs, ok := s.live.get(f.Base().ID); ok {
				return writeJSON(w, renderMessages(msgs, name, extra, maxLines))
			}
		}
	}
	if part != "messages" {
		// A body still streaming, as far as it arrived.
		if ok, err := s.streamedView(w, r, name, extra, maxLines); ok {
			return err
		}
	}
	// What the views read (the message, its request) is copied in the same
	// hold of the view's lock as the check that the flow may be read, and
	// rendered after it is released: every flow's hooks wait for that lock,
	// and a view may be slow (a large body, a script's view). Bodies and
	// message contents are replaced, never changed in place, so they are
	// shared, not copied.
	var (
		msg  *flow.Message
		req  *flow.Request
		msgs []liveMessage
	)
	if _, err := s.withReadable(r, func(f flow.Any) error {
		if part != "messages" {
			m, hf, err := httpMessage(f, part)
			if err != nil {
				return err
			}
			msg = detachMessage(m)
			if part == "request" {
				rq := *hf.Request
				rq.Message = *msg
				req, msg = &rq, &rq.Message
			}
			return nil
		}
		var ok bool
		if msgs, _, ok = flowMessages(f, nil, 0); !ok {
			return errorf(400, "This flow has no messages.")
		}
		return nil
	}); err != nil {
		return err
	}
	if msg != nil {
		return writeJSON(w, viewJSON(contentview.PrettifyWith(contentview.ForHTTP(msg, req), name, extra), maxLines))
	}
	return writeJSON(w, renderMessages(msgs, name, extra, maxLines))
}

// detachMessage copies what a content view reads of m, so that it may be
// read after the view's lock is released: the headers and trailers, which
// an edit changes in place, are cloned; the body is shared.
func detachMessage(m *flow.Message) *flow.Message {
	return &flow.Message{
		HTTPVersion:    m.HTTPVersion,
		Headers:        m.Headers.Clone(),
		RawContent:     m.RawContent,
		Trailers:       m.Trailers.Clone(),
		TimestampStart: m.TimestampStart,
		TimestampEnd:   m.TimestampEnd,
	}
}
