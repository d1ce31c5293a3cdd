package addon

import (
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
)

// Namer is implemented by addons that choose their own name; otherwise the
// name is the lower-cased type name, as in mitmproxy.
type Namer interface{ Name() string }

// Parent is implemented by addons that bring child addons (mitmproxy's
// `addons` attribute). Children are registered right after their parent.
type Parent interface{ Addons() []any }

// Loader is handed to the load hook.
type Loader struct {
	m     *Manager
	addon string
}

// AddOption declares an option (see Options.Add). A declaration that fails is
// logged with the addon's name.
func (l *Loader) AddOption(name string, kind Kind, def any, help string, choices ...string) {
	if err := l.m.opts.Add(name, kind, def, help, choices...); err != nil {
		l.m.log.Error(fmt.Sprintf("Addon %s: %v", l.addon, err))
	}
}

// AddCommand registers a command (mitmproxy's @command.command). A
// command that cannot be registered is logged with the addon's name.
func (l *Loader) AddCommand(c command.Command) {
	if err := l.m.cmds.Add(c); err != nil {
		l.m.log.Error(fmt.Sprintf("Addon %s: %v", l.addon, err))
	}
}

// Context returns the shared context (options, log, shutdown).
func (l *Loader) Context() *Context { return l.m.ctx }

// Context is what addons may use beyond the hooks: the options, the
// commands, the log and the master's controls.
type Context struct {
	Options  *Options
	Commands *command.Registry
	Log      *slog.Logger
	m        *Manager
}

// Shutdown asks mitmgo to stop (ctx.master.shutdown() in mitmproxy).
func (c *Context) Shutdown() { c.m.Shutdown() }

// Addon returns the addon registered under name (ctx.master.addons.get
// in mitmproxy), for addons that work with others (the script host
// describes built-ins to scripts).
func (c *Context) Addon(name string) (any, bool) { return c.m.Get(name) }

// Update tells the addons that flows changed outside their hooks (fires
// the update hook), as mitmproxy's commands do after they edit flows.
func (c *Context) Update(flows ...flow.Any) { c.m.Update(flows) }

// EditFlows runs fn, which changes flows outside their own hooks (a
// command marking, editing, resuming or killing them), so that it does not
// run while an addon that reads flows from other goroutines does (the
// view, while it re-filters), nor while another command edits flows.
// Inside, only what may change while the proxy writes the flow may be
// changed on a flow in flight (its marker, comment and control state:
// Resume, Kill); to read or change more, use EditReadable. Call Update
// afterwards. fn must not call EditFlows or EditReadable.
func (c *Context) EditFlows(fn func()) {
	if e := c.m.chain.Load().editor; e != nil {
		e.EditFlows(fn)
		return
	}
	// No view: the lock still keeps a check of EditReadable and the
	// edit that follows it from interleaving with another command's
	// Resume.
	c.m.editMu.Lock()
	defer c.m.editMu.Unlock()
	fn()
}

// EditReadable is EditFlows for edits that read or change a flow beyond
// its marker, comment and control state (a backup, a decode, flow.set): it
// calls fn for each of flows, inside EditFlows, with whether the flow may
// be read and changed there. A flow is readable when the proxy does not
// write it meanwhile: it is over, or intercepted and the proxy waits for
// it (see view.View.Readable). fn must leave the others unread and say so
// to the user.
//
// The FlowEditor answers when it knows the flows (ReadableEditor, the
// view). Otherwise (mitmdump has no view) a flow is readable when it is
// Quiet.
func (c *Context) EditReadable(flows []flow.Any, fn func(f flow.Any, readable bool)) {
	lent := func(f flow.Any, readable bool) { fn(f, readable || c.m.lent[f.Base()] > 0) }
	if e, ok := c.m.chain.Load().editor.(ReadableEditor); ok {
		e.EditReadable(flows, lent)
		return
	}
	c.EditFlows(func() {
		for _, f := range flows {
			lent(f, Quiet(f))
		}
	})
}

