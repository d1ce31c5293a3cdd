// Package web is mitmweb's server side: the web server on web_host and
// web_port with mitmproxy 11+'s access control (a token printed at
// start-up or web_password, an auth cookie, XSRF, Host and Origin checks,
// and mitmproxy 12's login form for a browser that comes without them) and
// mitmproxy 12's mitmweb HTTP API and /updates WebSocket, on the view that
// the front door (package mitmgo) assembles for mitmweb.
//
// The server is an addon (Server, named "web"): it declares mitmweb's
// options, starts listening when the proxy is running, keeps the event log
// (/events) and tells the browsers of changes to flows, options and the
// log. Attach gives it the master's view and commands.
//
// # Flows and concurrency
//
// A flow may be read only in its own hooks, or when it is over or
// intercepted (see package view). The server renders a flow's JSON where
// the view tells it of a change, which happens in the flow's hooks, and
// keeps the latest JSON of every flow: GET /flows and the /updates
// messages are made from it, and never read a flow in flight. Handlers
// that read or change a flow check that it may be read and act in one hold
// of the view's lock (withReadable). While a browser has a filter, a copy
// of each flow in flight is kept from its last hook, so that filters match
// flows in progress as mitmproxy's do.
package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mitmgo/mitmgo"
	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/view"
)

// static is the front end, built from web/ui (npm run build there writes
// it; see web/ui/README.md): index.html and the hashed files in assets/.
//
//go:embed static
var static embed.FS

// staticTypes are the content types of the front end's files, fixed here
// rather than taken from the system's MIME tables, which vary.
var staticTypes = map[string]string{
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".html":  "text/html; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".json":  "application/json; charset=utf-8",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
}

// index serves the front end's page. It is not cached, so that a new
// build's asset names are picked up.
func (s *Server) index(w http.ResponseWriter, r *http.Request) error {
	b, err := static.ReadFile("static/index.html")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
	return nil
}

