// Package serverplayback is mitmproxy's server replay (-S FILE): requests
// are answered from the responses of recorded flows without contacting
// the server.
//
// A request matches a recorded flow when their replay keys are equal: the
// scheme, method and path; the raw body (or, with
// server_replay_ignore_payload_params, the form fields less the ignored
// ones); the host and port (unless server_replay_ignore_host/_port); the
// query parameters less server_replay_ignore_params; and the headers named
// in server_replay_use_headers. Recorded flows with the same key answer in
// recording order, each once, unless server_replay_reuse is set.
//
// A request without a match is forwarded, killed or answered with an
// empty response, as server_replay_extra says — but only while recorded
// flows are left; once all are used, requests pass through as mitmproxy
// lets them.
package serverplayback

import (
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/readfile"
	"github.com/mitmgo/mitmgo/flow"
)

// Compile-time checks of the hooks ServerPlayback relies on.
var (
	_ addon.LoadHook      = (*ServerPlayback)(nil)
	_ addon.ConfigureHook = (*ServerPlayback)(nil)
	_ addon.RequestHook   = (*ServerPlayback)(nil)
)

// ServerPlayback is the server replay addon. It is safe for concurrent use.
type ServerPlayback struct {
	// Now is the clock for refreshing responses; tests replace it.
	Now func() time.Time

	opts options
	log  *slog.Logger

	cfg atomic.Pointer[config]

	mu         sync.Mutex
	flowmap    map[key][]*flow.HTTPFlow
	order      []key // keys in insertion order, for rebuilding (may hold stale keys)
	count      int   // flows in flowmap
	configured bool  // server_replay was loaded
}

// options are the handles on the server_replay options, declared in Load.
type options struct {
	killExtra, reuse, nopop, refresh      addon.Opt[bool]
	ignoreContent, ignoreHost, ignorePort addon.Opt[bool]
	extra                                 addon.Opt[string]
	files, useHeaders                     addon.Opt[[]string]
	ignoreParams, ignorePayloadParams     addon.Opt[[]string]
}

// hashChanged reports whether an option that changes the replay key is
// among those updated; changing one rebuilds the index.
func (o *options) hashChanged(updated map[string]bool) bool {
	return o.ignoreContent.Changed(updated) || o.ignoreHost.Changed(updated) ||
		o.ignoreParams.Changed(updated) || o.ignorePayloadParams.Changed(updated) ||
		o.ignorePort.Changed(updated) || o.useHeaders.Changed(updated)
}

// config is a snapshot of the options the request hook reads.
type config struct {
	hash    hashConfig
	extra   string // forward, kill or a status code
	kill    bool   // the deprecated server_replay_kill_extra
	reuse   bool
	refresh bool
}

// New returns the server replay addon.
func New() *ServerPlayback {
	s := &ServerPlayback{Now: time.Now, flowmap: map[key][]*flow.HTTPFlow{}}
	s.cfg.Store(&config{extra: "forward", refresh: true})
	return s
}

// Name is mitmproxy's addon name.
func (s *ServerPlayback) Name() string { return "serverplayback" }

