package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Scenarios: how the load generator talks to the origin.
const (
	// scenarioHTTP is plain HTTP over keep-alive connections.
	scenarioHTTP = "http"
	// scenarioHTTPS is HTTPS over keep-alive connections: one handshake
	// per connection, before the warm-up, then requests.
	scenarioHTTPS = "https"
	// scenarioHTTPSNewConn opens a new TLS connection for every request
	// (TCP, CONNECT through a proxy, a full handshake, one request,
	// close), so the handshakes dominate.
	scenarioHTTPSNewConn = "https-newconn"
)

// scenarios lists them in the order they run and are reported (scenarioH2
// is in h2client.go, scenarioWS in ws.go).
var scenarios = []string{scenarioHTTP, scenarioHTTPS, scenarioHTTPSNewConn, scenarioH2, scenarioWS}

// loadConfig describes one load run.
type loadConfig struct {
	// scenario is one of scenarios.
	scenario string
	// target is where connections go: the origin, or a proxy.
	target string
	// viaProxy sends absolute-form requests for plain HTTP, and CONNECT
	// before the handshake for HTTPS, as clients of a proxy do.
	viaProxy bool
	// originAddr is the origin's listener for this scenario (plain or TLS).
	originAddr string
	// tlsConfig is the client's TLS configuration, for the HTTPS
	// scenarios. It must have no ClientSessionCache, so that every new
	// connection pays for a full handshake.
	tlsConfig *tls.Config
	path      string
	conns     int
	// streams is the number of concurrent streams per connection in the
	// h2 scenario.
	streams     int
	duration    time.Duration
	warmup      time.Duration
	maxRequests int64
	// ioTimeout bounds every request (and, with a new connection per
	// request, the connect and handshake too), so a stuck proxy cannot
	// hang the run.
	ioTimeout time.Duration
	// cpu, if set, reports the proxy's CPU time so far; it is sampled when
	// the measured period begins and ends.
	cpu func() time.Duration
	// client selects the load generator: clientRaw (the harness's own
	// minimal HTTP/1.1 client), clientNetHTTP (net/http's Client),
	// clientWrk (wrk, run as wrkBin) or, in the h2 scenario, clientH2load
	// (h2load, run as h2loadBin); the h2 scenario's load generator is
	// otherwise runH2's.
	client    string
	wrkBin    string
	h2loadBin string
	// wsConnBytes is how many bytes of messages a connection of the ws
	// scenario sends before it is replaced (0: never; see runWS).
	wsConnBytes int64
}

// Load generators (-client).
const (
	clientRaw     = "raw"
	clientNetHTTP = "nethttp"
)

// clientKinds are the load generators -client accepts.
var clientKinds = []string{clientRaw, clientNetHTTP, clientWrk, clientH2load}

// clientDescriptions say what each load generator is, for the report.
var clientDescriptions = map[string]string{
	clientRaw:     "the harness's own HTTP/1.1 client, fastest",
	clientNetHTTP: "net/http's Client, one per worker",
	clientWrk:     "wrk, a load generator in C; latencies are its percentiles",
	clientH2load:  "nghttp2's load generator in C, through the harness's relay: a CONNECT tunnel per connection",
}

// netHTTPClient is a net/http client for one worker: through the proxy when
// there is one, a new connection per request for https-newconn.
func (cfg *loadConfig) netHTTPClient() *http.Client {
	tr := &http.Transport{
		TLSClientConfig:     cfg.tlsConfig,
		DisableCompression:  true,
		DisableKeepAlives:   cfg.scenario == scenarioHTTPSNewConn,
		MaxIdleConnsPerHost: 1,
		ForceAttemptHTTP2:   false,
	}
	if cfg.viaProxy {
		tr.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: cfg.target})
	}
	return &http.Client{Transport: tr, Timeout: cfg.ioTimeout}
}

// url is the address the net/http client asks for.
func (cfg *loadConfig) url() string {
	scheme := "http"
	if cfg.tlsConfig != nil {
		scheme = "https"
	}
	return scheme + "://" + cfg.originAddr + cfg.path
}

// netHTTPRoundTrip sends one request with c and reads the whole body.
func netHTTPRoundTrip(c *http.Client, u string) (int64, error) {
	resp, err := c.Get(u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %s", resp.Status)
	}
	return n, err
}

