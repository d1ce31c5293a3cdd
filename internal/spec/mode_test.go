package spec

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// modeCase is what mitmproxy 12's ProxyMode.parse made of a spec
// (testdata/mode_specs.json, written by testdata/gen_mode_specs.py).
type modeCase struct {
	Spec        string  `json:"spec"`
	Error       *string `json:"error"`
	Name        string  `json:"name"`
	Data        string  `json:"data"`
	ListenHost  *string `json:"listen_host"`
	ListenPort  *int    `json:"listen_port"`
	Scheme      *string `json:"scheme"`
	Address     []any   `json:"address"`
	Description string  `json:"description"`
	DefaultPort *int    `json:"default_port"`
	Transport   string  `json:"transport"`
}

// TestParseProxyModeLikeMitmproxy12 compares every field with what
// mitmproxy 12 parsed from the same specs, errors included.
func TestParseProxyModeLikeMitmproxy12(t *testing.T) {
	raw, err := os.ReadFile("testdata/mode_specs.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []modeCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 100 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		m, err := ParseProxyMode(c.Spec)
		if c.Error != nil {
			if err == nil {
				t.Errorf("ParseProxyMode(%q) = %+v, want error %q", c.Spec, m, *c.Error)
			} else if err.Error() != *c.Error {
				t.Errorf("ParseProxyMode(%q) error %q, want %q", c.Spec, err, *c.Error)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseProxyMode(%q): %v", c.Spec, err)
			continue
		}
		check := func(what string, got, want any) {
			t.Helper()
			if got != want {
				t.Errorf("ParseProxyMode(%q).%s = %#v, want %#v", c.Spec, what, got, want)
			}
		}
		check("FullSpec", m.FullSpec, c.Spec)
		check("Name", m.Name, c.Name)
		check("Data", m.Data, c.Data)
		check("HasListenHost", m.HasListenHost, c.ListenHost != nil)
		if c.ListenHost != nil {
			// mitmgo takes "[::1]" for "::1", as users mean it.
			want := *c.ListenHost
			if len(want) > 1 && strings.HasPrefix(want, "[") && strings.HasSuffix(want, "]") {
				want = want[1 : len(want)-1]
			}
			check("CustomListenHost", m.CustomListenHost, want)
		}
		check("HasListenPort", m.HasListenPort, c.ListenPort != nil)
		if c.ListenPort != nil {
			check("CustomListenPort", m.CustomListenPort, *c.ListenPort)
		}
		if c.Scheme != nil {
			check("Scheme", m.Scheme, *c.Scheme)
			check("Address.Host", m.Address.Host, c.Address[0].(string))
			check("Address.Port", m.Address.Port, int(c.Address[1].(float64)))
		}
		check("Description", m.Description(), c.Description)
		port, ok := m.DefaultPort()
		check("DefaultPort ok", ok, c.DefaultPort != nil)
		if c.DefaultPort != nil {
			check("DefaultPort", port, *c.DefaultPort)
		}
		check("TransportProtocol", m.TransportProtocol(), c.Transport)
	}
}

func TestParseProxyMode(t *testing.T) {
	for _, tt := range []struct {
		spec    string
		name    string
		scheme  string
		addr    string
		host    string
		port    int
		wantErr string
	}{
		{spec: "regular", name: "regular"},
		{spec: "regular@8081", name: "regular", port: 8081},
		{spec: "socks5@127.0.0.1:1080", name: "socks5", host: "127.0.0.1", port: 1080},
		{spec: "regular@[::1]:8080", name: "regular", host: "::1", port: 8080},
		{spec: "reverse:https://example.com@8443", name: "reverse", scheme: "https", addr: "example.com:443", port: 8443},
		{spec: "reverse:http://127.0.0.1:8000/", name: "reverse", scheme: "http", addr: "127.0.0.1:8000"},
		{spec: "reverse:example.com", name: "reverse", scheme: "https", addr: "example.com:443"},
		{spec: "reverse:tcp://[::1]:22", name: "reverse", scheme: "tcp", addr: "[::1]:22"},
		{spec: "upstream:http://proxy:3128", name: "upstream", scheme: "http", addr: "proxy:3128"},
		{spec: "upstream:proxy", name: "upstream", scheme: "http", addr: "proxy:80"},
		{spec: "upstream:https://proxy", name: "upstream", scheme: "https", addr: "proxy:443"},
		{spec: "UPSTREAM:http://proxy:1", name: "upstream", scheme: "http", addr: "proxy:1"},
		{spec: "nonsense", wantErr: "unknown mode"},
		{spec: "regular@80a", wantErr: "invalid port: 80a"},
		{spec: "regular@70000", wantErr: "invalid port: 70000"},
		{spec: "socks5:x", wantErr: "mode takes no arguments"},
		{spec: "upstream:tcp://x:1", wantErr: "invalid upstream proxy scheme"},
		{spec: "upstream:ftp://x:1", wantErr: "Invalid server scheme: ftp"},
		{spec: "reverse:tcp://x", wantErr: "Port specification missing."},
		{spec: "reverse:http://x/path", wantErr: "Invalid server specification: http://x/path"},
		{spec: "reverse:http://a..b", wantErr: "Invalid hostname: a..b"},
		{spec: "reverse:http://x:70000", wantErr: "Invalid port: 70000"},
		{spec: "osproxy", wantErr: "osproxy mode has been renamed to local mode. Thanks for trying our experimental features!"},
	} {
		m, err := ParseProxyMode(tt.spec)
		if tt.wantErr != "" {
			var me *ModeError
			if err == nil || err.Error() != tt.wantErr || !errors.As(err, &me) || me.Spec != tt.spec {
				t.Errorf("ParseProxyMode(%q) = %v, %v; want error %q", tt.spec, m, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseProxyMode(%q): %v", tt.spec, err)
			continue
		}
		if m.Name != tt.name || m.Scheme != tt.scheme || tt.addr != "" && m.Address.String() != tt.addr ||
			m.CustomListenHost != tt.host || m.CustomListenPort != tt.port || m.String() != tt.spec {
			t.Errorf("ParseProxyMode(%q) = %+v", tt.spec, m)
		}
	}
}

func TestProxyModeListenAddress(t *testing.T) {
	p := func(n int) *int { return &n }
	for _, tt := range []struct {
		spec       string
		optHost    string
		optPort    *int
		host       string
		port       int
		noListener bool
	}{
		{spec: "regular", port: 8080},
		{spec: "regular", optHost: "127.0.0.1", optPort: p(9000), host: "127.0.0.1", port: 9000},
		{spec: "regular@1234", optPort: p(9000), port: 1234},
		{spec: "regular@10.0.0.1:1234", optHost: "127.0.0.1", host: "10.0.0.1", port: 1234},
		{spec: "socks5", port: 1080},
		// listen_port overrides every mode's default, as in mitmproxy.
		{spec: "socks5", optPort: p(0), port: 0},
		{spec: "dns", port: 53},
		{spec: "reverse:dns://1.1.1.1", port: 53},
		{spec: "reverse:https://example.com", port: 8080},
		{spec: "wireguard", port: 51820},
		{spec: "local", noListener: true},
		{spec: "tun", noListener: true},
	} {
		m, err := ParseProxyMode(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		port, ok := m.ListenPort(tt.optPort)
		if host := m.ListenHost(tt.optHost); host != tt.host || port != tt.port || ok == tt.noListener {
			t.Errorf("%q (listen_host %q, listen_port %v): %q %d %v, want %q %d", tt.spec, tt.optHost, tt.optPort, host, port, ok, tt.host, tt.port)
		}
	}
}

func TestModeNameLowerCase(t *testing.T) {
	for spec, want := range map[string]string{
		"": "regular", "regular": "regular", "Reverse:http://x@80": "reverse",
		"upstream:http://u:p@proxy:1@8080": "upstream", "socks5@1080": "socks5",
	} {
		if got := ModeName(spec); got != want {
			t.Errorf("ModeName(%q) = %q, want %q", spec, got, want)
		}
	}
}

func TestValidHost(t *testing.T) {
	for host, want := range map[string]bool{
		"example.com": true, "example.com.": true, "under_score": true, "1.2.3.4": true,
		"::1": true, "fe80::1%eth0": true, "bücher.de": true, "xn--bcher-kva.de": true,
		"a..b": false, ".": false, "": false, "ex ample": false, "a/b": false,
		strings.Repeat("a", 63): true, strings.Repeat("a", 64): false,
		strings.Repeat("a.", 128): false,
	} {
		if got := ValidHost(host); got != want {
			t.Errorf("ValidHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// FuzzParseProxyMode checks that the parser never panics, and that what it
// accepts is self-consistent: the spec is kept whole, the listen port is a
// port, a server mode names a valid server, and parsing is deterministic.
func FuzzParseProxyMode(f *testing.F) {
	for _, s := range []string{
		"regular", "regular@8080", "socks5@127.0.0.1:1080", "reverse:https://example.com@8443",
		"upstream:http://[::1]:3128/", "reverse:tcp://x:1@[::1]:2", "dns@53", "@", "::@:", "reverse:http://١٢٣",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseProxyMode(s)
		if err != nil {
			if m != nil || err.Error() == "" {
				t.Fatalf("%q: %v with %+v", s, err, m)
			}
			return
		}
		if m.FullSpec != s || m.String() != s {
			t.Fatalf("%q: FullSpec %q", s, m.FullSpec)
		}
		if m.HasListenPort && (m.CustomListenPort < 0 || m.CustomListenPort > 65535) {
			t.Fatalf("%q: listen port %d", s, m.CustomListenPort)
		}
		if m.Name == ModeUpstream || m.Name == ModeReverse {
			if !ValidHost(m.Address.Host) || m.Address.Port < 0 || m.Address.Port > 65535 || !serverSchemes[m.Scheme] {
				t.Fatalf("%q: server %q %+v", s, m.Scheme, m.Address)
			}
		}
		if m.Description() == "" || m.TransportProtocol() == "" {
			t.Fatalf("%q: no description or transport", s)
		}
		again, err := ParseProxyMode(s)
		if err != nil || *again != *m {
			t.Fatalf("%q: parsed twice differently: %+v, %+v (%v)", s, m, again, err)
		}
	})
}
