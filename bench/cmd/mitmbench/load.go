package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadConfig describes one load run.
type loadConfig struct {
	// target is where connections go: the origin, or a proxy.
	target string
	// viaProxy sends absolute-form requests, as clients of a proxy do.
	viaProxy    bool
	originAddr  string
	path        string
	conns       int
	duration    time.Duration
	warmup      time.Duration
	maxRequests int64
	// ioTimeout bounds every request, so a stuck proxy cannot hang the run.
	ioTimeout time.Duration
}

// loadResult is what a run measured (warm-up excluded).
type loadResult struct {
	requests  int64
	errors    int64
	elapsed   time.Duration
	latencies []time.Duration
	bytes     int64
}

func (r *loadResult) rps() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.requests) / r.elapsed.Seconds()
}

// percentile returns the p-th percentile (0-100) of the latencies.
func (r *loadResult) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.latencies)-1) * p / 100)
	return r.latencies[i]
}

// runLoad drives cfg.conns keep-alive connections as fast as the target
// answers, for the warm-up and then cfg.duration, or until cfg.maxRequests
// measured requests are done.
func runLoad(ctx context.Context, cfg loadConfig) (*loadResult, error) {
	req := "GET " + cfg.path + " HTTP/1.1\r\nHost: " + cfg.originAddr + "\r\nUser-Agent: mitmbench\r\n\r\n"
	if cfg.viaProxy {
		req = "GET http://" + cfg.originAddr + cfg.path + " HTTP/1.1\r\nHost: " + cfg.originAddr + "\r\nUser-Agent: mitmbench\r\n\r\n"
	}
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		claimed   atomic.Int64
		errCount  atomic.Int64
		wg        sync.WaitGroup
		mu        sync.Mutex
		all       []time.Duration
		total     int64
		totalB    int64
	)
	worker := func() {
		defer wg.Done()
		var lat []time.Duration
		var n, nb int64
		var c net.Conn
		var br *bufio.Reader
		defer func() {
			if c != nil {
				c.Close()
			}
			mu.Lock()
			all = append(all, lat...)
			total += n
			totalB += nb
			mu.Unlock()
		}()
		for !stop.Load() {
			if c == nil {
				var err error
				c, err = net.DialTimeout("tcp", cfg.target, cfg.ioTimeout)
				if err != nil {
					errCount.Add(1)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				br = bufio.NewReaderSize(c, 64<<10)
			}
			measured := measuring.Load()
			if measured && cfg.maxRequests > 0 && claimed.Add(1) > cfg.maxRequests {
				stop.Store(true)
				return
			}
			start := time.Now()
			c.SetDeadline(start.Add(cfg.ioTimeout))
			size, err := roundTrip(c, br, req)
			if err != nil {
				if !stop.Load() {
					errCount.Add(1)
				}
				c.Close()
				c = nil
				continue
			}
			if measured && measuring.Load() {
				lat = append(lat, time.Since(start))
				n++
				nb += size
			}
		}
	}
	wg.Add(cfg.conns)
	for i := 0; i < cfg.conns; i++ {
		go worker()
	}
	select {
	case <-time.After(cfg.warmup):
	case <-ctx.Done():
	}
	errCount.Store(0)
	measuring.Store(true)
	began := time.Now()
	deadline := time.NewTimer(cfg.duration)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-deadline.C:
	case <-ctx.Done():
	case <-done:
	}
	measuring.Store(false)
	stop.Store(true)
	<-done
	elapsed := time.Since(began)
	if elapsed > cfg.duration {
		elapsed = cfg.duration
	}
	slices.Sort(all)
	res := &loadResult{requests: total, errors: errCount.Load(), elapsed: elapsed, latencies: all, bytes: totalB}
	if res.requests == 0 {
		return res, fmt.Errorf("no request to %s succeeded (%d errors)", cfg.target, res.errors)
	}
	return res, nil
}

var errBadResponse = errors.New("bad response")

// roundTrip sends one request and reads the whole response, returning the
// body size.
func roundTrip(c net.Conn, br *bufio.Reader, req string) (int64, error) {
	if _, err := io.WriteString(c, req); err != nil {
		return 0, err
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || string(line[9:12]) != "200" {
		return 0, fmt.Errorf("%w: %q", errBadResponse, strings.TrimSpace(string(line)))
	}
	length, chunked, closeAfter := int64(-1), false, false
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(h) <= 2 {
			break
		}
		name, value, _ := strings.Cut(string(h), ":")
		value = strings.TrimSpace(value)
		switch strings.ToLower(name) {
		case "content-length":
			length, _ = strconv.ParseInt(value, 10, 64)
		case "transfer-encoding":
			chunked = strings.Contains(strings.ToLower(value), "chunked")
		case "connection":
			closeAfter = strings.EqualFold(value, "close")
		}
	}
	var n int64
	switch {
	case chunked:
		n, err = readChunked(br)
	case length >= 0:
		var d int
		d, err = br.Discard(int(length))
		n = int64(d)
	default:
		return 0, fmt.Errorf("%w: no length", errBadResponse)
	}
	if err == nil && closeAfter {
		err = io.EOF // the next request needs a new connection
	}
	return n, err
}

func readChunked(br *bufio.Reader) (int64, error) {
	var total int64
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return total, err
		}
		sizeText, _, _ := strings.Cut(strings.TrimSpace(string(line)), ";")
		size, err := strconv.ParseInt(sizeText, 16, 64)
		if err != nil {
			return total, fmt.Errorf("%w: chunk size %q", errBadResponse, sizeText)
		}
		if size == 0 {
			for { // trailers
				t, err := br.ReadSlice('\n')
				if err != nil {
					return total, err
				}
				if len(t) <= 2 {
					return total, nil
				}
			}
		}
		if _, err := br.Discard(int(size) + 2); err != nil {
			return total, err
		}
		total += size
	}
}
