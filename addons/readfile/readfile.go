// Package readfile is mitmdump's -r option (mitmproxy's addons/readfile.py):
// it reads a flow file (any version mitmproxy ever wrote, or a HAR file)
// and sends every flow through the addon chain with the events mitmproxy
// fires for it on the wire, so scripts, the dumper and -w see loaded flows
// exactly as they would see live ones.
//
// Flows are streamed: one flow is read, dispatched and released before the
// next is read, so memory stays flat however large the file is.
//
// The CLI calls ReadAll after the running hook. A damaged file is not fatal
// to the flows before the damage: they are dispatched, then ReadAll returns
// an error that names the file and the byte offset of the damage, and
// mitmdump exits non-zero.
package readfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/filter"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
)

// Compile-time checks of the hooks ReadFile relies on.
var (
	_ addon.LoadHook      = (*ReadFile)(nil)
	_ addon.ConfigureHook = (*ReadFile)(nil)
	_ addon.RunningHook   = (*ReadFile)(nil)
)

// ReadFile is the readfile addon. Register it under its default name
// ("readfile"); the CLI finds it there.
type ReadFile struct {
	m *addon.Manager

	// Stdin is read for "-r -". It defaults to os.Stdin; set it before
	// ReadAll.
	Stdin io.Reader

	mu   sync.Mutex
	filt filter.Filter
	// mode is the proxy core's mode option, looked up in Configure (r.mu);
	// the zero handle while it is not declared.
	mode    addon.Opt[[]string]
	opts    *addon.Options
	log     *slog.Logger
	pending atomic.Bool // rfile set and not completely read yet

	rfile, filterOpt addon.Opt[*string]
}

// New returns the readfile addon. Flows are dispatched through m.
func New(m *addon.Manager) *ReadFile {
	return &ReadFile{m: m, Stdin: os.Stdin, opts: m.Options(), log: m.Log()}
}

// Load declares rfile and readfile_filter.
func (r *ReadFile) Load(l *addon.Loader) {
	r.opts = l.Context().Options
	r.log = l.Context().Log
	r.rfile = addon.Declare[*string](l, "rfile", nil, "Read flows from file. Use - to read from stdin.")
	r.filterOpt = addon.Declare[*string](l, "readfile_filter", nil, "Read only matching flows.")
	l.AddCommand(command.Command{Name: "readfile.reading", Returns: command.Bool,
		Run: func(command.Args) (any, error) { return r.Busy(), nil }})
}

// Configure compiles readfile_filter.
func (r *ReadFile) Configure(updated map[string]bool) error {
	r.mu.Lock()
	if r.mode.Name() == "" {
		// The proxy core declares mode; without it (readfile alone) no
		// flow is retargeted.
		r.mode, _ = addon.Lookup[[]string](r.opts, "mode")
	}
	r.mu.Unlock()
	if !r.filterOpt.Changed(updated) {
		return nil
	}
	var f filter.Filter
	if expr := deref(r.filterOpt.Get()); expr != "" {
		var err error
		if f, err = filter.Parse(expr); err != nil {
			return fmt.Errorf("option readfile_filter: %w", err)
		}
	}
	r.mu.Lock()
	r.filt = f
	r.mu.Unlock()
	return nil
}

// Running marks the file as pending, so that keepserving, which polls
// Busy, does not shut down before the CLI has started ReadAll.
func (r *ReadFile) Running() {
	if deref(r.rfile.Get()) != "" {
		r.pending.Store(true)
	}
}

// Busy reports whether the file given with rfile has not been read
// completely yet (mitmproxy's readfile.reading command). keepserving uses
// it to decide when mitmdump may exit.
func (r *ReadFile) Busy() bool { return r.pending.Load() }

// ReadAll reads the file named by the rfile option ("-" for Stdin) and
// dispatches its flows. It returns nil when rfile is unset. On a damaged
// file it dispatches the flows before the damage, logs what mitmproxy logs
// and returns an error naming the file and the byte offset (wrapping the
// *flowfile.CorruptError, *flowfile.VersionError or *flowfile.HARError).
// A cancelled ctx (mitmgo shutting down) stops the read between two flows;
// that is not an error.
func (r *ReadFile) ReadAll(ctx context.Context) error {
	defer r.pending.Store(false)
	path := deref(r.rfile.Get())
	if path == "" {
		return nil
	}
	_, err := r.ReadPath(ctx, path)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	return err
}

