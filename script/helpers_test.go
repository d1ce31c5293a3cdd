package script

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// logRecorder collects log entries, and whether each is a script's own
// (asked while it is dispatched, as mitmdump's start-up check does).
type logRecorder struct {
	mu         sync.Mutex
	a          *Addon
	entries    []addon.LogEntry
	fromScript map[int]bool
}

func (l *logRecorder) Name() string { return "logrecorder" }

func (l *logRecorder) AddLog(e *addon.LogEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.a != nil && l.a.FromScript(e) {
		if l.fromScript == nil {
			l.fromScript = map[int]bool{}
		}
		l.fromScript[len(l.entries)] = true
	}
	l.entries = append(l.entries, *e)
}

// scriptOwn reports whether the first entry containing substr was the
// script's own output.
func (l *logRecorder) scriptOwn(substr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, e := range l.entries {
		if strings.Contains(e.Msg, substr) {
			return l.fromScript[i]
		}
	}
	return false
}

func (l *logRecorder) all() []addon.LogEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]addon.LogEntry(nil), l.entries...)
}

func (l *logRecorder) text() string {
	var sb strings.Builder
	for _, e := range l.all() {
		fmt.Fprintf(&sb, "[%s] %s\n", addon.LevelName(e.Level), e.Msg)
	}
	return sb.String()
}

// find returns the first entry containing substr.
func (l *logRecorder) find(substr string) (addon.LogEntry, bool) {
	for _, e := range l.all() {
		if strings.Contains(e.Msg, substr) {
			return e, true
		}
	}
	return addon.LogEntry{}, false
}

func (l *logRecorder) wait(t testing.TB, substr string, d time.Duration) addon.LogEntry {
	t.Helper()
	var e addon.LogEntry
	if !testutil.Poll(d, func() bool {
		var ok bool
		e, ok = l.find(substr)
		return ok
	}) {
		t.Fatalf("log has no %q after %s:\n%s", substr, d, l.text())
	}
	return e
}

func needPython(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
}

type env struct {
	m   *addon.Manager
	a   *Addon
	log *logRecorder
}

// newEnv starts a manager with the script addon and scripts (paths relative
// to testdata unless absolute), configured and running.
func newEnv(t testing.TB, cfg Config, sets []string, scripts ...string) *env {
	t.Helper()
	needPython(t)
	if cfg.CacheDir == "" {
		cfg.CacheDir = testCacheDir(t)
	}
	if cfg.ReloadInterval == 0 {
		cfg.ReloadInterval = -1
	}
	m := addon.NewManager()
	a := NewWithConfig(cfg)
	rec := &logRecorder{a: a}
	if err := m.Add(rec, a); err != nil {
		t.Fatal(err)
	}
	var specs []string
	for _, s := range scripts {
		if !filepath.IsAbs(strings.Fields(s)[0]) && !strings.HasPrefix(s, "./") {
			s = filepath.Join("testdata", s)
		}
		specs = append(specs, "scripts="+s)
	}
	if err := m.Options().Set(append(specs, sets...)...); err != nil {
		t.Fatalf("setting options: %v\n%s", err, rec.text())
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatalf("configure: %v\n%s", err, rec.text())
	}
	m.Running()
	t.Cleanup(func() {
		m.Done()
		if t.Failed() {
			t.Logf("log:\n%s", rec.text())
		}
	})
	return &env{m: m, a: a, log: rec}
}

// cacheDir is one extraction directory for the whole test binary, made and
// removed by TestMain.
var cacheDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "mitmgo-script-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cacheDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

func testCacheDir(testing.TB) string { return cacheDir }

// newFlow returns a live flow with a request and, if status != 0, a
// response.
func newFlow(t testing.TB, method, url string, status int, body string, hdrs ...string) *flow.HTTPFlow {
	t.Helper()
	c := flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular")
	f := flow.NewHTTPFlow(c, nil)
	req, err := flow.NewRequest(method, url, nil, flow.NewHeaders("Host", "example.com", "Accept", "*/*"))
	if err != nil {
		t.Fatal(err)
	}
	f.Request = req
	f.ServerConn = flow.NewServer(flow.Address{Host: req.Host, Port: req.Port})
	if status != 0 {
		f.Response = flow.NewResponse(status, []byte(body), flow.NewHeaders(hdrs...))
	}
	return f
}

var _ = slog.LevelInfo

// interceptWaiting intercepts f and waits for it as the proxy would
// (WaitForResume), so that commands may read and change it
// (addon.Context.EditReadable); the wait ends with Resume or the test.
func interceptWaiting(t *testing.T, f flow.Any) {
	t.Helper()
	b := f.Base()
	b.Intercept()
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		_ = b.WaitForResume(context.Background())
	}()
	testutil.Eventually(t, 5*time.Second, b.Waiting, "the proxy's stand-in does not wait for the flow")
	t.Cleanup(func() {
		b.Resume()
		<-waited
	})
}
