package script_test

import (
	"io"
	"testing"

	"github.com/mitmgo/mitmgo"
)

// TestScriptRunInEveryTool: script.run is a command of the front door's
// chain, so mitmdump, mitmweb and the console all have it, with
// mitmproxy's signature.
func TestScriptRunInEveryTool(t *testing.T) {
	for _, cfg := range []mitmgo.Config{{Dump: true, Out: io.Discard}, {View: true, Out: io.Discard}} {
		m, err := mitmgo.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c, ok := m.Commands.Get("script.run")
		if !ok {
			t.Fatalf("script.run is not registered (dump %v, view %v)", cfg.Dump, cfg.View)
		}
		if got := c.Signature(); got != "script.run flows path" {
			t.Errorf("signature %q", got)
		}
	}
}
