package addon

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
)

// typed declares options of every kind through handles.
type typed struct {
	flag  Opt[bool]
	n     Opt[int]
	name  Opt[string]
	list  Opt[[]string]
	port  Opt[*int]
	path  Opt[*string]
	seen  []map[string]bool
	again Opt[bool]
}

func (a *typed) Load(l *Loader) {
	a.flag = Declare(l, "flag", true, "A flag.")
	a.n = Declare(l, "n", 3, "A number.")
	a.name = Declare(l, "name", "x", "A name.", "x", "y")
	a.list = Declare(l, "list", []string{"a"}, "A list.")
	a.port = Declare[*int](l, "port", nil, "A port.")
	a.path = Declare(l, "path", new("/tmp"), "A path.")
	// Declaring the same option again with the same type gives a handle.
	a.again = Declare(l, "flag", false, "Again.")
}

func (a *typed) Configure(updated map[string]bool) error {
	a.seen = append(a.seen, updated)
	return nil
}

func TestOptHandles(t *testing.T) {
	m := NewManager()
	logs := &logCollector{}
	a := &typed{}
	if err := m.Add(logs, a); err != nil {
		t.Fatal(err)
	}
	if !a.flag.Get() || a.n.Get() != 3 || a.name.Get() != "x" || !reflect.DeepEqual(a.list.Get(), []string{"a"}) ||
		a.port.Get() != nil || *a.path.Get() != "/tmp" || !a.again.Get() {
		t.Errorf("defaults: %v %v %v %v %v %v", a.flag.Get(), a.n.Get(), a.name.Get(), a.list.Get(), a.port.Get(), a.path.Get())
	}
	if len(logs.all()) != 0 {
		t.Errorf("declaring again logged %v", logs.all())
	}
	o := m.Options()
	for name, kind := range map[string]Kind{"flag": Bool, "n": Int, "name": String, "list": Strings, "port": OptionalInt, "path": OptionalString} {
		if opt, _, _ := o.Lookup(name); opt.Kind != kind {
			t.Errorf("%s declared as %v, want %v", name, opt.Kind, kind)
		}
	}
	// A copy of a list, not the registry's.
	l := a.list.Get()
	l[0] = "changed"
	if a.list.Get()[0] != "a" {
		t.Error("Get shares the list")
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	if err := a.port.Set(new(8080)); err != nil || *a.port.Get() != 8080 {
		t.Errorf("Set: %v %v", err, a.port.Get())
	}
	if last := a.seen[len(a.seen)-1]; !a.port.Changed(last) || a.flag.Changed(last) {
		t.Errorf("Changed: %v", last)
	}
	if err := a.name.Set("z"); err != nil {
		t.Errorf("a String option's Set does not check choices (Update does not): %v", err)
	}
	if a.n.Default() != 3 || a.list.Default()[0] != "a" {
		t.Error("Default")
	}

	// Lookup: a misspelt name or a wrong type is an error, not a zero.
	if _, err := Lookup[bool](o, "flga"); !errors.Is(err, ErrUnknownOption) {
		t.Errorf("misspelt: %v", err)
	}
	if _, err := Lookup[string](o, "flag"); err == nil || !strings.Contains(err.Error(), "flag is of type bool, not str") {
		t.Errorf("wrong type: %v", err)
	}
	h, err := Lookup[*int](o, "port")
	if err != nil || *h.Get() != 8080 {
		t.Errorf("Lookup: %v", err)
	}
	var zero Opt[int]
	if zero.Get() != 0 || zero.Set(1) == nil {
		t.Error("the zero handle")
	}
	// Declaring with another type fails and is logged.
	m2 := NewManager()
	m2.Add(logs, &typed{}, &conflicting{})
	if _, ok := logs.find("option flag is already declared"); !ok {
		t.Errorf("a conflicting declaration was not logged: %v", logs.all())
	}
	defer func() {
		if recover() == nil {
			t.Error("MustLookup of a missing option did not panic")
		}
	}()
	MustLookup[int](o, "nope")
}

type conflicting struct{}

func (conflicting) Load(l *Loader) { Declare(l, "flag", 1, "An int now.") }

func TestResetSaveToggle(t *testing.T) {
	o := NewOptions()
	o.MustAdd("flag", Bool, false, "")
	o.MustAdd("name", OptionalString, nil, "")
	o.MustAdd("list", Strings, []string{}, "")
	o.MustAdd("count", Int, 1, "")
	if err := o.Set("flag=toggle"); err != nil || !o.Bool("flag") {
		t.Errorf("toggle: %v %v", err, o.Bool("flag"))
	}
	o.Set("flag=toggle")
	if o.Bool("flag") {
		t.Error("toggle twice")
	}
	o.Set("flag=true", "name=x", "list=a", "list=b")
	if !o.HasChanged("flag") || o.HasChanged("count") {
		t.Error("HasChanged")
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(path, []byte("count: 1\nnot_an_option: 2\n"), 0o644)
	if err := o.SaveYAML(path); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if want := "count: 1\nflag: true\nlist:\n    - a\n    - b\nname: x\n"; string(got) != want {
		t.Errorf("SaveYAML:\n%s\nwant:\n%s", got, want)
	}
	if err := o.Reset("flag"); err != nil || o.Bool("flag") || o.String("name") != "x" {
		t.Errorf("Reset one: %v", err)
	}
	if err := o.Reset(); err != nil || o.IsSet("name") || len(o.Strings("list")) != 0 {
		t.Errorf("Reset: %v", err)
	}
	if err := o.Reset("nope"); !errors.Is(err, ErrUnknownOption) {
		t.Errorf("Reset nope: %v", err)
	}
	n := NewOptions()
	n.MustAdd("mine", Bool, false, "Mine.")
	if err := n.AddIgnored("theirs", Int, 8081, "Another tool's."); err != nil {
		t.Fatal(err)
	}
	if err := n.Set("theirs=1"); err != nil || n.Int("theirs") != 1 {
		t.Errorf("an ignored option is not settable: %v", err)
	}
	if d := n.Dump(); strings.Contains(d, "theirs") || !strings.Contains(d, "mine") {
		t.Errorf("Dump lists an ignored option:\n%s", d)
	}
}

// TestDeferConfigure: with DeferConfigure, changes before ConfigureAll
// configure nobody; ConfigureAll configures once; an addon added later is
// configured (and told running) when it arrives.
func TestDeferConfigure(t *testing.T) {
	m := NewManager()
	m.DeferConfigure()
	a := &typed{}
	m.Add(a)
	m.Options().Set("n=5", "flag=false")
	a.n.Set(6)
	if len(a.seen) != 0 {
		t.Fatalf("configured before ConfigureAll: %v", a.seen)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	if len(a.seen) != 1 || len(a.seen[0]) != 6 || a.n.Get() != 6 {
		t.Errorf("ConfigureAll: %v", a.seen)
	}
	m.Options().Set("n=7")
	if len(a.seen) != 2 || !reflect.DeepEqual(a.seen[1], map[string]bool{"n": true}) {
		t.Errorf("after start: %v", a.seen)
	}
	m.Running()
	late := &everything{name: "late"}
	m.Add(late)
	if !reflect.DeepEqual(late.events, []string{"load", "configure", "running"}) {
		t.Errorf("a late addon saw %v", late.events)
	}
}

// editor records EditFlows and Update.
type editor struct {
	mu      sync.Mutex
	inEdit  bool
	edits   int
	updated []flow.Any
}

func (e *editor) EditFlows(fn func()) {
	e.mu.Lock()
	e.inEdit = true
	e.edits++
	e.mu.Unlock()
	fn()
	e.mu.Lock()
	e.inEdit = false
	e.mu.Unlock()
}

func (e *editor) Update(flows []flow.Any) { e.updated = append(e.updated, flows...) }

func TestContextEditAndUpdate(t *testing.T) {
	m := NewManager()
	ctx := m.Context()
	ran := false
	ctx.EditFlows(func() { ran = true })
	if !ran {
		t.Error("EditFlows without an editor did not run fn")
	}
	e := &editor{}
	m.Add(e)
	f := flow.NewHTTPFlow(nil, nil)
	ctx.EditFlows(func() {
		if !e.inEdit {
			t.Error("fn ran outside the editor")
		}
		f.SetMarked("x")
	})
	ctx.Update(f)
	if e.edits != 1 || len(e.updated) != 1 || e.updated[0] != f {
		t.Errorf("edits %d, updated %v", e.edits, e.updated)
	}
	// Commands registered in load; a bad one is logged.
	logs := &logCollector{}
	m.Add(logs, cmdAddon{})
	if _, ok := m.Commands().Get("test.ok"); !ok || ctx.Commands != m.Commands() {
		t.Error("a command was not registered")
	}
	if _, ok := logs.find(`Addon cmdaddon: command "bad name": invalid name`); !ok {
		t.Errorf("a bad command was not logged: %v", logs.all())
	}
}

type cmdAddon struct{}

func (cmdAddon) Load(l *Loader) {
	run := func(command.Args) (any, error) { return nil, nil }
	l.AddCommand(command.Command{Name: "test.ok", Run: run})
	l.AddCommand(command.Command{Name: "bad name", Run: run})
}
