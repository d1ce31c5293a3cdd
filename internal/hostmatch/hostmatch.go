// Package hostmatch implements mitmproxy's host lists (ignore_hosts,
// allow_hosts, tcp_hosts): Python regular expressions matched, without
// regard to case, against a connection's "host:port" forms.
package hostmatch

import (
	"fmt"
	"regexp"

	"github.com/mitmgo/mitmgo/internal/pyre"
)

// List is a compiled host list; the zero value matches nothing.
type List []*regexp.Regexp

// Compile compiles the patterns of the option named option.
func Compile(option string, patterns []string) (List, error) {
	var out List
	for _, p := range patterns {
		// mitmproxy matches case-insensitively against "host:port".
		re, err := pyre.Compile("(?i)"+p, false)
		if err != nil {
			return nil, fmt.Errorf("option %s: invalid regular expression %q: %w", option, p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// Match reports whether a pattern finds a match in one of forms (as
// Python's re.search); empty forms are skipped.
func (l List) Match(forms ...string) bool {
	for _, re := range l {
		for _, f := range forms {
			if f != "" && re.MatchString(f) {
				return true
			}
		}
	}
	return false
}
