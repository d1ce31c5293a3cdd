package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitmgo/mitmgo/bench/internal/benchkit"
)

// soakKind is one kind of work in the soak's mixed load.
type soakKind struct{ name, what string }

// soakKinds are the soak's kinds of work: worker i does soakKinds[i %
// len(soakKinds)], so -c 32 gives four workers each.
var soakKinds = []soakKind{
	{"http keep-alive", "GET /small on one connection, every 16th GET /large"},
	{"https keep-alive", "the same over CONNECT and TLS"},
	{"http new conn", "a new connection per request (Connection: close)"},
	{"https new conn", "a new connection, CONNECT and a full TLS handshake per request"},
	{"large download", "GET /large (64 KiB) on one connection; HTTP and HTTPS workers alternate"},
	{"large upload", "POST of 1 MiB on one connection; HTTP and HTTPS workers alternate"},
	{"aborted http", "the client closes (half of the time with a reset) before the response, in the middle of it, or in the middle of its request head"},
	{"aborted https", "the same through CONNECT and TLS, or closes after CONNECT before the TLS handshake"},
}

// uploadSize is the body of a large upload.
const uploadSize = 1 << 20

// soakCounters count one kind's work.
type soakCounters struct {
	ok, errs, aborted atomic.Int64
	mu                sync.Mutex
	lastErr           error
}

// soakKindStats are a kind's totals, for the report.
type soakKindStats struct {
	name                string
	ok, errors, aborted int64
	lastErr             string
}

// soakWorker does one kind of work until stop.
type soakWorker struct {
	cfg    loadConfig
	kind   int
	c      *soakCounters
	stop   *atomic.Bool
	upload []byte
}

func (w *soakWorker) fail(err error) {
	if w.stop.Load() {
		return // the soak is ending; not the proxy's failure
	}
	w.c.errs.Add(1)
	w.c.mu.Lock()
	w.c.lastErr = err
	w.c.mu.Unlock()
}

func (w *soakWorker) run() {
	switch w.kind {
	case 2, 3:
		w.newConns()
	case 6, 7:
		w.aborts()
	default:
		w.keepAlive()
	}
}

// requestFor is a request head for path through the proxy (absolute-form
// for plain HTTP), with a body of bodyLen bytes to follow.
func (cfg *loadConfig) requestFor(method, path string, bodyLen int, closeConn bool) string {
	target := path
	if cfg.viaProxy && cfg.tlsConfig == nil {
		target = "http://" + cfg.originAddr + path
	}
	req := method + " " + target + " HTTP/1.1\r\nHost: " + cfg.originAddr + "\r\nUser-Agent: mitmbench\r\n"
	if bodyLen > 0 {
		req += "Content-Type: application/octet-stream\r\nContent-Length: " + strconv.Itoa(bodyLen) + "\r\n"
	}
	if closeConn {
		req += "Connection: close\r\n"
	}
	return req + "\r\n"
}

// send writes a request head and body and reads the response.
func send(c net.Conn, br *bufio.Reader, head string, body []byte) (int64, error) {
	if _, err := io.WriteString(c, head); err != nil {
		return 0, err
	}
	if len(body) > 0 {
		if _, err := c.Write(body); err != nil {
			return 0, err
		}
	}
	return readResponse(br)
}

// keepAlive sends request after request on one connection, making a new
// one when the proxy closes it or a request fails.
func (w *soakWorker) keepAlive() {
	small := w.cfg.requestFor("GET", "/small", 0, false)
	large := w.cfg.requestFor("GET", "/large", 0, false)
	post := w.cfg.requestFor("POST", "/small", uploadSize, false)
	var c net.Conn
	var br *bufio.Reader
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for j := 0; !w.stop.Load(); j++ {
		if c == nil {
			var err error
			if c, br, err = w.cfg.dial(time.Now().Add(w.cfg.ioTimeout)); err != nil {
				c = nil
				w.fail(err)
				pause(w.stop)
				continue
			}
		}
		head, body := small, []byte(nil)
		switch {
		case w.kind == 4:
			head = large
		case w.kind == 5:
			head, body = post, w.upload
		case j%16 == 15:
			head = large
		}
		c.SetDeadline(time.Now().Add(w.cfg.ioTimeout))
		_, err := send(c, br, head, body)
		if err != nil && !errors.Is(err, errConnClose) {
			w.fail(err)
			c.Close()
			c = nil
			continue
		}
		w.c.ok.Add(1)
		if err != nil {
			c.Close()
			c = nil
		}
	}
}

// newConns makes a new connection for every request.
func (w *soakWorker) newConns() {
	req := w.cfg.requestFor("GET", "/small", 0, true)
	for !w.stop.Load() {
		c, br, err := w.cfg.dial(time.Now().Add(w.cfg.ioTimeout))
		if err != nil {
			w.fail(err)
			pause(w.stop)
			continue
		}
		_, err = roundTrip(c, br, req)
		c.Close()
		if err != nil && !errors.Is(err, errConnClose) {
			w.fail(err)
			continue
		}
		w.c.ok.Add(1)
	}
}

