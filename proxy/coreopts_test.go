package proxy

import (
	"errors"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
)

// TestCoreOptsLookup: every handle buildConfig reads names an option that
// declareOptions declares, with its type.
func TestCoreOptsLookup(t *testing.T) {
	o := addon.NewOptions()
	declareOptions(o.MustAdd)
	if _, err := lookupCoreOpts(o); err != nil {
		t.Fatal(err)
	}
}

// TestBuildConfigUndeclared: a registry without the core options is an
// error naming them, not a configuration of zero values.
func TestBuildConfigUndeclared(t *testing.T) {
	_, err := buildConfig(addon.NewOptions())
	if !errors.Is(err, addon.ErrUnknownOption) || !strings.Contains(err.Error(), "listen_host") {
		t.Fatalf("buildConfig on an empty registry: %v", err)
	}
}

// TestConfigProxyAuth: Config follows the proxyauth addon's option when it
// is declared, and reads it as unset when it is not.
func TestConfigProxyAuth(t *testing.T) {
	o := addon.NewOptions()
	declareOptions(o.MustAdd)
	c, err := buildConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	if got := optString(c.proxyAuth); got != "" {
		t.Fatalf("proxyauth undeclared: %q", got)
	}
	o.MustAdd(proxyAuthOption, addon.OptionalString, nil, "")
	if c, err = buildConfig(o); err != nil {
		t.Fatal(err)
	}
	if err := o.Set(proxyAuthOption + "=any"); err != nil {
		t.Fatal(err)
	}
	if got := optString(c.proxyAuth); got != "any" {
		t.Fatalf("proxyauth = %q, want any", got)
	}
}
