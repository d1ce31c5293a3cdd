package mitmgo_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo"
	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
	"github.com/mitmgo/mitmgo/view"
)

// start assembles and starts a master on 127.0.0.1 with a free port and
// a temporary confdir; extra specs are applied with Setup.
func start(t testing.TB, cfg mitmgo.Config, specs ...string) (*mitmgo.Master, *testutil.SyncBuffer) {
	t.Helper()
	out := &testutil.SyncBuffer{}
	if cfg.Out == nil {
		cfg.Out = out
	}
	m, err := mitmgo.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	specs = append([]string{"confdir=" + t.TempDir(), "listen_host=127.0.0.1", "listen_port=0"}, specs...)
	if err := m.Setup(specs); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	return m, out
}

func client(m *mitmgo.Master) *http.Client {
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(m.URL())}, Timeout: 20 * time.Second}
}

func get(t testing.TB, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// configCounter counts configure calls and remembers what it was told.
type configCounter struct {
	mu      sync.Mutex
	calls   int
	updated []map[string]bool
}

func (c *configCounter) Configure(updated map[string]bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	c.updated = append(c.updated, updated)
	return nil
}

func (c *configCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// TestConfigureOnce: config.yaml, --set values and typed handles set before
// Start reach the addons in one configure call with every option; later
// changes come one by one.
func TestConfigureOnce(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("anticache: true\nview_filter: '~u foo'\nconsole_mouse: false\nweb_open_browser: false\n"), 0o644)
	cc := &configCounter{}
	m, err := mitmgo.New(mitmgo.Config{Addons: []any{cc}, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Opts.ListenPort.Set(new(0))
	if err := m.Set("web_port=9999", "view_order=size"); err != nil {
		t.Fatal(err)
	}
	if err := m.Setup([]string{"confdir=" + dir, "listen_host=127.0.0.1", "anticomp=true"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	if n := cc.count(); n != 1 {
		t.Fatalf("configure ran %d times before and at start, want 1", n)
	}
	if got := len(cc.updated[0]); got != len(m.Options.Names()) {
		t.Errorf("the first configure was told of %d options, there are %d", got, len(m.Options.Names()))
	}
	for name, want := range map[string]any{"anticache": true, "anticomp": true, "console_mouse": false, "web_open_browser": false, "web_port": 9999} {
		if got := m.Options.Get(name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if vf := m.Opts.ViewFilter.Get(); vf == nil || *vf != "~u foo" {
		t.Errorf("view_filter %v", vf)
	}
	if err := m.Opts.ViewOrder.Set("url"); err != nil {
		t.Fatal(err)
	}
	if n := cc.count(); n != 2 || len(cc.updated[1]) != 1 || !cc.updated[1]["view_order"] {
		t.Errorf("a change after start: %d calls, last told %v", n, cc.updated[len(cc.updated)-1])
	}
}

// TestOptionsOfOtherTools: mitmweb's and the console's options are known to
// every tool (and not listed by its --options); misspelt ones are not.
func TestOptionsOfOtherTools(t *testing.T) {
	for _, cfg := range []mitmgo.Config{{Dump: true}, {View: true}, {}} {
		m, err := mitmgo.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{
			"view_filter", "view_order", "view_order_reversed", "console_focus_follow", "intercept", "intercept_active",
			"console_mouse", "console_palette", "console_layout", "web_open_browser", "web_port", "web_host", "web_password",
			"command_history", "flow_detail", "keepserving", "confdir", "web_columns", "web_static_viewer",
		} {
			if _, _, ok := m.Options.Lookup(name); !ok {
				t.Errorf("%+v: %s is not known", cfg, name)
			}
		}
		if err := m.Set("console_palette=dark", "web_columns=path"); err != nil {
			t.Errorf("%+v: %v", cfg, err)
		}
		if err := m.Set("console_palette=purple"); err == nil {
			t.Errorf("%+v: a bad choice was accepted", cfg)
		}
		dump := m.Options.Dump()
		if strings.Contains(dump, "\nweb_port:") || strings.Contains(dump, "\nconsole_mouse:") {
			t.Errorf("%+v: --options lists another tool's options", cfg)
		}
		if cfg.Dump && !strings.Contains(dump, "\nflow_detail:") {
			t.Error("mitmdump's --options lacks flow_detail")
		}
		if cfg.View && !strings.Contains(dump, "\nview_filter:") {
			t.Error("a tool with a view does not list view_filter")
		}
		if _, err := addon.Lookup[bool](m.Options, "web_open_browsr"); err == nil {
			t.Error("a misspelt option name was found")
		}
		if _, err := addon.Lookup[string](m.Options, "web_port"); err == nil {
			t.Error("an int option was found as a string")
		}
		m.Set("no_such_option=1")
		if err := m.Configure(); err == nil || !strings.Contains(err.Error(), "no_such_option") {
			t.Errorf("an unknown option: %v", err)
		}
		m.Close()
	}
}

// TestInterceptThroughCommands intercepts real requests at request and
// response and resumes or kills them with commands.
func TestInterceptThroughCommands(t *testing.T) {
	var hits atomic.Int32
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, "origin "+r.URL.Path)
	}))
	m, _ := start(t, mitmgo.Config{View: true}, "intercept=~u /held")
	if !m.Opts.InterceptActive.Get() {
		t.Fatal("setting intercept did not turn intercept_active on")
	}
	c := client(m)
	if code, body := get(t, c, origin.URL+"/free"); code != 200 || body != "origin /free" {
		t.Fatalf("a flow that is not intercepted: %d %q", code, body)
	}

	type result struct {
		code int
		body string
		err  error
	}
	// A killed request's connection closes; a client that reuses
	// connections would send it again.
	once := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(m.URL()), DisableKeepAlives: true}}
	fetch := func(path string) chan result {
		ch := make(chan result, 1)
		go func() {
			resp, err := once.Get(origin.URL + path)
			if err != nil {
				ch <- result{err: err}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			ch <- result{code: resp.StatusCode, body: string(b)}
		}()
		return ch
	}
	held := func() []flow.Any {
		v, err := m.Commands.Execute(`view.flows.resolve "~u /held"`)
		if err != nil {
			t.Fatal(err)
		}
		var out []flow.Any
		for _, f := range v.([]flow.Any) {
			if f.Base().IsIntercepted() {
				out = append(out, f)
			}
		}
		return out
	}

	// Resumed at the request, then at the response.
	done := fetch("/held/1")
	testutil.Eventually(t, 10*time.Second, func() bool { return len(held()) == 1 }, "the request was not intercepted")
	if hits.Load() != 1 {
		t.Fatal("an intercepted request reached the server")
	}
	f := held()[0].(*flow.HTTPFlow)
	// An intercepted flow may be changed: the server sees the new path.
	if _, err := m.Commands.Execute("flow.set '~u /held/1' path /held/changed"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Commands.Execute(`flow.resume "~u /held"`); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return len(held()) == 1 && f.Response != nil }, "the response was not intercepted")
	select {
	case r := <-done:
		t.Fatalf("the client got %+v while the response was intercepted", r)
	default:
	}
	if _, err := m.Commands.Call("flow.resume", []flow.Any{f}); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || r.code != 200 || r.body != "origin /held/changed" {
		t.Errorf("after resuming: %+v", r)
	}

	// Killed at the request: the server never sees it.
	before := hits.Load()
	done = fetch("/held/2")
	testutil.Eventually(t, 10*time.Second, func() bool { return len(held()) == 1 }, "the second request was not intercepted")
	if _, err := m.Commands.Execute(`flow.kill "~u /held/2"`); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err == nil && r.code == 200 {
		t.Errorf("a killed flow was answered: %+v", r)
	}
	if hits.Load() != before {
		t.Error("a killed request reached the server")
	}
	killed, _ := m.View.Resolve("~u /held/2")
	if len(killed) != 1 || killed[0].Base().Error == nil || killed[0].Base().Error.Msg != flow.KilledMessage {
		t.Errorf("the killed flow: %+v", killed)
	}

	// Off: nothing is held.
	if err := m.Opts.InterceptActive.Set(false); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, c, origin.URL+"/held/3"); code != 200 {
		t.Errorf("with intercept_active off: %d", code)
	}
}