// Load declares the server_replay options with mitmproxy's defaults.
func (s *ServerPlayback) Load(l *addon.Loader) {
	s.log = l.Context().Log
	o := &s.opts
	o.killExtra = addon.Declare(l, "server_replay_kill_extra", false,
		"Kill extra requests during replay (for which no replayable response was found). "+
			"[Deprecated, prefer to use server_replay_extra='kill']")
	o.extra = addon.Declare(l, "server_replay_extra", "forward",
		"Behaviour for extra requests during replay for which no replayable response was found. "+
			"Setting a numeric string value will return an empty HTTP response with the respective status code.",
		"forward", "kill", "204", "400", "404", "500")
	o.reuse = addon.Declare(l, "server_replay_reuse", false,
		"Don't remove flows from server replay state after use. This makes it possible to replay same response multiple times.")
	o.nopop = addon.Declare(l, "server_replay_nopop", false,
		"Deprecated alias for `server_replay_reuse`.")
	o.refresh = addon.Declare(l, "server_replay_refresh", true,
		"Refresh server replay responses by adjusting date, expires and last-modified headers, as well as adjusting cookie expiration.")
	o.useHeaders = addon.Declare(l, "server_replay_use_headers", []string{},
		"Request headers that need to match while searching for a saved flow to replay.")
	o.files = addon.Declare(l, "server_replay", []string{},
		"Replay server responses from a saved file.")
	o.ignoreContent = addon.Declare(l, "server_replay_ignore_content", false,
		"Ignore request content while searching for a saved flow to replay.")
	o.ignoreParams = addon.Declare(l, "server_replay_ignore_params", []string{},
		"Request parameters to be ignored while searching for a saved flow to replay.")
	o.ignorePayloadParams = addon.Declare(l, "server_replay_ignore_payload_params", []string{},
		"Request payload parameters (application/x-www-form-urlencoded or multipart/form-data) to be ignored while searching for a saved flow to replay.")
	o.ignoreHost = addon.Declare(l, "server_replay_ignore_host", false,
		"Ignore request destination host while searching for a saved flow to replay.")
	o.ignorePort = addon.Declare(l, "server_replay_ignore_port", false,
		"Ignore request destination port while searching for a saved flow to replay.")
	s.addCommands(l)
}

func (s *ServerPlayback) readConfig() *config {
	o := &s.opts
	return &config{
		hash: hashConfig{
			ignoreContent:       o.ignoreContent.Get(),
			ignoreHost:          o.ignoreHost.Get(),
			ignorePort:          o.ignorePort.Get(),
			ignoreParams:        o.ignoreParams.Get(),
			ignorePayloadParams: o.ignorePayloadParams.Get(),
			useHeaders:          o.useHeaders.Get(),
		},
		extra:   o.extra.Get(),
		kill:    o.killExtra.Get(),
		reuse:   o.reuse.Get() || o.nopop.Get(),
		refresh: o.refresh.Get(),
	}
}

// Configure reads the replay files the first time server_replay is set,
// and rebuilds the index when a matching option changes.
func (s *ServerPlayback) Configure(updated map[string]bool) error {
	cfg := s.readConfig()
	if cfg.extra != "forward" && cfg.extra != "kill" {
		if _, err := strconv.Atoi(cfg.extra); err != nil {
			return fmt.Errorf("option server_replay_extra: %q is not forward, kill or a status code", cfg.extra)
		}
	}
	if s.opts.killExtra.Changed(updated) && s.opts.killExtra.Get() {
		s.log.Warn("server_replay_kill_extra has been deprecated, please update your config to use server_replay_extra='kill'.")
	}
	if s.opts.nopop.Changed(updated) && s.opts.nopop.Get() {
		s.log.Warn("server_replay_nopop has been renamed to server_replay_reuse, please update your config.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if paths := s.opts.files.Get(); !s.configured && len(paths) > 0 {
		flows, err := readfile.ReadFlows(paths)
		if err != nil {
			return fmt.Errorf("option server_replay: %w", err)
		}
		s.configured = true
		s.cfg.Store(cfg)
		s.loadLocked(flows, cfg)
		return nil
	}
	s.cfg.Store(cfg)
	if s.opts.hashChanged(updated) {
		s.rebuildLocked(cfg)
	}
	return nil
}

// LoadFlows replaces the recorded flows (mitmproxy's replay.server
// command). Non-HTTP flows are ignored.
func (s *ServerPlayback) LoadFlows(flows []any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadLocked(flows, s.cfg.Load())
}

// AddFlows adds recorded flows (replay.server.add).
func (s *ServerPlayback) AddFlows(flows []any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addLocked(flows, s.cfg.Load())
}

// Clear stops server replay (replay.server.stop).
func (s *ServerPlayback) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadLocked(nil, s.cfg.Load())
}

