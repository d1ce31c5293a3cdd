package addon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

// logCollector records every log entry.
type logCollector struct {
	mu      sync.Mutex
	entries []LogEntry
}

func (c *logCollector) AddLog(e *LogEntry) {
	c.mu.Lock()
	c.entries = append(c.entries, *e)
	c.mu.Unlock()
}

func (c *logCollector) all() []LogEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.entries)
}

func (c *logCollector) find(substr string) (LogEntry, bool) {
	for _, e := range c.all() {
		if strings.Contains(e.Msg, substr) {
			return e, true
		}
	}
	return LogEntry{}, false
}

type plain struct{}
type PointerAddon struct{}
type named2 struct{ n string }

func (n named2) Name() string { return n.n }

func TestAddonName(t *testing.T) {
	tests := []struct {
		addon any
		want  string
	}{
		{plain{}, "plain"},
		{&plain{}, "plain"},
		{&PointerAddon{}, "pointeraddon"},
		{new(*PointerAddon), "pointeraddon"},
		{named2{"Custom-Name"}, "Custom-Name"},
		{&named2{"x"}, "x"},
		{nil, "nil"},
		{42, "int"},
		{&logCollector{}, "logcollector"},
	}
	for _, tt := range tests {
		if got := AddonName(tt.addon); got != tt.want {
			t.Errorf("AddonName(%T) = %q, want %q", tt.addon, got, tt.want)
		}
	}
}

// order records the order of request hooks in f.Comment().
type order struct {
	name     string
	children []any
}

func (o *order) Name() string  { return o.name }
func (o *order) Addons() []any { return o.children }
func (o *order) Request(f *flow.HTTPFlow) {
	// Each addon sees what the earlier ones did.
	f.SetComment(f.Comment() + o.name + " ")
}

