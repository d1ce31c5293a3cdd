package view_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/core"
	"github.com/mitmgo/mitmgo/addons/save"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/view"
)

// mk makes a finished flow: method, url, response body size, created at t.
func mk(t testing.TB, method, url string, size int, created float64) *flow.HTTPFlow {
	t.Helper()
	req, err := flow.NewRequest(method, url, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := flow.NewHTTPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 1}, flow.Address{}, "regular"), flow.NewServer(flow.Address{Host: req.Host, Port: req.Port}))
	f.Request = req
	f.Response = flow.NewResponse(200, []byte(strings.Repeat("x", size)), nil)
	f.TimestampCreated = created
	f.SetLive(false)
	return f
}

// setup returns a view in a manager with the core commands.
func setup(t testing.TB) (*addon.Manager, *view.View) {
	t.Helper()
	m := addon.NewManager()
	v := view.New()
	if err := m.Add(core.New(), save.New(), v); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	return m, v
}

func paths(fs []flow.Any) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.(*flow.HTTPFlow).Request.Path)
	}
	return out
}

// four flows: /b GET 30 bytes at 1, /d POST 10 at 2, /a GET 20 at 3, /c PUT 40 at 4.
func four(t testing.TB) []flow.Any {
	return []flow.Any{
		mk(t, "GET", "http://example.com/b", 30, 1),
		mk(t, "POST", "http://example.com/d", 10, 2),
		mk(t, "GET", "http://example.com/a", 20, 3),
		mk(t, "PUT", "http://example.com/c", 40, 4),
	}
}

func TestOrderAndFilter(t *testing.T) {
	m, v := setup(t)
	v.Add(four(t)...)
	o := m.Options()
	for _, tc := range []struct {
		set  []string
		want []string
	}{
		{nil, []string{"/b", "/d", "/a", "/c"}},
		{[]string{"view_order=method"}, []string{"/b", "/a", "/d", "/c"}},
		{[]string{"view_order=url"}, []string{"/a", "/b", "/c", "/d"}},
		{[]string{"view_order=size"}, []string{"/d", "/a", "/b", "/c"}},
		{[]string{"view_order_reversed=true"}, []string{"/c", "/b", "/a", "/d"}},
		{[]string{"view_filter=!~m POST"}, []string{"/c", "/b", "/a"}},
		{[]string{"view_order_reversed=false", "view_order=time"}, []string{"/b", "/a", "/c"}},
		{[]string{"view_filter="}, []string{"/b", "/d", "/a", "/c"}},
	} {
		if err := o.Set(tc.set...); err != nil {
			t.Fatal(err)
		}
		if got := paths(v.Shown()); !slices.Equal(got, tc.want) {
			t.Errorf("after %v: %v, want %v", tc.set, got, tc.want)
		}
		for i, f := range v.Shown() {
			if v.Index(f) != i || v.At(i) != f {
				t.Errorf("after %v: Index/At disagree at %d", tc.set, i)
			}
		}
	}
	if err := o.Set("view_filter=~u ("); err == nil || !strings.Contains(err.Error(), "view_filter") {
		t.Errorf("a bad filter: %v", err)
	}
	if err := o.Set("view_order=colour"); err == nil {
		t.Error("a bad order was accepted")
	}
	o.Set("view_order_reversed=true")
	if got := paths(v.Window(1, 2)); !slices.Equal(got, []string{"/a", "/d"}) {
		t.Errorf("a reversed window: %v", got)
	}
	if got := paths(v.Window(3, 50)); !slices.Equal(got, []string{"/b"}) {
		t.Errorf("the last rows: %v", got)
	}
	if v.Window(4, 10) != nil || v.Window(-5, 0) != nil || v.At(4) != nil || v.At(-1) != nil {
		t.Error("out of range reads")
	}
}