// Count is the number of recorded flows not used yet
// (replay.server.count).
func (s *ServerPlayback) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Busy reports whether recorded flows are left; keepserving keeps mitmdump
// running until they are used.
func (s *ServerPlayback) Busy() bool { return s.Count() > 0 }

func (s *ServerPlayback) loadLocked(flows []any, cfg *config) {
	s.flowmap = map[key][]*flow.HTTPFlow{}
	s.order = nil
	s.count = 0
	s.addLocked(flows, cfg)
}

func (s *ServerPlayback) addLocked(flows []any, cfg *config) {
	for _, f := range flows {
		hf, ok := f.(*flow.HTTPFlow)
		if !ok || hf.Request == nil {
			continue
		}
		k := hashRequest(hf.Request, &cfg.hash)
		if _, ok := s.flowmap[k]; !ok {
			s.order = append(s.order, k)
		}
		s.flowmap[k] = append(s.flowmap[k], hf)
		s.count++
	}
}

// rebuildLocked re-indexes the remaining flows with the current options
// (mitmproxy#4506).
func (s *ServerPlayback) rebuildLocked(cfg *config) {
	var flows []any
	seen := make(map[key]bool, len(s.flowmap))
	for _, k := range s.order {
		if seen[k] {
			continue
		}
		seen[k] = true
		for _, f := range s.flowmap[k] {
			flows = append(flows, f)
		}
	}
	s.loadLocked(flows, cfg)
}

// next returns the recorded flow that answers r, consuming it unless
// reuse is set; nil when there is none.
func (s *ServerPlayback) next(r *flow.Request, cfg *config) *flow.HTTPFlow {
	k := hashRequest(r, &cfg.hash)
	s.mu.Lock()
	defer s.mu.Unlock()
	list, ok := s.flowmap[k]
	if !ok {
		return nil
	}
	if cfg.reuse {
		for _, f := range list {
			if f.Response != nil {
				return f
			}
		}
		return nil
	}
	// Flows without a response are dropped on the way, as in mitmproxy.
	for len(list) > 0 {
		f := list[0]
		list = list[1:]
		s.count--
		if f.Response != nil {
			s.setLocked(k, list)
			return f
		}
	}
	s.setLocked(k, nil)
	return nil
}

func (s *ServerPlayback) setLocked(k key, list []*flow.HTTPFlow) {
	if len(list) == 0 {
		delete(s.flowmap, k) // s.order keeps k; rebuildLocked skips it
		return
	}
	s.flowmap[k] = list
}

// Request answers the request from a recorded flow, or applies
// server_replay_extra when recorded flows are left but none matches.
func (s *ServerPlayback) Request(f *flow.HTTPFlow) {
	if f.Request == nil || s.Count() == 0 {
		return
	}
	cfg := s.cfg.Load()
	if rf := s.next(f.Request, cfg); rf != nil {
		resp := rf.Response.Clone()
		if cfg.refresh {
			Refresh(resp, s.Now())
		}
		f.Response = resp
		f.IsReplay = "response"
		return
	}
	switch {
	case cfg.extra == "kill" || cfg.kill:
		s.log.Warn("server_playback: killed non-replay request " + f.Request.URL())
		_ = f.Kill()
	case cfg.extra != "forward":
		s.log.Warn(fmt.Sprintf("server_playback: returned %s non-replay request %s", cfg.extra, f.Request.URL()))
		code, _ := strconv.Atoi(cfg.extra)
		f.Response = flow.NewResponse(code, nil, nil)
		f.IsReplay = "response"
	}
}

// KeepsFlows is false: it keeps the flows loaded from files (whose bodies the proxy never recycles), not live ones (see addon.FlowKeeper).
func (s *ServerPlayback) KeepsFlows() bool { return false }
