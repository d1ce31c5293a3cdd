package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/dumper/contentview"
	"github.com/mitmgo/mitmgo/filter"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
	"github.com/mitmgo/mitmgo/proxy"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// apiError is an error answered with its status and message (app.py's
// APIError).
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// handler is an API handler; an error it returns is the answer.
type handler func(w http.ResponseWriter, r *http.Request) error

// Handler is the web server's HTTP handler: every route behind the access
// check, with mitmweb's security headers.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	serve := func(patterns string, h handler, compress bool) {
		for _, p := range strings.Split(patterns, "|") {
			hf := s.answer(h)
			if compress {
				hf = gzipped(hf)
			}
			mux.HandleFunc(p, hf)
		}
	}
	// The API's answers are compressed (compress.go); the front end's
	// files are served as they are built.
	route := func(patterns string, h handler) { serve(patterns, h, true) }
	serve("GET /{$}|POST /{$}", s.index, false)
	serve("GET /assets/{file}|GET /favicon.svg", s.asset, false)
	route("GET /filter-help|GET /filter-help.json", s.filterHelp)
	route("GET /commands|GET /commands.json", s.commands)
	route("POST /commands/{cmd}", s.executeCommand)
	route("GET /commands/{cmd}/completions", s.completions)
	route("GET /events|GET /events.json", s.getEvents)
	route("GET /flows|GET /flows.json", s.getFlows)
	route("GET /flows/dump", s.dumpFlows)
	route("POST /flows/dump", s.loadFlows)
	route("POST /flows/resume", s.resumeAll)
	route("POST /flows/kill", s.killAll)
	route("DELETE /flows/{id}", s.deleteFlow)
	route("PUT /flows/{id}", s.editFlow)
	route("POST /flows/{id}/resume", s.resumeFlow)
	route("POST /flows/{id}/kill", s.killFlow)
	route("POST /flows/{id}/duplicate", s.duplicateFlow)
	route("POST /flows/{id}/replay", s.replayFlow)
	route("POST /flows/{id}/revert", s.revertFlow)
	route("GET /flows/{id}/har", s.flowHAR)
	route("GET /flows/{id}/{message}/content.data", s.getContent)
	route("POST /flows/{id}/{message}/content.data", s.setContent)
	route("GET /flows/{id}/{message}/content/{view}", s.contentView)
	route("POST /clear", s.clear)
	route("GET /options|GET /options.json", s.getOptions)
	route("PUT /options|PUT /options.json", s.putOptions)
	route("POST /options/save", func(http.ResponseWriter, *http.Request) error { return nil })
	route("GET /state|GET /state.json", s.state)
	route("GET /processes", func(w http.ResponseWriter, r *http.Request) error { return writeJSON(w, []any{}) })
	serve("GET /updates", func(w http.ResponseWriter, r *http.Request) error { s.updates(w, r); return nil }, false)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Server", "mitmgo "+proxy.Version)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-XSS-Protection", "1; mode=block")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws:; img-src 'self' data:; style-src   'self' 'unsafe-inline'")
		if !s.check(w, r) {
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// answer adapts an API handler: an error it returns is the answer, unless
// the answer has started (its header or part of its body written), when
// the status can no longer say so: the error is logged and the connection
// dropped (http.ErrAbortHandler), so that the client sees the answer cut
// short rather than a complete one with the error's text at its end.
func (s *Server) answer(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		aw := &answerWriter{ResponseWriter: w}
		err := h(aw, r)
		if err == nil {
			return
		}
		if !aw.started {
			s.writeError(aw, r, err)
			return
		}
		if s.log != nil {
			s.log.Error(fmt.Sprintf("web: %s %s: %v (after the answer started: the connection is dropped)", r.Method, r.URL.Path, err))
		}
		panic(http.ErrAbortHandler)
	}
}

// answerWriter is a handler's ResponseWriter that knows whether the answer
// has started. It passes Flush and Hijack on (GET /updates hijacks the
// connection) and unwraps for http.ResponseController.
type answerWriter struct {
	http.ResponseWriter
	started bool
}

func (a *answerWriter) WriteHeader(status int) {
	// An informational answer (103 Early Hints) comes before the real
	// one; 101 is the last this connection sends.
	if status >= 200 || status == http.StatusSwitchingProtocols {
		a.started = true
	}
	a.ResponseWriter.WriteHeader(status)
}

func (a *answerWriter) Write(p []byte) (int, error) {
	a.started = true
	return a.ResponseWriter.Write(p)
}

