// Package blocklist is mitmproxy's blocklist addon (--set block_list): rules
// of the form "/flow-filter/status-code" answer matching requests from the
// proxy with an empty response of that status, without contacting the
// server. The separator is the rule's first character, so "|~d ads|403" and
// ":~u tracker:404" work too. The non-standard status 444 instead kills the
// flow: the connection is closed without a response, as nginx's 444 does.
//
// The addon runs in the request hook, before user scripts, and leaves alone
// flows that already have a response or an error, and flows that are not
// live (read from a file, for example). Every matching rule applies, in
// order, so for a request several rules match the last one decides; a
// killed flow stays killed.
package blocklist

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/filter"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/spec"
)

// OptionName is the option that holds the rules.
const OptionName = "block_list"

// NoResponse is the status that closes the connection instead of answering
// (mitmproxy's NO_RESPONSE).
const NoResponse = 444

// MetadataKey is set to true in the metadata of every flow a rule matched.
const MetadataKey = "blocklisted"

// DefaultServer is the Server header of the responses the addon makes.
const DefaultServer = "mitmgo"

var (
	_ addon.LoadHook      = (*BlockList)(nil)
	_ addon.ConfigureHook = (*BlockList)(nil)
	_ addon.RequestHook   = (*BlockList)(nil)
)

// BlockList blocks requests. It is safe for concurrent use; Configure swaps
// the whole rule set at once.
type BlockList struct {
	// Server is the value of the Server header of block responses.
	Server string

	ctx   *addon.Context
	rules spec.Rules[Rule] // OptionName, declared in Load
}

// Rule is one parsed block_list value.
type Rule struct {
	// Filter selects the requests to block.
	Filter filter.Filter
	// FilterExpr is the filter as written.
	FilterExpr string
	// Status is the status code of the response, or NoResponse.
	Status int
}

// New returns the addon with no rules.
func New() *BlockList { return &BlockList{Server: DefaultServer} }

// Load declares block_list.
func (b *BlockList) Load(l *addon.Loader) {
	b.ctx = l.Context()
	b.rules.Declare(l, OptionName,
		`Block matching requests and return an empty response with the specified HTTP status. `+
			`Option syntax is "/flow-filter/status-code", where flow-filter describes which requests this rule `+
			`should be applied to and status-code is the HTTP status code to return for blocked requests. `+
			`The separator ("/" in the example) can be any character. Setting a non-standard status code of 444 `+
			`will close the connection without sending a response.`,
		ParseRule)
}

// Configure parses every rule; one bad rule rejects the whole new value
// (naming the option and the rule) and leaves the active rules untouched.
func (b *BlockList) Configure(updated map[string]bool) error { return b.rules.Configure(updated) }

// SetRules replaces the rules directly, for embedders that do not use the
// options.
func (b *BlockList) SetRules(rules []Rule) { b.rules.Set(rules) }

// ParseRules parses block_list values; the error names the option and the
// value that failed.
func ParseRules(options []string) ([]Rule, error) {
	return spec.ParseAll(OptionName, options, ParseRule)
}

// ErrParameters is wrapped by ParseRule when a rule does not have exactly
// two parts.
var ErrParameters = errors.New("Invalid number of parameters (2 are expected)")

// ParseRule parses one "/flow-filter/status-code" value: the first
// character is the separator, and the rest must split into exactly a filter
// and a status code, as mitmproxy's blocklist.parse_spec.
func ParseRule(option string) (Rule, error) {
	if option == "" {
		return Rule{}, fmt.Errorf("empty rule: %w", ErrParameters)
	}
	sep, size := utf8.DecodeRuneInString(option)
	if sep == utf8.RuneError && size == 1 {
		return Rule{}, errors.New("the separator (first character) is not valid UTF-8")
	}
	parts := strings.SplitN(option[size:], option[:size], 3)
	if len(parts) != 2 {
		return Rule{}, ErrParameters
	}
	expr, statusText := parts[0], parts[1]
	status, err := parseStatus(statusText)
	if err != nil {
		return Rule{}, err
	}
	flt, err := filter.Parse(expr)
	if err != nil {
		return Rule{}, err
	}
	return Rule{Filter: flt, FilterExpr: expr, Status: status}, nil
}

// parseStatus reads the status as Python's int() would (surrounding
// whitespace, a sign and digit-separating underscores are allowed) and
// requires a three-digit code, which is what an HTTP status line can carry.
func parseStatus(text string) (int, error) {
	s := strings.TrimSpace(text)
	if strings.Contains(s, "_") && !strings.HasPrefix(s, "_") && !strings.HasSuffix(s, "_") && !strings.Contains(s, "__") {
		s = strings.ReplaceAll(s, "_", "")
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("Invalid HTTP status code: %s", text)
	}
	if n < 100 || n > 999 {
		return 0, fmt.Errorf("Invalid HTTP status code: %s (expected 100 to 999)", text)
	}
	return n, nil
}

// Request blocks live requests that no one has answered yet.
func (b *BlockList) Request(f *flow.HTTPFlow) {
	rules := b.rules.Active()
	if rules == nil || f.Response != nil || f.Error != nil || !f.IsLive() {
		return
	}
	for i := range rules {
		r := &rules[i]
		if !r.Filter.Match(f) {
			continue
		}
		f.Metadata.Set(MetadataKey, true)
		if r.Status == NoResponse {
			_ = f.Kill()
			return
		}
		server := b.Server
		if server == "" {
			server = DefaultServer
		}
		f.Response = flow.NewResponse(r.Status, nil, flow.NewHeaders("Server", server))
	}
}

// KeepsFlows is false: it answers matching requests and keeps nothing (see addon.FlowKeeper).
func (b *BlockList) KeepsFlows() bool { return false }
