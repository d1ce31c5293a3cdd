// Package mapremote is mitmproxy's map_remote addon (-M/--map-remote): rules
// of the form "[/flow-filter]/url-regex/replacement" rewrite the URL of
// matching requests before they go upstream, so that a resource is fetched
// from somewhere else.
//
// The separator is the rule's first character. The regex is searched in the
// request's pretty URL (the one built from the Host header) and every match
// is replaced as Python's re.sub does, so \1 and \g<name> refer to groups.
// Rules run in order, each on the URL the previous ones produced.
package mapremote

import (
	"fmt"
	"regexp"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/pyre"
	"github.com/mitmgo/mitmgo/internal/spec"
)

// OptionName is the option that holds the rules.
const OptionName = "map_remote"

var (
	_ addon.LoadHook      = (*MapRemote)(nil)
	_ addon.ConfigureHook = (*MapRemote)(nil)
	_ addon.RequestHook   = (*MapRemote)(nil)
)

// MapRemote rewrites request URLs. It is safe for concurrent use; Configure
// swaps the whole rule set at once.
type MapRemote struct {
	ctx   *addon.Context
	rules spec.Rules[rule] // OptionName, declared in Load
}

type rule struct {
	spec spec.Spec
	re   *regexp.Regexp
	tmpl *pyre.Template
}

// New returns the addon with no rules.
func New() *MapRemote { return &MapRemote{} }

// Load declares map_remote.
func (m *MapRemote) Load(l *addon.Loader) {
	m.ctx = l.Context()
	m.rules.Declare(l, OptionName,
		`Map remote resources to another remote URL using a pattern of the form "[/flow-filter]/url-regex/replacement", where the separator can be any character.`,
		parseRule)
}

// Configure parses every rule; one bad rule rejects the whole new value and
// leaves the active rules untouched.
func (m *MapRemote) Configure(updated map[string]bool) error { return m.rules.Configure(updated) }

func parseRule(option string) (rule, error) {
	s, err := spec.Parse(option)
	if err != nil {
		return rule{}, err
	}
	re, err := pyre.Compile(s.Subject, false)
	if err != nil {
		return rule{}, fmt.Errorf("Invalid regular expression %q (%w)", s.Subject, err)
	}
	tmpl, err := pyre.ParseTemplate(s.Replacement, re, false)
	if err != nil {
		return rule{}, fmt.Errorf("Invalid replacement %q (%w)", s.Replacement, err)
	}
	return rule{spec: s, re: re, tmpl: tmpl}, nil
}

// Request rewrites the URL of live requests that no one has answered yet.
func (m *MapRemote) Request(f *flow.HTTPFlow) {
	rules := m.rules.Active()
	if rules == nil || f.Response != nil || f.Error != nil || !f.IsLive() || f.Request == nil {
		return
	}
	for i := range rules {
		r := &rules[i]
		if !r.spec.Matches(f) {
			continue
		}
		url := f.Request.PrettyURL()
		newURL, _ := pyre.SubString(r.re, r.tmpl, url)
		// Setting the URL also rewrites the Host header, so only do it
		// when the rule changed something.
		if newURL == url {
			continue
		}
		if err := f.Request.SetURL(newURL); err != nil {
			m.ctx.Logger().Warn(fmt.Sprintf("%s: cannot use the rewritten URL: %v", OptionName, err))
		}
	}
}

// KeepsFlows is false: it rewrites request URLs in place (see addon.FlowKeeper).
func (m *MapRemote) KeepsFlows() bool { return false }
