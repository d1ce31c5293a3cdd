// Command consolebench measures mitmgo's console, mitmproxy (issue 17 item
// 4), next to Debian's mitmproxy 8.1.1 console where asked:
//
//   - screen: from a flow completing (its response read by the client) to
//     the flow with its status code being on the terminal, at -rate flows
//     per second for -rate-d, the console in a tmux window that follows
//     new flows (console_focus_follow), read with capture-pane as fast as
//     tmux answers;
//   - keys: a key press (j, k, G, g) to the redrawn screen with -flows flows
//     in the list (loaded from a flow file with -r), seen by capture-pane,
//     and for mitmgo also the render itself (MITMGO_CONSOLE_RENDERLOG);
//   - memory: the console's RSS (and peak) with those flows, after loading;
//   - throughput: requests per second through the console (in tmux) and
//     through mitmdump, the same load, -rounds interleaved rounds.
//
// It runs on 127.0.0.1 only, needs tmux, stops by itself (every wait is
// bounded), and kills what it started. Run it from the repository root:
//
//	go run ./bench/cmd/consolebench
//	go run ./bench/cmd/consolebench -compare-mitmproxy
//	go run ./bench/cmd/consolebench -phases keys,memory -flows 100000
//
// It is not a test: it prints figures.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitmgo/mitmgo/bench/internal/benchkit"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
)

type config struct {
	flows     int
	rate      int
	rateD     time.Duration
	keys      int
	tpC       int
	tpD       time.Duration
	rounds    int
	debian    bool
	binDir    string
	phases    map[string]bool
	width     int
	height    int
	loadLimit time.Duration
}

func main() {
	var c config
	var phases string
	flag.IntVar(&c.flows, "flows", 100000, "flows in the flow file for the keys and memory phases")
	flag.IntVar(&c.rate, "rate", 1000, "flows per second in the screen phase")
	flag.DurationVar(&c.rateD, "rate-d", 5*time.Second, "how long the screen phase sends")
	flag.IntVar(&c.keys, "keys", 40, "key presses measured in the keys phase")
	flag.IntVar(&c.tpC, "c", 8, "concurrent keep-alive clients in the throughput phase")
	flag.DurationVar(&c.tpD, "d", 3*time.Second, "duration of each throughput run")
	flag.IntVar(&c.rounds, "rounds", 3, "interleaved rounds of the throughput phase (medians are reported)")
	flag.BoolVar(&c.debian, "compare-mitmproxy", false, "also measure Debian's mitmproxy 8.1.1 (/usr/bin/mitmproxy, /usr/bin/mitmdump)")
	flag.StringVar(&c.binDir, "bin-dir", "", "directory with prebuilt mitmproxy and mitmdump binaries of mitmgo (default: build ./cmd/mitmproxy and ./cmd/mitmdump)")
	flag.StringVar(&phases, "phases", "screen,keys,memory,throughput", "phases to run")
	flag.IntVar(&c.width, "width", 160, "tmux window width")
	flag.IntVar(&c.height, "height", 45, "tmux window height")
	flag.DurationVar(&c.loadLimit, "load-timeout", 180*time.Second, "how long a console may take to load the flow file")
	flag.Parse()
	c.phases = map[string]bool{}
	for _, p := range strings.Split(phases, ",") {
		c.phases[strings.TrimSpace(p)] = true
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "consolebench:", err)
		os.Exit(1)
	}
}

// target is one console and the mitmdump it is compared with.
type target struct {
	name     string
	console  string
	mitmdump string
	mitmgo   bool
}

