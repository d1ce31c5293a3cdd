package addon

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// scriptPending are the hooks the Python script host does not forward to
// scripts yet, and why. A hook leaves this list when the script host learns
// it (the test fails until it does).
var scriptPending = map[string]string{
	"update":      "fired by commands; the script host forwards only flow, connection and lifecycle hooks",
	"add_log":     "log entries are not sent to scripts",
	"socks5_auth": "SOCKS5 credentials (issue 14): the script host does not forward them yet",
}

// TestHookTable checks the Go side against the table: every *Hook
// interface of this package is a row, with its one method; the chain keeps
// a list for it and the Manager fires it.
func TestHookTable(t *testing.T) {
	declared := hookInterfaces(t)
	var inTable []string
	for _, h := range hookTable {
		inTable = append(inTable, h.Interface.Name())
		if h.Interface.Kind() != reflect.Interface || h.Interface.NumMethod() != 1 || h.Interface.Method(0).Name != h.Method {
			t.Errorf("%s: %v is not an interface with the one method %s", h.Name, h.Interface, h.Method)
		}
	}
	slices.Sort(inTable)
	if !slices.Equal(declared, inTable) {
		t.Errorf("hook interfaces in hooks.go %v\nin the table        %v", declared, inTable)
	}
	seen := map[string]bool{}
	for _, h := range hookTable {
		if seen[h.Name] {
			t.Errorf("%s twice in the table", h.Name)
		}
		seen[h.Name] = true
	}

	// The chain has a list for every hook.
	lists := map[reflect.Type]string{}
	ct := reflect.TypeFor[chain]()
	for i := 0; i < ct.NumField(); i++ {
		f := ct.Field(i)
		if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
			if hf, ok := f.Type.Elem().FieldByName("hook"); ok {
				lists[hf.Type] = f.Name
			}
		}
	}
	for _, h := range hookTable {
		if _, ok := lists[h.Interface]; !ok {
			t.Errorf("%s: the chain has no []named[%s]", h.Name, h.Interface.Name())
		}
	}

	// buildChain files an addon that has every hook under each of them.
	e := &everything{name: "e"}
	c := buildChain([]entry{{"e", e}})
	cv := reflect.ValueOf(c).Elem()
	for _, h := range hookTable {
		if h.Name == "add_log" {
			continue // everything has no log hook (it would see its own logs)
		}
		if !reflect.TypeOf(e).Implements(h.Interface) {
			t.Errorf("the test addon lacks %s", h.Method)
			continue
		}
		if n := cv.FieldByName(lists[h.Interface]).Len(); n != 1 {
			t.Errorf("%s: buildChain filed the addon %d times", h.Name, n)
		}
	}

	// Every Fire method takes the hook's arguments and reaches the addon.
	m := NewManager()
	e = &everything{name: "e"}
	if err := m.Add(e); err != nil {
		t.Fatal(err)
	}
	mt := reflect.TypeOf(m)
	for _, h := range hookTable {
		if h.Fire == "" {
			continue
		}
		fm, ok := mt.MethodByName(h.Fire)
		if !ok {
			t.Errorf("%s: no Manager.%s", h.Name, h.Fire)
			continue
		}
		im := h.Interface.Method(0).Type
		if fm.Type.NumIn()-1 != im.NumIn() {
			t.Errorf("%s: Manager.%s takes %d arguments, the hook %d", h.Name, h.Fire, fm.Type.NumIn()-1, im.NumIn())
			continue
		}
		args := []reflect.Value{reflect.ValueOf(m)}
		for i := 0; i < im.NumIn(); i++ {
			if fm.Type.In(i+1) != im.In(i) {
				t.Errorf("%s: Manager.%s argument %d is %v, the hook's %v", h.Name, h.Fire, i, fm.Type.In(i+1), im.In(i))
			}
			at := im.In(i)
			if at.Kind() == reflect.Pointer {
				args = append(args, reflect.New(at.Elem()))
			} else {
				args = append(args, reflect.Zero(at))
			}
		}
		e.events = nil
		fm.Func.Call(args)
		if !slices.Equal(e.events, []string{h.Name}) {
			t.Errorf("Manager.%s reached the addon as %v, want [%s]", h.Fire, e.events, h.Name)
		}
	}
}