// Flush sends the header (and what is buffered), as http.Flusher.
func (a *answerWriter) Flush() {
	a.started = true
	_ = http.NewResponseController(a.ResponseWriter).Flush()
}

// Hijack hands the connection over, as http.Hijacker; nothing may answer
// on it afterwards.
func (a *answerWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(a.ResponseWriter).Hijack()
	if err == nil {
		a.started = true
	}
	return conn, brw, err
}

func (a *answerWriter) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// writeError answers a handler's error. An apiError's message is the
// body, as mitmproxy's APIError; any other error is a 500 whose details go
// to the event log only, as tornado's error page (without debug) tells
// none. mitmproxy (tornado) sends these as text/html; they are sent as
// text/plain here, with nosniff (set for every answer in Handler), because
// messages quote what the request gave ("Unknown option(s): <name>") and
// must never be taken for markup.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		if s.log != nil {
			s.log.Error(fmt.Sprintf("web: %s %s: %v", r.Method, r.URL.Path, err))
		}
		ae = &apiError{status: http.StatusInternalServerError, msg: "500: Internal Server Error"}
	}
	h := w.Header()
	// A partly made answer's headers (a download's name) do not belong
	// to the error.
	h.Del("Content-Disposition")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(ae.status)
	_, _ = io.WriteString(w, ae.msg)
}

func writeJSON(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(b)
	return nil
}

// readJSON decodes a request's JSON body (app.py's json property).
func readJSON(r *http.Request, v any) error {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return errorf(400, "Invalid Content-Type, expected application/json.")
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return errorf(400, "Malformed JSON: %v", err)
	}
	return nil
}

// fileContents is an upload: the first file of a multipart form, or the
// body (app.py's filecontents).
func fileContents(r *http.Request) ([]byte, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			return nil, errorf(400, "Malformed upload: %v", err)
		}
		for _, files := range r.MultipartForm.File {
			if len(files) == 0 {
				continue
			}
			f, err := files[0].Open()
			if err != nil {
				return nil, err
			}
			defer f.Close()
			return io.ReadAll(f)
		}
	}
	return io.ReadAll(r.Body)
}

func (s *Server) filterHelp(w http.ResponseWriter, r *http.Request) error {
	var cmds [][2]string
	for _, e := range filter.Help() {
		cmds = append(cmds, [2]string{e.Expr, e.Help})
	}
	return writeJSON(w, map[string]any{"commands": cmds})
}

func (s *Server) commands(w http.ResponseWriter, r *http.Request) error {
	out := map[string]any{}
	for _, c := range s.cmds.Commands() {
		params := make([]any, 0, len(c.Params))
		for _, p := range c.Params {
			kind := "POSITIONAL_OR_KEYWORD"
			if p.Variadic {
				kind = "VAR_POSITIONAL"
			}
			params = append(params, map[string]any{"name": p.Name, "type": p.Type.String(), "kind": kind})
		}
		var ret any
		if !c.Returns.IsNone() {
			ret = c.Returns.String()
		}
		out[c.Name] = map[string]any{"help": c.Help, "parameters": params, "return_type": ret, "signature_help": c.Signature()}
	}
	return writeJSON(w, out)
}

var commandName = regexp.MustCompile(`^[a-z.]+$`)

func (s *Server) executeCommand(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("cmd")
	if !commandName.MatchString(name) {
		return errorf(404, "Not Found")
	}
	var body struct {
		Arguments []any `json:"arguments"`
	}
	var args []string
	if readJSON(r, &body) == nil {
		for _, a := range body.Arguments {
			args = append(args, fmt.Sprint(a))
		}
	}
	res, err := s.cmds.CallStrings(name, args)
	if err != nil {
		return writeJSON(w, map[string]any{"error": err.Error()})
	}
	return writeJSON(w, map[string]any{"value": s.commandValue(res)})
}

// commandValue makes a command's result JSON: flows as their JSON form.
func (s *Server) commandValue(v any) any {
	switch v := v.(type) {
	case flow.Any:
		return s.flowJSON(v)
	case []flow.Any:
		out := make([]any, len(v))
		for i, f := range v {
			out[i] = s.flowJSON(f)
		}
		return out
	case []byte:
		return string(v)
	}
	if _, err := json.Marshal(v); err != nil {
		return fmt.Sprint(v)
	}
	return v
}

