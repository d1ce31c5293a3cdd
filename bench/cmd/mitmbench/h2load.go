package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clientH2load is h2load (nghttp2's load generator, Debian's package
// nghttp2-client), an alternative load generator for the h2 scenario. It
// costs less CPU per request than the Go client, so more of the machine is
// left to the origin and the proxy.
//
// h2load has no HTTP proxy support: it connects to the URI's authority, or
// to --connect-to's, and speaks TLS there. So the harness gives it a relay
// on loopback (connectRelay): h2load connects to the relay, which opens a
// tunnel through the proxy (CONNECT to the origin's h2 listener) for each
// connection and then copies bytes both ways; h2load's TLS runs end to end
// through it, with the proxy. Direct runs go through the same relay, with
// a plain TCP connection to the origin instead of a tunnel, so that both
// sides of a ratio pay for the same extra loopback hop.
const clientH2load = "h2load"

// runH2load runs h2load once: -warmup (h2load's --warm-up-time), then -d
// (its -D), with cfg.conns connections (-c) of cfg.streams streams (-m).
// Before it, one Go handshake through the same path finds the protocol the
// target agrees on in ALPN: h2 gets h2load offering h2 only; anything else
// (a proxy that downgrades) gets h2load speaking HTTP/1.1 with one request
// at a time per connection (--h1 -m 1), as the Go client does, instead of
// h2load's usual fallback, which pipelines -m requests.
func runH2load(ctx context.Context, cfg loadConfig) (*loadResult, error) {
	bin := cfg.h2loadBin
	if bin == "" {
		bin = clientH2load
	}
	probe, proto, err := cfg.dialH2(time.Now().Add(cfg.ioTimeout))
	if err != nil {
		return nil, fmt.Errorf("before h2load: %w", err)
	}
	probe.Close()
	relay, err := startRelay(cfg)
	if err != nil {
		return nil, err
	}
	defer relay.close()
	dir, err := os.MkdirTemp("", "mitmbench-h2load")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	logFile := filepath.Join(dir, "requests.log")
	args := h2loadArgs(cfg, proto, relay.addr(), logFile)

	// A run ends by itself after the warm-up and -d; the timeout only
	// guards against an h2load that does not.
	runCtx, cancel := context.WithTimeout(ctx, cfg.warmup+cfg.duration+2*cfg.ioTimeout+10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(runCtx, bin, args...)
	// Standard error has a buffer of its own: exec copies into it on
	// another goroutine while this one reads standard output.
	var out, errOut bytes.Buffer
	cmd.Stderr = &errOut
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", bin, err)
	}
	// h2load says when each thread's measured period starts and ends;
	// the proxy's CPU time is read at the first start and the last end.
	threads := h2loadThreads(cfg.conns)
	var cpu0, cpu1 time.Duration
	started, over := false, 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		switch {
		case strings.HasPrefix(line, "Main benchmark duration is started") && !started:
			started = true
			if cfg.cpu != nil {
				cpu0 = cfg.cpu()
			}
		case strings.HasPrefix(line, "Main benchmark duration is over"):
			if over++; over == threads && cfg.cpu != nil {
				cpu1 = cfg.cpu()
			}
		}
	}
	io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	out.Write(errOut.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w\n%s", bin, strings.Join(args, " "), err, out.Bytes())
	}
	rep, err := parseH2load(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("reading h2load's report: %w\n%s", err, out.Bytes())
	}
	logData, err := os.ReadFile(logFile)
	if err != nil {
		return nil, fmt.Errorf("h2load's request log: %w", err)
	}
	reqs, err := parseH2loadLog(logData)
	if err != nil {
		return nil, fmt.Errorf("h2load's request log: %w", err)
	}
	// The counts are h2load's own, which its req/s is made of: those
	// that succeeded (a response below 400) less redirections; failed
	// ones (reset streams, lost connections, responses of 400 and above)
	// and redirections are errors. The log gives the latencies of the
	// 200s; it may hold a few more than the report's count, responses
	// that ended as the run stopped.
	res := &loadResult{requests: max(0, rep.succeeded-rep.status[1]), errors: rep.failed + rep.status[1],
		elapsed: cfg.duration, latencies: reqs.latencies, hasALPN: true}
	if res.requests > 0 && len(res.latencies) == 0 {
		return nil, fmt.Errorf("h2load reports %d requests, its log none with status 200\n%s", res.requests, out.Bytes())
	}
	res.proxyCPU, res.hasCPU = cpu1-cpu0, cfg.cpu != nil && started && over == threads && cpu1 >= cpu0
	// h2load reports the protocol of its first connection; every other
	// one went the same way to the same target.
	agreed := rep.protocol
	if agreed == "" {
		agreed = proto
	}
	for range cfg.conns {
		res.alpn.add(agreed)
	}
	if n := relay.failures(); n > 0 {
		res.errors += n
	}
	if res.requests == 0 {
		msg := fmt.Sprintf("no request to %s succeeded (%d errors; the target agreed on ALPN %q", cfg.target, res.errors, proto)
		if err := relay.lastError(); err != nil {
			msg += fmt.Sprintf("; relay: %v", err)
		}
		return res, fmt.Errorf("%s)\n%s", msg, out.Bytes())
	}
	return res, nil
}

