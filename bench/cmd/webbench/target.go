package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/mitmgo/mitmgo/bench/internal/benchkit"
)

// ui is what the harness needs to know of a web UI's DOM: CSS selectors of
// the flow table, its rows and cells and the search (filter) input.
type ui struct {
	Table, Row, Path, Status, Method, Filter string
	// Enter: the filter applies on Enter (mitmgo's applies after a
	// debounce, or at once on Enter); mitmproxy 8.1.1's applies on input.
	Enter bool
}

var (
	// mitmgoUI is the selector contract of mitmgo's front end (web/ui).
	mitmgoUI = ui{
		Table: `[data-testid="flow-table"]`, Row: `[data-testid="flow-row"]`,
		Path: `.col-path`, Status: `.col-status`, Method: `.col-method`,
		Filter: `[data-testid="filter-input"]`, Enter: true,
	}
	// mitmproxyUI is mitmproxy 8.1.1's React UI: a table.flow-table with
	// one tr per shown flow and td.col-* cells; the search box is the
	// main menu's first filter input. The virtual scroll's spacers are
	// rows without cells.
	mitmproxyUI = ui{
		Table: `.flow-table`, Row: `.flow-table tbody tr:has(> td)`,
		Path: `td.col-path`, Status: `td.col-status`, Method: `td.col-method`,
		Filter: `input[placeholder="Search"]`,
	}
)

// target is a mitmweb the harness starts: mitmgo's or Debian's mitmproxy.
type target struct {
	name   string
	ui     ui
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
	// proxy is the proxy's host:port; web the UI's root URL; open the URL
	// the browser opens (with the token); token authorizes API requests.
	proxy, web, open, token string
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 4<<20 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var tokenRe = regexp.MustCompile(`Web server listening at (http://\S+/\?token=([0-9a-f]+))`)

// startTarget starts a mitmweb (kind "mitmgo" or "mitmproxy") with extra
// arguments, and waits until its proxy and web server listen and, for
// mitmgo, it has printed its token.
func startTarget(ctx context.Context, kind, bin string, extra []string, timeout time.Duration) (*target, error) {
	pport, err := benchkit.FreePort()
	if err != nil {
		return nil, err
	}
	wport, err := benchkit.FreePort()
	if err != nil {
		return nil, err
	}
	confdir, err := os.MkdirTemp("", "webbench-conf-")
	if err != nil {
		return nil, err
	}
	args := append([]string{"--listen-host", "127.0.0.1", "-p", strconv.Itoa(pport),
		"--web-host", "127.0.0.1", "--web-port", strconv.Itoa(wport), "--no-web-open-browser",
		"--set", "confdir=" + confdir}, extra...)
	t := &target{name: kind, out: &syncBuffer{}, exited: make(chan struct{}),
		proxy: "127.0.0.1:" + strconv.Itoa(pport), web: "http://127.0.0.1:" + strconv.Itoa(wport)}
	switch kind {
	case "mitmgo":
		t.ui = mitmgoUI
	case "mitmproxy":
		t.ui = mitmproxyUI
		t.open = t.web + "/"
	default:
		return nil, fmt.Errorf("unknown target %q", kind)
	}
	t.cmd = exec.Command(bin, args...)
	t.cmd.Env = append(os.Environ(), "HOME="+confdir)
	t.cmd.Stdout, t.cmd.Stderr = t.out, t.out
	t.cmd.SysProcAttr = childAttr()
	if err := t.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = t.cmd.Wait()
		_ = os.RemoveAll(confdir)
		close(t.exited)
	}()
	deadline := time.Now().Add(timeout)
	for {
		ready := benchkit.Dialable(t.proxy) && benchkit.Dialable(strings0(t.web))
		if kind == "mitmgo" {
			m := tokenRe.FindStringSubmatch(t.out.String())
			if m != nil {
				t.open, t.token = m[1], m[2]
			} else {
				ready = false
			}
		}
		if ready {
			return t, nil
		}
		select {
		case <-t.exited:
			return nil, fmt.Errorf("%s exited:\n%s", kind, t.out.String())
		case <-ctx.Done():
			t.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.stop()
			return nil, fmt.Errorf("%s did not start within %s:\n%s", kind, timeout, t.out.String())
		}
	}
}

// strings0 is the host:port of a URL.
func strings0(u string) string {
	p, _ := url.Parse(u)
	return p.Host
}

// stop ends the target: SIGINT, then SIGKILL to its process group after 5 s.
func (t *target) stop() {
	if t.cmd.Process == nil {
		return
	}
	if t.cmd.Process.Signal(os.Interrupt) != nil {
		// Windows has no SIGINT to send.
		killTree(t.cmd.Process)
	}
	select {
	case <-t.exited:
	case <-time.After(5 * time.Second):
		killTree(t.cmd.Process)
		<-t.exited
	}
}

// api GETs a path of the web server's API (with the token where there is
// one) and decodes its JSON.
func (t *target) api(path string, v any) error {
	req, err := http.NewRequest("GET", t.web+path, nil)
	if err != nil {
		return err
	}
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return fmt.Errorf("GET %s: %s %s", path, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// flowTimes returns, by request path, the proxy's timestamp of the end of
// each flow's response (Unix seconds, the proxy's clock).
func (t *target) flowTimes() (map[string]float64, error) {
	var flows []struct {
		Request struct {
			Path string `json:"path"`
		} `json:"request"`
		Response *struct {
			TimestampEnd *float64 `json:"timestamp_end"`
		} `json:"response"`
	}
	if err := t.api("/flows", &flows); err != nil {
		return nil, err
	}
	m := make(map[string]float64, len(flows))
	for _, f := range flows {
		if f.Response != nil && f.Response.TimestampEnd != nil {
			m[f.Request.Path] = *f.Response.TimestampEnd
		}
	}
	return m, nil
}

// buildMitmweb builds ./cmd/mitmweb of the module in dir into outDir.
func buildMitmweb(dir, outDir string) (string, error) {
	root, err := benchkit.ModuleRoot(dir)
	if err != nil {
		return "", fmt.Errorf("%w: run from mitmgo's repository or give -mitmweb-bin", err)
	}
	return benchkit.BuildTool(context.Background(), root, outDir, "mitmweb")
}