func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) error {
	s.eventsMu.Lock()
	evs := slices.Clone(s.events)
	s.eventsMu.Unlock()
	if evs == nil {
		evs = []map[string]any{}
	}
	return writeJSON(w, evs)
}

func (s *Server) getFlows(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(s.flowsJSON(s.view.Shown()))
	return nil
}

// flow finds the flow of the request's {id}.
func (s *Server) flow(r *http.Request) (flow.Any, error) {
	if f, ok := s.view.Get(r.PathValue("id")); ok {
		return f, nil
	}
	return nil, errorf(404, "Flow not found.")
}

// readable finds the flow and checks that it may be read and changed: it
// is over, or intercepted. A flow the proxy is still working on is not.
// The answer may be stale by the time the caller acts on it (a resume comes
// in between): it suits handlers that hand the flow to something that
// checks again (a command, the view's Duplicate); those that read or change
// the flow themselves use withReadable or editReadable.
func (s *Server) readable(r *http.Request) (flow.Any, error) {
	f, err := s.flow(r)
	if err != nil {
		return nil, err
	}
	if !s.view.Readable(f) {
		return nil, errInProgress
	}
	return f, nil
}

// withReadable runs fn on the request's flow when it may be read, in the
// same hold of the view's lock as the check (View.IfReadable): a resume
// from another browser, a script or the console cannot come between them
// and let the proxy write the flow while fn reads it. fn must not call the
// view; its error is returned.
func (s *Server) withReadable(r *http.Request, fn func(f flow.Any) error) (flow.Any, error) {
	f, err := s.flow(r)
	if err != nil {
		return nil, err
	}
	var ferr error
	if !s.view.IfReadable(f, func() { ferr = fn(f) }) {
		return nil, errInProgress
	}
	return f, ferr
}

// editReadable is withReadable for a change: fn reports whether it changed
// the flow, and the update hook then runs for it (after the view's lock is
// released, as the view's Update takes it).
func (s *Server) editReadable(r *http.Request, fn func(f flow.Any) (bool, error)) error {
	changed := false
	f, err := s.withReadable(r, func(f flow.Any) error {
		var err error
		changed, err = fn(f)
		return err
	})
	if changed {
		s.ctx.Update(f)
	}
	return err
}

// errInProgress answers a request for a flow that may not be read now.
var errInProgress = errorf(409, "Flow is in progress; intercept it to change it.")

// state renders a flow for a flow file.
func stateOf(f flow.Any) *tnetstring.Dict { return f.State() }

func (s *Server) dumpFlows(w http.ResponseWriter, r *http.Request) error {
	var flt filter.Filter
	if q, ok := r.URL.Query()["filter"]; ok && len(q) > 0 {
		var err error
		if flt, err = filter.Parse(q[0]); err != nil {
			return errorf(400, "Invalid filter argument / regex")
		}
	}
	// The flows are matched and their states taken under the view's lock,
	// where no resume lets the proxy write one meanwhile; a flow in
	// progress is left out: it cannot be read yet. The file is written
	// from the states after the lock is released.
	var states []*tnetstring.Dict
	s.view.WithShownReadable(func(flows []flow.Any, readable []bool) {
		for i, f := range flows {
			if readable[i] && (flt == nil || flt.Match(f)) {
				states = append(states, stateOf(f))
			}
		}
	})
	var buf bytes.Buffer
	fw := flowfile.NewWriter(&buf, flowfile.Version21)
	for _, st := range states {
		if err := fw.Write(st); err != nil {
			return err
		}
	}
	w.Header().Set("Content-Disposition", "attachment; filename=flows")
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(buf.Bytes())
	return nil
}

func (s *Server) loadFlows(w http.ResponseWriter, r *http.Request) error {
	data, err := fileContents(r)
	if err != nil {
		return err
	}
	rd := flowfile.NewReader(bytes.NewReader(data))
	var flows []flow.Any
	for {
		d, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return errorf(400, "Invalid flow file: %v", err)
		}
		fl, err := flow.FromState(d)
		if err != nil {
			return errorf(400, "Invalid flow file: %v", err)
		}
		if fa, ok := fl.(flow.Any); ok {
			fa.Base().SetLive(false)
			flows = append(flows, fa)
		}
	}
	s.view.Clear()
	s.view.Add(flows...)
	return nil
}

func (s *Server) clear(w http.ResponseWriter, r *http.Request) error {
	s.view.Clear()
	s.eventsMu.Lock()
	s.events = nil
	s.eventsMu.Unlock()
	s.hub.broadcast(message{"type": "events/reset"})
	return nil
}