func TestEventsAndFocus(t *testing.T) {
	m, v := setup(t)
	var mu sync.Mutex
	var evs []string
	v.Subscribe(func(e view.Event) {
		mu.Lock()
		defer mu.Unlock()
		p := ""
		if f, ok := e.Flow.(*flow.HTTPFlow); ok {
			p = f.Request.Path
		}
		evs = append(evs, fmt.Sprintf("%s %s %d", e.Kind, p, e.Index))
	})
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := evs
		evs = nil
		return out
	}
	fs := four(t)
	v.Add(fs[0], fs[1])
	if got, want := take(), []string{"added /b 0", "focus /b 0", "added /d 1"}; !slices.Equal(got, want) {
		t.Errorf("add: %v, want %v", got, want)
	}
	// A change that moves a flow: an update with its new position.
	fs[0].(*flow.HTTPFlow).Request.Method = "ZZZ"
	m.Options().Set("view_order=method")
	take()
	fs[0].(*flow.HTTPFlow).Request.Method = "AAA"
	v.Update([]flow.Any{fs[0]})
	if got, want := take(), []string{"updated /b 0"}; !slices.Equal(got, want) {
		t.Errorf("update: %v, want %v", got, want)
	}
	// A change that hides it: removed, and the focus moves on.
	m.Options().Set("view_filter=!~m AAA")
	if got, want := take(), []string{"refreshed  -1", "focus /d 0"}; !slices.Equal(got, want) {
		t.Errorf("refilter: %v, want %v", got, want)
	}
	m.Options().Set("view_filter=")
	take()
	if _, err := m.Commands().Execute("view.focus.go -1"); err != nil {
		t.Fatal(err)
	}
	if f, i := v.Focus(); f != fs[1] || i != 1 {
		t.Errorf("focus.go -1: %v %d", f, i)
	}
	m.Commands().Execute("view.focus.prev")
	m.Commands().Execute("view.focus.prev") // stays at the first
	if f, _ := v.Focus(); f != fs[0] {
		t.Errorf("focus.prev: %v", f)
	}
	take()
	v.Remove(fs[0])
	if got, want := take(), []string{"removed /b 0", "focus /d 0", "store_removed /b -1"}; !slices.Equal(got, want) {
		t.Errorf("remove: %v, want %v", got, want)
	}
	v.Clear()
	if got, want := take(), []string{"refreshed  -1", "focus  -1"}; !slices.Equal(got, want) {
		t.Errorf("clear: %v, want %v", got, want)
	}
	// console_focus_follow: the focus follows new flows.
	m.Options().Set("console_focus_follow=true")
	v.Add(fs[2], fs[3])
	if f, _ := v.Focus(); f != fs[3] {
		t.Errorf("focus does not follow: %v", f)
	}
}

func TestResolve(t *testing.T) {
	m, v := setup(t)
	fs := four(t)
	v.Add(fs...)
	reg := m.Commands()
	reg.Execute("flow.mark '~u /a|/c' true")
	m.Options().Set("view_filter=~m GET")
	for _, tc := range []struct {
		spec string
		want []string
		err  string
	}{
		{"@all", []string{"/b", "/d", "/a", "/c"}, ""},
		{"@shown", []string{"/b", "/a"}, ""},
		{"@hidden", []string{"/d", "/c"}, ""},
		{"@focus", []string{"/b"}, ""},
		{"@marked", []string{"/a", "/c"}, ""},
		{"@unmarked", []string{"/b", "/d"}, ""},
		{"~u /[cd]", []string{"/d", "/c"}, ""},
		{"@" + fs[1].Base().ID + "," + fs[3].Base().ID, []string{"/d", "/c"}, ""},
		{"@nonsense", nil, ""}, // a bare word is a URL regex, as in mitmproxy
		{"~u (", nil, "Invalid filter expression"},
	} {
		got, err := reg.Call("view.flows.resolve", tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v", tc.spec, err)
			}
			continue
		}
		if err != nil || !slices.Equal(paths(got.([]flow.Any)), tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.spec, paths(got.([]flow.Any)), err, tc.want)
		}
	}
}

// TestViewCommands runs the view.* commands through the registry.
func TestViewCommands(t *testing.T) {
	m, v := setup(t)
	fs := four(t)
	v.Add(fs...)
	reg := m.Commands()
	exec := func(cmd string) any {
		t.Helper()
		r, err := reg.Execute(cmd)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		return r
	}
	if got := exec("view.order.options"); !slices.Equal(got.([]string), []string{"method", "size", "time", "url"}) {
		t.Errorf("view.order.options %v", got)
	}
	exec("view.order.set url")
	if exec("view.order") != "url" || exec("view.properties.length") != 4 {
		t.Error("view.order / view.properties.length")
	}
	if exec("view.properties.inbounds 3") != true || exec("view.properties.inbounds 4") != false {
		t.Error("view.properties.inbounds")
	}
	exec("view.settings.setval @all key one")
	exec("view.settings.setval.toggle @focus flag")
	if exec("view.settings.getval @focus key none") != "one" || exec("view.settings.getval @focus flag false") != "true" {
		t.Error("settings")
	}
	exec("view.flows.duplicate @focus")
	if v.StoreLen() != 5 {
		t.Fatalf("duplicate: %d flows", v.StoreLen())
	}
	dup, _ := v.Focus()
	if dup == v.At(0) && dup.Base().ID == fs[2].Base().ID {
		t.Error("the duplicate has the original's id")
	}
	exec("view.flows.create get https://example.org:8443/new?x=1")
	created, _ := v.Resolve("~d example.org")
	if len(created) != 1 {
		t.Fatalf("create: %v", created)
	}
	cf := created[0].(*flow.HTTPFlow)
	if cf.Request.Method != "GET" || cf.Request.Port != 8443 || cf.Request.Headers.Get("Host") != "example.org" || cf.IsLive() {
		t.Errorf("created flow: %s %d %q live %v", cf.Request.Method, cf.Request.Port, cf.Request.Headers.Get("Host"), cf.IsLive())
	}
	if _, err := reg.Execute("view.flows.create get not-a-url"); err == nil || !strings.Contains(err.Error(), "Invalid URL") {
		t.Errorf("create with a bad URL: %v", err)
	}
	exec("flow.mark @all false")
	exec("flow.mark.toggle '~u /a'")
	exec("view.clear_unmarked")
	if got := paths(v.All()); !slices.Equal(got, []string{"/a"}) {
		t.Errorf("clear_unmarked left %v", got)
	}
	path := filepath.Join(t.TempDir(), "saved")
	exec("save.file @all " + path)
	exec("view.flows.load " + path)
	exec("view.flows.load " + path)
	if all := v.All(); len(all) != 3 || all[1].Base().ID == all[2].Base().ID {
		t.Errorf("loading twice: %d flows", len(all))
	}
	exec("view.flows.load " + filepath.Join(t.TempDir(), "missing"))
	exec("view.flows.remove @all")
	if v.StoreLen() != 0 || v.Len() != 0 {
		t.Errorf("remove @all left %d", v.StoreLen())
	}
	os.Remove(path)
}