// loadResult is what a run measured (warm-up excluded).
type loadResult struct {
	requests  int64
	errors    int64
	elapsed   time.Duration
	latencies []time.Duration
	// pcts are percentiles when there are no latencies (wrk reports
	// only those).
	pcts  map[float64]time.Duration
	bytes int64
	// alpn counts the connections by the protocol agreed on with
	// whatever the client talked TLS to (h2 scenario; valid when
	// hasALPN).
	alpn    alpnCounts
	hasALPN bool
	// proxyCPU is the proxy's CPU time during the measured period; valid
	// when hasCPU.
	proxyCPU time.Duration
	hasCPU   bool
}

func (r *loadResult) rps() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.requests) / r.elapsed.Seconds()
}

// percentile returns the p-th percentile (0-100) of the latencies.
func (r *loadResult) percentile(p float64) time.Duration {
	if r.pcts != nil {
		return r.pcts[p]
	}
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.latencies)-1) * p / 100)
	return r.latencies[i]
}

// request is the request the scenario sends, always for the same path.
func (cfg *loadConfig) request() string {
	target := cfg.path
	if cfg.viaProxy && cfg.scenario == scenarioHTTP {
		target = "http://" + cfg.originAddr + cfg.path
	}
	req := "GET " + target + " HTTP/1.1\r\nHost: " + cfg.originAddr + "\r\nUser-Agent: mitmbench\r\n"
	if cfg.scenario == scenarioHTTPSNewConn {
		// Tell the servers too: they may close without waiting.
		req += "Connection: close\r\n"
	}
	return req + "\r\n"
}

// dial opens one connection ready for requests: TCP, then for HTTPS a
// CONNECT through the proxy and the TLS handshake. Everything must be done
// by deadline.
func (cfg *loadConfig) dial(deadline time.Time) (net.Conn, *bufio.Reader, error) {
	c, err := net.DialTimeout("tcp", cfg.target, time.Until(deadline))
	if err != nil {
		return nil, nil, err
	}
	c.SetDeadline(deadline)
	if cfg.tlsConfig == nil {
		return c, bufio.NewReaderSize(c, 64<<10), nil
	}
	if cfg.viaProxy {
		if err := connectTunnel(c, cfg.originAddr); err != nil {
			c.Close()
			return nil, nil, err
		}
	}
	tc := tls.Client(c, cfg.tlsConfig)
	if err := tc.Handshake(); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("TLS handshake with %s: %w", cfg.target, err)
	}
	return tc, bufio.NewReaderSize(tc, 64<<10), nil
}

// connectTunnel asks the proxy on c for a tunnel to addr and reads its
// answer, which must be a 2xx.
func connectTunnel(c net.Conn, addr string) error {
	if _, err := io.WriteString(c, "CONNECT "+addr+" HTTP/1.1\r\nHost: "+addr+"\r\nUser-Agent: mitmbench\r\n\r\n"); err != nil {
		return fmt.Errorf("CONNECT: %w", err)
	}
	br := bufio.NewReaderSize(c, 4096)
	line, err := br.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("CONNECT: %w", err)
	}
	if len(line) < 12 || line[9] != '2' {
		return fmt.Errorf("%w: CONNECT answered %q", errBadResponse, strings.TrimSpace(string(line)))
	}
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("CONNECT: %w", err)
		}
		if len(h) <= 2 {
			break
		}
	}
	// The server speaks only after our ClientHello; anything already
	// here would be lost with br.
	if br.Buffered() > 0 {
		return fmt.Errorf("%w: data after the CONNECT response", errBadResponse)
	}
	return nil
}

