package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/mitmgo/mitmgo/bench/internal/benchkit"
	"github.com/mitmgo/mitmgo/flow"
)

// startOrigin starts a net/http origin on 127.0.0.1 answering every request
// with 200 and a short body; close stops it.
func startOrigin() (addr string, close func(), err error) {
	return benchkit.StartOrigin("webbench origin\n")
}

// sample is one request of a run: n is its number in the path, late how
// long after its due time it was sent (all workers busy), done the
// harness's clock when the client had read the whole response.
type sample struct {
	n     int
	late  time.Duration
	start time.Time
	done  time.Time
	err   error
}

// load sends n GET requests for http://origin/<prefix><i> through the
// proxy, open loop at rate per second (request i is due at start + i/rate,
// whether or not earlier ones have been answered), on up to workers
// keep-alive connections. A request that cannot start on time because all
// workers are busy starts late (sample.late): then the proxy does not keep
// up with the rate, and the report gives the rate it achieved.
func load(ctx context.Context, proxy, origin, prefix string, n, rate, workers int, timeout time.Duration) []sample {
	tr := &http.Transport{
		Proxy:               http.ProxyURL(&url.URL{Scheme: "http", Host: proxy}),
		MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers, DisableCompression: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: timeout}
	jobs := make(chan int, n)
	out := make([]sample, n)
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				s := sample{n: i, start: time.Now()}
				s.late = max(0, s.start.Sub(start.Add(time.Duration(i)*interval)))
				resp, err := client.Get("http://" + origin + prefix + strconv.Itoa(i))
				if err == nil {
					_, err = io.Copy(io.Discard, bufio.NewReader(resp.Body))
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				s.done, s.err = time.Now(), err
				out[i] = s
			}
		}()
	}
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			for j := i; j < n; j++ {
				out[j] = sample{n: j, err: ctx.Err()}
			}
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return out
}

// writeFlowFile writes n HTTP flows (GET and POST alternating, request
// path /f/<i>, response 200) as a flow file of the given format version
// (21 for mitmgo, 17 for mitmproxy 8.1.1) to path.
func writeFlowFile(path string, n, version int) error {
	client := benchkit.LoopbackClient()
	server := flow.NewServer(flow.Address{Host: "example.com", Port: 80})
	server.Peername = flow.Address{Host: "127.0.0.1", Port: 80}
	base := float64(time.Now().Add(-time.Hour).UnixNano()) / 1e9
	return benchkit.WriteFlows(path, n, version, func(i int) (*flow.HTTPFlow, error) {
		method := "GET"
		var body []byte
		if i%2 == 1 {
			method, body = "POST", []byte("a=1")
		}
		req, err := flow.NewRequest(method, "http://example.com/f/"+strconv.Itoa(i), body,
			flow.NewHeaders("Host", "example.com", "User-Agent", "webbench"))
		if err != nil {
			return nil, err
		}
		t := base + float64(i)*0.001
		req.TimestampStart, req.TimestampEnd = t, t
		resp := flow.NewResponse(200, []byte("webbench origin\n"), flow.NewHeaders("Content-Type", "text/plain"))
		resp.TimestampStart, resp.TimestampEnd = t+0.0005, t+0.0006
		fl := flow.NewHTTPFlow(client, server)
		fl.Request, fl.Response = req, resp
		fl.TimestampCreated = t
		return fl, nil
	})
}
