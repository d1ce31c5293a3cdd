// Package modifybody is mitmproxy's modify_body addon (-B/--modify-body):
// rules of the form "[/flow-filter]/regex/[@]replacement" replace every
// match of regex in the decoded body of matching requests (in the request
// hook) and responses (in the response hook). "@path" reads the
// replacement from a file each time it is used.
//
// Regex and replacement use Python backslash escapes first (as mitmproxy's
// escaped_str_to_bytes: "\n" is a newline, "\\1" becomes "\1"), then the
// regex is compiled with "." matching newlines too (re.DOTALL) and the
// replacement is a Python re.sub template, so "\\1" in the option refers to
// group 1. Rules run in order, each on the body the previous one produced
// and each with its filter tested on the flow as it is then.
//
// The body is decoded from its Content-Encoding, rewritten and encoded
// again; a body that no rule changes is left exactly as it was. Streamed
// bodies are not modified (mitmproxy logs an alert when both modify_body
// and stream_large_bodies are set).
package modifybody

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync/atomic"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/pyre"
	"github.com/mitmgo/mitmgo/internal/spec"
)

// OptionName is the option that holds the rules.
const OptionName = "modify_body"

// streamOption is the proxy's option for streaming large bodies.
const streamOption = "stream_large_bodies"

var (
	_ addon.LoadHook      = (*ModifyBody)(nil)
	_ addon.ConfigureHook = (*ModifyBody)(nil)
	_ addon.RequestHook   = (*ModifyBody)(nil)
	_ addon.ResponseHook  = (*ModifyBody)(nil)
)

// ModifyBody rewrites bodies. It is safe for concurrent use; Configure
// swaps the whole rule set at once.
type ModifyBody struct {
	ctx   *addon.Context
	rules spec.Rules[rule] // OptionName, declared in Load
	// stream is the proxy core's streamOption, looked up in Configure;
	// nil while it is not declared.
	stream atomic.Pointer[addon.Opt[*string]]
}

type rule struct {
	spec        spec.Spec
	re          *regexp.Regexp
	replacement spec.Replacement
	// tmpl is the parsed replacement when it is not read from a file.
	tmpl *pyre.Template
}

// New returns the addon with no rules.
func New() *ModifyBody { return &ModifyBody{} }

// Load declares modify_body.
func (m *ModifyBody) Load(l *addon.Loader) {
	m.ctx = l.Context()
	m.rules.Declare(l, OptionName,
		`Replacement pattern of the form "[/flow-filter]/regex/[@]replacement", where the separator can be any character. The @ allows to provide a file path that is used to read the replacement string.`,
		parseRule)
}

// Configure parses every rule; one bad rule rejects the whole new value and
// leaves the active rules untouched.
func (m *ModifyBody) Configure(updated map[string]bool) error {
	if m.ctx == nil {
		return nil
	}
	if m.stream.Load() == nil {
		if h, err := addon.Lookup[*string](m.ctx.Options, streamOption); err == nil {
			m.stream.Store(&h)
		}
	}
	if err := m.rules.Configure(updated); err != nil {
		return err
	}
	if (updated[OptionName] || updated[streamOption]) &&
		len(m.rules.Values()) > 0 && m.streaming() {
		m.ctx.Logger().Log(context.Background(), addon.LevelAlert,
			"Both modify_body and stream_large_bodies are active. Streamed bodies will not be modified.")
	}
	return nil
}

// streaming reports whether stream_large_bodies is set (to anything but "").
func (m *ModifyBody) streaming() bool {
	h := m.stream.Load()
	if h == nil {
		return false
	}
	p := h.Get()
	return p != nil && *p != ""
}

func parseRule(option string) (rule, error) {
	s, err := spec.Parse(option)
	if err != nil {
		return rule{}, err
	}
	subject, err := spec.EscapeDecode(s.Subject)
	if err != nil {
		return rule{}, err
	}
	re, err := pyre.Compile(subject, true)
	if err != nil {
		return rule{}, fmt.Errorf("Invalid regular expression %q (%w)", subject, err)
	}
	r := rule{spec: s, re: re}
	if r.replacement, err = spec.ParseReplacement(s.Replacement); err != nil {
		return rule{}, err
	}
	if !r.replacement.IsFile() {
		if r.tmpl, err = pyre.ParseTemplate(string(r.replacement.Value), re, true); err != nil {
			return rule{}, fmt.Errorf("Invalid replacement %q (%w)", r.replacement.Value, err)
		}
	}
	return r, nil
}

// Request rewrites the body of live requests that have no response yet.
func (m *ModifyBody) Request(f *flow.HTTPFlow) {
	if f.Response != nil || f.Error != nil || !f.IsLive() || f.Request == nil {
		return
	}
	m.run(f)
}

// Response rewrites the body of live responses.
func (m *ModifyBody) Response(f *flow.HTTPFlow) {
	if f.Error != nil || !f.IsLive() {
		return
	}
	m.run(f)
}

func (m *ModifyBody) run(f *flow.HTTPFlow) {
	rules := m.rules.Active()
	for i := range rules {
		r := &rules[i]
		if !r.spec.Matches(f) {
			continue
		}
		tmpl := r.tmpl
		if tmpl == nil {
			repl, err := r.replacement.Read()
			if err != nil {
				m.ctx.Logger().Warn(fmt.Sprintf("Could not read replacement file: %v", err))
				continue
			}
			if tmpl, err = pyre.ParseTemplate(string(repl), r.re, true); err != nil {
				m.ctx.Logger().Warn(fmt.Sprintf("%s: invalid replacement in %s: %v", OptionName, r.replacement.Path, err))
				continue
			}
		}
		msg := &f.Request.Message
		if f.Response != nil {
			msg = &f.Response.Message
		}
		content, err := msg.Content()
		if errors.Is(err, flow.ErrContentMissing) {
			// Streamed, or not read: nothing to modify.
			return
		}
		if err != nil {
			m.ctx.Logger().Warn(fmt.Sprintf("%s: cannot decode the body of %s: %v", OptionName, f.Request.PrettyURL(), err))
			return
		}
		out, n := pyre.Sub(r.re, tmpl, content)
		if n > 0 && !bytes.Equal(out, content) {
			msg.SetContent(out)
		}
	}
}

// KeepsFlows is false: it replaces bodies with new ones and keeps neither (see addon.FlowKeeper).
func (m *ModifyBody) KeepsFlows() bool { return false }
