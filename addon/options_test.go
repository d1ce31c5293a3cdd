package addon

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func strPtr(s string) *string { return &s }
func intPtr(i int) *int       { return &i }

// declare registers a typical set of options, one per kind.
func declare(t testing.TB, o *Options) {
	t.Helper()
	for _, d := range []struct {
		name    string
		kind    Kind
		def     any
		choices []string
	}{
		{"anticache", Bool, false, nil},
		{"http2", Bool, true, nil},
		{"listen_port", OptionalInt, nil, nil},
		{"flow_detail", Int, 1, nil},
		{"confdir", String, "~/.mitmproxy", nil},
		{"connection_strategy", String, "eager", []string{"eager", "lazy"}},
		{"body_size_limit", OptionalString, nil, nil},
		{"upstream_auth", OptionalString, "user:pass", nil},
		{"ignore_hosts", Strings, nil, nil},
		{"mode", Strings, []string{"regular"}, nil},
	} {
		if err := o.Add(d.name, d.kind, d.def, "Help for "+d.name+".", d.choices...); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOptionsAddAndGet(t *testing.T) {
	o := NewOptions()
	declare(t, o)
	if got, want := o.Names(), []string{"anticache", "body_size_limit", "confdir", "connection_strategy", "flow_detail", "http2", "ignore_hosts", "listen_port", "mode", "upstream_auth"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names = %v", got)
	}
	if o.Bool("anticache") || !o.Bool("http2") || o.Int("flow_detail") != 1 || o.String("confdir") != "~/.mitmproxy" {
		t.Errorf("defaults: %v %v %v %q", o.Bool("anticache"), o.Bool("http2"), o.Int("flow_detail"), o.String("confdir"))
	}
	if o.IsSet("listen_port") || o.Int("listen_port") != 0 || o.IsSet("body_size_limit") || o.String("body_size_limit") != "" {
		t.Errorf("unset optionals: %v %v", o.Get("listen_port"), o.Get("body_size_limit"))
	}
	if !o.IsSet("upstream_auth") || o.String("upstream_auth") != "user:pass" {
		t.Errorf("optional str default: %v", o.Get("upstream_auth"))
	}
	if got := o.Strings("ignore_hosts"); got == nil || len(got) != 0 {
		t.Errorf("empty sequence default = %#v", got)
	}
	// Strings returns a copy.
	m := o.Strings("mode")
	m[0] = "changed"
	if o.Strings("mode")[0] != "regular" {
		t.Error("Strings returned the stored slice")
	}
	opt, v, ok := o.Lookup("connection_strategy")
	if !ok || opt.Kind != String || opt.Default != "eager" || v != "eager" || !reflect.DeepEqual(opt.Choices, []string{"eager", "lazy"}) || opt.Help != "Help for connection_strategy." {
		t.Errorf("Lookup = %+v %v %v", opt, v, ok)
	}
	if _, _, ok := o.Lookup("nope"); ok || o.Get("nope") != nil || o.IsSet("nope") || o.Bool("nope") {
		t.Error("undeclared option found")
	}
	// Declaring twice, or with a default of the wrong type, fails.
	if err := o.Add("anticache", Bool, true, ""); err == nil {
		t.Error("duplicate declaration accepted")
	}
	for _, bad := range []struct {
		kind Kind
		def  any
	}{{Bool, "true"}, {Int, "1"}, {Int, int64(1)}, {String, nil}, {OptionalInt, "1"}, {Strings, 1}, {OptionalString, 1}, {Kind(99), nil}} {
		if err := o.Add("bad", bad.kind, bad.def, ""); err == nil {
			t.Errorf("default %#v accepted for %v", bad.def, bad.kind)
		}
	}
	// The default of a sequence is copied.
	def := []string{"a"}
	o.MustAdd("seq", Strings, def, "")
	def[0] = "changed"
	if o.Strings("seq")[0] != "a" {
		t.Error("sequence default aliases the caller's slice")
	}
	defer func() {
		if recover() == nil {
			t.Error("MustAdd of a duplicate did not panic")
		}
	}()
	o.MustAdd("seq", Strings, nil, "")
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Bool: "bool", Int: "int", String: "str", OptionalString: "optional str", OptionalInt: "optional int", Strings: "sequence of str", Kind(42): "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("%d: %q, want %q", k, got, want)
		}
	}
}