// runLoad drives cfg.conns workers as fast as the target answers, for the
// warm-up and then cfg.duration, or until cfg.maxRequests measured requests
// are done. Keep-alive workers connect (and shake hands) before the warm-up
// starts; with a new connection per request, a request's latency covers
// connect, CONNECT, handshake, request and response.
func runLoad(ctx context.Context, cfg loadConfig) (*loadResult, error) {
	if cfg.client == clientWrk {
		return runWrk(ctx, cfg, cfg.wrkBin)
	}
	if cfg.scenario == scenarioWS {
		return runWS(ctx, cfg)
	}
	if cfg.scenario == scenarioH2 {
		if cfg.client == clientH2load {
			return runH2load(ctx, cfg)
		}
		return runH2(ctx, cfg)
	}
	req := cfg.request()
	newConn := cfg.scenario == scenarioHTTPSNewConn
	r := newLoadRun(&cfg)
	worker := func() {
		defer r.wg.Done()
		var lat []time.Duration
		var n, nb int64
		var c net.Conn
		var br *bufio.Reader
		defer func() {
			if c != nil {
				c.Close()
			}
			r.add(lat, n, nb)
		}()
		record := func(measured bool, start time.Time, size int64) {
			if measured && r.measuring.Load() {
				lat = append(lat, time.Since(start))
				n++
				nb += size
			}
		}
		// each sends requests with do, each on its own, until the run
		// stops; a failure that is not the request's own (a dial) pauses.
		each := func(do func() (size int64, pauseAfter bool, err error)) {
			r.ready.Done()
			for !r.stop.Load() {
				measured := r.measuring.Load()
				if !r.claim(measured) {
					return
				}
				start := time.Now()
				size, pauseAfter, err := do()
				if err != nil {
					r.fail(err)
					if pauseAfter {
						pause(&r.stop)
					}
					continue
				}
				record(measured, start, size)
			}
		}
		if cfg.client == clientNetHTTP {
			hc := cfg.netHTTPClient()
			defer hc.CloseIdleConnections()
			u := cfg.url()
			each(func() (int64, bool, error) {
				size, err := netHTTPRoundTrip(hc, u)
				return size, true, err
			})
			return
		}
		if newConn {
			each(func() (int64, bool, error) {
				nc, nbr, err := cfg.dial(time.Now().Add(cfg.ioTimeout))
				if err != nil {
					return 0, true, err
				}
				size, err := roundTrip(nc, nbr, req)
				nc.Close()
				if errors.Is(err, errConnClose) {
					err = nil
				}
				return size, false, err
			})
			return
		}
		first := true
		for !r.stop.Load() {
			if c == nil {
				var err error
				c, br, err = cfg.dial(time.Now().Add(cfg.ioTimeout))
				if r.dialed(&first, err) {
					c = nil
					continue
				}
			}
			measured := r.measuring.Load()
			if !r.claim(measured) {
				return
			}
			start := time.Now()
			c.SetDeadline(start.Add(cfg.ioTimeout))
			size, err := roundTrip(c, br, req)
			if err != nil && !errors.Is(err, errConnClose) {
				r.fail(err)
				c.Close()
				c = nil
				continue
			}
			record(measured, start, size)
			if err != nil { // the server closes; the next request needs a new connection
				c.Close()
				c = nil
			}
		}
	}
	res := r.run(ctx, worker, nil)
	return res, r.noneErr(res, "request to "+cfg.target+" succeeded")
}

// loadRun is what the workers of a load generator (runLoad, runH2, runWS)
// share: the run's phase, the requests claimed and the errors, and what
// the workers measured, which each adds when it ends.
type loadRun struct {
	cfg       *loadConfig
	measuring atomic.Bool
	stop      atomic.Bool
	claimed   atomic.Int64
	errCount  atomic.Int64
	wg        sync.WaitGroup
	// ready counts the workers down to the warm-up: each is done once its
	// first connection is made (or failed).
	ready sync.WaitGroup
	// mu guards what follows, and what a generator guards with it.
	mu      sync.Mutex
	all     []time.Duration
	total   int64
	totalB  int64
	lastErr error
}

func newLoadRun(cfg *loadConfig) *loadRun { return &loadRun{cfg: cfg} }

// fail counts an error, unless the run is stopping (a request cut off by
// the end of the run is not the target's failure).
func (r *loadRun) fail(err error) {
	if r.stop.Load() {
		return
	}
	r.errCount.Add(1)
	r.mu.Lock()
	r.lastErr = err
	r.mu.Unlock()
}

// claim reports whether one more request may start.
func (r *loadRun) claim(measured bool) bool {
	if measured && r.cfg.maxRequests > 0 && r.claimed.Add(1) > r.cfg.maxRequests {
		r.stop.Store(true)
		return false
	}
	return true
}