// Lend runs fn with flows readable for EditReadable. It is for the
// goroutine that runs a flow's hook, when the hook's addon edits the flow
// through a command from inside the hook (a Python script calling
// flow.decode on its own flow): that goroutine is the one that writes the
// flow, and it is busy in fn meanwhile. The flows are lent and taken back
// inside EditFlows, so that an edit that found a flow lent has ended before
// the hook goes on.
func (c *Context) Lend(flows []flow.Any, fn func()) {
	if len(flows) == 0 {
		fn()
		return
	}
	c.EditFlows(func() {
		if c.m.lent == nil {
			c.m.lent = map[*flow.Flow]int{}
		}
		for _, f := range flows {
			c.m.lent[f.Base()]++
		}
	})
	defer c.EditFlows(func() {
		for _, f := range flows {
			b := f.Base()
			if c.m.lent[b]--; c.m.lent[b] <= 0 {
				delete(c.m.lent, b)
			}
		}
	})
	fn()
}

// Quiet reports what the flow alone tells of whether the proxy leaves it
// alone: it is not running (read from a file, a copy, or ended by the
// proxy; a flow killed while it runs is not live but still running), or
// the proxy waits for it to be resumed. It is the rule of EditReadable for
// flows that no ReadableEditor knows.
func Quiet(f flow.Any) bool {
	b := f.Base()
	return !b.Running() || b.Waiting()
}

// FlowEditor is implemented by an addon that reads flows outside their
// hooks (the view): EditFlows runs fn while it does not.
type FlowEditor interface {
	EditFlows(fn func())
}

// ReadableEditor is a FlowEditor that knows which flows may be read outside
// their hooks (the view): EditReadable calls fn for each flow, inside
// EditFlows, with whether it may be read and changed there (see
// Context.EditReadable).
type ReadableEditor interface {
	FlowEditor
	EditReadable(flows []flow.Any, fn func(f flow.Any, readable bool))
}

type entry struct {
	name  string
	addon any
}

type named[H any] struct {
	name string
	hook H
}

// chain holds, for each hook, the addons that implement it, in order. It is
// rebuilt on registration and read without locks.
type chain struct {
	all []entry
	// keepers are the addons that say whether they keep flows
	// (FlowKeeper); undeclared is set when an addon receives HTTP flows
	// without saying, so that it must be assumed to keep them. Both are
	// worked out once per chain: KeepsFlows is asked for every request.
	keepers    []FlowKeeper
	undeclared bool
	// editor is the first FlowEditor (see Context.EditFlows).
	editor FlowEditor

	load                 []named[LoadHook]
	configure            []named[ConfigureHook]
	running              []named[RunningHook]
	done                 []named[DoneHook]
	log                  []named[LogHook]
	update               []named[UpdateHook]
	clientConnected      []named[ClientConnectedHook]
	clientDisconnected   []named[ClientDisconnectedHook]
	serverConnect        []named[ServerConnectHook]
	serverConnected      []named[ServerConnectedHook]
	serverDisconnected   []named[ServerDisconnectedHook]
	serverConnectError   []named[ServerConnectErrorHook]
	requestHeaders       []named[RequestHeadersHook]
	request              []named[RequestHook]
	responseHeaders      []named[ResponseHeadersHook]
	response             []named[ResponseHook]
	error                []named[ErrorHook]
	httpConnect          []named[HTTPConnectHook]
	httpConnectUpstream  []named[HTTPConnectUpstreamHook]
	httpConnected        []named[HTTPConnectedHook]
	httpConnectError     []named[HTTPConnectErrorHook]
	webSocketStart       []named[WebSocketStartHook]
	webSocketMessage     []named[WebSocketMessageHook]
	webSocketEnd         []named[WebSocketEndHook]
	tcpStart             []named[TCPStartHook]
	tcpMessage           []named[TCPMessageHook]
	tcpEnd               []named[TCPEndHook]
	tcpError             []named[TCPErrorHook]
	udpStart             []named[UDPStartHook]
	udpMessage           []named[UDPMessageHook]
	udpEnd               []named[UDPEndHook]
	udpError             []named[UDPErrorHook]
	dnsRequest           []named[DNSRequestHook]
	dnsResponse          []named[DNSResponseHook]
	dnsError             []named[DNSErrorHook]
	tlsClientHello       []named[TLSClientHelloHook]
	tlsStartClient       []named[TLSStartClientHook]
	tlsStartServer       []named[TLSStartServerHook]
	tlsEstablishedClient []named[TLSEstablishedClientHook]
	tlsEstablishedServer []named[TLSEstablishedServerHook]
	tlsFailedClient      []named[TLSFailedClientHook]
	tlsFailedServer      []named[TLSFailedServerHook]
	socks5Auth           []named[Socks5AuthHook]

	// The four events of every HTTP exchange, in one form, so that they
	// share one dispatch loop (httpEvent).
	requestHeadersCalls, requestCalls, responseHeadersCalls, responseCalls []flowCall
}