// Every kind parsed from the text of --set name=value.
func TestParseValue(t *testing.T) {
	o := NewOptions()
	declare(t, o)
	tests := []struct {
		name, text string
		want       any
		wantErr    bool
	}{
		{"anticache", "true", true, false},
		{"anticache", "false", false, false},
		{"anticache", "True", true, false},
		{"anticache", "FALSE", false, false},
		{"anticache", "yes", true, false},
		{"anticache", "off", false, false},
		{"anticache", "1", true, false},
		{"anticache", "0", false, false},
		{"anticache", "", true, false},
		{"anticache", "maybe", nil, true},
		{"flow_detail", "3", 3, false},
		{"flow_detail", "-1", -1, false},
		{"flow_detail", "x", nil, true},
		{"flow_detail", "1.5", nil, true},
		{"flow_detail", "", nil, true},
		{"listen_port", "8080", intPtr(8080), false},
		{"listen_port", "", (*int)(nil), false},
		{"listen_port", "port", nil, true},
		{"confdir", "/tmp/x", "/tmp/x", false},
		{"confdir", "a=b=c", "a=b=c", false},
		{"confdir", "", "", false},
		{"connection_strategy", "lazy", "lazy", false},
		{"connection_strategy", "LAZY", nil, true},
		{"connection_strategy", "sometimes", nil, true},
		{"body_size_limit", "3m", strPtr("3m"), false},
		{"body_size_limit", "", (*string)(nil), false},
		{"ignore_hosts", "example\\.com", []string{"example\\.com"}, false},
		{"ignore_hosts", "", []string{}, false},
	}
	for _, tt := range tests {
		got, err := o.ParseValue(tt.name, tt.text)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseValue(%s, %q) err = %v, wantErr %v", tt.name, tt.text, err, tt.wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseValue(%s, %q) = %#v, want %#v", tt.name, tt.text, got, tt.want)
		}
		if err != nil && !strings.Contains(err.Error(), tt.name) {
			t.Errorf("error %q does not name the option", err)
		}
	}
	if _, err := o.ParseValue("nope", "1"); !errors.Is(err, ErrUnknownOption) {
		t.Errorf("ParseValue of an unknown option: %v", err)
	}
}

func TestSet(t *testing.T) {
	o := NewOptions()
	declare(t, o)
	err := o.Set(
		"anticache=true",
		"flow_detail=3",
		"listen_port=9090",
		"confdir=/etc/mitm",
		"body_size_limit=10k",
		// Repeating a sequence option builds the sequence, in order.
		"ignore_hosts=a\\.com",
		"ignore_hosts=b\\.com:443",
		"mode=reverse:http://127.0.0.1:8000@9000",
		"mode=regular@8081",
		" http2 =false",
	)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Bool("anticache") || o.Int("flow_detail") != 3 || o.Int("listen_port") != 9090 || o.String("confdir") != "/etc/mitm" ||
		o.String("body_size_limit") != "10k" || o.Bool("http2") {
		t.Errorf("after Set: %v %v %v %v %v %v", o.Get("anticache"), o.Get("flow_detail"), o.Int("listen_port"), o.Get("confdir"), o.String("body_size_limit"), o.Get("http2"))
	}
	if got := o.Strings("ignore_hosts"); !reflect.DeepEqual(got, []string{"a\\.com", "b\\.com:443"}) {
		t.Errorf("ignore_hosts = %q", got)
	}
	if got := o.Strings("mode"); !reflect.DeepEqual(got, []string{"reverse:http://127.0.0.1:8000@9000", "regular@8081"}) {
		t.Errorf("mode = %q (a repeated --set replaces the default)", got)
	}
	// For other kinds, the last of repeated specs wins (the command line
	// puts -v after --flow-detail).
	if err := o.Set("flow_detail=2", "flow_detail=4"); err != nil || o.Int("flow_detail") != 4 {
		t.Errorf("repeated int: %v %v", o.Get("flow_detail"), err)
	}

	// "--set name" with no value: booleans become true, optional values
	// None, sequences are emptied.
	if err := o.Set("anticache=false", "http2=false"); err != nil {
		t.Fatal(err)
	}
	if err := o.Set("anticache", "http2", "listen_port", "body_size_limit", "upstream_auth", "ignore_hosts", "mode"); err != nil {
		t.Fatal(err)
	}
	if !o.Bool("anticache") || !o.Bool("http2") {
		t.Errorf("bools not true: %v %v", o.Get("anticache"), o.Get("http2"))
	}
	if o.IsSet("listen_port") || o.IsSet("body_size_limit") || o.IsSet("upstream_auth") {
		t.Errorf("optionals not None: %v %v %v", o.Get("listen_port"), o.Get("body_size_limit"), o.Get("upstream_auth"))
	}
	if got := o.Strings("ignore_hosts"); len(got) != 0 || got == nil {
		t.Errorf("ignore_hosts not emptied: %#v", got)
	}
	if got := o.Strings("mode"); len(got) != 0 {
		t.Errorf("mode not emptied: %#v", got)
	}
	if err := o.Set("flow_detail"); err == nil {
		t.Error("--set flow_detail (an int) with no value accepted")
	}

	// Errors: nothing changes.
	before := o.Dump()
	for _, bad := range [][]string{
		{"=value"},
		{"anticache=maybe"},
		{"flow_detail=many"},
		{"connection_strategy=never"},
		{"flow_detail=2", "listen_port=x"},
	} {
		if err := o.Set(bad...); err == nil {
			t.Errorf("Set(%q) succeeded", bad)
		}
	}
	if o.Dump() != before {
		t.Error("a failed Set changed options")
	}
}