// TestViewFollowsTraffic: real flows enter the view in order, with events
// a UI can follow, and the flow commands work on them.
func TestViewFollowsTraffic(t *testing.T) {
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, strings.Repeat("x", len(r.URL.Path)))
	}))
	m, out := start(t, mitmgo.Config{View: true})
	var mu sync.Mutex
	var kinds []string
	m.View.Subscribe(func(e view.Event) {
		mu.Lock()
		kinds = append(kinds, e.Kind.String())
		mu.Unlock()
	})
	c := client(m)
	for _, p := range []string{"/a", "/ccc", "/bb"} {
		get(t, c, origin.URL+p)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		shown := m.View.Shown()
		return len(shown) == 3 && shown[2].(*flow.HTTPFlow).Response != nil
	}, "the view has %d flows", m.View.Len())
	mu.Lock()
	if !slices.Contains(kinds, "added") || !slices.Contains(kinds, "updated") {
		t.Errorf("events %v", kinds)
	}
	mu.Unlock()
	paths := func() []string {
		var ps []string
		for _, f := range m.View.Shown() {
			ps = append(ps, f.(*flow.HTTPFlow).Request.Path)
		}
		return ps
	}
	if got := paths(); !slices.Equal(got, []string{"/a", "/ccc", "/bb"}) {
		t.Errorf("time order %v", got)
	}
	for _, tc := range []struct {
		cmd  string
		want []string
	}{
		{"view.order.set size", []string{"/a", "/bb", "/ccc"}},
		{"view.order.reverse true", []string{"/ccc", "/bb", "/a"}},
		{"view.order.reverse false", []string{"/a", "/bb", "/ccc"}},
		{"view.filter.set '~u /b|/c'", []string{"/bb", "/ccc"}},
		{"view.filter.set ''", []string{"/a", "/bb", "/ccc"}},
	} {
		if _, err := m.Commands.Execute(tc.cmd); err != nil {
			t.Fatalf("%s: %v", tc.cmd, err)
		}
		if got := paths(); !slices.Equal(got, tc.want) {
			t.Errorf("after %s: %v, want %v", tc.cmd, got, tc.want)
		}
	}
	if _, err := m.Commands.Execute("flow.mark '~u /bb' :+1:"); err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Commands.Execute("view.flows.resolve @marked"); len(v.([]flow.Any)) != 1 {
		t.Errorf("@marked: %v", v)
	}
	if _, err := m.Commands.Execute("view.properties.marked.toggle"); err != nil {
		t.Fatal(err)
	}
	if got := paths(); !slices.Equal(got, []string{"/bb"}) {
		t.Errorf("marked only: %v", got)
	}
	m.Commands.Execute("view.properties.marked.toggle")
	data, err := m.Commands.Execute("cut @shown request.path,response.status_code")
	if err != nil {
		t.Fatal(err)
	}
	if rows := data.([][]any); len(rows) != 3 || rows[0][0] != "/a" || rows[0][1] != "200" {
		t.Errorf("cut: %v", rows)
	}
	curl, err := m.Commands.Execute("export curl @focus")
	if err != nil || !strings.HasPrefix(curl.(string), "curl ") {
		t.Errorf("export curl: %q %v", curl, err)
	}
	dir := t.TempDir()
	if _, err := m.Commands.Execute("save.file @all " + filepath.Join(dir, "flows")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Commands.Execute("view.flows.load " + filepath.Join(dir, "flows")); err != nil {
		t.Fatal(err)
	}
	if n := m.View.StoreLen(); n != 6 {
		t.Errorf("after loading the saved flows again: %d flows", n)
	}
	if _, err := m.Commands.Execute("view.clear"); err != nil || m.View.StoreLen() != 0 {
		t.Errorf("view.clear: %v, %d flows", err, m.View.StoreLen())
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return strings.Contains(out.String(), "Saved 3 flows.") }, "no alert for save.file in\n%s", out.String())
}