// h2loadThreads is h2load's -t: a thread per CPU, at most one per
// connection.
func h2loadThreads(conns int) int { return max(1, min(conns, runtime.NumCPU())) }

// h2loadArgs are h2load's arguments for cfg, when the target agreed on
// proto in ALPN: URIs name the origin (the :authority the origin sees),
// connections go to the relay.
func h2loadArgs(cfg loadConfig, proto, relayAddr, logFile string) []string {
	ms := func(d time.Duration) string { return strconv.FormatInt(max(1, d.Milliseconds()), 10) + "ms" }
	args := []string{
		"-c", strconv.Itoa(cfg.conns), "-t", strconv.Itoa(h2loadThreads(cfg.conns)),
		// No -N (inactivity timeout): h2load 1.52 can abort on an
		// assertion in libev when it fires; at the end of -D it stops
		// every connection anyway, and runH2load's own timeout guards
		// the rest.
		"-D", ms(cfg.duration),
		"--log-file", logFile, "--connect-to", relayAddr,
		"-H", "user-agent: mitmbench",
	}
	if cfg.warmup > 0 {
		args = append(args, "--warm-up-time", ms(cfg.warmup))
	}
	if proto == "h2" {
		args = append(args, "-m", strconv.Itoa(max(1, cfg.streams)), "--npn-list", "h2")
	} else {
		args = append(args, "-m", "1", "--h1")
	}
	return append(args, "https://"+cfg.originAddr+cfg.path)
}

// h2loadReport is what runH2load reads from h2load's report.
type h2loadReport struct {
	// protocol is the "Application protocol" h2load agreed on (on its
	// first connection); "" when it printed none (no connection got that
	// far).
	protocol string
	// The "requests:" line: all of them, those that got a response (of
	// any status), those with a response below 400, and those that
	// failed (errors, timeouts, responses of 400 and above).
	total, done, succeeded, failed, errored, timeout int64
	// status counts the responses by class: 2xx, 3xx, 4xx, 5xx.
	status [4]int64
}

var (
	h2loadProto    = regexp.MustCompile(`(?m)^Application protocol: (\S+)\s*$`)
	h2loadRequests = regexp.MustCompile(`(?m)^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout\s*$`)
	h2loadStatus   = regexp.MustCompile(`(?m)^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx\s*$`)
)