func TestDeferred(t *testing.T) {
	o := NewOptions()
	// Set before the option exists (a script declares it while loading).
	if err := o.Set("custom=1", "later=x", "later=y", "never=1", "never_either"); err != nil {
		t.Fatal(err)
	}
	if o.Get("custom") != nil {
		t.Error("undeclared option has a value")
	}
	err := o.CheckDeferred()
	if !errors.Is(err, ErrUnknownOption) || !strings.Contains(err.Error(), "custom, later, never, never_either") {
		t.Errorf("CheckDeferred = %v", err)
	}
	if err := o.Add("custom", Int, 0, ""); err != nil {
		t.Fatal(err)
	}
	if o.Int("custom") != 1 {
		t.Errorf("deferred value not applied: %v", o.Get("custom"))
	}
	if err := o.Add("later", Strings, nil, ""); err != nil {
		t.Fatal(err)
	}
	if got := o.Strings("later"); !reflect.DeepEqual(got, []string{"x", "y"}) {
		t.Errorf("deferred sequence = %q", got)
	}
	o.MustAdd("never", Bool, false, "")
	o.MustAdd("never_either", OptionalString, "x", "")
	if !o.Bool("never") || o.IsSet("never_either") {
		t.Errorf("deferred bool/optional: %v %v", o.Get("never"), o.Get("never_either"))
	}
	if err := o.CheckDeferred(); err != nil {
		t.Errorf("CheckDeferred after declaring everything: %v", err)
	}
	// Several Set calls before the declaration accumulate.
	if err := o.Set("acc=1"); err != nil {
		t.Fatal(err)
	}
	if err := o.Set("acc=2"); err != nil {
		t.Fatal(err)
	}
	o.MustAdd("acc", Strings, nil, "")
	if got := o.Strings("acc"); !reflect.DeepEqual(got, []string{"1", "2"}) {
		t.Errorf("accumulated deferred = %q", got)
	}
	// A deferred value that does not parse fails the declaration, which
	// keeps the default.
	if err := o.Set("port=http"); err != nil {
		t.Fatal(err)
	}
	if err := o.Add("port", Int, 80, ""); err == nil || !strings.Contains(err.Error(), "port") {
		t.Errorf("bad deferred value: %v", err)
	}
	if o.Int("port") != 80 {
		t.Errorf("port = %v", o.Get("port"))
	}
}

func TestUpdate(t *testing.T) {
	o := NewOptions()
	declare(t, o)
	if err := o.Update(map[string]any{"flow_detail": 2, "listen_port": 8080, "body_size_limit": "1m", "ignore_hosts": []string{"x"}}); err != nil {
		t.Fatal(err)
	}
	if o.Int("flow_detail") != 2 || o.Int("listen_port") != 8080 || o.String("body_size_limit") != "1m" || o.Strings("ignore_hosts")[0] != "x" {
		t.Errorf("Update: %v %v %v %v", o.Get("flow_detail"), o.Get("listen_port"), o.Get("body_size_limit"), o.Get("ignore_hosts"))
	}
	if err := o.Update(nil); err != nil {
		t.Error(err)
	}
	// All or nothing: an unknown name or a wrong type changes nothing.
	before := o.Dump()
	if err := o.Update(map[string]any{"flow_detail": 3, "nope": 1}); !errors.Is(err, ErrUnknownOption) {
		t.Errorf("unknown: %v", err)
	}
	if err := o.Update(map[string]any{"flow_detail": 3, "anticache": "yes"}); err == nil || !strings.Contains(err.Error(), "anticache") {
		t.Errorf("wrong type: %v", err)
	}
	if o.Dump() != before {
		t.Error("failed Update changed values")
	}
}