// aborts plays clients that go away: before the response, in the middle
// of it, or in the middle of the request (HTTPS: after CONNECT, before the
// handshake). Half of them reset the connection instead of closing it.
func (w *soakWorker) aborts() {
	large := w.cfg.requestFor("GET", "/large", 0, false)
	partial := w.cfg.requestFor("GET", "/small", 0, false)
	partial = partial[:len(partial)/2]
	buf := make([]byte, 1024)
	for j := 0; !w.stop.Load(); j++ {
		// Aborts cost the client nothing: without a pause they would
		// be most of the load, and use up local ports.
		time.Sleep(5 * time.Millisecond)
		deadline := time.Now().Add(w.cfg.ioTimeout)
		reset := j%2 == 0
		if j%3 == 2 {
			c, err := net.DialTimeout("tcp", w.cfg.target, w.cfg.ioTimeout)
			if err != nil {
				w.fail(err)
				pause(w.stop)
				continue
			}
			c.SetDeadline(deadline)
			if w.cfg.tlsConfig != nil {
				err = connectTunnel(c, w.cfg.originAddr)
			} else {
				_, err = io.WriteString(c, partial)
			}
			abortConn(c, reset)
			if err != nil {
				w.fail(err)
				continue
			}
			w.c.aborted.Add(1)
			continue
		}
		c, br, err := w.cfg.dial(deadline)
		if err != nil {
			w.fail(err)
			pause(w.stop)
			continue
		}
		_, err = io.WriteString(c, large)
		if err == nil && j%3 == 1 {
			_, err = io.ReadFull(br, buf)
		}
		abortConn(c, reset)
		if err != nil {
			w.fail(err)
			continue
		}
		w.c.aborted.Add(1)
	}
}

// abortConn closes c, with a reset (SO_LINGER 0) when reset is set.
func abortConn(c net.Conn, reset bool) {
	if reset {
		raw := c
		if nc, ok := c.(interface{ NetConn() net.Conn }); ok {
			raw = nc.NetConn()
		}
		if tc, ok := raw.(*net.TCPConn); ok {
			tc.SetLinger(0)
			tc.Close()
			return
		}
	}
	c.Close()
}

// measureSoak starts mt's proxy and drives the mixed load through it for
// -soak, reading its memory every -soak-every, then stops the load and
// follows the memory for -after-close.
func measureSoak(ctx context.Context, o options, org *origin, mt memTarget, stderr io.Writer) (r soakResult) {
	r = soakResult{target: mt.name}
	l, err := launch(ctx, o, mt)
	if err != nil {
		r.err = err
		return r
	}
	defer func() { r.dump = l.finish() }()
	r.limit, r.hasLimit = l.limit, l.limitErr == nil
	cfgs := [2]loadConfig{idleConfig(o, org, mt.roots, l.addr, idleHTTP), idleConfig(o, org, mt.roots, l.addr, idleHTTPS)}
	for _, cfg := range cfgs {
		c, err := dialIdle(cfg, time.Now().Add(o.ioTimeout))
		if err != nil {
			r.err = fmt.Errorf("warm-up request: %w", err)
			return r
		}
		c.Close()
	}
	if !sleepCtx(ctx, o.idleSettle) {
		r.err = ctx.Err()
		return r
	}
	counters := make([]soakCounters, len(soakKinds))
	var stop atomic.Bool
	var wg sync.WaitGroup
	upload := bytes.Repeat([]byte("u"), uploadSize)
	s0 := l.probe.sample()
	if s0.err != nil {
		r.err = fmt.Errorf("reading the proxy's memory: %w", s0.err)
		return r
	}
	r.samples, r.rates, r.errs = []memSample{s0}, []float64{-1}, []int64{0}
	began := time.Now()
	for i := range o.conns {
		kind := i % len(soakKinds)
		// HTTPS for the odd kinds; the large kinds alternate by worker.
		proto := kind % 2
		if kind == 4 || kind == 5 {
			proto = (i / len(soakKinds)) % 2
		}
		w := &soakWorker{cfg: cfgs[proto], kind: kind, c: &counters[kind], stop: &stop, upload: upload}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run()
		}()
	}
	totals := func() (ok, errs int64) {
		for i := range counters {
			ok += counters[i].ok.Load() + counters[i].aborted.Load()
			errs += counters[i].errs.Load()
		}
		return ok, errs
	}
	prevOK, prevErrs, prevAt := int64(0), int64(0), time.Duration(0)
	for at := min(o.soakEvery, o.soak); ; at = min(at+o.soakEvery, o.soak) {
		if !sleepCtx(ctx, time.Until(began.Add(at))) {
			break
		}
		s := l.probe.sample()
		s.at = at
		ok, errs := totals()
		r.samples = append(r.samples, s)
		r.rates = append(r.rates, float64(ok-prevOK)/(at-prevAt).Seconds())
		r.errs = append(r.errs, errs-prevErrs)
		prevOK, prevErrs, prevAt = ok, errs, at
		if at >= o.soak {
			break
		}
	}
	stop.Store(true)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(o.ioTimeout + 5*time.Second):
		fmt.Fprintf(stderr, "%s: soak workers still busy %v after the end\n", mt.name, o.ioTimeout+5*time.Second)
	}
	r.peakRSS = benchkit.TreePeakRSS(l.probe.pid)
	for i, k := range soakKinds {
		st := soakKindStats{name: k.name, ok: counters[i].ok.Load(), errors: counters[i].errs.Load(), aborted: counters[i].aborted.Load()}
		counters[i].mu.Lock()
		if counters[i].lastErr != nil {
			st.lastErr = errSummary(counters[i].lastErr)
		}
		counters[i].mu.Unlock()
		r.kinds = append(r.kinds, st)
	}
	if ctx.Err() != nil {
		r.err = ctx.Err()
		return r
	}
	r.after, r.originOpen = sampleAfter(ctx, l.probe, org, o.afterClose, o.sampleEvery)
	return r
}
