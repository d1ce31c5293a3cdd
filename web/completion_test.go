package web

import (
	"encoding/json"
	"net/url"
	"slices"
	"testing"
)

// TestCommandCompletions: arguments complete as in the console: option
// names and values for set, flow specifications, a choice's values,
// markers and booleans, command names; nothing past a command's last
// argument; unknown commands and bad indexes are refused.
func TestCommandCompletions(t *testing.T) {
	e := start(t)
	e.login()
	get := func(cmd string, index, text string, args ...string) []string {
		t.Helper()
		q := url.Values{"index": {index}, "text": {text}, "arg": args}
		var out []string
		if err := json.Unmarshal(e.call("GET", "/commands/"+cmd+"/completions?"+q.Encode(), nil), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, tc := range []struct {
		cmd, index, text string
		args             []string
		want             []string // all of these, in this order
		exact            bool
	}{
		{cmd: "set", index: "0", text: "antic", want: []string{"anticache", "anticomp"}, exact: true},
		{cmd: "set", index: "1", args: []string{"web_theme"}, want: []string{"dark", "light", "system"}, exact: true},
		{cmd: "set", index: "1", text: "t", args: []string{"anticache"}, want: []string{"toggle", "true"}, exact: true},
		{cmd: "set", index: "1", args: []string{"no_such_option"}, want: []string{}, exact: true},
		{cmd: "flow.mark", index: "0", text: "@", want: []string{"@all", "@focus", "@hidden", "@marked", "@shown", "@unmarked"}, exact: true},
		{cmd: "flow.mark", index: "0", text: "~", want: []string{"~a", "~b", "~bq"}},
		{cmd: "flow.mark", index: "1", text: "fa", want: []string{"false"}, exact: true},
		{cmd: "flow.set", index: "1", want: []string{"host", "method", "path"}},
		{cmd: "flow.set", index: "3", want: []string{}, exact: true},
		{cmd: "view.focus.go", index: "0", want: []string{}, exact: true},
	} {
		got := get(tc.cmd, tc.index, tc.text, tc.args...)
		if tc.exact && !slices.Equal(got, tc.want) {
			t.Errorf("%s %s %q %v: %q, want %q", tc.cmd, tc.index, tc.text, tc.args, got, tc.want)
		}
		if !tc.exact {
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("%s %s %q: %q lacks %q", tc.cmd, tc.index, tc.text, got, w)
				}
			}
		}
	}
	if r := e.req(nil, "GET", "/commands/no.such/completions?index=0", nil, nil); r.StatusCode != 404 {
		t.Errorf("unknown command: %d", r.StatusCode)
	}
	if r := e.req(nil, "GET", "/commands/set/completions?index=x", nil, nil); r.StatusCode != 400 {
		t.Errorf("bad index: %d", r.StatusCode)
	}
}