func TestConfigureRejectsRollsBack(t *testing.T) {
	m := NewManager()
	o := m.Options()
	o.MustAdd("level", Int, 1, "")
	o.MustAdd("name", String, "a", "")
	first := &configRecorder{name: "first"}
	second := &configRecorder{name: "second", reject: func() error {
		if o.Int("level") > 5 {
			return errors.New("level: must be at most 5")
		}
		return nil
	}}
	if err := m.Add(first, second); err != nil {
		t.Fatal(err)
	}
	if err := o.Set("level=3", "name=b"); err != nil {
		t.Fatal(err)
	}
	err := o.Set("level=9", "name=c")
	if err == nil || err.Error() != "level: must be at most 5" {
		t.Fatalf("Set = %v", err)
	}
	if o.Int("level") != 3 || o.String("name") != "b" {
		t.Errorf("not rolled back: %v %v", o.Get("level"), o.Get("name"))
	}
	// The first addon saw the rejected values before the second refused
	// them; it is configured again, so it ends with the restored ones.
	if got := first.seen(); got[len(got)-1] != "level=3 name=b" || got[len(got)-2] != "level=9 name=c" {
		t.Errorf("first addon saw %q", got)
	}
	if err := o.Update(map[string]any{"level": 100}); err == nil || o.Int("level") != 3 {
		t.Errorf("Update not rolled back: %v %v", err, o.Get("level"))
	}
}

type configRecorder struct {
	name   string
	reject func() error
	m      *Manager
	log    []string
}

func (c *configRecorder) Name() string { return c.name }
func (c *configRecorder) Load(l *Loader) {
	c.m = l.m
}
func (c *configRecorder) Configure(updated map[string]bool) error {
	o := c.m.Options()
	c.log = append(c.log, "level="+itoa(o.Int("level"))+" name="+o.String("name"))
	if c.reject != nil {
		return c.reject()
	}
	return nil
}
func (c *configRecorder) seen() []string { return c.log }

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestLoadYAML(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	o := NewOptions()
	declare(t, o)
	p := write("config.yaml", `# mitmproxy config
anticache: true
http2: false
flow_detail: 3
listen_port: 8081
confdir: "/srv/mitm"
body_size_limit: 5m
upstream_auth: null
ignore_hosts:
  - ^zzz\.example$
  - ^aaa\.example$
  - ^mmm\.example$
mode: []
connection_strategy: lazy
script_option: deferred
`)
	if err := o.LoadYAML(p); err != nil {
		t.Fatal(err)
	}
	if !o.Bool("anticache") || o.Bool("http2") || o.Int("flow_detail") != 3 || o.Int("listen_port") != 8081 ||
		o.String("confdir") != "/srv/mitm" || o.String("body_size_limit") != "5m" || o.IsSet("upstream_auth") ||
		o.String("connection_strategy") != "lazy" {
		t.Errorf("scalars: %v %v %v %v %v %v %v %v", o.Get("anticache"), o.Get("http2"), o.Get("flow_detail"), o.Int("listen_port"),
			o.Get("confdir"), o.String("body_size_limit"), o.Get("upstream_auth"), o.Get("connection_strategy"))
	}
	// List items keep their order.
	if got := o.Strings("ignore_hosts"); !reflect.DeepEqual(got, []string{`^zzz\.example$`, `^aaa\.example$`, `^mmm\.example$`}) {
		t.Errorf("ignore_hosts = %q", got)
	}
	if got := o.Strings("mode"); len(got) != 0 {
		t.Errorf("mode = %q, want emptied", got)
	}
	// Unknown names are deferred, as with --set.
	if err := o.CheckDeferred(); err == nil || !strings.Contains(err.Error(), "script_option") {
		t.Errorf("CheckDeferred = %v", err)
	}

	// A missing file is no error; an empty one sets nothing.
	if err := o.LoadYAML(filepath.Join(dir, "missing.yaml")); err != nil {
		t.Errorf("missing file: %v", err)
	}
	if err := o.LoadYAML(write("empty.yaml", "")); err != nil {
		t.Errorf("empty file: %v", err)
	}
	if err := o.LoadYAML(write("comments.yaml", "# nothing\n")); err != nil {
		t.Errorf("comments only: %v", err)
	}

	// Errors name the file.
	for name, text := range map[string]string{
		"bad.yaml":    "anticache: [unclosed\n",
		"tabs.yaml":   "a:\n\t- b\n",
		"list.yaml":   "- anticache\n",
		"scalar.yaml": "just a string\n",
		"value.yaml":  "flow_detail: lots\n",
		"choice.yaml": "connection_strategy: never\n",
	} {
		err := o.LoadYAML(write(name, text))
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, name)) {
			t.Errorf("%s: err = %v, want one naming the file", name, err)
		}
	}
	if err := o.LoadYAML(dir); err == nil {
		t.Error("reading a directory succeeded")
	}
}

