package cli

import (
	"context"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/anticache"
	"github.com/mitmgo/mitmgo/addons/anticomp"
	"github.com/mitmgo/mitmgo/addons/block"
	"github.com/mitmgo/mitmgo/addons/blocklist"
	"github.com/mitmgo/mitmgo/addons/clientplayback"
	"github.com/mitmgo/mitmgo/addons/dumper"
	"github.com/mitmgo/mitmgo/addons/export"
	"github.com/mitmgo/mitmgo/addons/keepserving"
	"github.com/mitmgo/mitmgo/addons/maplocal"
	"github.com/mitmgo/mitmgo/addons/mapremote"
	"github.com/mitmgo/mitmgo/addons/modifybody"
	"github.com/mitmgo/mitmgo/addons/modifyheaders"
	"github.com/mitmgo/mitmgo/addons/onboarding"
	"github.com/mitmgo/mitmgo/addons/proxyauth"
	"github.com/mitmgo/mitmgo/addons/readfile"
	"github.com/mitmgo/mitmgo/addons/save"
	"github.com/mitmgo/mitmgo/addons/savehar"
	"github.com/mitmgo/mitmgo/addons/serverplayback"
	"github.com/mitmgo/mitmgo/addons/stickyauth"
	"github.com/mitmgo/mitmgo/addons/stickycookie"
	"github.com/mitmgo/mitmgo/addons/termlog"
	"github.com/mitmgo/mitmgo/addons/tlsconfig"
	"github.com/mitmgo/mitmgo/addons/upstreamauth"
	"github.com/mitmgo/mitmgo/proxy"
	"github.com/mitmgo/mitmgo/script"
)

// buildChain returns mitmdump's addons in mitmproxy's order (tools/dump.py
// and addons/__init__.py): termlog; the blocking and rewriting built-ins
// that see a request before user scripts; the proxy server; user scripts;
// server replay, map/modify, sticky auth/cookies and save, which see what
// the scripts changed; then the dumper, keepserving and readfile.
func buildChain(m *addon.Manager, srv *proxy.Server, env Env) ([]any, error) {
	out := env.Stdout
	tty := env.isTerminal(out)
	tlsConfig := tlsconfig.New()
	sh := savehar.New()
	rf := readfile.New(m)
	if env.Stdin != nil {
		rf.Stdin = env.Stdin
	}
	sh.Stdout = out
	chain := []any{
		termlog.New(out, tty),
		block.New(),
		blocklist.New(),
		anticache.New(),
		anticomp.New(),
		clientplayback.New(m, srv),
		export.New(),
		onboarding.New(tlsConfig.Store),
		proxyauth.New(),
		srv,
	}
	chain = append(chain, scriptAddons(m)...)
	chain = append(chain,
		serverplayback.New(),
		mapremote.New(),
		maplocal.New(),
		modifybody.New(),
		modifyheaders.New(),
		stickyauth.New(),
		stickycookie.New(),
		save.New(),
		sh,
		tlsConfig,
		upstreamauth.New(),
		dumper.New(out, tty),
		keepserving.New(m),
		rf,
	)
	return chain, nil
}

// scriptAddons is where mitmproxy's ScriptLoader sits in the chain.
func scriptAddons(m *addon.Manager) []any { return []any{script.New()} }

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
