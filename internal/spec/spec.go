// Package spec parses the option values that mitmproxy's rewriting addons
// share: "[/flow-filter]/subject/replacement", where the first character is
// the separator (map_remote, map_local, modify_body, modify_headers), and the
// small pieces of Python semantics those options rely on: backslash escapes
// (codecs.escape_decode) and "~" in file paths.
package spec

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mitmgo/mitmgo/filter"
	"github.com/mitmgo/mitmgo/flow"
)

// ErrParameters is wrapped by Parse when a spec does not have two or three
// parts.
var ErrParameters = errors.New("Invalid number of parameters (2 or 3 are expected)")

// Spec is one parsed "[/flow-filter]/subject/replacement" value.
type Spec struct {
	// Filter selects the flows the spec applies to; nil matches every flow,
	// as mitmproxy's match_all when the filter part is left out.
	Filter filter.Filter
	// FilterExpr is the filter expression as written ("" when left out).
	FilterExpr string
	// Subject is the middle part: a regex or a header name.
	Subject string
	// Replacement is the last part. Extra separators belong to it:
	// "/a/b/c/d" has replacement "c/d" (and filter "a").
	Replacement string
}

// Matches reports whether the spec applies to f.
func (s *Spec) Matches(f *flow.HTTPFlow) bool {
	return s.Filter == nil || s.Filter.Match(f)
}

// Parse splits option at its separator, its first character, into at most
// three parts, as mitmproxy's parse_spec: two parts are subject and
// replacement, three are filter, subject and replacement. The filter part
// is parsed with the filter package; an empty filter part is an error, as
// mitmproxy's flowfilter.parse("") is.
func Parse(option string) (Spec, error) {
	if option == "" {
		return Spec{}, fmt.Errorf("empty specification: %w", ErrParameters)
	}
	sep, size := utf8.DecodeRuneInString(option)
	if sep == utf8.RuneError && size == 1 {
		return Spec{}, errors.New("the separator (first character) is not valid UTF-8")
	}
	parts := strings.SplitN(option[size:], option[:size], 3)
	switch len(parts) {
	case 2:
		return Spec{Subject: parts[0], Replacement: parts[1]}, nil
	case 3:
		flt, err := filter.Parse(parts[0])
		if err != nil {
			return Spec{}, err
		}
		return Spec{Filter: flt, FilterExpr: parts[0], Subject: parts[1], Replacement: parts[2]}, nil
	}
	return Spec{}, ErrParameters
}

// ParseAll parses every value of a rule option with parse. The first bad
// value rejects the whole option, with mitmproxy's message naming the option
// and the value, so an addon never applies half of a new setting.
func ParseAll[T any](option string, values []string, parse func(string) (T, error)) ([]T, error) {
	rules := make([]T, 0, len(values))
	for _, v := range values {
		r, err := parse(v)
		if err != nil {
			return nil, fmt.Errorf("Cannot parse %s option %s: %w", option, v, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}