// Dump's format is mitmproxy's dump_defaults (mitmdump --options), compared
// here with the output of Debian's mitmproxy 8.1.1 for its own options
// (testdata/mitmdump-options-8.1.1.json, written by optmanager.dump_defaults).
func TestDumpMatchesMitmproxy(t *testing.T) {
	var ref struct {
		Options []struct {
			Name    string   `json:"name"`
			Kind    string   `json:"kind"`
			Default any      `json:"default"`
			Help    string   `json:"help"`
			Choices []string `json:"choices"`
		} `json:"options"`
		Dump string `json:"dump"`
	}
	data, err := os.ReadFile("testdata/mitmdump-options-8.1.1.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	o := NewOptions()
	for _, opt := range ref.Options {
		var kind Kind
		def := opt.Default
		switch opt.Kind {
		case "bool":
			kind = Bool
		case "int":
			kind, def = Int, int(def.(float64))
		case "str":
			kind = String
		case "optional str":
			kind = OptionalString
		case "sequence of str":
			kind = Strings
			var seq []string
			for _, s := range def.([]any) {
				seq = append(seq, s.(string))
			}
			def = seq
		default:
			t.Fatalf("kind %q", opt.Kind)
		}
		if err := o.Add(opt.Name, kind, def, opt.Help, opt.Choices...); err != nil {
			t.Fatal(err)
		}
	}
	// The one known difference: None is written "null", not left empty.
	got := strings.ReplaceAll(o.Dump(), ": null\n", ":\n")
	if got != ref.Dump {
		gl, wl := strings.Split(got, "\n"), strings.Split(ref.Dump, "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("Dump differs from mitmproxy's at line %d:\n got %q\nwant %q", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("Dump has %d lines, mitmproxy %d", len(gl), len(wl))
	}
}

func TestDumpValues(t *testing.T) {
	o := NewOptions()
	o.MustAdd("a_list", Strings, []string{"regular", "*"}, "A list.")
	o.MustAdd("empty", String, "", "An empty string.")
	o.MustAdd("port", OptionalInt, 8080, "A port.")
	o.MustAdd("none", OptionalInt, nil, "Unset.")
	o.MustAdd("quote", String, "eager", "Choices with a quote.", "it's", "plain")
	o.MustAdd("multiline", String, "a\nb", "A default on two lines.")
	want := `
# A list. Type sequence of str.
a_list:
- regular
- '*'

# An empty string. Type str.
empty: ''

# A default on two lines. Type str.
multiline: "a\nb"

# Unset. Type optional int.
none: null

# A port. Type optional int.
port: 8080

# Choices with a quote. Valid values are "it's", 'plain'.
quote: eager
`
	if got := o.Dump(); got != want {
		t.Errorf("Dump:\n%s\nwant:\n%s", got, want)
	}
	// It is valid YAML with the values, so it can serve as a config.yaml.
	var parsed map[string]any
	if err := yaml.Unmarshal([]byte(o.Dump()), &parsed); err != nil {
		t.Fatal(err)
	}
	wantParsed := map[string]any{"a_list": []any{"regular", "*"}, "empty": "", "multiline": "a\nb", "none": nil, "port": 8080, "quote": "eager"}
	if !reflect.DeepEqual(parsed, wantParsed) {
		t.Errorf("Dump parses as %#v", parsed)
	}
	if NewOptions().Dump() != "" {
		t.Error("Dump of no options is not empty")
	}
}