// edit changes flows inside the view's EditFlows and fires the update hook
// for those fn reports changed.
func (s *Server) edit(flows []flow.Any, fn func(f flow.Any) bool) {
	var changed []flow.Any
	s.ctx.EditFlows(func() {
		for _, f := range flows {
			if fn(f) {
				changed = append(changed, f)
			}
		}
	})
	if len(changed) > 0 {
		s.ctx.Update(changed...)
	}
}

// resume and kill change a flow for s.edit: they report whether they did
// (Resume on an intercepted flow, Kill on a killable one), as the update
// hook is due then.
func resume(f flow.Any) bool { return f.Base().Resume() }

func kill(f flow.Any) bool { return f.Base().Kill() == nil }

func (s *Server) resumeAll(w http.ResponseWriter, r *http.Request) error {
	s.edit(s.view.Shown(), resume)
	return nil
}

func (s *Server) killAll(w http.ResponseWriter, r *http.Request) error {
	s.edit(s.view.Shown(), kill)
	return nil
}

func (s *Server) resumeFlow(w http.ResponseWriter, r *http.Request) error {
	f, err := s.flow(r)
	if err != nil {
		return err
	}
	s.edit([]flow.Any{f}, resume)
	return nil
}

func (s *Server) killFlow(w http.ResponseWriter, r *http.Request) error {
	f, err := s.flow(r)
	if err != nil {
		return err
	}
	s.edit([]flow.Any{f}, kill)
	return nil
}

func (s *Server) deleteFlow(w http.ResponseWriter, r *http.Request) error {
	f, err := s.flow(r)
	if err != nil {
		return err
	}
	s.edit([]flow.Any{f}, kill)
	s.view.Remove(f)
	return nil
}

func (s *Server) duplicateFlow(w http.ResponseWriter, r *http.Request) error {
	f, err := s.readable(r)
	if err != nil {
		return err
	}
	dups := s.view.Duplicate(f)
	if len(dups) == 0 {
		return errorf(409, "Flow is in progress; intercept it to change it.")
	}
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	_, _ = io.WriteString(w, dups[0].Base().ID)
	return nil
}

func (s *Server) replayFlow(w http.ResponseWriter, r *http.Request) error {
	f, err := s.readable(r)
	if err != nil {
		return err
	}
	if _, err := s.cmds.Call("replay.client", []flow.Any{f}); err != nil {
		return errorf(400, "%v", err)
	}
	return nil
}

func (s *Server) revertFlow(w http.ResponseWriter, r *http.Request) error {
	return s.editReadable(r, func(f flow.Any) (bool, error) { return f.Modified() && f.Revert(), nil })
}