// TestReplayClientCommand replays a recorded flow with replay.client.
func TestReplayClientCommand(t *testing.T) {
	var hits atomic.Int32
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hit %d", hits.Add(1))
	}))
	gone := &disconnects{}
	m, _ := start(t, mitmgo.Config{View: true, Addons: []any{gone}})
	c := client(m)
	get(t, c, origin.URL+"/r")
	// The proxy still reads a flow for a moment after its response hook
	// (whether the connection stays open): replay it once the connection
	// is closed.
	c.CloseIdleConnections()
	testutil.Eventually(t, 10*time.Second, func() bool { return gone.n.Load() == 1 }, "the client connection did not close")
	if _, err := m.Commands.Execute("replay.client @all"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		n, _ := m.Commands.Call("replay.client.count")
		fs, _ := m.View.Resolve("~s")
		return hits.Load() == 2 && n == 0 && len(fs) == 1 && string(fs[0].(*flow.HTTPFlow).Response.RawContent) == "hit 2"
	}, "the flow was not replayed")
	f := m.View.At(0)
	if f.Base().IsReplay != "request" || !f.Modified() {
		t.Errorf("replayed flow: is_replay %q, modified %v", f.Base().IsReplay, f.Modified())
	}
	if _, err := m.Commands.Execute("flow.revert @all"); err != nil {
		t.Fatal(err)
	}
	if got := string(f.(*flow.HTTPFlow).Response.RawContent); got != "hit 1" || f.Base().IsReplay != "" {
		t.Errorf("reverted: %q %q", got, f.Base().IsReplay)
	}
}