// httpEventKind says which of the four HTTP exchange events httpEvent fires.
type httpEventKind uint8

const (
	evRequestHeaders httpEventKind = iota
	evRequest
	evResponseHeaders
	evResponse
)

// flowCall is one addon's hook for an HTTP exchange event: the field of
// the event's kind is set.
type flowCall struct {
	name            string
	requestHeaders  RequestHeadersHook
	request         RequestHook
	responseHeaders ResponseHeadersHook
	response        ResponseHook
}

// flowCalls puts list in flowCall form, set sets the hook's field.
func flowCalls[H any](list []named[H], set func(*flowCall, H)) []flowCall {
	out := make([]flowCall, len(list))
	for i, n := range list {
		out[i].name = n.name
		set(&out[i], n.hook)
	}
	return out
}

func collect[H any](entries []entry) []named[H] {
	var out []named[H]
	for _, e := range entries {
		if h, ok := e.addon.(H); ok {
			out = append(out, named[H]{e.name, h})
		}
	}
	return out
}

func buildChain(entries []entry) *chain {
	c := &chain{
		all:                  entries,
		load:                 collect[LoadHook](entries),
		configure:            collect[ConfigureHook](entries),
		running:              collect[RunningHook](entries),
		done:                 collect[DoneHook](entries),
		log:                  collect[LogHook](entries),
		update:               collect[UpdateHook](entries),
		clientConnected:      collect[ClientConnectedHook](entries),
		clientDisconnected:   collect[ClientDisconnectedHook](entries),
		serverConnect:        collect[ServerConnectHook](entries),
		serverConnected:      collect[ServerConnectedHook](entries),
		serverDisconnected:   collect[ServerDisconnectedHook](entries),
		serverConnectError:   collect[ServerConnectErrorHook](entries),
		requestHeaders:       collect[RequestHeadersHook](entries),
		request:              collect[RequestHook](entries),
		responseHeaders:      collect[ResponseHeadersHook](entries),
		response:             collect[ResponseHook](entries),
		error:                collect[ErrorHook](entries),
		httpConnect:          collect[HTTPConnectHook](entries),
		httpConnectUpstream:  collect[HTTPConnectUpstreamHook](entries),
		httpConnected:        collect[HTTPConnectedHook](entries),
		httpConnectError:     collect[HTTPConnectErrorHook](entries),
		webSocketStart:       collect[WebSocketStartHook](entries),
		webSocketMessage:     collect[WebSocketMessageHook](entries),
		webSocketEnd:         collect[WebSocketEndHook](entries),
		tcpStart:             collect[TCPStartHook](entries),
		tcpMessage:           collect[TCPMessageHook](entries),
		tcpEnd:               collect[TCPEndHook](entries),
		tcpError:             collect[TCPErrorHook](entries),
		udpStart:             collect[UDPStartHook](entries),
		udpMessage:           collect[UDPMessageHook](entries),
		udpEnd:               collect[UDPEndHook](entries),
		udpError:             collect[UDPErrorHook](entries),
		dnsRequest:           collect[DNSRequestHook](entries),
		dnsResponse:          collect[DNSResponseHook](entries),
		dnsError:             collect[DNSErrorHook](entries),
		tlsClientHello:       collect[TLSClientHelloHook](entries),
		tlsStartClient:       collect[TLSStartClientHook](entries),
		tlsStartServer:       collect[TLSStartServerHook](entries),
		tlsEstablishedClient: collect[TLSEstablishedClientHook](entries),
		tlsEstablishedServer: collect[TLSEstablishedServerHook](entries),
		tlsFailedClient:      collect[TLSFailedClientHook](entries),
		tlsFailedServer:      collect[TLSFailedServerHook](entries),
		socks5Auth:           collect[Socks5AuthHook](entries),
	}
	c.requestHeadersCalls = flowCalls(c.requestHeaders, func(c *flowCall, h RequestHeadersHook) { c.requestHeaders = h })
	c.requestCalls = flowCalls(c.request, func(c *flowCall, h RequestHook) { c.request = h })
	c.responseHeadersCalls = flowCalls(c.responseHeaders, func(c *flowCall, h ResponseHeadersHook) { c.responseHeaders = h })
	c.responseCalls = flowCalls(c.response, func(c *flowCall, h ResponseHook) { c.response = h })
	for _, e := range entries {
		if ed, ok := e.addon.(FlowEditor); ok && c.editor == nil {
			c.editor = ed
		}
		if k, ok := e.addon.(FlowKeeper); ok {
			c.keepers = append(c.keepers, k)
		} else if receivesHTTPFlows(e.addon) {
			c.undeclared = true
		}
	}
	return c
}

