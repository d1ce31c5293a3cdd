package cli

import (
	"io"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/proxy"
)

// TestBuiltinsKeepNoFlows: every built-in that receives HTTP flows says
// whether it keeps them (addon.FlowKeeper), and none does in mitmdump's
// default chain, so the proxy recycles the buffers of large bodies. A new
// built-in with flow hooks fails here until it declares what it does.
func TestBuiltinsKeepNoFlows(t *testing.T) {
	m := addon.NewManager()
	m.Options().MustAdd("confdir", addon.String, t.TempDir(), "")
	srv := proxy.New(m)
	chain, err := buildChain(m, srv, Env{Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add(chain...); err != nil {
		t.Fatal(err)
	}
	for _, a := range chain {
		k, ok := a.(addon.FlowKeeper)
		switch {
		case ok && k.KeepsFlows():
			t.Errorf("%s keeps flows", addon.AddonName(a))
		case !ok && m.KeepsFlows():
			// Not every addon receives flows; name the one that makes
			// the manager answer true.
			t.Logf("%s does not implement addon.FlowKeeper", addon.AddonName(a))
		}
	}
	if m.KeepsFlows() {
		t.Error("the default chain keeps flows: large body buffers are never recycled")
	}
}