// disconnects counts closed client connections.
type disconnects struct{ n atomic.Int32 }

func (d *disconnects) ClientDisconnected(*flow.Client) { d.n.Add(1) }

// TestInterceptRaceResumeFromGoroutines: many intercepted flows resumed and
// killed from other goroutines while the view is re-filtered and re-sorted
// (run with -race).
func TestInterceptRaceResumeFromGoroutines(t *testing.T) {
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.URL.Path)
	}))
	m, _ := start(t, mitmgo.Config{View: true}, "intercept=~q")
	c := client(m)
	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get(fmt.Sprintf("%s/%d", origin.URL, i))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	ctx, cancel := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	bg.Add(2)
	go func() { // a UI changing the view meanwhile
		defer bg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			m.View.SetFilter([]string{"", "~u /1", "!~u /2"}[i%3])
			m.View.SetOrder(view.Orders[i%len(view.Orders)])
			m.View.Window(0, 50)
		}
	}()
	go func() { // another resuming whatever is held, or killing every fifth
		defer bg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			if i%5 == 4 {
				m.Commands.Execute("flow.kill '~u /4'")
			}
			m.Commands.Execute("flow.resume @all")
		}
	}()
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(60 * time.Second):
		t.Error("requests still held after 60 s")
	}
	cancel()
	bg.Wait()
	m.View.SetFilter("")
	if got := m.View.StoreLen(); got != n {
		t.Errorf("%d flows in the store, want %d", got, n)
	}
}

// TestBuiltinsKeepNoFlows: every built-in that receives HTTP flows says
// whether it keeps them (addon.FlowKeeper), and none does in mitmdump's
// chain, so the proxy recycles the buffers of large bodies. A new built-in
// with flow hooks fails here until it declares what it does. (The view
// keeps every flow: a tool with a view recycles none.)
func TestBuiltinsKeepNoFlows(t *testing.T) {
	m, err := mitmgo.New(mitmgo.Config{Dump: true, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, name := range m.Addons.Names() {
		a, _ := m.Addons.Get(name)
		k, ok := a.(addon.FlowKeeper)
		switch {
		case ok && k.KeepsFlows():
			t.Errorf("%s keeps flows", name)
		case !ok:
			t.Logf("%s does not implement addon.FlowKeeper", name)
		}
	}
	if m.Addons.KeepsFlows() {
		t.Error("mitmdump's chain keeps flows: large body buffers are never recycled")
	}
	v, _ := mitmgo.New(mitmgo.Config{View: true, Out: io.Discard})
	defer v.Close()
	if !v.Addons.KeepsFlows() {
		t.Error("a chain with a view does not keep flows")
	}
}

// TestStartFailures: a port in use and errors logged at start-up fail Start
// with what happened; the master is closed.
func TestStartFailures(t *testing.T) {
	m1, _ := start(t, mitmgo.Config{Out: io.Discard})
	port := m1.Addr().(interface{ String() string }).String()
	_, p, _ := strings.Cut(port, ":")
	m2, err := mitmgo.New(mitmgo.Config{Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Setup([]string{"confdir=" + t.TempDir(), "listen_host=127.0.0.1", "listen_port=" + p}); err != nil {
		t.Fatal(err)
	}
	if err := m2.Start(); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("port in use: %v", err)
	}
	m3, _ := mitmgo.New(mitmgo.Config{Out: io.Discard, Addons: []any{errorAtLoad{}}})
	m3.Set("confdir="+t.TempDir(), "listen_port=0")
	var se *mitmgo.StartupError
	if err := m3.Start(); !errors.As(err, &se) || !strings.Contains(se.Error(), "Error logged during startup:\nbroken addon") {
		t.Errorf("a logged error: %v", err)
	}
	if m3.Addr() != nil {
		t.Error("listening after a start-up error")
	}
}

type errorAtLoad struct{}

func (errorAtLoad) Configure(map[string]bool) error { return nil }
func (errorAtLoad) Load(l *addon.Loader)            { l.Context().Log.Error("broken addon") }

// TestRunStopsOnShutdown: Run returns when an addon asks to stop.
func TestRunStopsOnShutdown(t *testing.T) {
	m, err := mitmgo.New(mitmgo.Config{Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	m.Set("confdir="+t.TempDir(), "listen_host=127.0.0.1", "listen_port=0")
	done := make(chan error, 1)
	go func() { done <- m.Run(context.Background()) }()
	testutil.Eventually(t, 10*time.Second, func() bool { return m.Addr() != nil }, "not listening")
	m.Addons.Context().Shutdown()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Shutdown")
	}
}
