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
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// scenarioH2 is HTTP/2 over TLS: -c connections, each made (through a
// proxy: CONNECT, then) with one handshake offering ALPN h2 and http/1.1
// before the warm-up, each carrying -streams concurrent streams, every
// stream sending its next request as soon as its response has been read.
const scenarioH2 = "h2"

// h2ClientTLS is the h2 scenario's TLS configuration: clientTLS's, offering
// h2 before http/1.1, as browsers do.
func h2ClientTLS(base *tls.Config) *tls.Config {
	c := base.Clone()
	c.NextProtos = h2Protos
	return c
}

// runH2 is the Go load generator of the h2 scenario, built on
// golang.org/x/net/http2: cfg.conns connections, each one (through a proxy,
// a CONNECT tunnel with) a TLS handshake offering h2 and http/1.1, made
// before the warm-up. On a connection that agreed on h2, cfg.streams
// goroutines send requests on one http2.ClientConn in a closed loop. A
// connection that did not (the proxy downgraded it) carries one request at
// a time, HTTP/1.1 keep-alive without pipelining, as a browser uses one;
// the result counts the connections by protocol, so that the report can
// say so rather than present HTTP/1.1 as HTTP/2. A connection that fails is
// made again.
func runH2(ctx context.Context, cfg loadConfig) (*loadResult, error) {
	streams := max(1, cfg.streams)
	// The connections are ours (TCP, CONNECT, TLS, and a look at what
	// ALPN agreed on before choosing HTTP/2 or HTTP/1.1): the Transport
	// only supplies the ClientConn's settings. Its NewClientConn is
	// deprecated in favour of net/http's, which dials by itself and would
	// hide the CONNECT and the ALPN outcome this scenario reports.
	tr := &http2.Transport{DisableCompression: true, TLSClientConfig: cfg.tlsConfig}
	url := "https://" + cfg.originAddr + cfg.path
	h1req := cfg.request()
	r := newLoadRun(&cfg)
	var (
		alpn alpnCounts
		// live are the open connections, closed when the run ends so
		// that no request outlives it.
		live = map[io.Closer]struct{}{}
	)
	// track registers c until untrack; false when the run is over.
	track := func(c io.Closer) bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.stop.Load() {
			return false
		}
		live[c] = struct{}{}
		return true
	}
	untrack := func(c io.Closer) {
		r.mu.Lock()
		delete(live, c)
		r.mu.Unlock()
		c.Close()
	}
	// stream is one sender: on an h2 connection, one of cfg.streams; on
	// an HTTP/1.1 one, the only one. It returns when the run stops or the
	// connection can take no more requests.
	type sender struct {
		lat    []time.Duration
		n, nb  int64
		record func(start time.Time, size int64)
	}
	newSender := func() *sender {
		s := &sender{}
		// A response counts when it ends within the measured period,
		// whenever its request began: with hundreds of requests in
		// flight, a slow target's latency is a large share of the run,
		// and counting only requests that both began and ended within
		// it would understate its throughput by that share.
		s.record = func(start time.Time, size int64) {
			if r.measuring.Load() {
				s.lat = append(s.lat, time.Since(start))
				s.n++
				s.nb += size
			}
		}
		return s
	}
	flush := func(s *sender) { r.add(s.lat, s.n, s.nb) }
	h2stream := func(cc *http2.ClientConn) {
		s := newSender()
		defer flush(s)
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			r.fail(err)
			return
		}
		req.Header.Set("User-Agent", "mitmbench")
		for !r.stop.Load() {
			measured := r.measuring.Load()
			if !r.claim(measured) {
				return
			}
			start := time.Now()
			rctx, cancel := context.WithTimeout(ctx, cfg.ioTimeout)
			size, err := h2RoundTrip(cc, req.WithContext(rctx))
			cancel()
			if err != nil {
				r.fail(err)
				if !cc.CanTakeNewRequest() {
					return
				}
				pause(&r.stop)
				continue
			}
			s.record(start, size)
		}
	}
	h1loop := func(c net.Conn) {
		s := newSender()
		defer flush(s)
		br := bufio.NewReaderSize(c, 64<<10)
		for !r.stop.Load() {
			measured := r.measuring.Load()
			if !r.claim(measured) {
				return
			}
			start := time.Now()
			c.SetDeadline(start.Add(cfg.ioTimeout))
			size, err := roundTrip(c, br, h1req)
			if err != nil && !errors.Is(err, errConnClose) {
				r.fail(err)
				return
			}
			s.record(start, size)
			if err != nil { // the server closes: a new connection
				return
			}
		}
	}
	// conn is one of the cfg.conns connections, made again when it fails.
	conn := func() {
		defer r.wg.Done()
		first := true
		for !r.stop.Load() {
			c, proto, err := cfg.dialH2(time.Now().Add(cfg.ioTimeout))
			if r.dialed(&first, err) {
				continue
			}
			r.mu.Lock()
			alpn.add(proto)
			r.mu.Unlock()
			if !track(c) {
				c.Close()
				return
			}
			if proto != "h2" {
				h1loop(c)
				untrack(c)
				continue
			}
			c.SetDeadline(time.Time{})
			cc, err := tr.NewClientConn(c)
			if err != nil {
				r.fail(fmt.Errorf("HTTP/2 connection through %s: %w", cfg.target, err))
				untrack(c)
				pause(&r.stop)
				continue
			}
			var sw sync.WaitGroup
			for range streams {
				sw.Go(func() { h2stream(cc) })
			}
			sw.Wait()
			cc.Close()
			untrack(c)
		}
	}
	res := r.run(ctx, conn, func() {
		for c := range live {
			c.Close() // ends the requests in flight, which are not measured
		}
	})
	res.alpn, res.hasALPN = alpn, true
	return res, r.noneErr(res, "request to "+cfg.target+" succeeded")
}

// h2RoundTrip sends req on cc and reads the whole body, which must come
// with status 200.
func h2RoundTrip(cc *http2.ClientConn, req *http.Request) (int64, error) {
	resp, err := cc.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%w: status %s", errBadResponse, resp.Status)
	}
	return n, err
}

// dialH2 makes one connection of the h2 scenario: TCP, through a proxy a
// CONNECT, then the TLS handshake, all by deadline (which stays set). It
// returns the protocol agreed on in ALPN.
func (cfg *loadConfig) dialH2(deadline time.Time) (net.Conn, string, error) {
	c, _, err := cfg.dial(deadline)
	if err != nil {
		return nil, "", err
	}
	return c, c.(*tls.Conn).ConnectionState().NegotiatedProtocol, nil
}

// add counts one connection that agreed on proto.
func (c *alpnCounts) add(proto string) {
	switch proto {
	case "h2":
		c.h2++
	case "http/1.1":
		c.h1++
	default:
		c.none++
	}
}

// total is the number of connections counted.
func (c alpnCounts) total() int64 { return c.h2 + c.h1 + c.none }