// ReadPath reads the flow file at path ("-" for Stdin) and dispatches its
// flows; it returns how many were dispatched.
func (r *ReadFile) ReadPath(ctx context.Context, path string) (int, error) {
	var in io.Reader
	name := path
	if path == "-" {
		in, name = r.Stdin, "<stdin>"
	} else {
		f, err := os.Open(expandHome(path))
		if err != nil {
			return 0, fmt.Errorf("cannot load flows: %w", err)
		}
		defer f.Close()
		in = f
	}
	n, err := r.LoadFlows(ctx, in)
	if err != nil {
		return n, fmt.Errorf("failed to read %s: %w", name, err)
	}
	return n, nil
}

// LoadFlows reads flows from in and dispatches each one that passes
// readfile_filter; it returns how many were dispatched. Flows of types
// mitmgo does not model yet (dns, udp) are skipped with a warning.
func (r *ReadFile) LoadFlows(ctx context.Context, in io.Reader) (int, error) {
	r.mu.Lock()
	filt, mode := r.filt, r.mode
	r.mu.Unlock()
	rev := reverseTarget(mode)
	rd := flowfile.NewReader(in)
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		d, err := rd.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			if n > 0 {
				r.log.Warn(fmt.Sprintf("Flow file corrupted - loaded %d flows.", n))
			}
			return n, err
		}
		switch typ := d.Str("type"); typ {
		case "http", "tcp", "dns", "udp":
		default:
			r.log.Warn(fmt.Sprintf("Skipping flow %s of type %q: not supported yet.", d.Str("id"), typ))
			continue
		}
		f, err := flow.FromState(d)
		if err != nil {
			return n, fmt.Errorf("flow %d: %w", rd.Count(), err)
		}
		if filt != nil && !filt.Match(f) {
			continue
		}
		if rev != nil {
			rev.apply(f)
		}
		if err := Dispatch(ctx, r.m, f); err != nil {
			return n, err
		}
		n++
	}
}