// TestInFlightFlows: a flow between its hooks is not read from other
// goroutines; its filter result waits for its next hook. An intercepted
// flow may be read.
func TestInFlightFlows(t *testing.T) {
	m, v := setup(t)
	f := mk(t, "GET", "http://example.com/live", 0, 1)
	f.Response = nil
	f.SetLive(true)
	m.RequestHeaders(f)
	if v.Len() != 1 {
		t.Fatal("requestheaders did not add the flow")
	}
	// Filtering on the response: the flow in flight keeps its place.
	m.Options().Set("view_filter=~s")
	if v.Len() != 1 {
		t.Error("a flow in flight was filtered from another goroutine")
	}
	if got, _ := v.Resolve("~q"); len(got) != 0 {
		t.Error("a filter spec matched a flow in flight")
	}
	// Its next hook evaluates it.
	m.Request(f)
	if v.Len() != 0 {
		t.Error("the request hook did not re-filter the flow")
	}
	// Intercepted (waiting): it is read again.
	f.Intercept()
	m.Request(f)
	m.Options().Set("view_filter=~q")
	if v.Len() != 1 {
		t.Error("an intercepted flow was not re-filtered")
	}
	if got, _ := v.Resolve("~q"); len(got) != 1 {
		t.Error("a filter spec did not match an intercepted flow")
	}
	f.Resume()
	f.Response = flow.NewResponse(204, nil, nil)
	m.Response(f)
	f.SetLive(false)
	m.Options().Set("view_filter=~c 204")
	if v.Len() != 1 {
		t.Error("a finished flow was not re-filtered")
	}
	if !v.KeepsFlows() {
		t.Error("the view must say that it keeps flows")
	}
}

func benchView(b *testing.B, n int) (*addon.Manager, *view.View) {
	m, v := setup(b)
	flows := make([]flow.Any, n)
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	for i := range flows {
		flows[i] = mk(b, methods[i%4], fmt.Sprintf("http://host%d.example.com/path/%d?q=%d", i%97, i, i%13), i%5000, float64(i))
	}
	v.Add(flows...)
	return m, v
}

// BenchmarkAdd adds a flow to a view of 100,000 through its hook, as the
// proxy does, ordered by time and by URL, and takes it out again, so that
// the view stays at 100,000 (the time is that of both).
func BenchmarkAdd(b *testing.B) {
	for _, order := range []string{"time", "url"} {
		b.Run(order, func(b *testing.B) {
			m, v := benchView(b, 100_000)
			m.Options().Set("view_order="+order, "view_filter=~m GET")
			pool := make([]*flow.HTTPFlow, 1000)
			for i := range pool {
				pool[i] = mk(b, "GET", fmt.Sprintf("http://new.example.com/%d", i), 100, float64(100_000+i))
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				f := pool[i%len(pool)]
				v.RequestHeaders(f)
				v.Remove(f)
				i++
			}
		})
	}
}

// BenchmarkSetFilter changes the filter of a view of 100,000 flows.
func BenchmarkSetFilter(b *testing.B) {
	_, v := benchView(b, 100_000)
	filters := []string{"~m POST", "~u host1", "", "~s & !~m GET"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := v.SetFilter(filters[i%len(filters)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkWindow reads 50 rows at various positions of a view of 100,000.
func BenchmarkWindow(b *testing.B) {
	_, v := benchView(b, 100_000)
	v.SetOrder("url")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if rows := v.Window((i*7919)%99_950, 50); len(rows) != 50 {
			b.Fatal(len(rows))
		}
		i++
	}
}
