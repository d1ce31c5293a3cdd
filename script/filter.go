package script

import (
	"errors"
	"fmt"
	"sync"

	"github.com/mitmgo/mitmgo/filter"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// maxFilters bounds the compiled filters a host keeps; scripts use a few
// fixed expressions, so reaching it means expressions built on the fly, and
// the cache starts over.
const maxFilters = 256

// filterCache holds compiled filter expressions for flowfilter.parse/match.
type filterCache struct {
	mu sync.Mutex
	m  map[string]filter.Filter
}

func (c *filterCache) get(expr string) (filter.Filter, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.m[expr]; ok {
		return f, nil
	}
	f, err := filter.Parse(expr)
	if err != nil {
		return nil, err
	}
	if c.m == nil || len(c.m) >= maxFilters {
		c.m = map[string]filter.Filter{}
	}
	c.m[expr] = f
	return f, nil
}

// filterOp answers flowfilter.parse (the filter's description) and
// flowfilter.match: against live, the flow of the hook in progress, or
// against the flow state the request carries.
func (h *host) filterOp(req *tnetstring.Dict, live any) (any, error) {
	flt, err := h.filters.get(req.Str("expr"))
	if err != nil {
		return nil, err
	}
	if req.Bool("parse") {
		return flt.String(), nil
	}
	target := live
	if st := req.Dict("state"); st != nil {
		v, err := flow.FromState(st)
		if err != nil {
			return nil, fmt.Errorf("matching a flow: %w", err)
		}
		target = v
	}
	if target == nil {
		return nil, errors.New("no flow to match")
	}
	return flt.Match(target), nil
}
