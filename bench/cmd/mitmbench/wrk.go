package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// clientWrk is wrk (https://github.com/wg/wrk, Debian's package wrk), a
// load generator written in C: it costs far less CPU per request than
// either Go client, so more of the machine is left to the origin and the
// proxy, as when a proxy's clients are on other machines. It speaks plain
// HTTP only here (it has no CONNECT), so it drives the http scenario.
const clientWrk = "wrk"

// runWrk runs wrk for the warm-up and then for the measured period, each a
// separate run (wrk reports only at its end). Through a proxy a Lua script
// makes its requests absolute-form, for the origin.
func runWrk(ctx context.Context, cfg loadConfig, bin string) (*loadResult, error) {
	if cfg.scenario != scenarioHTTP {
		return nil, fmt.Errorf("wrk drives the %s scenario only", scenarioHTTP)
	}
	if bin == "" {
		bin = "wrk"
	}
	dir, err := os.MkdirTemp("", "mitmbench-wrk")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "request.lua")
	lua := "-- written by mitmbench\n"
	if cfg.viaProxy {
		// As a client configured with a proxy sends it.
		lua += fmt.Sprintf("wrk.path = %q\nwrk.headers[\"Host\"] = %q\n", "http://"+cfg.originAddr+cfg.path, cfg.originAddr)
	}
	if err := os.WriteFile(script, []byte(lua), 0o600); err != nil {
		return nil, err
	}
	threads := min(cfg.conns, runtime.NumCPU())
	run := func(d time.Duration) ([]byte, error) {
		// wrk takes whole seconds; a run is at least one.
		secs := max(1, int(math.Ceil(d.Seconds())))
		args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(cfg.conns), "-d", strconv.Itoa(secs) + "s",
			"--timeout", strconv.Itoa(max(1, int(math.Ceil(cfg.ioTimeout.Seconds())))) + "s",
			"--latency", "-s", script, "http://" + cfg.target + cfg.path}
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.WaitDelay = 5 * time.Second
		err := cmd.Run()
		if err != nil {
			return out.Bytes(), fmt.Errorf("%s %s: %w\n%s", bin, strings.Join(args, " "), err, out.Bytes())
		}
		return out.Bytes(), nil
	}
	if cfg.warmup > 0 {
		if _, err := run(cfg.warmup); err != nil {
			return nil, err
		}
	}
	var cpu0, cpu1 time.Duration
	if cfg.cpu != nil {
		cpu0 = cfg.cpu()
	}
	out, err := run(cfg.duration)
	if cfg.cpu != nil {
		cpu1 = cfg.cpu()
	}
	if err != nil {
		return nil, err
	}
	res, err := parseWrk(out)
	if err != nil {
		return nil, fmt.Errorf("reading wrk's report: %w\n%s", err, out)
	}
	// wrk's own run is the measured period; the CPU time around it also
	// holds wrk's start and its connections being made (milliseconds).
	res.proxyCPU, res.hasCPU = cpu1-cpu0, cfg.cpu != nil && cpu1 >= cpu0
	if res.requests == 0 {
		return res, fmt.Errorf("no request to %s succeeded (%d errors)", cfg.target, res.errors)
	}
	return res, nil
}

var (
	wrkTotal   = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m),`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|75|90|99)%\s+([0-9.]+)(us|ms|s|m)\s*$`)
	wrkNon2xx  = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses: (\d+)`)
	wrkSockErr = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads the report wrk prints with --latency. Responses with a
// status other than 2xx or 3xx, and socket errors, are errors.
func parseWrk(out []byte) (*loadResult, error) {
	m := wrkTotal.FindSubmatch(out)
	if m == nil {
		return nil, errors.New(`no "N requests in T" line`)
	}
	total, err := strconv.ParseInt(string(m[1]), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("request count %q: %w", m[1], err)
	}
	elapsed, err := wrkDuration(m[2], m[3])
	if err != nil {
		return nil, err
	}
	res := &loadResult{elapsed: elapsed, pcts: map[float64]time.Duration{}}
	for _, p := range wrkPct.FindAllSubmatch(out, -1) {
		pct, _ := strconv.ParseFloat(string(p[1]), 64)
		d, err := wrkDuration(p[2], p[3])
		if err != nil {
			return nil, err
		}
		res.pcts[pct] = d
	}
	if len(res.pcts) != 4 {
		return nil, errors.New("no latency distribution (wrk --latency)")
	}
	// wrk's total counts the responses it read, whatever their status;
	// socket errors are requests that got none.
	var non2xx int64
	if m := wrkNon2xx.FindSubmatch(out); m != nil {
		non2xx, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	res.requests = max(0, total-non2xx)
	res.errors = non2xx
	if m := wrkSockErr.FindSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(string(s), 10, 64)
			res.errors += n
		}
	}
	return res, nil
}

// wrkDuration reads "1.23" "ms" as wrk prints durations.
func wrkDuration(num, unit []byte) (time.Duration, error) {
	v, err := strconv.ParseFloat(string(num), 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("bad duration %q%s", num, unit)
	}
	scale := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute}[string(unit)]
	d := v * float64(scale)
	if d > math.MaxInt64 {
		return 0, fmt.Errorf("duration %q%s out of range", num, unit)
	}
	return time.Duration(d), nil
}
