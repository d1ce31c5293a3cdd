package web

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mitmgo/mitmgo/addons/dumper/contentview"
	"github.com/mitmgo/mitmgo/flow"
)

// Bodies that stream, as they arrive.
//
// A body the proxy streams (stream_large_bodies, server-sent events, a
// hook's Stream) is recorded in the flow only when it is over, and the
// flow may not be read in between (see the package comment). The proxy
// publishes what passed so far in the flow's flow.BodyProgress, which any
// goroutine may read. The server watches the HTTP flows in flight, and
// while a body streams it tells the browsers how much of it the flow keeps
// (the message's contentLength, in a flows/update every tick at most) and
// serves a copy of it as the message's content and content views.
//
// The same ticker looks for content views that scripts add or remove and
// tells the browsers (state/update), as no hook says when that happens.

// streamTick is how often the watcher looks for bodies that grew: often
// enough that an event stream looks live, seldom enough that a fast one
// does not flood the browsers.
const streamTick = 250 * time.Millisecond

// viewsTick is how often the watcher looks for changed content views.
const viewsTick = time.Second

// watchFlow notes an HTTP flow in flight whose bodies may stream, or
// forgets a flow that is over. It is called from the flow's hooks.
func (s *Server) watchFlow(f flow.Any, over bool) {
	hf, ok := f.(*flow.HTTPFlow)
	if !ok {
		return
	}
	id := hf.ID
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	if over {
		delete(s.streams, id)
		return
	}
	if s.streams == nil {
		s.streams = map[string]*flow.HTTPFlow{}
	}
	s.streams[id] = hf
}

func (s *Server) unwatchFlow(id string) {
	s.streamsMu.Lock()
	delete(s.streams, id)
	s.streamsMu.Unlock()
}

// watch runs the ticker until stop is closed.
func (s *Server) watch(stop <-chan struct{}) {
	t := time.NewTicker(streamTick)
	defer t.Stop()
	lastViews := time.Now()
	s.viewNames = s.contentViewNames()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			s.pollStreams()
			if now.Sub(lastViews) >= viewsTick {
				lastViews = now
				s.pollViews()
			}
		}
	}
}

// pollViews tells the browsers of a changed list of content views.
func (s *Server) pollViews() {
	names := s.contentViewNames()
	if slices.Equal(names, s.viewNames) {
		return
	}
	s.viewNames = names
	s.hub.broadcast(message{"type": "state/update", "payload": map[string]any{"contentViews": names}})
}

// pollStreams sends a flows/update for every watched flow whose streamed
// body the flow keeps more of than its JSON says.
func (s *Server) pollStreams() {
	s.streamsMu.Lock()
	flows := make([]*flow.HTTPFlow, 0, len(s.streams))
	for _, f := range s.streams {
		flows = append(flows, f)
	}
	s.streamsMu.Unlock()
	for _, f := range flows {
		// Most flows in flight stream nothing: no locks for them.
		if isStreaming(f.StreamProgress(true)) || isStreaming(f.StreamProgress(false)) {
			s.streamUpdate(f)
		}
	}
}

func isStreaming(p *flow.BodyProgress) bool {
	_, _, streaming := p.Passed()
	return streaming
}

// streamUpdate brings the kept JSON of f up to date with its streaming
// bodies and tells the browsers, when they grew.
func (s *Server) streamUpdate(f *flow.HTTPFlow) {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	s.flowsMu.Lock()
	j := s.flows[f.ID]
	var changed map[string]any
	for _, part := range [...]string{"request", "response"} {
		// Checked while flowsMu is held: a body that is over had its
		// flow's last hook render the JSON after this (the proxy finishes
		// the progress before it runs the hook), so that JSON, with the
		// flow's own content, replaces what is written here.
		// A body the flow does not keep (or of which it keeps nothing
		// yet) stays without content (contentLength null).
		_, kept, streaming := f.StreamProgress(part == "response").Passed()
		m, ok := j[part].(map[string]any)
		if !streaming || !ok || kept == 0 || m["contentLength"] == any(kept) {
			continue
		}
		if changed == nil {
			changed = make(map[string]any, len(j))
			for k, v := range j {
				changed[k] = v
			}
		}
		mc := make(map[string]any, len(m))
		for k, v := range m {
			mc[k] = v
		}
		mc["contentLength"], mc["contentHash"] = kept, nil
		changed[part] = mc
	}
	if changed != nil {
		s.flows[f.ID] = changed
	}
	s.flowsMu.Unlock()
	if changed != nil {
		// The filters cannot be matched against a flow in flight: the
		// browsers keep their last answer (no names in matching_filters).
		s.hub.broadcastFlow("flows/update", f, changed, false)
	}
}