// flowHAR answers an HTTP flow as a HAR file of that one flow, for the web
// UI's export dialog (mitmproxy's export command has no HAR format; its
// save.har writes to a file on the server).
func (s *Server) flowHAR(w http.ResponseWriter, r *http.Request) error {
	var st *tnetstring.Dict
	if _, err := s.withReadable(r, func(f flow.Any) error {
		if f.Type() != "http" {
			return errorf(400, "Only HTTP flows can be exported as HAR.")
		}
		st = stateOf(f)
		return nil
	}); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := flowfile.WriteHAR(&buf, []*tnetstring.Dict{st}); err != nil {
		return fmt.Errorf("HAR export: %w", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Content-Disposition", "attachment; filename=flow.har")
	_, _ = w.Write(buf.Bytes())
	return nil
}

// httpMessage returns the request or response of an HTTP flow.
func httpMessage(f flow.Any, name string) (*flow.Message, *flow.HTTPFlow, error) {
	hf, ok := f.(*flow.HTTPFlow)
	if !ok {
		return nil, nil, errorf(400, "This flow has no %s.", name)
	}
	switch name {
	case "request":
		if hf.Request != nil {
			return &hf.Request.Message, hf, nil
		}
	case "response":
		if hf.Response != nil {
			return &hf.Response.Message, hf, nil
		}
	default:
		return nil, nil, errorf(404, "Not Found")
	}
	return nil, nil, errorf(400, "This flow has no %s.", name)
}

var (
	cdFilename  = regexp.MustCompile(`filename=([-\w" .()]+)`)
	badFilename = regexp.MustCompile(`[^-\w" .()]`)
)

func (s *Server) getContent(w http.ResponseWriter, r *http.Request) error {
	if ok, err := s.streamedContent(w, r); ok {
		return err
	}
	var msg *flow.Message
	var name string
	_, err := s.withReadable(r, func(f flow.Any) error {
		m, hf, err := httpMessage(f, r.PathValue("message"))
		if err != nil {
			return err
		}
		// Only what decoding needs is taken under the view's lock, which
		// every flow's hooks wait for: the body's bytes are replaced, never
		// changed in place, so they are read after it is released.
		msg = detachMessage(m)
		if cd := m.Headers.Get("Content-Disposition"); cd != "" {
			if mm := cdFilename.FindStringSubmatch(cd); mm != nil {
				name = mm[1]
			}
		}
		if name == "" {
			p, _, _ := strings.Cut(hf.Request.Path, "?")
			name = p[strings.LastIndex(p, "/")+1:]
		}
		return nil
	})
	if err != nil {
		return err
	}
	content, err := msg.Content()
	if err != nil {
		content = msg.RawContent
	}
	name = badFilename.ReplaceAllString(name, "")
	w.Header().Set("Content-Disposition", "attachment; filename="+name)
	w.Header().Set("Content-Type", "application/text")
	_, _ = w.Write(content)
	return nil
}

func (s *Server) setContent(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.flow(r); err != nil {
		return err
	}
	data, err := fileContents(r)
	if err != nil {
		return err
	}
	return s.editReadable(r, func(f flow.Any) (bool, error) {
		m, _, err := httpMessage(f, r.PathValue("message"))
		if err != nil {
			return false, err
		}
		f.Backup()
		m.SetContent(data)
		return true, nil
	})
}

// editFlow applies a JSON edit of a flow (app.py FlowHandler.put): request
// and response fields, headers, trailers and text content, marked and
// comment. An invalid edit is reverted.
func (s *Server) editFlow(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.flow(r); err != nil {
		return err
	}
	var upd map[string]any
	if err := readJSON(r, &upd); err != nil {
		return err
	}
	return s.editReadable(r, func(f flow.Any) (bool, error) {
		f.Backup()
		err := applyEdit(f, upd)
		if err != nil {
			f.Revert()
		}
		return true, err
	})
}

func applyEdit(f flow.Any, upd map[string]any) error {
	hf, _ := f.(*flow.HTTPFlow)
	keys := make([]string, 0, len(upd))
	for k := range upd {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, a := range keys {
		b := upd[a]
		switch {
		case a == "request" && hf != nil && hf.Request != nil:
			fields, _ := b.(map[string]any)
			req := hf.Request
			for _, k := range fieldOrder(fields) {
				v := fields[k]
				switch k {
				case "method":
					req.Method = str(v)
				case "scheme":
					req.Scheme = str(v)
				case "host":
					req.SetHost(str(v))
				case "path":
					req.Path = str(v)
				case "http_version":
					req.HTTPVersion = str(v)
				case "port":
					n, err := toInt(v)
					if err != nil {
						return errorf(400, "Unknown update request.port: %v", v)
					}
					req.SetPort(n)
				case "headers":
					h, err := toHeaders(v)
					if err != nil {
						return err
					}
					req.Headers = h
				case "trailers":
					h, err := toHeaders(v)
					if err != nil {
						return err
					}
					req.Trailers = h
				case "content":
					req.SetText(str(v))
				default:
					return errorf(400, "Unknown update request.%s: %v", k, v)
				}
			}
		case a == "response" && hf != nil && hf.Response != nil:
			fields, _ := b.(map[string]any)
			resp := hf.Response
			for _, k := range fieldOrder(fields) {
				v := fields[k]
				switch k {
				case "reason":
					resp.Reason = str(v)
				case "http_version":
					resp.HTTPVersion = str(v)
				case "code":
					n, err := toInt(v)
					if err != nil {
						return errorf(400, "Unknown update response.code: %v", v)
					}
					resp.StatusCode = n
				case "headers":
					h, err := toHeaders(v)
					if err != nil {
						return err
					}
					resp.Headers = h
				case "trailers":
					h, err := toHeaders(v)
					if err != nil {
						return err
					}
					resp.Trailers = h
				case "content":
					resp.SetText(str(v))
				default:
					return errorf(400, "Unknown update response.%s: %v", k, v)
				}
			}
		case a == "marked":
			f.Base().SetMarked(str(b))
		case a == "comment":
			f.Base().SetComment(str(b))
		default:
			return errorf(400, "Unknown update %s: %v", a, b)
		}
	}
	return nil
}

// fieldOrder is the order to apply a message's edited fields in: sorted,
// with the content last, so that the Content-Length it sets is not undone
// by headers edited at the same time.
func fieldOrder(fields map[string]any) []string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != "content" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if _, ok := fields["content"]; ok {
		keys = append(keys, "content")
	}
	return keys
}

func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return "None"
	}
	return fmt.Sprint(v)
}

