// Package modifyheaders is mitmproxy's modify_headers addon (-H/--modify-headers):
// rules of the form "[/flow-filter]/header-name/[@]header-value" set a
// header on matching requests and responses, or remove it when the value is
// empty. "@path" reads the value from a file each time it is used.
//
// As in current mitmproxy the rules run as soon as the headers are known,
// in requestheaders and responseheaders, so that they also apply to
// streamed messages (and filters on bodies see no body yet). Every rule's
// filter is tested first, on the unmodified flow; then every header named
// by a matching rule is removed; then each matching rule with a non-empty
// value adds its header, in rule order, so two rules for one name give two
// headers.
//
// Names and values use Python backslash escapes ("\t", "\x41"). Unlike
// mitmproxy, a name that is not an HTTP token, or a value with a line
// break or NUL, is refused, since it would corrupt the message.
package modifyheaders

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/spec"
)

// OptionName is the option that holds the rules.
const OptionName = "modify_headers"

var (
	_ addon.LoadHook            = (*ModifyHeaders)(nil)
	_ addon.ConfigureHook       = (*ModifyHeaders)(nil)
	_ addon.RequestHeadersHook  = (*ModifyHeaders)(nil)
	_ addon.ResponseHeadersHook = (*ModifyHeaders)(nil)
)

// ModifyHeaders sets and removes headers. It is safe for concurrent use;
// Configure swaps the whole rule set at once.
type ModifyHeaders struct {
	ctx   *addon.Context
	rules spec.Rules[rule] // OptionName, declared in Load
}

type rule struct {
	spec  spec.Spec
	name  string
	value spec.Replacement
}

// New returns the addon with no rules.
func New() *ModifyHeaders { return &ModifyHeaders{} }

// Load declares modify_headers.
func (m *ModifyHeaders) Load(l *addon.Loader) {
	m.ctx = l.Context()
	m.rules.Declare(l, OptionName,
		`Header modify pattern of the form "[/flow-filter]/header-name/[@]header-value", where the separator can be any character. The @ allows to provide a file path that is used to read the header value string. An empty header-value removes existing header-name headers.`,
		parseRule)
}

// Configure parses every rule; one bad rule rejects the whole new value and
// leaves the active rules untouched.
func (m *ModifyHeaders) Configure(updated map[string]bool) error { return m.rules.Configure(updated) }

func parseRule(option string) (rule, error) {
	s, err := spec.Parse(option)
	if err != nil {
		return rule{}, err
	}
	name, err := spec.EscapeDecode(s.Subject)
	if err != nil {
		return rule{}, err
	}
	if err := checkName(name); err != nil {
		return rule{}, err
	}
	value, err := spec.ParseReplacement(s.Replacement)
	if err != nil {
		return rule{}, err
	}
	v, err := value.Read()
	if err == nil {
		err = checkValue(v)
	}
	if err != nil {
		return rule{}, err
	}
	return rule{spec: s, name: name, value: value}, nil
}

func checkName(name string) error {
	if name == "" {
		return errors.New("empty header name")
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Errorf("invalid header name %q", name)
		}
	}
	return nil
}

// isTokenChar reports an RFC 9110 tchar.
func isTokenChar(c byte) bool {
	return c < 0x80 && c > ' ' && !strings.ContainsRune("\"(),/:;<=>?@[\\]{}\x7f", rune(c))
}

func checkValue(v []byte) error {
	for _, c := range v {
		if c == '\r' || c == '\n' || c == 0 {
			return fmt.Errorf("header value %q contains a line break or NUL", v)
		}
	}
	return nil
}

// RequestHeaders applies the rules to the request headers of live flows
// that have no response yet.
func (m *ModifyHeaders) RequestHeaders(f *flow.HTTPFlow) {
	if f.Response != nil || f.Error != nil || !f.IsLive() || f.Request == nil {
		return
	}
	m.run(f, &f.Request.Headers)
}

// ResponseHeaders applies the rules to the response headers of live flows.
func (m *ModifyHeaders) ResponseHeaders(f *flow.HTTPFlow) {
	if f.Response == nil || f.Error != nil || !f.IsLive() {
		return
	}
	m.run(f, &f.Response.Headers)
}

func (m *ModifyHeaders) run(f *flow.HTTPFlow, h *flow.Headers) {
	rules := m.rules.Active()
	if len(rules) == 0 {
		return
	}
	// Filters see the flow as it came in, not as earlier rules left it.
	matched := make([]bool, len(rules))
	for i := range rules {
		matched[i] = rules[i].spec.Matches(f)
	}
	for i := range rules {
		if matched[i] {
			h.Del(rules[i].name)
		}
	}
	for i := range rules {
		if !matched[i] {
			continue
		}
		r := &rules[i]
		v, err := r.value.Read()
		if err != nil {
			m.ctx.Logger().Warn(fmt.Sprintf("Could not read replacement file: %v", err))
			continue
		}
		if err := checkValue(v); err != nil {
			m.ctx.Logger().Warn(fmt.Sprintf("%s: not using %s: %v", OptionName, r.value.Path, err))
			continue
		}
		if len(v) > 0 {
			h.Add(r.name, string(v))
		}
	}
}

// KeepsFlows is false: it edits headers in place (see addon.FlowKeeper).
func (m *ModifyHeaders) KeepsFlows() bool { return false }