// streamedMessage is the request or response of the flow of r, as far as
// it has streamed, when its body is streaming: the message's head from
// the flow's last hook (its JSON) with a copy of the body kept so far. ok
// is false when the body is not streaming (read the flow, if it may be).
func (s *Server) streamedMessage(r *http.Request, part string) (m *flow.Message, req *flow.Request, ok bool, err error) {
	f, ferr := s.flow(r)
	if ferr != nil || s.view.Readable(f) {
		return nil, nil, false, nil
	}
	hf, isHTTP := f.(*flow.HTTPFlow)
	if !isHTTP || (part != "request" && part != "response") {
		return nil, nil, false, nil
	}
	content, _, streaming := hf.StreamProgress(part == "response").Snapshot()
	if !streaming {
		return nil, nil, false, nil
	}
	if content == nil {
		return nil, nil, true, errorf(409, "The body is streamed and not kept (see store_streamed_bodies and event_stream_store).")
	}
	s.flowsMu.Lock()
	j := s.flows[hf.ID]
	s.flowsMu.Unlock()
	head, _ := j[part].(map[string]any)
	reqJSON, _ := j["request"].(map[string]any)
	req = &flow.Request{}
	if reqJSON != nil {
		req.Method, _ = reqJSON["method"].(string)
		req.Scheme, _ = reqJSON["scheme"].(string)
		req.Host, _ = reqJSON["host"].(string)
		req.Port, _ = reqJSON["port"].(int)
		req.Path, _ = reqJSON["path"].(string)
		req.Headers = headersFromJSON(reqJSON["headers"])
	}
	if part == "request" {
		req.RawContent = content
		return &req.Message, req, true, nil
	}
	return &flow.Message{Headers: headersFromJSON(head["headers"]), RawContent: content}, req, true, nil
}

// headersFromJSON reads back the headers of a flow's JSON (headersJSON).
func headersFromJSON(v any) flow.Headers {
	pairs, _ := v.([][2]string)
	h := make(flow.Headers, 0, len(pairs))
	for _, p := range pairs {
		h.Add(p[0], p[1])
	}
	return h
}

// streamedContent answers content.data for a body still streaming.
func (s *Server) streamedContent(w http.ResponseWriter, r *http.Request) (bool, error) {
	part := r.PathValue("message")
	m, req, ok, err := s.streamedMessage(r, part)
	if !ok || err != nil {
		return ok, err
	}
	content, cerr := m.Content()
	if cerr != nil {
		// A compressed body cut short does not decode yet.
		content = m.RawContent
	}
	name := ""
	if cd := m.Headers.Get("Content-Disposition"); cd != "" {
		if mm := cdFilename.FindStringSubmatch(cd); mm != nil {
			name = mm[1]
		}
	}
	if name == "" {
		p, _, _ := strings.Cut(req.Path, "?")
		name = p[strings.LastIndex(p, "/")+1:]
	}
	w.Header().Set("Content-Disposition", "attachment; filename="+badFilename.ReplaceAllString(name, ""))
	w.Header().Set("Content-Type", "application/text")
	_, _ = w.Write(content)
	return true, nil
}

// streamedView answers a content view of a body still streaming.
func (s *Server) streamedView(w http.ResponseWriter, r *http.Request, name string, extra []contentview.View, maxLines int) (bool, error) {
	part := r.PathValue("message")
	m, req, ok, err := s.streamedMessage(r, part)
	if !ok || err != nil {
		return ok, err
	}
	if part != "request" {
		// As for a finished flow: only the request's view gets the
		// request as its context.
		req = nil
	}
	return true, writeJSON(w, viewJSON(contentview.PrettifyWith(contentview.ForHTTP(m, req), name, extra), maxLines))
}