// hookInterfaces lists the exported interface types named *Hook declared
// in this package's sources.
func hookInterfaces(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("*.go")
	var out []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok {
				if _, ok := ts.Type.(*ast.InterfaceType); ok && ts.Name.IsExported() && strings.HasSuffix(ts.Name.Name, "Hook") {
					out = append(out, ts.Name.Name)
				}
			}
			return true
		})
	}
	slices.Sort(out)
	return out
}

// TestHookTableScriptHost checks the script host against the table: the
// hooks script/hooks.go forwards, the ones the Python side looks up on
// scripts (script/py/mitmproxy/_mitmgo/host.py) and mitmproxy.hooks'
// names (script/py/mitmproxy/hooks.py). Every hook in the table reaches
// scripts unless scriptPending says why not.
func TestHookTableScriptHost(t *testing.T) {
	goForwarded := scriptHookNames(t, filepath.Join("..", "script", "hooks.go"))
	pyHost := pythonSetNames(t, filepath.Join("..", "script", "py", "mitmproxy", "_mitmgo", "host.py"),
		"HTTP_HOOKS", "TCP_HOOKS", "UDP_HOOKS", "DNS_HOOKS", "CLIENT_HOOKS", "SERVER_HOOKS", "TLS_HOOKS", "LIFECYCLE")
	pyNames := pythonListNames(t, filepath.Join("..", "script", "py", "mitmproxy", "hooks.py"), "_names")
	lifecycle := map[string]bool{"load": true, "configure": true, "running": true, "done": true}
	for _, n := range goForwarded {
		if _, ok := HookByName(n); !ok {
			t.Errorf("script/hooks.go forwards %q, which is not in the hook table", n)
		}
	}
	for _, h := range hookTable {
		why, pending := scriptPending[h.Name]
		inGo := slices.Contains(goForwarded, h.Name) || lifecycle[h.Name]
		inPy := pyHost[h.Name] || h.Name == "tls_clienthello"
		switch {
		case pending && (inGo || inPy):
			t.Errorf("the script host now forwards %s: remove it from scriptPending (%s)", h.Name, why)
		case !pending && !inGo:
			t.Errorf("script/hooks.go does not forward %s", h.Name)
		case !pending && !inPy:
			t.Errorf("script/py/mitmproxy/_mitmgo/host.py does not look up %s", h.Name)
		}
		if !pyNames[h.Name] {
			t.Errorf("script/py/mitmproxy/hooks.py does not list %s", h.Name)
		}
	}
}

// scriptHookNames reads the string literals of the hookNames array in the
// script host's Go source.
func scriptHookNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Skipf("script host source: %v", err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "hookNames" || len(vs.Values) != 1 {
			return true
		}
		if cl, ok := vs.Values[0].(*ast.CompositeLit); ok {
			for _, el := range cl.Elts {
				if bl, ok := el.(*ast.BasicLit); ok && bl.Kind == token.STRING {
					s, _ := strconv.Unquote(bl.Value)
					out = append(out, s)
				}
			}
		}
		return false
	})
	if len(out) == 0 {
		t.Fatalf("%s: no hookNames found", path)
	}
	return out
}

var pyString = regexp.MustCompile(`"([a-z_0-9]+)"`)

// pythonSetNames collects the string literals of the named Python
// assignments (NAME = {...} or [...], over several lines).
func pythonSetNames(t *testing.T, path string, names ...string) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("script host source: %v", err)
	}
	out := map[string]bool{}
	for _, name := range names {
		re := regexp.MustCompile(`(?ms)^` + name + ` = [\[{](.*?)[\]}]\n`)
		m := re.FindSubmatch(src)
		if m == nil {
			t.Fatalf("%s: no %s", path, name)
		}
		for _, s := range pyString.FindAllSubmatch(m[1], -1) {
			out[string(s[1])] = true
		}
	}
	return out
}

func pythonListNames(t *testing.T, path, name string) map[string]bool {
	return pythonSetNames(t, path, name)
}