// dialed follows a worker's dial, which returned err: the worker's first
// dial makes it ready (*first is then false); a failed one is counted and
// pauses. It reports whether the dial failed.
func (r *loadRun) dialed(first *bool, err error) bool {
	if *first {
		*first = false
		r.ready.Done()
	}
	if err != nil {
		r.fail(err)
		pause(&r.stop)
		return true
	}
	return false
}

// add adds a worker's measured latencies, requests and bytes.
func (r *loadRun) add(lat []time.Duration, n, nb int64) {
	r.mu.Lock()
	r.all = append(r.all, lat...)
	r.total += n
	r.totalB += nb
	r.mu.Unlock()
}

// run starts cfg.conns workers, which call wg.Done when they return and
// ready.Done once ready; waits for the warm-up and the measured period
// (cfg.measure); stops the run, calling stopping (if not nil) under mu
// as it does; and returns once every worker has, with what they measured.
func (r *loadRun) run(ctx context.Context, worker func(), stopping func()) *loadResult {
	cfg := r.cfg
	r.wg.Add(cfg.conns)
	r.ready.Add(cfg.conns)
	for range cfg.conns {
		go worker()
	}
	elapsed, cpu, done := cfg.measure(ctx, &r.ready, &r.wg, &r.errCount, &r.measuring)
	r.mu.Lock()
	r.stop.Store(true)
	if stopping != nil {
		stopping()
	}
	r.mu.Unlock()
	<-done
	slices.Sort(r.all)
	return &loadResult{requests: r.total, errors: r.errCount.Load(), elapsed: min(elapsed, cfg.duration), latencies: r.all, bytes: r.totalB,
		proxyCPU: cpu, hasCPU: cfg.cpu != nil && cpu >= 0}
}

// noneErr is the error of a run whose result res counts no request: "no
// " + what, the number of errors and the last one.
func (r *loadRun) noneErr(res *loadResult, what string) error {
	if res.requests != 0 {
		return nil
	}
	if r.lastErr != nil {
		return fmt.Errorf("no %s (%d errors, last: %w)", what, res.errors, r.lastErr)
	}
	return fmt.Errorf("no %s (%d errors)", what, res.errors)
}

// pause keeps a worker whose connection failed from spinning, unless the
// run is stopping.
func pause(stop *atomic.Bool) {
	if !stop.Load() {
		time.Sleep(10 * time.Millisecond)
	}
}

var (
	errBadResponse = errors.New("bad response")
	// errConnClose follows a complete response after which the server
	// closes the connection (Connection: close): the response counts,
	// the connection is done.
	errConnClose = errors.New("server closes the connection")
)

// roundTrip sends one request and reads the whole response, returning the
// body size.
func roundTrip(c net.Conn, br *bufio.Reader, req string) (int64, error) {
	if _, err := io.WriteString(c, req); err != nil {
		return 0, err
	}
	return readResponse(br)
}

// readResponse reads one whole response, which must be a 200, returning
// the body size; errConnClose says the server closes after it.
func readResponse(br *bufio.Reader) (int64, error) {
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
		err = errConnClose
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

// measure runs a load's measured period once its workers are ready: it
// waits for ready (or ctx), then the warm-up, resets errCount, turns
// measuring on for cfg.duration (or until every worker is done), and
// returns how long it measured, the proxy's CPU time in that period
// (when cfg.cpu reads it), and a channel closed once every worker is done.
func (cfg *loadConfig) measure(ctx context.Context, ready, wg *sync.WaitGroup, errCount *atomic.Int64, measuring *atomic.Bool) (elapsed, cpu time.Duration, done <-chan struct{}) {
	readyCh := make(chan struct{})
	go func() { ready.Wait(); close(readyCh) }()
	select {
	case <-readyCh:
	case <-ctx.Done():
	}
	select {
	case <-time.After(cfg.warmup):
	case <-ctx.Done():
	}
	errCount.Store(0)
	var cpu0 time.Duration
	if cfg.cpu != nil {
		cpu0 = cfg.cpu()
	}
	measuring.Store(true)
	began := time.Now()
	deadline := time.NewTimer(cfg.duration)
	defer deadline.Stop()
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	select {
	case <-deadline.C:
	case <-ctx.Done():
	case <-all:
	}
	measuring.Store(false)
	elapsed = time.Since(began)
	if cfg.cpu != nil {
		cpu = cfg.cpu() - cpu0
	}
	return elapsed, cpu, all
}