func TestManagerOrderAndChildren(t *testing.T) {
	m := NewManager()
	grandchild := &order{name: "grandchild"}
	parent := &order{name: "parent", children: []any{&order{name: "child1", children: []any{grandchild}}, &order{name: "child2"}}}
	if err := m.Add(&order{name: "first"}, parent); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(&order{name: "last"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"first", "parent", "child1", "grandchild", "child2", "last"}
	if got := m.Names(); !reflect.DeepEqual(got, want) {
		t.Errorf("Names = %v, want %v", got, want)
	}
	f := flow.NewHTTPFlow(nil, nil)
	m.Request(f)
	if got := strings.Fields(f.Comment()); !reflect.DeepEqual(got, want) {
		t.Errorf("request hook order = %v, want %v", got, want)
	}
	if a, ok := m.Get("grandchild"); !ok || a != grandchild {
		t.Errorf("Get(grandchild) = %v, %v", a, ok)
	}
	if _, ok := m.Get("nope"); ok {
		t.Error("Get of an unknown name succeeded")
	}
	if !Has[RequestHook](m) || Has[TCPStartHook](m) {
		t.Error("Has")
	}
}

func TestManagerDuplicates(t *testing.T) {
	m := NewManager()
	if err := m.Add(&plain{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		addons []any
	}{
		{"same type again", []any{plain{}}},
		{"same Name()", []any{named2{"a"}, named2{"a"}}},
		{"clash with a registered one", []any{named2{"plain"}}},
		{"duplicate child", []any{&order{name: "p", children: []any{&order{name: "p"}}}}},
		{"duplicate among children", []any{&order{name: "q", children: []any{named2{"c"}, named2{"c"}}}}},
	}
	for _, tt := range tests {
		err := m.Add(tt.addons...)
		if err == nil || !strings.Contains(err.Error(), "already registered") {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
	// A refused Add registers none of its addons.
	if got := m.Names(); !reflect.DeepEqual(got, []string{"plain"}) {
		t.Errorf("Names after refused Adds = %v", got)
	}
}

// loader declares options and logs while loading.
type loader struct {
	loaded int
	ctx    *Context
}

func (l *loader) Load(ld *Loader) {
	l.loaded++
	l.ctx = ld.Context()
	ld.AddOption("loader_opt", Int, 7, "An option.")
	ld.AddOption("loader_opt", Int, 7, "Declared twice.")
	ld.AddOption("bad_default", Bool, "yes", "Wrong default type.")
}

func TestLoadHook(t *testing.T) {
	m := NewManager()
	logs := &logCollector{}
	l := &loader{}
	if err := m.Add(logs, l); err != nil {
		t.Fatal(err)
	}
	if l.loaded != 1 || l.ctx != m.Context() || l.ctx.Options != m.Options() || l.ctx.Log != m.Log() {
		t.Errorf("load: %d %v", l.loaded, l.ctx)
	}
	if m.Options().Int("loader_opt") != 7 {
		t.Errorf("option not declared: %v", m.Options().Get("loader_opt"))
	}
	// Declaration errors are logged with the addon's name.
	for _, want := range []string{"Addon loader: option loader_opt is already declared", "Addon loader: option bad_default: bad default"} {
		if e, ok := logs.find(want); !ok || e.Level != slog.LevelError {
			t.Errorf("no error log %q in %v", want, logs.all())
		}
	}
}

// everything implements every hook and records the events it sees.
type everything struct {
	name   string
	mu     sync.Mutex
	events []string
	panics bool
}

func (e *everything) Name() string { return e.name }
func (e *everything) rec(ev string) {
	e.mu.Lock()
	e.events = append(e.events, ev)
	e.mu.Unlock()
	if e.panics {
		panic("boom in " + ev)
	}
}

func (e *everything) Load(*Loader)                             { e.rec("load") }
func (e *everything) Configure(map[string]bool) error          { e.rec("configure"); return nil }
func (e *everything) Running()                                 { e.rec("running") }
func (e *everything) Done()                                    { e.rec("done") }
func (e *everything) ClientConnected(*flow.Client)             { e.rec("client_connected") }
func (e *everything) ClientDisconnected(*flow.Client)          { e.rec("client_disconnected") }
func (e *everything) ServerConnect(*ServerConnectionData)      { e.rec("server_connect") }
func (e *everything) ServerConnected(*ServerConnectionData)    { e.rec("server_connected") }
func (e *everything) ServerDisconnected(*ServerConnectionData) { e.rec("server_disconnected") }
func (e *everything) ServerConnectError(*ServerConnectionData) { e.rec("server_connect_error") }
func (e *everything) RequestHeaders(*flow.HTTPFlow)            { e.rec("requestheaders") }
func (e *everything) Request(*flow.HTTPFlow)                   { e.rec("request") }
func (e *everything) ResponseHeaders(*flow.HTTPFlow)           { e.rec("responseheaders") }
func (e *everything) Response(*flow.HTTPFlow)                  { e.rec("response") }
func (e *everything) Error(*flow.HTTPFlow)                     { e.rec("error") }
func (e *everything) HTTPConnect(*flow.HTTPFlow)               { e.rec("http_connect") }
func (e *everything) HTTPConnectUpstream(*flow.HTTPFlow)       { e.rec("http_connect_upstream") }
func (e *everything) HTTPConnected(*flow.HTTPFlow)             { e.rec("http_connected") }
func (e *everything) HTTPConnectError(*flow.HTTPFlow)          { e.rec("http_connect_error") }
func (e *everything) WebSocketStart(*flow.HTTPFlow)            { e.rec("websocket_start") }
func (e *everything) WebSocketMessage(*flow.HTTPFlow)          { e.rec("websocket_message") }
func (e *everything) WebSocketEnd(*flow.HTTPFlow)              { e.rec("websocket_end") }
func (e *everything) TCPStart(*flow.TCPFlow)                   { e.rec("tcp_start") }
func (e *everything) TCPMessage(*flow.TCPFlow)                 { e.rec("tcp_message") }
func (e *everything) TCPEnd(*flow.TCPFlow)                     { e.rec("tcp_end") }
func (e *everything) TCPError(*flow.TCPFlow)                   { e.rec("tcp_error") }
func (e *everything) UDPStart(*flow.UDPFlow)                   { e.rec("udp_start") }
func (e *everything) UDPMessage(*flow.UDPFlow)                 { e.rec("udp_message") }
func (e *everything) UDPEnd(*flow.UDPFlow)                     { e.rec("udp_end") }
func (e *everything) UDPError(*flow.UDPFlow)                   { e.rec("udp_error") }
func (e *everything) DNSRequest(*flow.DNSFlow)                 { e.rec("dns_request") }
func (e *everything) DNSResponse(*flow.DNSFlow)                { e.rec("dns_response") }
func (e *everything) DNSError(*flow.DNSFlow)                   { e.rec("dns_error") }
func (e *everything) TLSClientHello(*ClientHelloData)          { e.rec("tls_clienthello") }
func (e *everything) TLSStartClient(*TLSData)                  { e.rec("tls_start_client") }
func (e *everything) TLSStartServer(*TLSData)                  { e.rec("tls_start_server") }
func (e *everything) TLSEstablishedClient(*TLSData)            { e.rec("tls_established_client") }
func (e *everything) TLSEstablishedServer(*TLSData)            { e.rec("tls_established_server") }
func (e *everything) TLSFailedClient(*TLSData)                 { e.rec("tls_failed_client") }
func (e *everything) TLSFailedServer(*TLSData)                 { e.rec("tls_failed_server") }
func (e *everything) Socks5Auth(*Socks5AuthData)               { e.rec("socks5_auth") }
func (e *everything) Update([]flow.Any)                        { e.rec("update") }

// fireAll calls every dispatch method once, in this order.
func fireAll(m *Manager) []string {
	hf := flow.NewHTTPFlow(nil, nil)
	tf := flow.NewTCPFlow(nil, nil)
	c := &flow.Client{}
	sd := &ServerConnectionData{Server: &flow.Server{}, Client: c}
	td := &TLSData{Client: c, Config: &tls.Config{}}
	calls := []struct {
		event string
		fire  func()
	}{
		{"configure", func() { _ = m.ConfigureAll() }},
		{"running", m.Running},
		{"client_connected", func() { m.ClientConnected(c) }},
		{"client_disconnected", func() { m.ClientDisconnected(c) }},
		{"server_connect", func() { m.ServerConnect(sd) }},
		{"server_connected", func() { m.ServerConnected(sd) }},
		{"server_disconnected", func() { m.ServerDisconnected(sd) }},
		{"server_connect_error", func() { m.ServerConnectError(sd) }},
		{"requestheaders", func() { m.RequestHeaders(hf) }},
		{"request", func() { m.Request(hf) }},
		{"responseheaders", func() { m.ResponseHeaders(hf) }},
		{"response", func() { m.Response(hf) }},
		{"error", func() { m.Error(hf) }},
		{"http_connect", func() { m.HTTPConnect(hf) }},
		{"http_connect_upstream", func() { m.HTTPConnectUpstream(hf) }},
		{"http_connected", func() { m.HTTPConnected(hf) }},
		{"http_connect_error", func() { m.HTTPConnectError(hf) }},
		{"websocket_start", func() { m.WebSocketStart(hf) }},
		{"websocket_message", func() { m.WebSocketMessage(hf) }},
		{"websocket_end", func() { m.WebSocketEnd(hf) }},
		{"tcp_start", func() { m.TCPStart(tf) }},
		{"tcp_message", func() { m.TCPMessage(tf) }},
		{"tcp_end", func() { m.TCPEnd(tf) }},
		{"tcp_error", func() { m.TCPError(tf) }},
		{"tls_clienthello", func() { m.TLSClientHello(&ClientHelloData{Client: c}) }},
		{"tls_start_client", func() { m.TLSStartClient(td) }},
		{"tls_start_server", func() { m.TLSStartServer(td) }},
		{"tls_established_client", func() { m.TLSEstablishedClient(td) }},
		{"tls_established_server", func() { m.TLSEstablishedServer(td) }},
		{"tls_failed_client", func() { m.TLSFailedClient(td) }},
		{"tls_failed_server", func() { m.TLSFailedServer(td) }},
		{"socks5_auth", func() { m.Socks5Auth(&Socks5AuthData{Client: c}) }},
		{"update", func() { m.Update([]flow.Any{hf, tf}) }},
		{"done", m.Done},
	}
	var events []string
	for _, c := range calls {
		c.fire()
		events = append(events, c.event)
	}
	return events
}

func TestEveryHookDispatched(t *testing.T) {
	m := NewManager()
	a, b := &everything{name: "a"}, &everything{name: "b"}
	if err := m.Add(a, b); err != nil {
		t.Fatal(err)
	}
	m.Options().MustAdd("x", Bool, false, "")
	// Declaring an option changes no value, so it configures nobody.
	want := append([]string{"load"}, fireAll(m)...)
	for _, e := range []*everything{a, b} {
		if !reflect.DeepEqual(e.events, want) {
			t.Errorf("%s saw\n%v\nwant\n%v", e.name, e.events, want)
		}
	}
}

// A panicking addon is logged as "Addon error" with its name and the
// event, and the chain carries on with the next addon (mitmproxy logs the
// exception and continues).
func TestPanicRecovery(t *testing.T) {
	m := NewManager()
	logs := &logCollector{}
	bad := &everything{name: "broken", panics: true}
	good := &everything{name: "good"}
	if err := m.Add(logs, bad, good); err != nil {
		t.Fatal(err)
	}
	events := fireAll(m)
	if !reflect.DeepEqual(good.events, append([]string{"load"}, events...)) {
		t.Errorf("the addon after the broken one saw %v", good.events)
	}
	for _, ev := range append([]string{"load"}, events...) {
		e, ok := logs.find("Addon error: broken: panic in " + ev + ": boom in " + ev)
		if !ok {
			t.Errorf("no Addon error logged for %s", ev)
			continue
		}
		if e.Level != slog.LevelError || !strings.Contains(e.Msg, "goroutine") {
			t.Errorf("%s: level %v, message without a stack: %q", ev, e.Level, e.Msg)
		}
	}
	// Two broken addons in a row, between good ones: one recovery per
	// event (see run) still reaches every addon after each panic.
	m3 := NewManager()
	logs3 := &logCollector{}
	first, last := &everything{name: "first"}, &everything{name: "last"}
	if err := m3.Add(logs3, first, &everything{name: "b1", panics: true}, &everything{name: "b2", panics: true}, last); err != nil {
		t.Fatal(err)
	}
	events3 := append([]string{"load"}, fireAll(m3)...)
	for _, e := range []*everything{first, last} {
		if !reflect.DeepEqual(e.events, events3) {
			t.Errorf("%s saw %v, want %v", e.name, e.events, events3)
		}
	}
	for _, name := range []string{"b1", "b2"} {
		for _, ev := range events3 {
			if _, ok := logs3.find("Addon error: " + name + ": panic in " + ev + ": boom in " + ev); !ok {
				t.Errorf("no Addon error logged for %s in %s", name, ev)
			}
		}
	}
	// A panicking log hook does not stop the others or the logger.
	m2 := NewManager()
	second := &logCollector{}
	if err := m2.Add(panickyLog{}, second); err != nil {
		t.Fatal(err)
	}
	m2.Log().Info("still delivered")
	if _, ok := second.find("still delivered"); !ok {
		t.Error("log entry lost after a panicking log hook")
	}
}

type panickyLog struct{}

func (panickyLog) AddLog(*LogEntry) { panic("log hook broke") }

func TestConfigureAll(t *testing.T) {
	m := NewManager()
	var got map[string]bool
	c := configureFunc(func(u map[string]bool) error { got = u; return nil })
	if err := m.Add(c); err != nil {
		t.Fatal(err)
	}
	m.Options().MustAdd("b", Bool, false, "")
	m.Options().MustAdd("a", Int, 1, "")
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, map[string]bool{"a": true, "b": true}) {
		t.Errorf("ConfigureAll passed %v", got)
	}
	if err := m.Options().Set("a=2"); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, map[string]bool{"a": true}) {
		t.Errorf("Set passed %v", got)
	}
	// The first error stops the dispatch and is returned.
	m2 := NewManager()
	var later bool
	m2.Add(named2{"n"}, rejecter{}, configureFunc(func(map[string]bool) error { later = true; return nil }))
	if err := m2.ConfigureAll(); err == nil || err.Error() != "rejected" || later {
		t.Errorf("ConfigureAll = %v, later addon called: %v", err, later)
	}
}

type configureFunc func(map[string]bool) error

func (f configureFunc) Configure(u map[string]bool) error { return f(u) }
func (configureFunc) Name() string                        { return "configurefunc" }

type rejecter struct{}

func (rejecter) Configure(map[string]bool) error { return errors.New("rejected") }

func TestShutdown(t *testing.T) {
	m := NewManager()
	m.Shutdown() // nothing set: no-op
	called := 0
	m.SetShutdown(func() { called++ })
	m.Context().Shutdown()
	m.Shutdown()
	if called != 2 {
		t.Errorf("shutdown called %d times", called)
	}
}

func TestLogEntries(t *testing.T) {
	m := NewManager()
	logs := &logCollector{}
	if err := m.Add(logs); err != nil {
		t.Fatal(err)
	}
	log := m.Log()
	log.Info("proxy started", "port", 8080)
	clog := log.With(ClientKey, "127.0.0.1:50000")
	clog.Info("client connect")
	clog.With("server", "example.com:443").Warn("server connect", "tls", true)
	log.Debug("per-call client", ClientKey, "[::1]:1")
	log.Log(context.Background(), LevelAlert, "alert!")
	log.WithGroup("g").Error("grouped", "k", "v")

	got := logs.all()
	want := []LogEntry{
		{Level: slog.LevelInfo, Msg: "proxy started", Attrs: []string{"port=8080"}},
		{Level: slog.LevelInfo, Msg: "client connect", Client: "127.0.0.1:50000"},
		{Level: slog.LevelWarn, Msg: "server connect", Client: "127.0.0.1:50000", Attrs: []string{"server=example.com:443", "tls=true"}},
		{Level: slog.LevelDebug, Msg: "per-call client", Client: "[::1]:1"},
		{Level: LevelAlert, Msg: "alert!"},
		{Level: slog.LevelError, Msg: "grouped", Attrs: []string{"k=v"}},
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries: %+v", len(got), got)
	}
	for i := range want {
		if got[i].Time.IsZero() {
			t.Errorf("entry %d has no time", i)
		}
		got[i].Time = want[i].Time
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// Entries go to every log hook, in order.
	m2 := NewManager()
	a, b := &logCollector{}, &order2{}
	m2.Add(a, b)
	m2.Log().Info("x")
	if len(a.all()) != 1 || b.n != 1 {
		t.Errorf("two log hooks: %d %d", len(a.all()), b.n)
	}
}

type order2 struct{ n int }

func (o *order2) AddLog(*LogEntry) { o.n++ }

func TestLevels(t *testing.T) {
	for l, want := range map[slog.Level]string{
		slog.LevelDebug: "debug", slog.LevelDebug - 4: "debug", slog.LevelInfo: "info", slog.LevelWarn: "warn",
		slog.LevelError: "error", LevelAlert: "alert", LevelAlert + 4: "alert", slog.LevelError + 1: "error",
	} {
		if got := LevelName(l); got != want {
			t.Errorf("LevelName(%v) = %q, want %q", l, got, want)
		}
	}
	for name, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "warning": slog.LevelWarn,
		"error": slog.LevelError, "alert": LevelAlert, "INFO": slog.LevelInfo,
	} {
		if got, err := ParseLevel(name); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", name, got, err)
		}
	}
	if _, err := ParseLevel("verbose"); err == nil || !strings.Contains(err.Error(), "verbose") {
		t.Errorf("ParseLevel(verbose) = %v", err)
	}
}

func ExampleManager() {
	m := NewManager()
	_ = m.Add(&order{name: "a"}, &order{name: "b"})
	f := flow.NewHTTPFlow(nil, nil)
	m.Request(f)
	fmt.Println(m.Names(), f.Comment())
	// Output: [a b] a b
}

type (
	// responseWatcher receives flows and says nothing: taken to keep them.
	responseWatcher struct{}
	// responsePrinter receives flows and declares it keeps none.
	responsePrinter struct{}
	// flowCollector receives flows and keeps them while collecting.
	flowCollector struct{ collecting bool }
	// connCounter receives no flows at all.
	connCounter struct{}
)

func (responseWatcher) Response(*flow.HTTPFlow)    {}
func (responsePrinter) Response(*flow.HTTPFlow)    {}
func (responsePrinter) KeepsFlows() bool           { return false }
func (*flowCollector) WebSocketEnd(*flow.HTTPFlow) {}
func (c *flowCollector) KeepsFlows() bool          { return c.collecting }
func (connCounter) ClientConnected(*flow.Client)   {}

func TestKeepsFlows(t *testing.T) {
	tests := []struct {
		name   string
		addons []any
		want   bool
	}{
		{"no addons", nil, false},
		{"addons without flow hooks", []any{connCounter{}}, false},
		{"a flow hook, no declaration", []any{connCounter{}, responseWatcher{}}, true},
		{"declared not to keep", []any{responsePrinter{}, connCounter{}}, false},
		{"declared to keep", []any{responsePrinter{}, &flowCollector{collecting: true}}, true},
		{"the answer may change", []any{&flowCollector{collecting: false}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewManager()
			if err := m.Add(tt.addons...); err != nil {
				t.Fatal(err)
			}
			if got := m.KeepsFlows(); got != tt.want {
				t.Errorf("KeepsFlows() = %v, want %v", got, tt.want)
			}
		})
	}
}