func run(ctx context.Context, c config) error {
	if _, err := exec.LookPath("tmux"); err != nil {
		return errors.New("tmux is needed (apt-get install tmux)")
	}
	tmp, err := os.MkdirTemp("", "consolebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := c.binDir
	if bin == "" {
		bin = filepath.Join(tmp, "bin")
		for _, p := range []string{"mitmproxy", "mitmdump"} {
			fmt.Printf("building ./cmd/%s\n", p)
			if _, err := benchkit.BuildTool(ctx, "", bin, p); err != nil {
				return fmt.Errorf("run from the repository root: %w", err)
			}
		}
	}
	targets := []target{{"mitmgo", filepath.Join(bin, "mitmproxy"), filepath.Join(bin, "mitmdump"), true}}
	if c.debian {
		if _, err := os.Stat("/usr/bin/mitmproxy"); err != nil {
			return errors.New("-compare-mitmproxy: /usr/bin/mitmproxy is not installed (apt-get install mitmproxy)")
		}
		targets = append(targets, target{"mitmproxy 8.1.1", "/usr/bin/mitmproxy", "/usr/bin/mitmdump", false})
	}
	o, err := startOrigin()
	if err != nil {
		return err
	}
	defer o.Close()
	fmt.Printf("plan: phases %s; targets %d; screen %d flows/s for %s; keys %d presses with %d flows; throughput %d rounds x %s x 2 (console, mitmdump), c=%d; window %dx%d\n",
		strings.Join(slices.Sorted(mapKeys(c.phases)), ","), len(targets), c.rate, c.rateD, c.keys, c.flows, c.rounds, c.tpD, c.tpC, c.width, c.height)

	var flowFile string
	if c.phases["keys"] || c.phases["memory"] {
		flowFile = filepath.Join(tmp, "flows.mitm")
		t0 := time.Now()
		if err := writeFlows(flowFile, c.flows); err != nil {
			return err
		}
		st, _ := os.Stat(flowFile)
		fmt.Printf("flow file: %d flows, %.1f MB (format 17, which both consoles read), written in %s\n", c.flows, float64(st.Size())/1e6, time.Since(t0).Round(time.Millisecond))
	}
	for _, t := range targets {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Printf("\n== %s (%s)\n", t.name, t.console)
		if c.phases["screen"] {
			if err := screenPhase(ctx, c, t, o, tmp); err != nil {
				fmt.Printf("screen: %v\n", err)
			}
		}
		if c.phases["keys"] || c.phases["memory"] {
			if err := keysPhase(ctx, c, t, flowFile, tmp); err != nil {
				fmt.Printf("keys/memory: %v\n", err)
			}
		}
		if c.phases["throughput"] {
			if err := throughputPhase(ctx, c, t, o, tmp); err != nil {
				fmt.Printf("throughput: %v\n", err)
			}
		}
	}
	return nil
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k, v := range m {
			if v && !yield(k) {
				return
			}
		}
	}
}

// The origin -----------------------------------------------------------------

type origin struct {
	addr string
	stop func()
}

func startOrigin() (*origin, error) {
	addr, stop, err := benchkit.StartOrigin("ok\n")
	if err != nil {
		return nil, err
	}
	return &origin{addr: addr, stop: stop}, nil
}

func (o *origin) Close() { o.stop() }

func proxiedClient(proxy string, conns int) *http.Client {
	u := &url.URL{Scheme: "http", Host: proxy}
	return &http.Client{
		Transport: &http.Transport{Proxy: http.ProxyURL(u), MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns},
		Timeout:   20 * time.Second,
	}
}

// freePort is benchkit.FreePort as the string the command lines want.
func freePort() (string, error) {
	p, err := benchkit.FreePort()
	return strconv.Itoa(p), err
}

// tmux -------------------------------------------------------------------------

var tmuxSeq atomic.Int64

type session struct {
	socket string
	addr   string
	home   string
}

// startConsole starts a console in a detached tmux window of its own tmux
// server and waits for its proxy.
func startConsole(c config, t target, tmp string, env []string, args ...string) (*session, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &session{addr: "127.0.0.1:" + port}
	s.home, err = os.MkdirTemp(tmp, "home-")
	if err != nil {
		return nil, err
	}
	s.socket = filepath.Join(s.home, fmt.Sprintf("tmux-%d.sock", tmuxSeq.Add(1)))
	conf := filepath.Join(s.home, "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g remain-on-exit on\nset -g history-limit 0\n"), 0o644); err != nil {
		return nil, err
	}
	argv := []string{"-S", s.socket, "-f", conf, "new-session", "-d", "-s", "c", "-x", strconv.Itoa(c.width), "-y", strconv.Itoa(c.height),
		"env", "HOME=" + s.home, "LANG=C.UTF-8"}
	argv = append(argv, env...)
	argv = append(argv, t.console, "--listen-host", "127.0.0.1", "-p", port, "--set", "confdir="+filepath.Join(s.home, ".mitmproxy"))
	argv = append(argv, args...)
	if out, err := exec.Command("tmux", argv...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("tmux new-session: %v: %s", err, out)
	}
	if err := benchkit.WaitListen(s.addr, 60*time.Second); err != nil {
		scr, _ := s.capture()
		s.close()
		return nil, fmt.Errorf("%v; screen:\n%s", err, scr)
	}
	return s, nil
}