// Manager is the ordered addon chain. It dispatches every hook to the addons
// that implement it, in registration order, recovering panics so one broken
// addon cannot take a flow or the proxy down.
type Manager struct {
	mu sync.Mutex // serialises registration
	// editMu serialises Context.EditFlows when no FlowEditor is
	// registered.
	editMu sync.Mutex
	// lent counts the flows lent to their hooks' commands (Context.Lend);
	// it is read and written inside Context.EditFlows.
	lent     map[*flow.Flow]int
	chain    atomic.Pointer[chain]
	opts     *Options
	cmds     *command.Registry
	log      *slog.Logger
	ctx      *Context
	shutdown atomic.Pointer[func()]
	// deferred is set by DeferConfigure until ConfigureAll; configured
	// once ConfigureAll ran, running once Running did.
	deferred, configured, running atomic.Bool
}

// NewManager returns an empty manager with a fresh options registry and
// command registry.
func NewManager() *Manager {
	m := &Manager{opts: NewOptions(), cmds: command.NewRegistry()}
	m.chain.Store(buildChain(nil))
	m.log = slog.New(&logHandler{m: m})
	m.ctx = &Context{Options: m.opts, Commands: m.cmds, Log: m.log, m: m}
	m.opts.changed = m.configure
	return m
}

// Options is the manager's options registry.
func (m *Manager) Options() *Options { return m.opts }

// Commands is the manager's command registry.
func (m *Manager) Commands() *command.Registry { return m.cmds }

// DeferConfigure holds back the configure hook until ConfigureAll: option
// changes made before it (config.yaml, --set, flags) reach no addon, so that
// each addon is configured once at start-up, with every option, as
// mitmproxy does. Values are still parsed and type-checked when set;
// what an addon would reject is reported by ConfigureAll.
func (m *Manager) DeferConfigure() { m.deferred.Store(true) }

// KeepsFlows reports whether an addon may hold on to an HTTP flow after its
// hooks returned (see FlowKeeper). It asks every time, so an addon's answer
// may change as it runs (a script that intercepted a flow keeps it).
func (m *Manager) KeepsFlows() bool {
	c := m.chain.Load()
	if c.undeclared {
		return true
	}
	for _, k := range c.keepers {
		if k.KeepsFlows() {
			return true
		}
	}
	return false
}

// receivesHTTPFlows reports whether a implements a hook that is handed an
// *flow.HTTPFlow.
func receivesHTTPFlows(a any) bool {
	switch a.(type) {
	case RequestHeadersHook, RequestHook, ResponseHeadersHook, ResponseHook, ErrorHook,
		HTTPConnectHook, HTTPConnectUpstreamHook, HTTPConnectedHook, HTTPConnectErrorHook,
		WebSocketStartHook, WebSocketMessageHook, WebSocketEndHook:
		return true
	}
	return false
}

// Log is the logger whose entries reach the log hooks (termlog prints them).
func (m *Manager) Log() *slog.Logger { return m.log }

// Context is the context handed to addons.
func (m *Manager) Context() *Context { return m.ctx }

// SetShutdown sets what Shutdown does (the master's stop function).
func (m *Manager) SetShutdown(fn func()) { m.shutdown.Store(&fn) }

// Shutdown asks the master to stop.
func (m *Manager) Shutdown() {
	if fn := m.shutdown.Load(); fn != nil {
		(*fn)()
	}
}

