package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/chromedp"
)

// startProfile starts the page's JavaScript CPU profiler (-profile).
func startProfile(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, profiler.Enable, cdp.Empty{}); err != nil {
		return err
	}
	_, err := chromedp.Call(ctx, profiler.Start, cdp.Empty{})
	return err
}

// stopProfile stops the profiler, writes the profile to dir/name.cpuprofile
// (Chrome DevTools opens it) and prints the functions with the most self
// time.
func stopProfile(ctx context.Context, w io.Writer, dir, name string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	res, err := chromedp.Call(ctx, profiler.Stop, cdp.Empty{})
	if err != nil {
		return err
	}
	p := res.Profile
	if p == nil {
		return fmt.Errorf("no profile")
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, name+".cpuprofile")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	for _, l := range topSelf(p, 8) {
		fmt.Fprintln(w, "    "+l)
	}
	fmt.Fprintf(w, "    page CPU profile: %s\n", path)
	return nil
}

// topSelf sums the profile's samples by function (self time) and formats
// the n largest shares.
func topSelf(p *profiler.Profile, n int) []string {
	byID := map[int64]*profiler.ProfileNode{}
	for _, nd := range p.Nodes {
		byID[nd.ID] = nd
	}
	self := map[string]int64{}
	var total int64
	for i, id := range p.Samples {
		var dt int64 = 1
		if i < len(p.TimeDeltas) {
			dt = p.TimeDeltas[i]
		}
		nd := byID[id]
		if nd == nil || nd.CallFrame == nil {
			continue
		}
		cf := nd.CallFrame
		key := cmp.Or(cf.FunctionName, "(anonymous)")
		if cf.URL != "" {
			key += fmt.Sprintf(" %s:%d:%d", filepath.Base(cf.URL), cf.LineNumber+1, cf.ColumnNumber+1)
		}
		self[key] += dt
		total += dt
	}
	keys := make([]string, 0, len(self))
	for k := range self {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(self[b], self[a]) })
	var out []string
	for _, k := range keys[:min(n, len(keys))] {
		out = append(out, fmt.Sprintf("%5.1f%% %7.0f ms  %s", 100*float64(self[k])/float64(max(total, 1)), float64(self[k])/1e3, k))
	}
	return out
}