func (s *session) capture() (string, error) {
	out, err := exec.Command("tmux", "-S", s.socket, "capture-pane", "-p", "-t", "c").Output()
	return string(out), err
}

func (s *session) keys(k ...string) error {
	return exec.Command("tmux", append([]string{"-S", s.socket, "send-keys", "-t", "c"}, k...)...).Run()
}

func (s *session) pid() (int, error) {
	out, err := exec.Command("tmux", "-S", s.socket, "display-message", "-p", "-t", "c", "#{pane_pid}").Output()
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(out)))
}

func (s *session) close() {
	if pid, err := s.pid(); err == nil {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Signal(os.Interrupt)
		}
	}
	_ = exec.Command("tmux", "-S", s.socket, "kill-server").Run()
}

// Phase: screen ---------------------------------------------------------------------

var pathRe = regexp.MustCompile(`/p/(\d+)\b`)

func screenPhase(ctx context.Context, c config, t target, o *origin, tmp string) error {
	s, err := startConsole(c, t, tmp, nil, "--set", "console_focus_follow=true")
	if err != nil {
		return err
	}
	defer s.close()
	n := int(float64(c.rate) * c.rateD.Seconds())
	done := make([]int64, n) // unix nanos; 0: not completed
	seen := make([]int64, n)
	client := proxiedClient(s.addr, 64)
	jobs := make(chan int, n)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				resp, err := client.Get(fmt.Sprintf("http://%s/p/%d", o.addr, i))
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				atomic.StoreInt64(&done[i], time.Now().UnixNano())
			}
		}()
	}
	// The poller reads the screen until a second after the last request.
	stopPoll := make(chan struct{})
	var captures atomic.Int64
	var pollWG sync.WaitGroup
	pollWG.Add(1)
	go func() {
		defer pollWG.Done()
		for {
			select {
			case <-stopPoll:
				return
			default:
			}
			t0 := time.Now()
			scr, err := s.capture()
			if err != nil {
				continue
			}
			mid := t0.Add(time.Since(t0) / 2).UnixNano()
			captures.Add(1)
			for _, l := range strings.Split(scr, "\n") {
				m := pathRe.FindStringSubmatch(l)
				if m == nil || !strings.Contains(l, " 200 ") {
					continue
				}
				i, _ := strconv.Atoi(m[1])
				if i < n && atomic.LoadInt64(&seen[i]) == 0 {
					atomic.StoreInt64(&seen[i], mid)
				}
			}
		}
	}()
	start := time.Now()
	interval := time.Second / time.Duration(c.rate)
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		jobs <- i
	}
	close(jobs)
	sendTime := time.Since(start)
	wg.Wait()
	completeTime := time.Since(start)
	time.Sleep(time.Second)
	close(stopPoll)
	pollWG.Wait()
	var lat []time.Duration
	var completed, late int
	for i := range n {
		if done[i] == 0 {
			continue
		}
		completed++
		if seen[i] == 0 {
			continue
		}
		d := time.Duration(seen[i] - done[i])
		if d < 0 {
			// Seen in a capture that began before the client had read
			// the response: on screen as it completed.
			d = 0
			late++
		}
		lat = append(lat, d)
	}
	pollMs := float64(completeTime.Milliseconds()+1000) / float64(max(captures.Load(), 1))
	fmt.Printf("screen: %d requests at %d/s (sent in %s, all complete after %s, %d failed); %d captures (one per %.1f ms)\n",
		n, c.rate, sendTime.Round(time.Millisecond), completeTime.Round(time.Millisecond), failed.Load(), captures.Load(), pollMs)
	if len(lat) == 0 {
		return fmt.Errorf("no completed flow was seen on screen")
	}
	fmt.Printf("screen: flow completed -> on screen with its status: seen %d of %d (%.0f%%; a flow scrolls past in %d rows); p50 %s  p90 %s  p99 %s  max %s\n",
		len(lat), completed, 100*float64(len(lat))/float64(max(completed, 1)), c.height-5,
		pct(lat, 50), pct(lat, 90), pct(lat, 99), pct(lat, 100))
	return nil
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i].Round(100 * time.Microsecond)
}