// AddonName returns the name an addon is registered under.
func AddonName(a any) string {
	if n, ok := a.(Namer); ok {
		return n.Name()
	}
	t := reflect.TypeOf(a)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "nil"
	}
	return strings.ToLower(t.Name())
}

// Add registers addons (and their children) at the end of the chain and runs
// their load hooks. Two addons with the same name are an error.
func (m *Manager) Add(addons ...any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.chain.Load().all
	var added []entry
	var walk func(a any) error
	walk = func(a any) error {
		name := AddonName(a)
		for _, e := range cur {
			if e.name == name {
				return fmt.Errorf("an addon named %q is already registered", name)
			}
		}
		for _, e := range added {
			if e.name == name {
				return fmt.Errorf("an addon named %q is already registered", name)
			}
		}
		added = append(added, entry{name, a})
		if p, ok := a.(Parent); ok {
			for _, c := range p.Addons() {
				if err := walk(c); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, a := range addons {
		if err := walk(a); err != nil {
			return err
		}
	}
	all := append(append([]entry(nil), cur...), added...)
	m.chain.Store(buildChain(all))
	for _, e := range added {
		if h, ok := e.addon.(LoadHook); ok {
			m.call(e.name, "load", func() { h.Load(&Loader{m: m, addon: e.name}) })
		}
	}
	// An addon that arrives after start-up is configured with every
	// option, and told that mitmgo is running, as mitmproxy does.
	if m.configured.Load() {
		allOpts := map[string]bool{}
		for _, n := range m.opts.Names() {
			allOpts[n] = true
		}
		for _, e := range added {
			if h, ok := e.addon.(ConfigureHook); ok {
				var err error
				m.call(e.name, "configure", func() { err = h.Configure(allOpts) })
				if err != nil {
					m.log.Error(fmt.Sprintf("Addon %s: %v", e.name, err))
				}
			}
		}
	}
	if m.running.Load() {
		for _, e := range added {
			if h, ok := e.addon.(RunningHook); ok {
				m.call(e.name, "running", h.Running)
			}
		}
	}
	return nil
}

// Names lists the registered addons in chain order.
func (m *Manager) Names() []string {
	var out []string
	for _, e := range m.chain.Load().all {
		out = append(out, e.name)
	}
	return out
}

// Get returns the addon registered under name.
func (m *Manager) Get(name string) (any, bool) {
	for _, e := range m.chain.Load().all {
		if e.name == name {
			return e.addon, true
		}
	}
	return nil, false
}

// call runs fn for one addon, turning a panic into a logged "Addon error".
func (m *Manager) call(addon, event string, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			m.logPanic(addon, event, r)
		}
	}()
	fn()
}

// logPanic logs an addon's panic, recovered in a deferred function (the
// stack logged is the panic's).
func (m *Manager) logPanic(addon, event string, r any) {
	m.log.Error(fmt.Sprintf("Addon error: %s: panic in %s: %v\n%s", addon, event, r, debug.Stack()))
}

// configure runs every configure hook; the first error wins and stops the
// dispatch (so the caller can roll the options back).
func (m *Manager) configure(updated map[string]bool) error {
	if m.deferred.Load() && !m.configured.Load() {
		return nil
	}
	for _, n := range m.chain.Load().configure {
		var err error
		m.call(n.name, "configure", func() { err = n.hook.Configure(updated) })
		if err != nil {
			return err
		}
	}
	return nil
}

// ConfigureAll runs configure with every option name, as mitmproxy does at
// start-up.
func (m *Manager) ConfigureAll() error {
	all := map[string]bool{}
	for _, n := range m.opts.Names() {
		all[n] = true
	}
	m.configured.Store(true)
	return m.configure(all)
}

// dispatchLog hands an entry to every log hook. Entries may come from many
// goroutines at once; log hooks must not log themselves.
func (m *Manager) dispatchLog(e *LogEntry) {
	for _, n := range m.chain.Load().log {
		func() {
			defer func() { _ = recover() }()
			n.hook.AddLog(e)
		}()
	}
}

// run calls fn with each hook of list, in order; a hook that panics is
// logged, as call does, and the next one runs. The recovery is set up
// once per event, not once per hook: the proxy fires four HTTP events
// per flow through a chain of built-ins, and a deferred recover and a
// closure for each hook were 7% of its instructions per request
// (callgrind, mitmdump, 200-byte responses: 2,300 of 32,300). The loop is
// not generic (each): one copy of it for every hook type, not one per
// hook type, keeps the code a request runs through smaller.
func run[H any](m *Manager, list []named[H], event string, fn func(H)) {
	if len(list) > 0 {
		m.each(len(list), event, func(i int) string { return list[i].name }, func(i int) { fn(list[i].hook) })
	}
}

// each calls call(0) to call(n-1); when one panics, it logs the panic
// with name(i) and goes on with the next.
func (m *Manager) each(n int, event string, name func(int) string, call func(int)) {
	for i := 0; i < n; {
		i = m.eachFrom(i, n, event, name, call)
	}
}

// eachFrom is each from i on, until the end or a panic: it returns the
// index after the last call made.
func (m *Manager) eachFrom(i, n int, event string, name func(int) string, call func(int)) (next int) {
	defer func() {
		if r := recover(); r != nil {
			m.logPanic(name(next), event, r)
			next++
		}
	}()
	for next = i; next < n; next++ {
		call(next)
	}
	return next
}

// httpEvent calls the hooks of kind in calls with f, as run does for the
// other hooks. The four events of every HTTP exchange go through this one
// loop, with no closures: with run, each event had its own copy of the
// loop and two closures, code that a keep-alive request touched on top of
// the rest, which is about as much as the instruction cache holds
// (callgrind --cache-sim=yes, mitmdump, 200-byte responses: the addon
// package's code run per request 2.8 -> 1.3 KiB).
func (m *Manager) httpEvent(kind httpEventKind, calls []flowCall, f *flow.HTTPFlow) {
	for i := 0; i < len(calls); {
		i = m.httpEventFrom(kind, calls, i, f)
	}
}

// httpEventFrom is httpEvent from i on, until the end or a panic: it
// returns the index after the last call made.
func (m *Manager) httpEventFrom(kind httpEventKind, calls []flowCall, i int, f *flow.HTTPFlow) (next int) {
	defer func() {
		if r := recover(); r != nil {
			m.logPanic(calls[next].name, [...]string{"requestheaders", "request", "responseheaders", "response"}[kind], r)
			next++
		}
	}()
	for next = i; next < len(calls); next++ {
		switch c := &calls[next]; kind {
		case evRequestHeaders:
			c.requestHeaders.RequestHeaders(f)
		case evRequest:
			c.request.Request(f)
		case evResponseHeaders:
			c.responseHeaders.ResponseHeaders(f)
		default:
			c.response.Response(f)
		}
	}
	return next
}

// Running fires running.
func (m *Manager) Running() {
	m.running.Store(true)
	run(m, m.chain.Load().running, "running", func(h RunningHook) { h.Running() })
}

// Done fires done on every addon.
func (m *Manager) Done() {
	run(m, m.chain.Load().done, "done", func(h DoneHook) { h.Done() })
}

// Update fires update (see UpdateHook).
func (m *Manager) Update(flows []flow.Any) {
	run(m, m.chain.Load().update, "update", func(h UpdateHook) { h.Update(flows) })
}

// ClientConnected fires client_connected.
func (m *Manager) ClientConnected(c *flow.Client) {
	run(m, m.chain.Load().clientConnected, "client_connected", func(h ClientConnectedHook) { h.ClientConnected(c) })
}

// ClientDisconnected fires client_disconnected.
func (m *Manager) ClientDisconnected(c *flow.Client) {
	run(m, m.chain.Load().clientDisconnected, "client_disconnected", func(h ClientDisconnectedHook) { h.ClientDisconnected(c) })
}

// ServerConnect fires server_connect.
func (m *Manager) ServerConnect(d *ServerConnectionData) {
	run(m, m.chain.Load().serverConnect, "server_connect", func(h ServerConnectHook) { h.ServerConnect(d) })
}

// ServerConnected fires server_connected.
func (m *Manager) ServerConnected(d *ServerConnectionData) {
	run(m, m.chain.Load().serverConnected, "server_connected", func(h ServerConnectedHook) { h.ServerConnected(d) })
}

// ServerDisconnected fires server_disconnected.
func (m *Manager) ServerDisconnected(d *ServerConnectionData) {
	run(m, m.chain.Load().serverDisconnected, "server_disconnected", func(h ServerDisconnectedHook) { h.ServerDisconnected(d) })
}

// ServerConnectError fires server_connect_error.
func (m *Manager) ServerConnectError(d *ServerConnectionData) {
	run(m, m.chain.Load().serverConnectError, "server_connect_error", func(h ServerConnectErrorHook) { h.ServerConnectError(d) })
}

// RequestHeaders fires requestheaders.
func (m *Manager) RequestHeaders(f *flow.HTTPFlow) {
	if calls := m.chain.Load().requestHeadersCalls; len(calls) > 0 {
		m.httpEvent(evRequestHeaders, calls, f)
	}
}

// Request fires request.
func (m *Manager) Request(f *flow.HTTPFlow) {
	if calls := m.chain.Load().requestCalls; len(calls) > 0 {
		m.httpEvent(evRequest, calls, f)
	}
}

// ResponseHeaders fires responseheaders.
func (m *Manager) ResponseHeaders(f *flow.HTTPFlow) {
	if calls := m.chain.Load().responseHeadersCalls; len(calls) > 0 {
		m.httpEvent(evResponseHeaders, calls, f)
	}
}

// Response fires response.
func (m *Manager) Response(f *flow.HTTPFlow) {
	if calls := m.chain.Load().responseCalls; len(calls) > 0 {
		m.httpEvent(evResponse, calls, f)
	}
}

// Error fires error.
func (m *Manager) Error(f *flow.HTTPFlow) {
	run(m, m.chain.Load().error, "error", func(h ErrorHook) { h.Error(f) })
}

// HTTPConnect fires http_connect.
func (m *Manager) HTTPConnect(f *flow.HTTPFlow) {
	run(m, m.chain.Load().httpConnect, "http_connect", func(h HTTPConnectHook) { h.HTTPConnect(f) })
}

// HTTPConnectUpstream fires http_connect_upstream.
func (m *Manager) HTTPConnectUpstream(f *flow.HTTPFlow) {
	run(m, m.chain.Load().httpConnectUpstream, "http_connect_upstream", func(h HTTPConnectUpstreamHook) { h.HTTPConnectUpstream(f) })
}

// HTTPConnected fires http_connected.
func (m *Manager) HTTPConnected(f *flow.HTTPFlow) {
	run(m, m.chain.Load().httpConnected, "http_connected", func(h HTTPConnectedHook) { h.HTTPConnected(f) })
}

// HTTPConnectError fires http_connect_error.
func (m *Manager) HTTPConnectError(f *flow.HTTPFlow) {
	run(m, m.chain.Load().httpConnectError, "http_connect_error", func(h HTTPConnectErrorHook) { h.HTTPConnectError(f) })
}

// WebSocketStart fires websocket_start.
func (m *Manager) WebSocketStart(f *flow.HTTPFlow) {
	run(m, m.chain.Load().webSocketStart, "websocket_start", func(h WebSocketStartHook) { h.WebSocketStart(f) })
}

// WebSocketMessage fires websocket_message.
func (m *Manager) WebSocketMessage(f *flow.HTTPFlow) {
	run(m, m.chain.Load().webSocketMessage, "websocket_message", func(h WebSocketMessageHook) { h.WebSocketMessage(f) })
}

// WebSocketEnd fires websocket_end.
func (m *Manager) WebSocketEnd(f *flow.HTTPFlow) {
	run(m, m.chain.Load().webSocketEnd, "websocket_end", func(h WebSocketEndHook) { h.WebSocketEnd(f) })
}

// TCPStart fires tcp_start.
func (m *Manager) TCPStart(f *flow.TCPFlow) {
	run(m, m.chain.Load().tcpStart, "tcp_start", func(h TCPStartHook) { h.TCPStart(f) })
}

// TCPMessage fires tcp_message.
func (m *Manager) TCPMessage(f *flow.TCPFlow) {
	run(m, m.chain.Load().tcpMessage, "tcp_message", func(h TCPMessageHook) { h.TCPMessage(f) })
}

// TCPEnd fires tcp_end.
func (m *Manager) TCPEnd(f *flow.TCPFlow) {
	run(m, m.chain.Load().tcpEnd, "tcp_end", func(h TCPEndHook) { h.TCPEnd(f) })
}

// TCPError fires tcp_error.
func (m *Manager) TCPError(f *flow.TCPFlow) {
	run(m, m.chain.Load().tcpError, "tcp_error", func(h TCPErrorHook) { h.TCPError(f) })
}

// UDPStart fires udp_start.
func (m *Manager) UDPStart(f *flow.UDPFlow) {
	run(m, m.chain.Load().udpStart, "udp_start", func(h UDPStartHook) { h.UDPStart(f) })
}

// UDPMessage fires udp_message.
func (m *Manager) UDPMessage(f *flow.UDPFlow) {
	run(m, m.chain.Load().udpMessage, "udp_message", func(h UDPMessageHook) { h.UDPMessage(f) })
}

// UDPEnd fires udp_end.
func (m *Manager) UDPEnd(f *flow.UDPFlow) {
	run(m, m.chain.Load().udpEnd, "udp_end", func(h UDPEndHook) { h.UDPEnd(f) })
}

// UDPError fires udp_error.
func (m *Manager) UDPError(f *flow.UDPFlow) {
	run(m, m.chain.Load().udpError, "udp_error", func(h UDPErrorHook) { h.UDPError(f) })
}

// DNSRequest fires dns_request.
func (m *Manager) DNSRequest(f *flow.DNSFlow) {
	run(m, m.chain.Load().dnsRequest, "dns_request", func(h DNSRequestHook) { h.DNSRequest(f) })
}

// DNSResponse fires dns_response.
func (m *Manager) DNSResponse(f *flow.DNSFlow) {
	run(m, m.chain.Load().dnsResponse, "dns_response", func(h DNSResponseHook) { h.DNSResponse(f) })
}

// DNSError fires dns_error.
func (m *Manager) DNSError(f *flow.DNSFlow) {
	run(m, m.chain.Load().dnsError, "dns_error", func(h DNSErrorHook) { h.DNSError(f) })
}

// TLSClientHello fires tls_clienthello.
func (m *Manager) TLSClientHello(d *ClientHelloData) {
	run(m, m.chain.Load().tlsClientHello, "tls_clienthello", func(h TLSClientHelloHook) { h.TLSClientHello(d) })
}

// TLSStartClient fires tls_start_client.
func (m *Manager) TLSStartClient(d *TLSData) {
	run(m, m.chain.Load().tlsStartClient, "tls_start_client", func(h TLSStartClientHook) { h.TLSStartClient(d) })
}

// TLSStartServer fires tls_start_server.
func (m *Manager) TLSStartServer(d *TLSData) {
	run(m, m.chain.Load().tlsStartServer, "tls_start_server", func(h TLSStartServerHook) { h.TLSStartServer(d) })
}

// TLSEstablishedClient fires tls_established_client.
func (m *Manager) TLSEstablishedClient(d *TLSData) {
	run(m, m.chain.Load().tlsEstablishedClient, "tls_established_client", func(h TLSEstablishedClientHook) { h.TLSEstablishedClient(d) })
}

// TLSEstablishedServer fires tls_established_server.
func (m *Manager) TLSEstablishedServer(d *TLSData) {
	run(m, m.chain.Load().tlsEstablishedServer, "tls_established_server", func(h TLSEstablishedServerHook) { h.TLSEstablishedServer(d) })
}

// TLSFailedClient fires tls_failed_client.
func (m *Manager) TLSFailedClient(d *TLSData) {
	run(m, m.chain.Load().tlsFailedClient, "tls_failed_client", func(h TLSFailedClientHook) { h.TLSFailedClient(d) })
}

// TLSFailedServer fires tls_failed_server.
func (m *Manager) TLSFailedServer(d *TLSData) {
	run(m, m.chain.Load().tlsFailedServer, "tls_failed_server", func(h TLSFailedServerHook) { h.TLSFailedServer(d) })
}

// Socks5Auth fires socks5_auth.
func (m *Manager) Socks5Auth(d *Socks5AuthData) {
	run(m, m.chain.Load().socks5Auth, "socks5_auth", func(h Socks5AuthHook) { h.Socks5Auth(d) })
}

// Has reports whether any addon implements the hook interface H; the proxy
// uses it to skip work nobody will see.
func Has[H any](m *Manager) bool {
	for _, e := range m.chain.Load().all {
		if _, ok := e.addon.(H); ok {
			return true
		}
	}
	return false
}