// asset serves a file of the built front end. Files in assets/ are named
// by their content's hash, so browsers may keep them for good.
func (s *Server) asset(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimPrefix(r.URL.Path, "/")
	ct, ok := staticTypes[path.Ext(name)]
	if !ok || !fs.ValidPath(name) {
		return errorf(http.StatusNotFound, "Not Found")
	}
	b, err := static.ReadFile("static/" + name)
	if err != nil {
		return errorf(http.StatusNotFound, "Not Found")
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	if strings.HasPrefix(name, "assets/") {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	_, _ = w.Write(b)
	return nil
}

// Server is the mitmweb addon and web server.
type Server struct {
	master *mitmgo.Master
	view   *view.View
	cmds   *command.Registry
	opts   *addon.Options
	log    *slog.Logger
	ctx    *addon.Context

	optHost, optPassword addon.Opt[string]
	optPort              addon.Opt[int]
	optOpen              addon.Opt[bool]

	// optionsMu makes PUT /options (the update and the configure hooks
	// it runs) one step for GET /options.
	optionsMu sync.RWMutex

	mu   sync.Mutex
	auth *auth
	host string // web_host, for the Host check
	srv  *http.Server
	ln   net.Listener
	url  string
	// failed: the web server could not listen (mitmweb exits with 1).
	failed bool

	// flows holds the latest JSON of every flow in the store, by id.
	flowsMu sync.Mutex
	flows   map[string]map[string]any
	// enc holds the encoded JSON of the flows that are over (view.Over)
	// in place of flows: one block of bytes per flow rather than maps
	// of maps, which at 100,000 flows cost the garbage collector most
	// of its time, and GET /flows copies it as it is. A flow that is over
	// may be read, so its JSON as a map is made again when needed.
	enc map[string][]byte
	// snaps holds, for each flow in flight (not readable, or intercepted)
	// that was rendered while a browser had a filter, a copy of it as its
	// last render saw it: a filter
	// a browser sets between two hooks is matched against it
	// (updateFilter), as mitmproxy matches every flow of its view, and so
	// are the filters of the messages of its changes. The copy is never
	// written, so it may be read from any goroutine; it goes once the flow
	// is over.
	snaps map[string]flow.Any
	// live holds the messages of WebSocket/TCP/UDP flows still open.
	live liveMessages
	// streams are the HTTP flows in flight, whose bodies may stream
	// (streaming.go); pubMu orders what is kept in flows and sent to the
	// browsers between the flows' hooks and the streaming watcher.
	streamsMu sync.Mutex
	streams   map[string]*flow.HTTPFlow
	pubMu     sync.Mutex
	// renderMu makes a flow's render, the keeping of its JSON and the
	// message to the browsers one step (renderKeep), one lock per stripe
	// of flow ids: see flowLock.
	renderMu [renderStripes]sync.Mutex
	// viewNames are the content views the browsers were told of (only
	// the watcher uses it); stopWatch ends the watcher.
	viewNames []string
	stopWatch chan struct{}

	eventsMu sync.Mutex
	events   []map[string]any
	eventID  int

	hub hub

	unsubscribe func()
}

// renderStripes is the number of render locks (Server.renderMu): flows
// whose ids fall on different stripes are rendered at once.
const renderStripes = 64

// flowLock is the render lock of a flow id.
func (s *Server) flowLock(id string) *sync.Mutex {
	// FNV-1a: ids are UUIDs, spread well by any hash.
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return &s.renderMu[h%renderStripes]
}

// maxEvents bounds the event log, as mitmproxy's eventstore (size 10000).
const maxEvents = 10000

var (
	_ addon.LoadHook      = (*Server)(nil)
	_ addon.ConfigureHook = (*Server)(nil)
	_ addon.RunningHook   = (*Server)(nil)
	_ addon.DoneHook      = (*Server)(nil)
	_ addon.LogHook       = (*Server)(nil)
)

// New returns the web server addon; give it the master with Attach before
// the master starts.
func New() *Server {
	return &Server{flows: map[string]map[string]any{}, enc: map[string][]byte{}, snaps: map[string]flow.Any{},
		hub: hub{conns: map[*wsConn]struct{}{}}}
}

// Name is the addon's name.
func (s *Server) Name() string { return "web" }

// Attach connects the server to the master's view and commands. The master
// must have been made with Config.View.
func (s *Server) Attach(m *mitmgo.Master) error {
	if m.View == nil {
		return errors.New("web: the master has no view (mitmgo.Config.View)")
	}
	s.master, s.view, s.cmds, s.opts = m, m.View, m.Commands, m.Options
	s.unsubscribe = s.view.Subscribe(s.viewEvent)
	return nil
}

// Load declares mitmweb's options (mitmproxy 12's WebAddon and WebAuth).
func (s *Server) Load(l *addon.Loader) {
	s.ctx = l.Context()
	s.log = s.ctx.Log
	s.optOpen = addon.Declare(l, "web_open_browser", true, "Start a browser.")
	addon.Declare(l, "web_debug", false, "Enable mitmweb debugging.")
	s.optPort = addon.Declare(l, "web_port", 8081, "Web UI port.")
	s.optHost = addon.Declare(l, "web_host", "127.0.0.1", "Web UI host.")
	addon.Declare(l, "web_columns", []string{"tls", "icon", "path", "method", "status", "size", "time"},
		"Columns to show in the flow list. Can be one of the following: tls, icon, index, method, version, path, quickactions, size, status, time, timestamp, comment")
	addon.Declare(l, "web_theme", "system", "Preferred color theme for the mitmweb user interface.", "system", "dark", "light")
	s.optPassword = addon.Declare(l, "web_password", "",
		"Password to protect the mitmweb user interface. Values starting with `$` are interpreted as an argon2 hash, "+
			"everything else is considered a plaintext password. If no password is provided, a random token is generated on startup."+
			"For automated calls, you can pass the password as token query parameter"+
			"or as `Authorization: Bearer ...` header.")
}

// Configure checks web_password and tells the browsers of changed options.
func (s *Server) Configure(updated map[string]bool) error {
	if updated["web_password"] || s.auth == nil {
		a := &auth{secret: []byte(randomHex(32)), port: s.optPort.Get()}
		pw := s.optPassword.Get()
		switch {
		case strings.HasPrefix(pw, "$"):
			h, err := parseArgon2(pw)
			if err != nil {
				return err
			}
			a.hash = h
		case pw != "":
			s.log.Warn("Using a plaintext password to protect the mitmweb user interface. " +
				"Consider using an argon2 hash for `web_password`  instead.")
			a.password = pw
		default:
			a.password = randomHex(16)
		}
		s.mu.Lock()
		if s.auth != nil {
			// A new password ends the sessions of the old one (the
			// secret is new); the server's port stays.
			a.port = s.auth.port
		}
		s.auth = a
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.host = s.optHost.Get()
	s.mu.Unlock()
	names := make([]string, 0, len(updated))
	for n := range updated {
		names = append(names, n)
	}
	if opts := optionsJSON(s.ctx.Options, names); len(opts) > 0 {
		s.hub.broadcast(message{"type": "options/update", "payload": opts})
	}
	return nil
}

// Running starts the web server and prints its address.
func (s *Server) Running() {
	if s.view == nil {
		s.log.Error("web: not attached to a master")
		return
	}
	host, port := s.optHost.Get(), s.optPort.Get()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		msg := fmt.Sprintf("Web server failed to listen on %s:%d with %v", cmpOr(host, "*"), port, err)
		if errors.Is(err, syscall.EADDRINUSE) {
			msg += fmt.Sprintf("\nTry specifying a different port by using `--set web_port=%d`.", port+2)
		}
		s.log.Error(msg)
		s.mu.Lock()
		s.failed = true
		s.mu.Unlock()
		s.ctx.Shutdown()
		return
	}
	s.mu.Lock()
	a := s.auth
	a.port = ln.Addr().(*net.TCPAddr).Port
	urlHost := host
	if strings.Contains(urlHost, ":") {
		urlHost = "[" + urlHost + "]"
	}
	if urlHost == "" {
		urlHost = "127.0.0.1"
	}
	tok := ""
	if s.optPassword.Get() == "" {
		tok = "?token=" + a.password
	}
	s.url = fmt.Sprintf("http://%s:%d/%s", urlHost, a.port, tok)
	s.ln = ln
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 30 * time.Second}
	srv, url := s.srv, s.url
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	s.stopWatch = make(chan struct{})
	go s.watch(s.stopWatch)
	s.log.Info("Web server listening at " + url)
	if s.optOpen.Get() {
		s.openBrowser(url)
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// openBrowser opens the UI where a browser opener is installed, as
// mitmproxy's open_browser, and says where to point one otherwise.
func (s *Server) openBrowser(url string) {
	for _, name := range []string{"xdg-open", "gio", "x-www-browser", "open"} {
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		args := []string{url}
		if name == "gio" {
			args = []string{"open", url}
		}
		cmd := exec.Command(path, args...)
		if cmd.Start() == nil {
			go func() { _ = cmd.Wait() }()
			return
		}
	}
	s.log.Info("No web browser found. Please open a browser and point it to " + url)
	if s.optPassword.Get() == "" {
		s.log.Info("You can configure a fixed authentication token by setting the `web_password` option " +
			"(https://docs.mitmproxy.org/stable/concepts-options/#web_password).")
	}
}

// Failed reports whether the web server could not start.
func (s *Server) Failed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// URL is the address printed at start-up ("" before Running).
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Done stops the web server and closes the browsers' connections.
func (s *Server) Done() {
	if s.unsubscribe != nil {
		s.unsubscribe()
	}
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if s.stopWatch != nil {
		close(s.stopWatch)
		s.stopWatch = nil
	}
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
	s.hub.closeAll()
}

// AddLog keeps the entry for /events and sends it to the browsers.
func (s *Server) AddLog(e *addon.LogEntry) {
	s.eventsMu.Lock()
	s.eventID++
	j := map[string]any{"id": s.eventID, "message": e.Msg, "level": addon.LevelName(e.Level)}
	s.events = append(s.events, j)
	if len(s.events) > maxEvents {
		s.events = append(s.events[:0:0], s.events[len(s.events)-maxEvents:]...)
	}
	s.eventsMu.Unlock()
	s.hub.broadcast(message{"type": "events/add", "payload": j})
}

// viewEvent follows the view: it renders the flow's JSON where the flow
// may be read, keeps it, and tells the browsers.
func (s *Server) viewEvent(ev view.Event) {
	switch ev.Kind {
	case view.Added, view.Updated:
		typ := "flows/add"
		if ev.Kind == view.Updated {
			typ = "flows/update"
		}
		// The flow's render lock is held from the render to the message,
		// so that the browsers get a flow's states in the order they were
		// kept (the last one sent is the one GET /flows answers).
		id := ev.Flow.Base().ID
		mu := s.flowLock(id)
		mu.Lock()
		// pubMu is held from before the render that keeps the JSON to its
		// message, as streamUpdate holds it from reading the kept JSON to
		// its own: whichever comes second starts from what the first kept
		// and is sent after it, so the JSON kept last is the one the
		// browsers got last. With pubMu taken only to send, streamUpdate
		// could copy this render's JSON, keep and send its copy (with the
		// streamed length), and this older render be sent after it.
		s.pubMu.Lock()
		// An event made outside the flow's hooks is InFlight when the
		// flow may not be read; a hook's own event (ev.Hook) may read it
		// (see renderKeepLocked).
		j, enc := s.renderKeepLocked(ev.Flow, ev.InFlight, ev.Hook)
		if j == nil {
			s.pubMu.Unlock()
			mu.Unlock()
			return
		}
		// The filters are matched against the copy of the flow that its
		// last render kept where there is one (a flow in flight or
		// intercepted, which a resume may hand back to the proxy before
		// the filters are matched), or else against the flow, which is
		// over; a command's change to a flow in flight without a copy is
		// not matched.
		var m flow.Any = ev.Flow
		s.flowsMu.Lock()
		if sn, ok := s.snaps[id]; ok {
			m = sn
		} else if ev.InFlight {
			m = nil
		}
		s.flowsMu.Unlock()
		s.hub.broadcastFlowJSON(typ, id, m, j, enc)
		s.pubMu.Unlock()
		mu.Unlock()
	case view.Removed:
		s.hub.broadcast(message{"type": "flows/remove", "payload": ev.Flow.Base().ID})
	case view.StoreRemoved:
		s.flowsMu.Lock()
		delete(s.flows, ev.Flow.Base().ID)
		delete(s.enc, ev.Flow.Base().ID)
		delete(s.snaps, ev.Flow.Base().ID)
		s.flowsMu.Unlock()
		s.live.drop(ev.Flow.Base().ID)
		s.unwatchFlow(ev.Flow.Base().ID)
	case view.Refreshed:
		s.hub.broadcast(message{"type": "flows/reset"})
		s.hub.refilter(s)
	}
}

// render makes and keeps the JSON of a flow outside its hooks: nil when
// it may not be read now.
func (s *Server) render(f flow.Any, inFlight bool) map[string]any {
	j, _ := s.renderKeep(f, inFlight, false)
	return j
}

// renderKeep is render; enc is the JSON encoded, for a flow that is over
// (nil otherwise). j is nil for a flow that may not be read and of which
// no JSON is kept yet.
func (s *Server) renderKeep(f flow.Any, inFlight, inHook bool) (map[string]any, []byte) {
	mu := s.flowLock(f.Base().ID)
	mu.Lock()
	defer mu.Unlock()
	return s.renderKeepLocked(f, inFlight, inHook)
}

// renderKeepLocked is renderKeep with the flow's render lock held. The
// lock makes reading the kept JSON, making the new one from it or from the
// flow, and keeping it one step: a command's change to a flow in flight
// (copied from the kept JSON) and the flow's hook finishing at the same
// moment (rendered from the flow) are kept one after the other, and
// whichever comes second starts from what the first kept, so an older copy
// never replaces the hook's newer JSON. flowsMu is held only for the map
// accesses: GET /flows does not wait for a render.
//
// inHook: the caller runs in the flow's own hook (the view's event of a
// hook), where a flow in flight may be read; elsewhere such a flow is not
// read (j nil) unless a JSON of it is kept, which a change in flight
// updates (inFlight).
func (s *Server) renderKeepLocked(f flow.Any, inFlight, inHook bool) (map[string]any, []byte) {
	id := f.Base().ID
	var j map[string]any
	s.flowsMu.Lock()
	old := s.flows[id]
	s.flowsMu.Unlock()
	if inFlight && old == nil {
		// A command changed a flow in flight that no hook rendered yet
		// (its first hook's event is still on its way here): nothing of it
		// may be read, and that hook's render, which follows, shows the
		// change.
		return nil, nil
	}
	// snap: the flow's copy for filters (see snaps); keepSnap: replace the
	// kept one with snap (nil: drop it).
	var snap flow.Any
	keepSnap := false
	if !inFlight {
		// A flow that may be read (over, or intercepted) is rendered
		// under the view's lock, where no command resumes it meanwhile:
		// an Update event is delivered after the view's lock is released,
		// and the flow may have been resumed since, so it must be read
		// only after checking again. A flow that may not be read is in
		// its own hook here (the view delivers a hook's events on the
		// flow's goroutine, where it may be read: inHook); an Update's
		// intercepted flow resumed between the Update and this check is
		// not read.
		copyIt := s.hub.filtering.Load()
		readable := s.view.IfReadable(f, func() {
			j = FlowJSON(f)
			if copyIt && f.Base().IsIntercepted() {
				snap = flow.CopyAny(f)
			}
		})
		if !readable {
			if !inHook {
				return nil, nil
			}
			// In its own hook, under the view's lock: a command may mark
			// or comment a flow in flight meanwhile, and does so there.
			s.view.EditFlows(func() {
				j = FlowJSON(f)
				if copyIt {
					snap = flow.CopyAny(f)
				}
			})
		}
		keepSnap = true
		s.live.keep(f, readable)
		s.watchFlow(f, readable)
	} else {
		j = make(map[string]any, len(old))
		for k, v := range old {
			j[k] = v
		}
		b := f.Base()
		j["intercepted"] = b.IsIntercepted()
		j["comment"] = b.Comment()
		j["marked"] = markedJSON(b.Marked())
		if b.Killed() && j["error"] == nil {
			// Killed in flight (POST /flows/<id>/kill, flow.kill): shown
			// at once, as mitmproxy's kill sets the error the view
			// sends. The error Kill recorded is not read here (the proxy
			// may be writing the flow's error); it has this message, and
			// the flow's next hook brings its own timestamp.
			j["error"] = obj{"msg": flow.KilledMessage, "timestamp": float64(time.Now().UnixNano()) / 1e9}
		}
	}
	var enc []byte
	over := !inFlight && s.view.Over(f)
	if over {
		var err error
		if enc, err = json.Marshal(j); err != nil {
			over = false
		}
	}
	s.flowsMu.Lock()
	if keepSnap {
		if snap != nil {
			s.snaps[id] = snap
		} else {
			delete(s.snaps, id)
		}
	}
	if over {
		delete(s.flows, id)
		s.enc[id] = enc
	} else {
		s.flows[id] = j
		delete(s.enc, id)
	}
	s.flowsMu.Unlock()
	return j, enc
}

// matchTargets is what a filter is matched against for each flow of the
// view: the flow where it may be read, the copy its last hook left where
// not (ok false when there is none). The caller holds the view's lock
// (WithShownReadable).
func (s *Server) matchTargets(flows []flow.Any, readable []bool) ([]flow.Any, []bool) {
	s.flowsMu.Lock()
	defer s.flowsMu.Unlock()
	if len(s.snaps) == 0 {
		return flows, readable
	}
	targets := slices.Clone(flows)
	ok := slices.Clone(readable)
	for i, r := range readable {
		if !r {
			targets[i], ok[i] = s.snaps[flows[i].Base().ID]
		}
	}
	return targets, ok
}

// flowsJSON is the JSON array of the flows (GET /flows): the kept bytes
// of the flows that are over, the kept JSON of the others.
func (s *Server) flowsJSON(fs []flow.Any) []byte {
	b := make([]byte, 0, 1+len(fs)*1600)
	b = append(b, '[')
	n := 0
	for _, f := range fs {
		id := f.Base().ID
		s.flowsMu.Lock()
		enc, ok := s.enc[id]
		s.flowsMu.Unlock()
		if !ok {
			j := s.flowJSON(f)
			if j == nil {
				// Its first hook's render is on its way: the browser
				// gets it as flows/add.
				continue
			}
			var err error
			if enc, err = json.Marshal(j); err != nil {
				enc = []byte("null")
			}
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, enc...)
	}
	return append(b, ']')
}

// flowJSON is the kept JSON of a flow, rendered now if there is none.
func (s *Server) flowJSON(f flow.Any) map[string]any {
	s.flowsMu.Lock()
	j := s.flows[f.Base().ID]
	s.flowsMu.Unlock()
	if j == nil {
		// Over, or in flight and not rendered yet by its first hook
		// (whose event is on its way): only the first may be read here,
		// and the second is nil.
		j = s.render(f, false)
	}
	return j
}

// splitAddr splits "host:port".
func splitAddr(a string) (string, int, bool) {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return "", 0, false
	}
	n, err := strconv.Atoi(port)
	return host, n, err == nil
}