// Phase: keys and memory ------------------------------------------------------------

// writeFlows writes n completed flows (GET http://127.0.0.1:1/f/i, 200) in
// format 17.
func writeFlows(path string, n int) error {
	client := benchkit.LoopbackClient()
	server := flow.NewServer(flow.Address{Host: "127.0.0.1", Port: 1})
	return benchkit.WriteFlows(path, n, flowfile.Version17, func(i int) (*flow.HTTPFlow, error) {
		fl := flow.NewHTTPFlow(client, server)
		req, err := flow.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:1/f/%d", i), nil, flow.NewHeaders("Host", "127.0.0.1:1", "User-Agent", "consolebench"))
		if err != nil {
			return nil, err
		}
		fl.Request = req
		fl.Response = flow.NewResponse(200, []byte("ok\n"), flow.NewHeaders("Content-Type", "text/plain", "Content-Length", "3"))
		fl.SetLive(false)
		return fl, nil
	})
}

func keysPhase(ctx context.Context, c config, t target, flowFile, tmp string) error {
	var env []string
	renderLog := filepath.Join(tmp, fmt.Sprintf("render-%d.log", tmuxSeq.Load()+1))
	if t.mitmgo {
		env = append(env, "MITMGO_CONSOLE_RENDERLOG="+renderLog)
	}
	t0 := time.Now()
	s, err := startConsole(c, t, tmp, env, "-r", flowFile)
	if err != nil {
		return err
	}
	defer s.close()
	want := fmt.Sprintf("/%d]", c.flows)
	deadline := time.Now().Add(c.loadLimit)
	var scr string
	for {
		scr, _ = s.capture()
		if strings.Contains(scr, want) {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the console did not show %d flows (%q in the status bar) after %s", c.flows, want, c.loadLimit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	loaded := time.Since(t0)
	pid, _ := s.pid()
	// Let the load's garbage settle, as a user would look at the list.
	time.Sleep(2 * time.Second)
	cur, peak := benchkit.RSS(pid)
	if c.phases["memory"] {
		fmt.Printf("memory: %d flows loaded in %s; RSS %.0f MB (peak %.0f MB)\n", c.flows, loaded.Round(10*time.Millisecond), float64(cur)/1e6, float64(peak)/1e6)
	}
	if !c.phases["keys"] {
		return nil
	}
	// From the first flow (a console may focus the last one loaded), so
	// that j and k both move.
	// The first key also waits for whatever the console still does after
	// the status bar showed every flow; it is reported on its own.
	if err := s.keys("g"); err != nil {
		return err
	}
	time.Sleep(time.Second)
	first, err := keyLatency(s, "j", c.loadLimit)
	if err != nil {
		return fmt.Errorf("after loading: %w", err)
	}
	fmt.Printf("keys: the first key after loading (j) changed the screen after %s\n", first.Round(time.Millisecond))
	if _, err := keyLatency(s, "k", 60*time.Second); err != nil {
		return err
	}
	seq := []string{"j", "k"}
	var screenLat, renderLat []time.Duration
	var bigScreen, bigRender []time.Duration
	for i := range c.keys {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		key := seq[i%2]
		big := i%10 >= 8 // a few jumps to the end and back
		if big {
			key = map[bool]string{true: "G", false: "g"}[i%10 == 8]
		}
		logBefore := fileSize(renderLog)
		start := time.Now()
		d, err := keyLatency(s, key, 10*time.Second)
		if err != nil {
			return err
		}
		if big {
			bigScreen = append(bigScreen, d)
		} else {
			screenLat = append(screenLat, d)
		}
		if t.mitmgo {
			if rt, ok := firstRenderAfter(renderLog, logBefore); ok {
				r := rt.Sub(start)
				if big {
					bigRender = append(bigRender, r)
				} else {
					renderLat = append(renderLat, r)
				}
			}
		}
	}
	fmt.Printf("keys: j/k with %d flows, key sent -> screen changed (tmux send-keys + capture-pane): p50 %s  p90 %s  max %s (%d presses)\n",
		c.flows, pct(screenLat, 50), pct(screenLat, 90), pct(screenLat, 100), len(screenLat))
	fmt.Printf("keys: G/g with %d flows, key sent -> screen changed: p50 %s  max %s (%d presses)\n",
		c.flows, pct(bigScreen, 50), pct(bigScreen, 100), len(bigScreen))
	if len(renderLat) > 0 {
		fmt.Printf("keys: mitmgo's own render (key sent -> View done, MITMGO_CONSOLE_RENDERLOG): j/k p50 %s  p90 %s  max %s; G/g p50 %s  max %s\n",
			pct(renderLat, 50), pct(renderLat, 90), pct(renderLat, 100), pct(bigRender, 50), pct(bigRender, 100))
	}
	return nil
}

// keyLatency sends key and returns how long the screen took to change.
func keyLatency(s *session, key string, limit time.Duration) (time.Duration, error) {
	before, _ := s.capture()
	start := time.Now()
	if err := s.keys(key); err != nil {
		return 0, err
	}
	for time.Since(start) < limit {
		if now, _ := s.capture(); now != before {
			return time.Since(start), nil
		}
	}
	return 0, fmt.Errorf("key %q did not change the screen within %s", key, limit)
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

// firstRenderAfter returns the time of the first render logged after offset.
func firstRenderAfter(path string, offset int64) (time.Time, bool) {
	data, err := os.ReadFile(path)
	if err != nil || int64(len(data)) <= offset {
		return time.Time{}, false
	}
	line, _, _ := bytes.Cut(data[offset:], []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) == 0 {
		return time.Time{}, false
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

// Phase: throughput ------------------------------------------------------------------

func throughputPhase(ctx context.Context, c config, t target, o *origin, tmp string) error {
	var consoleRPS, dumpRPS []float64
	for r := range c.rounds {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The console, following new flows (it redraws for every one).
		s, err := startConsole(c, t, tmp, nil, "--set", "console_focus_follow=true")
		if err != nil {
			return err
		}
		rps, err := load(s.addr, o, c.tpC, c.tpD)
		s.close()
		if err != nil {
			return err
		}
		consoleRPS = append(consoleRPS, rps)
		// mitmdump, the same load; its flow lines go to a discarded pipe.
		rps, err = mitmdumpRun(t, o, c, tmp)
		if err != nil {
			return err
		}
		dumpRPS = append(dumpRPS, rps)
		fmt.Printf("throughput round %d: console %.0f req/s, mitmdump %.0f req/s\n", r+1, consoleRPS[r], rps)
	}
	mc, md := median(consoleRPS), median(dumpRPS)
	fmt.Printf("throughput: console %.0f req/s vs mitmdump %.0f req/s (medians of %d rounds, c=%d, %s each): the console is at %.0f%% of mitmdump\n",
		mc, md, c.rounds, c.tpC, c.tpD, 100*mc/md)
	return nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func mitmdumpRun(t target, o *origin, c config, tmp string) (float64, error) {
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	home, err := os.MkdirTemp(tmp, "dump-")
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(t.mitmdump, "--listen-host", "127.0.0.1", "-p", port, "--set", "confdir="+filepath.Join(home, ".mitmproxy"))
	cmd.Env = append(os.Environ(), "HOME="+home)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	addr := "127.0.0.1:" + port
	if err := benchkit.WaitListen(addr, 60*time.Second); err != nil {
		return 0, err
	}
	return load(addr, o, c.tpC, c.tpD)
}

// load runs conns keep-alive clients sending GETs through proxy for d after
// a short warm-up; it returns the requests per second completed.
func load(proxy string, o *origin, conns int, d time.Duration) (float64, error) {
	client := proxiedClient(proxy, conns)
	u := fmt.Sprintf("http://%s/small", o.addr)
	var count, fails atomic.Int64
	var measuring atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(u)
				if err != nil {
					fails.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if measuring.Load() {
					count.Add(1)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	measuring.Store(true)
	start := time.Now()
	time.Sleep(d)
	measuring.Store(false)
	el := time.Since(start)
	close(stop)
	wg.Wait()
	if count.Load() == 0 {
		return 0, fmt.Errorf("no request through %s completed (%d failed)", proxy, fails.Load())
	}
	return float64(count.Load()) / el.Seconds(), nil
}