// parseH2load reads h2load's report (its standard output).
func parseH2load(out []byte) (*h2loadReport, error) {
	m := h2loadRequests.FindSubmatch(out)
	if m == nil {
		return nil, errors.New(`no "requests: N total, ..." line`)
	}
	var n [7]int64
	for i := range n {
		v, err := strconv.ParseInt(string(m[i+1]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("requests line: %w", err)
		}
		n[i] = v
	}
	r := &h2loadReport{total: n[0], done: n[2], succeeded: n[3], failed: n[4], errored: n[5], timeout: n[6]}
	s := h2loadStatus.FindSubmatch(out)
	if s == nil {
		return nil, errors.New(`no "status codes:" line`)
	}
	for i := range r.status {
		v, err := strconv.ParseInt(string(s[i+1]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("status codes line: %w", err)
		}
		r.status[i] = v
	}
	if p := h2loadProto.FindSubmatch(out); p != nil {
		r.protocol = string(p[1])
	}
	return r, nil
}

// h2loadRequestLog is h2load's --log-file, which lists the requests of the
// measured period: start time, status (-1 for a failed stream),
// microseconds to the end of the response.
type h2loadRequestLog struct {
	// ok counts the responses with status 200, latencies their times,
	// sorted; other counts the rest, failed streams included.
	ok, other int64
	latencies []time.Duration
}

// maxH2loadLatency bounds a logged time, so that a corrupt line cannot
// overflow a Duration.
const maxH2loadLatency = int64(24 * time.Hour / time.Microsecond)

// parseH2loadLog reads h2load's --log-file.
func parseH2loadLog(data []byte) (*h2loadRequestLog, error) {
	r := &h2loadRequestLog{}
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 3 {
			return nil, fmt.Errorf("line %d: %d columns, want 3: %q", i+1, len(f), line)
		}
		status, err1 := strconv.Atoi(f[1])
		us, err2 := strconv.ParseInt(f[2], 10, 64)
		if err := errors.Join(err1, err2); err != nil || us < -1 || us > maxH2loadLatency {
			return nil, fmt.Errorf("line %d: %q", i+1, line)
		}
		if status == 200 {
			if us < 0 {
				return nil, fmt.Errorf("line %d: %q", i+1, line)
			}
			r.ok++
			r.latencies = append(r.latencies, time.Duration(us)*time.Microsecond)
		} else {
			r.other++
		}
	}
	slices.Sort(r.latencies)
	return r, nil
}

// connectRelay gives h2load a way through a proxy: every connection it
// accepts becomes a CONNECT tunnel through cfg.target to cfg.originAddr
// (or, for a direct run, a TCP connection to the origin), and then bytes are
// copied both ways (with splice(2) on Linux, TCP to TCP). The TLS inside is
// h2load's with the proxy.
type connectRelay struct {
	connServer
	cfg     loadConfig
	nFailed int64 // under mu
	lastErr error
}

func startRelay(cfg loadConfig) (*connectRelay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("relay for h2load: %w", err)
	}
	r := &connectRelay{cfg: cfg}
	r.start(ln, r.handle)
	return r, nil
}

func (r *connectRelay) fail(err error) {
	r.mu.Lock()
	if !r.closing() {
		r.nFailed++
		r.lastErr = err
	}
	r.mu.Unlock()
}

func (r *connectRelay) failures() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nFailed
}

func (r *connectRelay) lastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

func (r *connectRelay) handle(c net.Conn) {
	to := r.cfg.originAddr
	if r.cfg.viaProxy {
		to = r.cfg.target
	}
	up, err := net.DialTimeout("tcp", to, r.cfg.ioTimeout)
	if err != nil {
		r.fail(err)
		return
	}
	if !r.track(up) {
		return
	}
	defer r.untrack(up)
	if r.cfg.viaProxy {
		up.SetDeadline(time.Now().Add(r.cfg.ioTimeout))
		if err := connectTunnel(up, r.cfg.originAddr); err != nil {
			r.fail(err)
			return
		}
		up.SetDeadline(time.Time{})
	}
	done := make(chan struct{})
	go func() {
		io.Copy(up, c)
		if tc, ok := up.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		close(done)
	}()
	io.Copy(c, up)
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	<-done
}
