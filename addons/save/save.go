// Package save is mitmdump's -w option (mitmproxy's addons/save.py): it
// streams flows to a mitmproxy flow file as they complete.
//
//   - save_stream_file: the path. A leading "+" appends instead of
//     truncating; "~" is expanded; strftime directives (%Y, %m, %d, %H, ...)
//     are filled in with the local time when a flow is written, and a new
//     file is opened whenever the formatted path changes (log rotation).
//     Missing directories are created. The file is opened in Configure, so a
//     path that cannot be written is refused at start-up.
//   - save_stream_filter: only flows matching this filter expression are
//     written.
//   - save_stream_version: the flow format version written: 21 (mitmproxy
//     11 and later, the default) or 17, the newest version mitmproxy 8.1
//     (Debian bookworm's mitmproxy 8.1.1) can read. mitmproxy has no such
//     option; it always writes its own version.
//
// HTTP flows are written at their response or error hook, WebSocket flows
// at websocket_end, TCP flows at tcp_end or tcp_error. Flows that are still
// open when mitmgo shuts down (tracked from requestheaders and tcp_start on)
// are written with what they have in the done hook. Each flow is handed to
// the operating system in one write as soon as it is written, so a flow
// that completed is in the file even if the process dies later; Done closes
// the file.
//
// If writing fails after start-up, the error is logged, mitmgo is asked to
// shut down (mitmproxy exits rather than let traffic through unrecorded)
// and Err reports the failure so that the CLI can exit non-zero.
package save

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/filter"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// Compile-time checks of the hooks Save relies on.
var (
	_ addon.LoadHook           = (*Save)(nil)
	_ addon.ConfigureHook      = (*Save)(nil)
	_ addon.DoneHook           = (*Save)(nil)
	_ addon.RequestHeadersHook = (*Save)(nil)
	_ addon.RequestHook        = (*Save)(nil)
	_ addon.ResponseHook       = (*Save)(nil)
	_ addon.ErrorHook          = (*Save)(nil)
	_ addon.WebSocketEndHook   = (*Save)(nil)
	_ addon.TCPStartHook       = (*Save)(nil)
	_ addon.TCPEndHook         = (*Save)(nil)
	_ addon.TCPErrorHook       = (*Save)(nil)
)

// DefaultVersion is the flow format version written unless
// save_stream_version says otherwise.
const DefaultVersion = flowfile.Version21

// Save is the save addon. It is safe for concurrent use.
type Save struct {
	// Now is the clock for strftime rotation; tests replace it.
	Now func() time.Time

	log *slog.Logger
	ctx *addon.Context
	// The options, declared in Load.
	file, filterOpt addon.Opt[*string]
	version         addon.Opt[int]

	cfg atomic.Pointer[config]

	mu     sync.Mutex
	stream *stream        // nil when not saving
	active map[any]uint64 // open flows, by pointer, with their arrival order
	seq    uint64         // arrival counter for active
	err    error          // first write error after start-up
	ioErr  atomic.Bool    // err is set: stop writing
}

// config is what Configure accepted, read lock-free by the hooks.
type config struct {
	spec    string // save_stream_file as given, "" when off
	filt    filter.Filter
	version int
}

// stream is the open output file.
type stream struct {
	spec    string // the option value it was opened for
	path    string // the formatted path
	version int
	file    *os.File
	w       *flowfile.Writer
	out     *errWriter
}

// errWriter remembers the first error of the underlying file, so that an
// I/O failure can be told apart from a flow that cannot be converted.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// New returns the save addon.
func New() *Save {
	s := &Save{Now: time.Now, active: map[any]uint64{}}
	s.cfg.Store(&config{version: DefaultVersion})
	return s
}

// Load declares save_stream_file, save_stream_filter and
// save_stream_version.
func (s *Save) Load(l *addon.Loader) {
	s.ctx = l.Context()
	s.log = s.ctx.Log
	s.file = addon.Declare[*string](l, "save_stream_file", nil,
		"Stream flows to file as they arrive. Prefix path with + to append. "+
			"The full path can use python strftime() formating, missing "+
			"directories are created as needed. A new file is opened every time "+
			"the formatted string changes.")
	s.filterOpt = addon.Declare[*string](l, "save_stream_filter", nil,
		"Filter which flows are written to file.")
	s.version = addon.Declare(l, "save_stream_version", DefaultVersion,
		"Flow format version written by save_stream_file: 21 (mitmproxy 11 and "+
			"later) or 17 (mitmproxy 8.1, such as Debian bookworm's mitmproxy "+
			"8.1.1, which cannot read version 18 and later).")
	s.addCommands(l)
}