// reverseTarget returns the reverse proxy destination when mitmdump runs in
// exactly one reverse mode: mitmproxy points loaded HTTP flows at it, so
// that saved flows replay easily against another host.
func reverseTarget(mode addon.Opt[[]string]) *target {
	modes := mode.Get()
	if len(modes) != 1 {
		return nil
	}
	return parseReverse(modes[0])
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// target is a reverse mode's destination.
type target struct {
	scheme string
	host   string
	port   int
}

// Dispatch sends one loaded flow (*flow.HTTPFlow or *flow.TCPFlow) through
// m with the event sequence mitmproxy replays for it (eventsequence.py):
//
//	HTTP: requestheaders, request, then responseheaders, response if there is
//	a response; websocket_start, one websocket_message per message and
//	websocket_end for a WebSocket flow, else error if there is an error.
//	TCP:  tcp_start, one tcp_message per message, then tcp_error or tcp_end.
//
// Messages are appended one at a time, so the websocket_message and
// tcp_message handlers find the new message last, as on the wire. After
// each event Dispatch waits while an addon holds the flow intercepted; a
// cancelled ctx ends the wait with ctx's error.
func Dispatch(ctx context.Context, m *addon.Manager, f any) error {
	switch f := f.(type) {
	case *flow.HTTPFlow:
		wait := func() error { return f.WaitForResume(ctx) }
		if f.Request != nil {
			m.RequestHeaders(f)
			if err := wait(); err != nil {
				return err
			}
			m.Request(f)
			if err := wait(); err != nil {
				return err
			}
		}
		if f.Response != nil {
			m.ResponseHeaders(f)
			if err := wait(); err != nil {
				return err
			}
			m.Response(f)
			if err := wait(); err != nil {
				return err
			}
		}
		switch {
		case f.WebSocket != nil:
			queue := f.WebSocket.Messages
			f.WebSocket.Messages = make([]*flow.WebSocketMessage, 0, len(queue))
			m.WebSocketStart(f)
			if err := wait(); err != nil {
				return err
			}
			for _, msg := range queue {
				f.WebSocket.Messages = append(f.WebSocket.Messages, msg)
				m.WebSocketMessage(f)
				if err := wait(); err != nil {
					return err
				}
			}
			m.WebSocketEnd(f)
		case f.Error != nil:
			m.Error(f)
		}
		return wait()
	case *flow.TCPFlow:
		wait := func() error { return f.WaitForResume(ctx) }
		queue := f.Messages
		f.Messages = make([]*flow.TCPMessage, 0, len(queue))
		m.TCPStart(f)
		if err := wait(); err != nil {
			return err
		}
		for _, msg := range queue {
			f.Messages = append(f.Messages, msg)
			m.TCPMessage(f)
			if err := wait(); err != nil {
				return err
			}
		}
		if f.Error != nil {
			m.TCPError(f)
		} else {
			m.TCPEnd(f)
		}
		return wait()
	case *flow.UDPFlow:
		// As TCP: udp_start, a udp_message per message, udp_error or
		// udp_end.
		wait := func() error { return f.WaitForResume(ctx) }
		queue := f.Messages
		f.Messages = make([]*flow.UDPMessage, 0, len(queue))
		m.UDPStart(f)
		if err := wait(); err != nil {
			return err
		}
		for _, msg := range queue {
			f.Messages = append(f.Messages, msg)
			m.UDPMessage(f)
			if err := wait(); err != nil {
				return err
			}
		}
		if f.Error != nil {
			m.UDPError(f)
		} else {
			m.UDPEnd(f)
		}
		return wait()
	case *flow.DNSFlow:
		// dns_request, then dns_response if there is a response and
		// dns_error if there is an error.
		wait := func() error { return f.WaitForResume(ctx) }
		if f.Request != nil {
			m.DNSRequest(f)
			if err := wait(); err != nil {
				return err
			}
		}
		if f.Response != nil {
			m.DNSResponse(f)
			if err := wait(); err != nil {
				return err
			}
		}
		if f.Error != nil {
			m.DNSError(f)
		}
		return wait()
	}
	return fmt.Errorf("cannot load flows of type %T", f)
}

// apply points an HTTP flow's request at the target.
func (t *target) apply(f any) {
	hf, ok := f.(*flow.HTTPFlow)
	if !ok || hf.Request == nil {
		return
	}
	hf.Request.SetHost(t.host)
	hf.Request.SetPort(t.port)
	hf.Request.Scheme = t.scheme
}

// parseReverse parses "reverse:SCHEME://HOST[:PORT][/]" for the HTTP
// schemes; other modes give nil.
func parseReverse(mode string) *target {
	spec, ok := strings.CutPrefix(mode, "reverse:")
	if !ok {
		return nil
	}
	// A mode may carry "@listen_port" at the end.
	if i := strings.LastIndex(spec, "@"); i > strings.Index(spec, "://") {
		spec = spec[:i]
	}
	scheme, rest, ok := strings.Cut(spec, "://")
	if !ok {
		scheme, rest = "https", spec
	}
	scheme = strings.ToLower(scheme)
	var port int
	switch scheme {
	case "http":
		port = 80
	case "https":
		port = 443
	default:
		return nil
	}
	rest = strings.TrimSuffix(rest, "/")
	host := rest
	if h, p, ok := splitHostPort(rest); ok {
		host, port = h, p
	}
	host = strings.Trim(host, "[]")
	if host == "" {
		return nil
	}
	return &target{scheme: scheme, host: host, port: port}
}

func splitHostPort(s string) (string, int, bool) {
	i := strings.LastIndex(s, ":")
	if i < 0 || strings.HasSuffix(s[:i], ":") || (strings.Contains(s[:i], ":") && !strings.HasSuffix(s[:i], "]")) {
		return "", 0, false
	}
	port := 0
	for _, c := range s[i+1:] {
		if c < '0' || c > '9' || port > 65535 {
			return "", 0, false
		}
		port = port*10 + int(c-'0')
	}
	if i+1 == len(s) || port > 65535 {
		return "", 0, false
	}
	return s[:i], port, true
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

// ReadFlows reads every flow of the files at paths into memory, in order,
// as mitmproxy's io.read_flows_from_paths (client and server replay use
// it). Flows of types mitmgo does not model yet are skipped. The error
// names the file and, for damaged input, the byte offset.
func ReadFlows(paths []string) ([]any, error) {
	var flows []any
	for _, path := range paths {
		f, err := os.Open(expandHome(path))
		if err != nil {
			return nil, fmt.Errorf("cannot read flows: %w", err)
		}
		rd := flowfile.NewReader(f)
		for {
			d, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err == nil {
				switch d.Str("type") {
				case "http", "tcp", "dns", "udp":
				default:
					continue
				}
				var fl any
				if fl, err = flow.FromState(d); err == nil {
					flows = append(flows, fl)
					continue
				}
			}
			_ = f.Close()
			return nil, fmt.Errorf("failed to read %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", path, err)
		}
	}
	return flows, nil
}