func toInt(v any) (int, error) {
	switch v := v.(type) {
	case json.Number:
		n, err := v.Int64()
		return int(n), err
	case string:
		var n int
		_, err := fmt.Sscan(v, &n)
		return n, err
	}
	return 0, errors.New("not an integer")
}

func toHeaders(v any) (flow.Headers, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, errorf(400, "Invalid headers: %v", v)
	}
	h := flow.Headers{}
	for _, e := range list {
		pair, ok := e.([]any)
		if !ok || len(pair) != 2 {
			return nil, errorf(400, "Invalid header: %v", e)
		}
		h.Add(str(pair[0]), str(pair[1]))
	}
	return h, nil
}

// getOptions answers with the options as they are once no PUT /options is
// being applied: an option's value is stored before the addons are
// configured with it, and in mitmproxy (one event loop) no request sees
// that moment; a client that reads the new value may rely on it being in
// force (an intercept filter set, then a request sent).
func (s *Server) getOptions(w http.ResponseWriter, r *http.Request) error {
	s.optionsMu.RLock()
	defer s.optionsMu.RUnlock()
	return writeJSON(w, optionsJSON(s.opts, nil))
}

func (s *Server) putOptions(w http.ResponseWriter, r *http.Request) error {
	var upd map[string]any
	if err := readJSON(r, &upd); err != nil {
		return err
	}
	values := make(map[string]any, len(upd))
	for name, v := range upd {
		opt, _, ok := s.opts.Lookup(name)
		if !ok {
			return errorf(400, "Unknown option(s): %s", name)
		}
		cv, err := optionValue(opt.Kind, v)
		if err != nil {
			return errorf(400, "%s: %v", name, err)
		}
		values[name] = cv
	}
	s.optionsMu.Lock()
	err := s.opts.Update(values)
	s.optionsMu.Unlock()
	if err != nil {
		return errorf(400, "%v", err)
	}
	return nil
}

// optionValue converts a JSON value to an option's Go type.
func optionValue(k addon.Kind, v any) (any, error) {
	bad := fmt.Errorf("expected %s, got %v", k, v)
	switch k {
	case addon.Bool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case addon.Int:
		if n, err := toInt(v); err == nil {
			return n, nil
		}
	case addon.String:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case addon.OptionalString:
		if v == nil {
			return (*string)(nil), nil
		}
		if s, ok := v.(string); ok {
			return &s, nil
		}
	case addon.OptionalInt:
		if v == nil {
			return (*int)(nil), nil
		}
		if n, err := toInt(v); err == nil {
			return &n, nil
		}
	case addon.Strings:
		list, ok := v.([]any)
		if !ok {
			return nil, bad
		}
		out := make([]string, 0, len(list))
		for _, e := range list {
			s, ok := e.(string)
			if !ok {
				return nil, bad
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, bad
}

// contentViewNames lists the content views the UI may offer: the built-in
// ones and those scripts add.
func (s *Server) contentViewNames() []string {
	names := contentview.Names()
	for _, v := range s.extraViews() {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, v.Name()) }) {
			names = append(names, v.Name())
		}
	}
	return names
}

func (s *Server) state(w http.ResponseWriter, r *http.Request) error {
	servers := map[string]any{}
	var listen []any
	if a := s.master.Addr(); a != nil {
		if host, port, ok := splitAddr(a.String()); ok {
			listen = []any{[]any{host, port}}
		}
	}
	for _, spec := range s.master.Opts.Mode.Get() {
		typ, _, _ := strings.Cut(spec, ":")
		servers[spec] = map[string]any{
			"type": typ, "description": typ + " proxy", "full_spec": spec,
			"is_running": listen != nil, "last_exception": nil, "listen_addrs": listen,
		}
	}
	platform := runtime.GOOS
	if platform == "windows" {
		platform = "win32"
	}
	return writeJSON(w, map[string]any{
		"version":              proxy.Version,
		"contentViews":         s.contentViewNames(),
		"servers":              servers,
		"platform":             platform,
		"localModeUnavailable": "Local redirect mode is not supported by mitmgo yet.",
	})
}
