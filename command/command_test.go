package command_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/pyoracle"
)

func TestLex(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"flow.mark @focus true", []string{"flow.mark", " ", "@focus", " ", "true"}},
		{`set  x "a b"`, []string{"set", "  ", "x", " ", `"a b"`}},
		{`a 'b "c" d'`, []string{"a", " ", `'b "c" d'`}},
		{`a "unterminated`, []string{"a", " ", `"unterminated`}},
		{`ab"cd"ef`, []string{"ab", `"cd"`, "ef"}},
		{"a\tb\n", []string{"a", "       ", "b", "\n"}},
		{`''`, []string{`''`}},
	} {
		got := command.Lex(tc.in)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Lex(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestLexLikeMitmproxy compares Lex and the str type's escapes with
// mitmproxy's own (Debian's mitmproxy 8.1.1, whose lexer and str type are
// those of mitmproxy 12).
func TestLexLikeMitmproxy(t *testing.T) {
	py := pyoracle.Find(t, "/usr/bin/python3", "mitmproxy.command_lexer", "mitmproxy.types")
	inputs := []string{
		"", "a", "flow.mark @focus true", `set  x "a b"`, `a 'b "c" d'`, `a "unterminated`, `ab"cd"ef`,
		"a\tb  c", `x "" y`, `"a'b" 'c"d'`, `q'x'"y"z`, " lead", "trail ", `\"a`,
	}
	escapes := []string{`a\nb`, `\x41\x4a`, `\t\\`, `\u00e9`, `\U0001F600`, `\101`, `\q`, `end\`, `\'\"`}
	var out struct {
		Lex [][]string `json:"lex"`
		Str []string   `json:"str"`
	}
	pyoracle.Run(t, py, `
import json, sys
from mitmproxy import command_lexer, types
inp = json.load(sys.stdin)
lex = [list(command_lexer.expr.parseString(s, parseAll=True)) for s in inp["lex"]]
st = types.CommandTypes.get(str)
strs = [st.parse(None, str, s) for s in inp["str"]]
json.dump({"lex": lex, "str": strs}, sys.stdout)
`, map[string]any{"lex": inputs, "str": escapes}, &out)
	for i, in := range inputs {
		got := command.Lex(in)
		if got == nil {
			got = []string{}
		}
		if !reflect.DeepEqual(got, out.Lex[i]) {
			t.Errorf("Lex(%q) = %q, mitmproxy %q", in, got, out.Lex[i])
		}
	}
	r := command.NewRegistry()
	for i, in := range escapes {
		got, err := command.Str.Parse(r, in)
		if err != nil || got != out.Str[i] {
			t.Errorf("str %q = %q (%v), mitmproxy %q", in, got, err, out.Str[i])
		}
	}
}

func TestQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"abc", "abc"},
		{"", `""`},
		{"a b", `"a b"`},
		{`say "hi"`, `'say "hi"'`},
		{`it's "x"`, `"it's \x22x\x22"`},
	} {
		if got := command.Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{`"a b"`, "a b"}, {`'a'`, "a"}, {`"`, `"`}, {`"a'`, `"a'`}, {"x", "x"},
	} {
		if got := command.Unquote(tc.in); got != tc.want {
			t.Errorf("Unquote(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// registry returns a registry with a fake view.flows.resolve over flows
// and a few commands of every shape.
func registry(t *testing.T, flows ...flow.Any) *command.Registry {
	t.Helper()
	r := command.NewRegistry()
	r.MustAdd(command.Command{
		Name: command.ResolveCommand, Params: []command.Param{{Name: "flow_spec", Type: command.Str}}, Returns: command.Flows,
		Run: func(a command.Args) (any, error) {
			switch spec := a.Str(0); spec {
			case "@all":
				return flows, nil
			case "@none":
				return []flow.Any{}, nil
			case "@first":
				return flows[:1], nil
			case "~bad":
				return nil, command.Errorf("Invalid filter expression: %s", spec)
			}
			return []flow.Any{}, nil
		},
	})
	r.MustAdd(command.Command{Name: "echo", Help: "Echo the arguments.",
		Params: []command.Param{{Name: "first", Type: command.Str}, {Name: "rest", Type: command.Str, Variadic: true}}, Returns: command.Strs,
		Run: func(a command.Args) (any, error) { return append([]string{a.Str(0)}, a.Strs(1)...), nil }})
	r.MustAdd(command.Command{Name: "add", Params: []command.Param{{Name: "a", Type: command.Int}, {Name: "b", Type: command.Int}}, Returns: command.Int,
		Run: func(a command.Args) (any, error) { return a.Int(0) + a.Int(1), nil }})
	r.MustAdd(command.Command{Name: "count", Params: []command.Param{{Name: "flows", Type: command.Flows}}, Returns: command.Int,
		Run: func(a command.Args) (any, error) { return len(a.Flows(0)), nil }})
	r.MustAdd(command.Command{Name: "one", Params: []command.Param{{Name: "flow", Type: command.Flow}}, Returns: command.Str,
		Run: func(a command.Args) (any, error) { return a.Flow(0).Base().ID, nil }})
	r.MustAdd(command.Command{Name: "colours", Returns: command.Strs,
		Run: func(command.Args) (any, error) { return []string{"red", "green"}, nil }})
	r.MustAdd(command.Command{Name: "paint", Params: []command.Param{{Name: "colour", Type: command.Choice("colours")}}, Returns: command.Str,
		Run: func(a command.Args) (any, error) { return a.Str(0), nil }})
	r.MustAdd(command.Command{Name: "mark", Params: []command.Param{{Name: "marker", Type: command.Marker}}, Returns: command.Str,
		Run: func(a command.Args) (any, error) { return a.Str(0), nil }})
	r.MustAdd(command.Command{Name: "flag", Params: []command.Param{{Name: "b", Type: command.Bool}}, Returns: command.Bool,
		Run: func(a command.Args) (any, error) { return a.Bool(0), nil }})
	r.MustAdd(command.Command{Name: "bad.return", Returns: command.Int,
		Run: func(command.Args) (any, error) { return "not an int", nil }})
	r.MustAdd(command.Command{Name: "boom", Run: func(command.Args) (any, error) { panic("kaboom") }})
	r.MustAdd(command.Command{Name: "fails", Run: func(command.Args) (any, error) { return nil, errors.New("it failed") }})
	r.MustAdd(command.Command{Name: "which", Params: []command.Param{{Name: "cmd", Type: command.Cmd}}, Returns: command.Str,
		Run: func(a command.Args) (any, error) { return a.Str(0), nil }})
	r.MustAdd(command.Command{Name: "cuts", Params: []command.Param{{Name: "c", Type: command.CutSpec}}, Returns: command.CutSpec,
		Run: func(a command.Args) (any, error) { return a.Strs(0), nil }})
	r.MustAdd(command.Command{Name: "raw", Params: []command.Param{{Name: "b", Type: command.Bytes}}, Returns: command.Bytes,
		Run: func(a command.Args) (any, error) { return a.Bytes(0), nil }})
	return r
}

func TestExecute(t *testing.T) {
	f1, f2 := flow.NewHTTPFlow(nil, nil), flow.NewHTTPFlow(nil, nil)
	r := registry(t, f1, f2)
	for _, tc := range []struct {
		cmd  string
		want any
		err  string
	}{
		{`echo a`, []string{"a"}, ""},
		{`echo a "b c" 'd e' f`, []string{"a", "b c", "d e", "f"}, ""},
		{`echo "x\ny"`, []string{"x\ny"}, ""},
		{`echo`, nil, "Command argument mismatch: \n    Expected: (first: str, *rest: str)\n    Received: []"},
		{`add 1 2`, 3, ""},
		{`add 1_000 -2`, 998, ""},
		{`add 1 two`, nil, "invalid literal for int() with base 10: 'two'"},
		{`add 1 2 3`, nil, "Command argument mismatch: \n    Expected: (a: int, b: int)\n    Received: ['1', '2', '3']"},
		{`count @all`, 2, ""},
		{`count @none`, 0, ""},
		{`count ~bad`, nil, "Invalid filter expression: ~bad"},
		{`one @first`, f1.ID, ""},
		{`one @all`, nil, "Command requires one flow, specification matched 2."},
		{`one @none`, nil, "Command requires one flow, specification matched 0."},
		{`paint red`, "red", ""},
		{`paint blue`, nil, "Invalid choice."},
		{`mark true`, ":default:", ""},
		{`mark false`, "", ""},
		{`mark :+1:`, ":+1:", ""},
		{`mark :nope:`, nil, "Invalid choice."},
		{`flag true`, true, ""},
		{`flag yes`, nil, "Booleans are 'true' or 'false', got yes"},
		{`which add`, "add", ""},
		{`which nope`, nil, "Unknown command: nope"},
		{`cuts request.host,response.status_code`, []string{"request.host", "response.status_code"}, ""},
		{`raw \x00a`, []byte{0, 'a'}, ""},
		{`bad.return`, nil, "bad.return returned unexpected data - expected int"},
		{`fails`, nil, "it failed"},
		{`nope 1`, nil, "Unknown command: nope"},
		{``, nil, "Invalid command: ''"},
		{`   `, nil, "Invalid command: '   '"},
	} {
		got, err := r.Execute(tc.cmd)
		if tc.err != "" {
			var ce *command.Error
			if err == nil || err.Error() != tc.err || !errors.As(err, &ce) {
				t.Errorf("Execute(%q): %v, %v; want error %q", tc.cmd, got, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Execute(%q) = %#v, %v; want %#v", tc.cmd, got, err, tc.want)
		}
	}
	if _, err := r.Execute("boom"); err == nil || !strings.Contains(err.Error(), "command boom failed: panic: kaboom") {
		t.Errorf("a panicking command: %v", err)
	}
}

// TestParse: Parse binds a line's arguments without running the command,
// and fails where Execute fails before running it; Run then does what
// Execute does.
func TestParse(t *testing.T) {
	f1, f2 := flow.NewHTTPFlow(nil, nil), flow.NewHTTPFlow(nil, nil)
	r := registry(t, f1, f2)
	for _, tc := range []struct {
		line, name string
		args       command.Args
		err        string
	}{
		{`echo a "b c"`, "echo", command.Args{"a", []any{"b c"}}, ""},
		{"add	1 2", "add", command.Args{1, 2}, ""},
		{`count @all`, "count", command.Args{[]flow.Any{f1, f2}}, ""},
		{`one @first`, "one", command.Args{flow.Any(f1)}, ""},
		// Parsed, not run: these fail only when run.
		{`fails`, "fails", command.Args{}, ""},
		{`boom`, "boom", command.Args{}, ""},
		{`add 1 two`, "", nil, "invalid literal for int() with base 10: 'two'"},
		{`add 1 2 3`, "", nil, "Command argument mismatch: \n    Expected: (a: int, b: int)\n    Received: ['1', '2', '3']"},
		{"add 1 \u00a0 2", "", nil, "Command argument mismatch: \n    Expected: (a: int, b: int)\n    Received: ['1', '\\xa0', '2']"},
		{`one @all`, "", nil, "Command requires one flow, specification matched 2."},
		{`nope 1`, "", nil, "Unknown command: nope"},
		{`  `, "", nil, "Invalid command: '  '"},
	} {
		c, args, err := r.Parse(tc.line)
		if tc.err != "" {
			var ce *command.Error
			if err == nil || err.Error() != tc.err || !errors.As(err, &ce) {
				t.Errorf("Parse(%q): %v; want error %q", tc.line, err, tc.err)
			}
			if _, xerr := r.Execute(tc.line); xerr == nil || xerr.Error() != err.Error() {
				t.Errorf("Parse(%q) fails with %v, Execute with %v", tc.line, err, xerr)
			}
			continue
		}
		if err != nil || c.Name != tc.name || !reflect.DeepEqual(args, tc.args) {
			t.Errorf("Parse(%q) = %v, %#v, %v; want %s %#v", tc.line, c, args, err, tc.name, tc.args)
			continue
		}
		got, err := r.Run(c, args)
		want, werr := r.Execute(tc.line)
		// A panic's error carries its stack: the first lines compare.
		firstLine := func(err error) string { return strings.SplitN(fmt.Sprint(err), "\n", 2)[0] }
		if !reflect.DeepEqual(got, want) || firstLine(err) != firstLine(werr) {
			t.Errorf("Run of Parse(%q) = %#v, %v; Execute = %#v, %v", tc.line, got, err, want, werr)
		}
	}
}

func TestCall(t *testing.T) {
	f1 := flow.NewHTTPFlow(nil, nil)
	r := registry(t, f1)
	for _, tc := range []struct {
		name string
		args []any
		want any
		err  string
	}{
		{"add", []any{1, 2}, 3, ""},
		{"add", []any{int64(1), 2}, 3, ""},
		{"add", []any{1}, nil, "command argument mismatch: missing a required argument: 'b'"},
		{"add", []any{1, 2, 3}, nil, "command argument mismatch: too many positional arguments"},
		{"add", []any{"1", 2}, nil, "command argument mismatch: argument a: expected int, got string"},
		{"echo", []any{"a", "b", "c"}, []string{"a", "b", "c"}, ""},
		{"echo", []any{"a"}, []string{"a"}, ""},
		{"count", []any{[]*flow.HTTPFlow{f1, f1}}, 2, ""},
		{"count", []any{[]flow.Any{f1}}, 1, ""},
		{"one", []any{f1}, f1.ID, ""},
		{"one", []any{nil}, nil, "command argument mismatch: argument flow: expected flow, got <nil>"},
		{"mark", []any{":default:"}, ":default:", ""},
		{"paint", []any{"green"}, "green", ""},
		{"nope", nil, nil, "Unknown command: nope"},
	} {
		got, err := r.Call(tc.name, tc.args...)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("Call(%s, %v): %v, %v; want error %q", tc.name, tc.args, got, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Call(%s, %v) = %#v, %v; want %#v", tc.name, tc.args, got, err, tc.want)
		}
	}
}

func TestAddRejects(t *testing.T) {
	r := command.NewRegistry()
	run := func(command.Args) (any, error) { return nil, nil }
	for _, c := range []command.Command{
		{Name: "", Run: run},
		{Name: "a b", Run: run},
		{Name: "norun"},
		{Name: "untyped", Params: []command.Param{{Name: "x"}}, Run: run},
		{Name: "variadic.first", Params: []command.Param{{Name: "x", Type: command.Str, Variadic: true}, {Name: "y", Type: command.Str}}, Run: run},
	} {
		if err := r.Add(c); err == nil {
			t.Errorf("Add(%+v) accepted", c)
		}
	}
}

func TestDump(t *testing.T) {
	r := command.NewRegistry()
	run := func(command.Args) (any, error) { return nil, nil }
	r.MustAdd(command.Command{Name: "set", Help: "Set an option. When the value is omitted, booleans are set to true,\nstrings and integers are set to None (if permitted), and sequences\nare emptied.",
		Params: []command.Param{{Name: "option", Type: command.Str}, {Name: "value", Type: command.Str, Variadic: true}}, Run: run})
	r.MustAdd(command.Command{Name: "replay.client.count", Help: "Approximate number of flows queued for replay.", Returns: command.Int, Run: run})
	r.MustAdd(command.Command{Name: "options.reset", Help: "  Reset all options to defaults.\n  ", Run: run})
	var sb strings.Builder
	if err := r.Dump(&sb); err != nil {
		t.Fatal(err)
	}
	want := `# Reset all options to defaults.
options.reset 

# Approximate number of flows queued for replay.
replay.client.count  -> int

# Set an option. When the value is omitted, booleans are set to true,
# strings and integers are set to None (if permitted), and sequences
# are emptied.
set option *value

`
	if sb.String() != want {
		t.Errorf("Dump:\n%s\nwant:\n%s", sb.String(), want)
	}
}

func TestTypeByName(t *testing.T) {
	for _, name := range []string{"str", "int", "bool", "bytes", "path", "cmd", "arg", "str[]", "cut[]", "data[][]", "flow", "flow[]", "marker", "unknown"} {
		typ, ok := command.TypeByName(name)
		if !ok || typ.String() != name {
			t.Errorf("TypeByName(%q) = %v, %v", name, typ, ok)
		}
	}
	if typ, ok := command.TypeByName("choice:flow.set.options"); !ok || typ.String() != "choice" || typ.ChoicesCommand() != "flow.set.options" {
		t.Errorf("choice: %v %v", typ, ok)
	}
	for _, bad := range []string{"", "choice", "choice:", "float"} {
		if _, ok := command.TypeByName(bad); ok {
			t.Errorf("TypeByName(%q) accepted", bad)
		}
	}
}

func TestParsePartial(t *testing.T) {
	r := registry(t, flow.NewHTTPFlow(nil, nil))
	parts, rest := r.ParsePartial("add 1 x")
	var got []string
	for _, p := range parts {
		got = append(got, fmt.Sprintf("%q:%s:%v", p.Value, p.Type, p.Valid))
	}
	want := []string{`"add":cmd:true`, `" ":` + ":true", `"1":int:true`, `" ":` + ":true", `"x":int:false`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParsePartial parts %v, want %v", got, want)
	}
	if len(rest) != 0 {
		t.Errorf("rest %v", rest)
	}
	_, rest = r.ParsePartial("echo a ")
	if len(rest) != 1 || rest[0].Name != "rest" || !rest[0].Variadic {
		t.Errorf("rest after echo a: %+v", rest)
	}
	parts, rest = r.ParsePartial("nope a")
	if parts[0].Valid || parts[2].Type.String() != "unknown" || len(rest) != 0 {
		t.Errorf("unknown command: %+v %+v", parts, rest)
	}
	if c := command.Marker.Complete(r, ""); c[0] != "true" || len(c) < 100 {
		t.Errorf("marker completions %v", c[:3])
	}
	if c := command.Choice("colours").Complete(r, ""); !reflect.DeepEqual(c, []string{"red", "green"}) {
		t.Errorf("choice completions %v", c)
	}
}

func FuzzLex(f *testing.F) {
	for _, s := range []string{"", "a b", `a "b c" 'd`, `x"y"z`, "\t\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parts := command.Lex(s)
		if strings.Join(parts, "") != command.ExpandTabs(s) {
			t.Fatalf("Lex(%q) = %q does not join back", s, parts)
		}
		for _, p := range parts {
			if p == "" {
				t.Fatalf("Lex(%q) has an empty part", s)
			}
		}
		// A quoted word lexes as one part that unquotes to the word
		// (\x22 stands for a double quote inside double quotes).
		s = command.ExpandTabs(s)
		q := command.Quote(s)
		if ps := command.Lex(q); len(ps) != 1 || strings.ReplaceAll(command.Unquote(ps[0]), `\x22`, `"`) != strings.ReplaceAll(s, `\x22`, `"`) {
			if !strings.ContainsAny(s, "'\"") || strings.Contains(s, `\x22`) {
				return
			}
			t.Fatalf("Quote(%q) = %q lexes as %q", s, q, ps)
		}
	})
}

func TestCompleteArg(t *testing.T) {
	r := registry(t)
	r.MustAdd(command.Command{Name: "pick", Params: []command.Param{{Name: "a", Type: command.Str}, {Name: "b", Type: command.Bool}},
		Complete: func(idx int, args []string) ([]string, bool) {
			if idx == 0 {
				return []string{"zeta", "alpha", "alpha", "beta"}, true
			}
			return nil, false // the type's: booleans
		},
		Run: func(command.Args) (any, error) { return nil, nil }})
	for _, tc := range []struct {
		cmd  string
		idx  int
		args []string
		text string
		want []string
	}{
		{"pick", 0, nil, "", []string{"alpha", "beta", "zeta"}},
		{"pick", 0, nil, "a", []string{"alpha"}},
		{"pick", 1, []string{"x"}, "t", []string{"true"}},
		{"pick", 2, nil, "", []string{}},
		{"paint", 0, nil, "g", []string{"green"}},
		{"count", 0, nil, "@m", []string{"@marked"}},
		{"echo", 3, nil, "", []string{}}, // variadic Str: nothing to offer
		{"flag", 0, nil, "", []string{"false", "true"}},
	} {
		c, ok := r.Get(tc.cmd)
		if !ok {
			t.Fatal(tc.cmd)
		}
		if got := r.CompleteArg(c, tc.idx, tc.args, tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("%s %d %q: %q, want %q", tc.cmd, tc.idx, tc.text, got, tc.want)
		}
	}
}

// FuzzParse: Parse never runs the command it parses (only the flow spec
// resolver, as Execute), binds one value per parameter of the command
// its first word names, and fails with a *command.Error, the error
// Execute gives for the same line.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "add 1 2", `echo a "b c" 'd`, "count @all", "one @first", "paint red",
		"mark :+1:", "flag yes", "which add", "raw \\x00", "nope", "add 1 \u00a0 2", "cuts a,b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r := registry(t, flow.NewHTTPFlow(nil, nil))
		ran := false
		for _, c := range r.Commands() {
			if c.Name == command.ResolveCommand || c.Name == "colours" {
				continue // run to parse: flow specs, choices
			}
			c := *c
			run := c.Run
			c.Run = func(a command.Args) (any, error) { ran = true; return run(a) }
			r.Remove(c.Name)
			r.MustAdd(c)
		}
		c, args, err := r.Parse(line)
		if ran {
			t.Fatalf("Parse(%q) ran the command", line)
		}
		if err != nil {
			var ce *command.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Parse(%q): %T %v", line, err, err)
			}
			if _, xerr := r.Execute(line); xerr == nil || xerr.Error() != err.Error() {
				t.Fatalf("Parse(%q): %v; Execute: %v", line, err, xerr)
			}
			return
		}
		var first string
		for _, p := range command.Lex(line) {
			if strings.Trim(p, " \t\r\n") != "" {
				first = command.Unquote(p)
				break
			}
		}
		if c.Name != first || len(args) != len(c.Params) {
			t.Fatalf("Parse(%q) = %s with %d arguments for %d parameters", line, c.Name, len(args), len(c.Params))
		}
	})
}
