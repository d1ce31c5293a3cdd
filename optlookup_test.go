package mitmgo_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// optionMethods are the methods of addon.Options that read an option (or
// its description) by name.
var optionMethods = map[string]bool{
	"String": true, "Int": true, "Bool": true, "Strings": true, "IsSet": true,
	"Get": true, "Default": true, "HasChanged": true, "Lookup": true,
}

// optionReceivers are the last names of the expressions an *addon.Options
// goes by in this module: opts, o, ctx.Options, m.Options().
var optionReceivers = map[string]bool{"opts": true, "o": true, "Options": true}

// optionConst is a constant that names an option (OptionName,
// proxyAuthOption, streamOption).
var optionConst = regexp.MustCompile(`^(OptionName|[A-Za-z0-9_]*Option)$`)

// byNameAllowed are the files that may still read options by name, with
// how many such reads each has at most. The allowance may only shrink.
var byNameAllowed = map[string]int{}

// readsByName reports whether call reads an option by a name written in
// the source (a string literal or an *Option constant), as
// opts.Bool("anticache") or ctx.Options.Strings(OptionName) do. Names
// that come from outside (the set command, --set, the flags) are held in
// variables and are not matched.
func readsByName(call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || !optionMethods[sel.Sel.Name] || len(call.Args) == 0 {
		return false
	}
	x := sel.X
	if c, ok := x.(*ast.CallExpr); ok && len(c.Args) == 0 {
		x = c.Fun // m.Options().String(...)
	}
	var recv string
	switch x := x.(type) {
	case *ast.Ident:
		recv = x.Name
	case *ast.SelectorExpr:
		recv = x.Sel.Name
	}
	if !optionReceivers[recv] {
		return false
	}
	switch a := call.Args[0].(type) {
	case *ast.BasicLit:
		return a.Kind == token.STRING
	case *ast.Ident:
		return optionConst.MatchString(a.Name)
	}
	return false
}

func TestReadsByName(t *testing.T) {
	tests := []struct {
		src  string
		want bool
	}{
		{`opts.Int("flow_detail")`, true},
		{`s.opts.Strings("server_replay")`, true},
		{`o.Bool("ssl_insecure")`, true},
		{`d.ctx.Options.Lookup("showhost")`, true},
		{`m.ctx.Options.Strings(OptionName)`, true},
		{`m.Options().String(proxyAuthOption)`, true},
		{`u.ctx.Options.IsSet(OptionName)`, true},
		{`c.ctx.Options.Lookup(a.Str(0))`, false}, // the set command's name
		{`opts.Lookup(name)`, false},
		{`d.Int("version")`, false}, // a tnetstring dict
		{`h.Get()`, false},
		{`r.mode.Get()`, false},
	}
	for _, tt := range tests {
		e, err := parser.ParseExpr(tt.src)
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		if got := readsByName(e.(*ast.CallExpr)); got != tt.want {
			t.Errorf("readsByName(%s) = %v, want %v", tt.src, got, tt.want)
		}
	}
}

// TestNoOptionReadsByName keeps option reads on typed handles
// (addon.Declare, addon.Lookup, see addon.Opt): a misspelt name must not
// read as the zero value. No non-test Go source outside the addon package,
// which implements the registry, reads an option by a name written in the
// source, except the allowance of byNameAllowed.
func TestNoOptionReadsByName(t *testing.T) {
	fset := token.NewFileSet()
	counts := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") || path == "addon" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok && readsByName(call) {
				pos := fset.Position(call.Pos())
				key := filepath.ToSlash(path)
				counts[key] = append(counts[key], pos.String())
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	paths := slices.Sorted(maps.Keys(counts))
	for _, path := range paths {
		at := counts[path]
		if len(at) > byNameAllowed[path] {
			t.Errorf("%s reads options by name %d times (allowed: %d); use a typed handle (addon.Declare where the option is declared, addon.Lookup once in Load or Configure otherwise):\n\t%s",
				path, len(at), byNameAllowed[path], strings.Join(at, "\n\t"))
		}
	}
}