// Configure compiles the filter and opens (or closes, or rotates to) the
// output file. A path that cannot be opened for writing, a bad filter or
// an unsupported version is refused with an error naming the option.
func (s *Save) Configure(updated map[string]bool) error {
	if !s.file.Changed(updated) && !s.filterOpt.Changed(updated) && !s.version.Changed(updated) {
		return nil
	}
	cur := s.cfg.Load()
	next := &config{spec: deref(s.file.Get()), filt: cur.filt, version: cur.version}
	if s.filterOpt.Changed(updated) {
		next.filt = nil
		if expr := deref(s.filterOpt.Get()); expr != "" {
			f, err := filter.Parse(expr)
			if err != nil {
				return fmt.Errorf("option save_stream_filter: %w", err)
			}
			next.filt = f
		}
	}
	if s.version.Changed(updated) {
		v := s.version.Get()
		if v != flowfile.Version21 && v != flowfile.Version17 {
			return fmt.Errorf("option save_stream_version: %d is not supported (use 21, or 17 for mitmproxy 8.1)", v)
		}
		next.version = v
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if next.spec == "" {
		s.cfg.Store(next)
		s.closeLocked()
		return nil
	}
	if err := s.rotateLocked(next); err != nil {
		return fmt.Errorf("option save_stream_file: %w", err)
	}
	s.cfg.Store(next)
	return nil
}

// deref is an optional string's value, "" when unset.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Err returns the first error that happened while writing flows after
// start-up, or nil.
func (s *Save) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Path returns the file currently written to, or "".
func (s *Save) Path() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stream == nil {
		return ""
	}
	return s.stream.path
}

// splitSpec strips the append marker and expands "~".
func splitSpec(spec string) (path string, appendMode bool) {
	if p, ok := strings.CutPrefix(spec, "+"); ok {
		spec, appendMode = p, true
	}
	return expandHome(spec), appendMode
}

// rotateLocked makes sure the stream writes to the file that cfg's path
// formats to now, opening a new one (and closing the old one) when the path
// changed. On error the current stream is left as it was.
func (s *Save) rotateLocked(cfg *config) error {
	spec, appendMode := splitSpec(cfg.spec)
	path := strftime(spec, s.Now())
	if st := s.stream; st != nil && st.path == path && st.spec == cfg.spec {
		if st.version != cfg.version {
			st.version = cfg.version
			st.w = flowfile.NewWriter(st.out, cfg.version)
		}
		return nil
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return err
		}
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendMode {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(path, flags, 0o666)
	if err != nil {
		return err
	}
	if s.stream != nil {
		if err := s.stream.file.Close(); err != nil {
			s.log.Error(fmt.Sprintf("Error while closing %s: %v", s.stream.path, err))
		}
	}
	out := &errWriter{w: f}
	s.stream = &stream{spec: cfg.spec, path: path, version: cfg.version, file: f, w: flowfile.NewWriter(out, cfg.version), out: out}
	return nil
}

// closeLocked writes the open flows and closes the file, as mitmproxy's
// done does (also when save_stream_file is unset at run time).
func (s *Save) closeLocked() {
	if s.stream == nil {
		return
	}
	cfg := s.cfg.Load()
	open := make([]any, 0, len(s.active))
	for f := range s.active {
		open = append(open, f)
	}
	slices.SortFunc(open, func(a, b any) int { return cmp.Compare(s.active[a], s.active[b]) })
	for _, f := range open {
		if filter.Match(cfg.filt, f) {
			s.writeLocked(cfg, f, stateOf(f))
		}
	}
	clear(s.active)
	if err := s.stream.file.Close(); err != nil && !s.ioErr.Load() {
		s.failLocked(fmt.Errorf("error while closing %s: %w", s.stream.path, err))
	}
	s.stream = nil
}

// Done writes the flows still open and closes the file.
func (s *Save) Done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLocked()
}

// track records an open flow so that Done can write it if it never
// completes.
func (s *Save) track(f any) {
	if s.cfg.Load().spec == "" {
		return
	}
	s.mu.Lock()
	if s.stream != nil {
		if _, ok := s.active[f]; !ok {
			s.seq++
			s.active[f] = s.seq
		}
	}
	s.mu.Unlock()
}

