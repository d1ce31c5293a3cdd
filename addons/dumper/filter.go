package dumper

import "github.com/mitmgo/mitmgo/filter"

// defaultParser compiles dumper_filter with package filter (mitmproxy's
// filter expressions); SetFilterParser replaces it.
func defaultParser(expr string) (Matcher, error) {
	f, err := filter.Parse(expr)
	if err != nil {
		return nil, err
	}
	return f, nil
}
