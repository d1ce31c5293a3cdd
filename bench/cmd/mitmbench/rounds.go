package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Rounds (-rounds N) repeat every run N times, the targets taking turns.
// On a shared machine the speed available to a run drifts by tens of
// percent within seconds; a proxy measured long after its direct run
// inherits that drift as its ratio. Comparing each proxied run with the
// direct run of the same round, and taking the median over the rounds,
// leaves the drift out.

// runGroup is the runs of one target in one scenario with one body, in
// round order.
type runGroup struct {
	target     string
	ok, failed []row
}

// groupRuns gathers the measured runs of scenario sc with body b by target,
// the targets in the order of their first run.
func groupRuns(rows []row, sc, b string) []runGroup {
	var groups []runGroup
	for _, r := range rows {
		if r.scenario != sc || r.body != b || r.note != "" {
			continue
		}
		i := slices.IndexFunc(groups, func(g runGroup) bool { return g.target == r.target })
		if i < 0 {
			groups = append(groups, runGroup{target: r.target})
			i = len(groups) - 1
		}
		if r.err != nil {
			groups[i].failed = append(groups[i].failed, r)
		} else {
			groups[i].ok = append(groups[i].ok, r)
		}
	}
	// Direct first, whichever target opened the first round.
	slices.SortStableFunc(groups, func(a, b runGroup) int {
		switch {
		case a.target == "direct" && b.target != "direct":
			return -1
		case b.target == "direct" && a.target != "direct":
			return 1
		}
		return 0
	})
	return groups
}

// directRuns maps each round to its successful direct run of scenario sc
// with body b.
func directRuns(rows []row, sc, b string) map[int]*loadResult {
	m := map[int]*loadResult{}
	for _, r := range rows {
		if r.target == "direct" && r.scenario == sc && r.body == b && r.err == nil && r.note == "" {
			m[r.round] = r.res
		}
	}
	return m
}

// aggregated is one report line: medians over a target's rounds.
type aggregated struct {
	rps      float64
	p50, p99 time.Duration
	// The ratios are medians of each round's ratio against that round's
	// direct run; NaN-free: zero when no round had a direct run.
	rpsRatio, p50Ratio, p99Ratio float64
	rpsRatios                    []float64
	requests, errors             int64
	cpu                          time.Duration
	hasCPU                       bool
}

func aggregate(runs []row, direct map[int]*loadResult) aggregated {
	var a aggregated
	var rps, p50s, p99s, p50r, p99r []float64
	a.hasCPU = true
	for _, r := range runs {
		res := r.res
		rps = append(rps, res.rps())
		p50s = append(p50s, float64(res.percentile(50)))
		p99s = append(p99s, float64(res.percentile(99)))
		a.requests += res.requests
		a.errors += res.errors
		a.cpu += res.proxyCPU
		a.hasCPU = a.hasCPU && res.hasCPU
		d := direct[r.round]
		if d == nil || d.rps() == 0 || d.percentile(50) == 0 || d.percentile(99) == 0 {
			continue
		}
		a.rpsRatios = append(a.rpsRatios, res.rps()/d.rps())
		p50r = append(p50r, float64(res.percentile(50))/float64(d.percentile(50)))
		p99r = append(p99r, float64(res.percentile(99))/float64(d.percentile(99)))
	}
	a.rps = median(rps)
	a.p50 = time.Duration(median(p50s))
	a.p99 = time.Duration(median(p99s))
	a.rpsRatio = median(a.rpsRatios)
	a.p50Ratio = median(p50r)
	a.p99Ratio = median(p99r)
	return a
}

// median of vs, 0 for none; with an even count, the mean of the middle two.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func fmtRatio(r float64) string {
	if r == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", r)
}

// joinRatios lists each round's ratio and their median.
func joinRatios(rs []float64) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%.2f", r)
	}
	return fmt.Sprintf("%s (median %.2f)", strings.Join(parts, " "), median(rs))
}