// save writes a completed flow, unless the filter rejects it.
func (s *Save) save(f any) {
	cfg := s.cfg.Load()
	if cfg.spec == "" {
		// Nothing is tracked while saving is off (track adds nothing, and
		// turning it off wrote and forgot the open flows): no lock to take
		// on every response.
		return
	}
	if s.ioErr.Load() {
		s.untrack(f)
		return
	}
	if !filter.Match(cfg.filt, f) {
		s.untrack(f)
		return
	}
	// Build the state outside the lock: it is the expensive part, and the
	// flow belongs to the calling goroutine.
	d := stateOf(f)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.active, f)
	if s.stream == nil {
		return
	}
	// Configure may have switched files meanwhile; it stores the config
	// under s.mu, so this one is current.
	cfg = s.cfg.Load()
	if err := s.rotateLocked(cfg); err != nil {
		s.failLocked(fmt.Errorf("error while rotating to a new file for %s: %w", cfg.spec, err))
		return
	}
	s.writeLocked(cfg, f, d)
}

func (s *Save) tracked(f any) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.active[f]
	return ok
}

func (s *Save) untrack(f any) {
	s.mu.Lock()
	delete(s.active, f)
	s.mu.Unlock()
}

// writeLocked writes one flow state. A flow that cannot be converted to
// the chosen version is skipped with a warning; an I/O error is fatal.
func (s *Save) writeLocked(cfg *config, f any, d *tnetstring.Dict) {
	if d == nil || s.stream == nil || s.ioErr.Load() {
		return
	}
	err := s.stream.w.Write(d)
	if err == nil {
		return
	}
	if s.stream.out.err != nil {
		s.failLocked(fmt.Errorf("error while writing to %s: %w", s.stream.path, err))
		return
	}
	s.log.Warn(fmt.Sprintf("Flow %s not saved: %v", d.Str("id"), err))
}

// failLocked records a write failure, logs it and asks mitmgo to stop.
func (s *Save) failLocked(err error) {
	if s.err == nil {
		s.err = err
	}
	s.ioErr.Store(true)
	s.log.Error(err.Error())
	if s.ctx != nil {
		go s.ctx.Shutdown() // not under s.mu: shutdown runs done hooks
	}
}

func stateOf(f any) *tnetstring.Dict {
	switch f := f.(type) {
	case *flow.HTTPFlow:
		return f.State()
	case *flow.TCPFlow:
		return f.State()
	case flow.Any:
		// DNS and UDP flows (dns.go).
		return f.State()
	}
	return nil
}

// RequestHeaders starts tracking an HTTP flow.
func (s *Save) RequestHeaders(f *flow.HTTPFlow) { s.track(f) }

// Request tracks flows that did not pass requestheaders (answered early).
func (s *Save) Request(f *flow.HTTPFlow) { s.track(f) }

// Response writes the flow, unless it became a WebSocket: that is written
// at websocket_end.
func (s *Save) Response(f *flow.HTTPFlow) {
	if f.WebSocket == nil {
		s.save(f)
	}
}

// Error writes a failed flow (WebSocket flows wait for websocket_end).
//
// A flow loaded from a file may have both a response and an error; it then
// gets both hooks (mitmproxy would write it twice). It is written once, at
// its response: a flow with a response that is no longer tracked was
// written already.
func (s *Save) Error(f *flow.HTTPFlow) {
	if f.Response != nil && f.WebSocket == nil && !s.tracked(f) {
		return
	}
	s.Response(f)
}

// WebSocketEnd writes a WebSocket flow with all its messages.
func (s *Save) WebSocketEnd(f *flow.HTTPFlow) { s.save(f) }

// TCPStart starts tracking a TCP flow.
func (s *Save) TCPStart(f *flow.TCPFlow) { s.track(f) }

// TCPEnd writes a TCP flow.
func (s *Save) TCPEnd(f *flow.TCPFlow) { s.save(f) }

// TCPError writes a failed TCP flow.
func (s *Save) TCPError(f *flow.TCPFlow) { s.save(f) }

// SaveFlows writes flows (*flow.HTTPFlow, *flow.TCPFlow) to a file in one
// go, as mitmproxy's save.file command: a leading "+" on path appends.
// save_stream_filter does not apply; save_stream_version does.
func (s *Save) SaveFlows(path string, flows ...any) error {
	p, appendMode := splitSpec(path)
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendMode {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	file, err := os.OpenFile(p, flags, 0o666)
	if err != nil {
		return err
	}
	w := flowfile.NewWriter(file, s.cfg.Load().version)
	var errs []error
	for _, f := range flows {
		if d := stateOf(f); d != nil {
			if err := w.Write(d); err != nil {
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, file.Close())
	return errors.Join(errs...)
}

// expandHome replaces a leading "~" with the user's home directory, as
// Python's os.path.expanduser.
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// KeepsFlows is false: it tracks flows only until their response or error hook, where it writes them out before returning (see addon.FlowKeeper).
func (s *Save) KeepsFlows() bool { return false }
