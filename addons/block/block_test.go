package block

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

// The classes agree with Python's ipaddress (3.11 for the long-standing
// blocks, 3.13 for 192.0.0.0/24, its exceptions, 2002::/16 and 3fff::/20).
func TestClassify(t *testing.T) {
	tests := []struct {
		ip              string
		private, global bool
	}{
		{"8.8.8.8", false, true},
		{"1.1.1.1", false, true},
		{"10.1.2.3", true, false},
		{"172.16.0.1", true, false},
		{"172.32.0.1", false, true},
		{"192.168.1.1", true, false},
		{"100.64.0.1", false, false}, // shared address space: neither
		{"169.254.1.1", true, false},
		{"127.0.0.1", true, false},
		{"0.0.0.0", true, false},
		{"224.0.0.1", false, true},
		{"255.255.255.255", true, false},
		{"198.18.0.1", true, false},
		{"203.0.113.5", true, false},
		{"192.0.0.8", true, false},
		{"192.0.0.9", false, true},
		{"2001:4860:4860::8888", false, true},
		{"fc00::1", true, false},
		{"fd12::1", true, false},
		{"fe80::1", true, false},
		{"fe80::1%eth0", true, false},
		{"::1", true, false},
		{"::", true, false},
		{"2001:db8::1", true, false},
		{"2002::1", true, false},
		{"2001:20::1", false, true},
		{"::ffff:8.8.8.8", false, true},
		{"::ffff:10.0.0.1", true, false},
		{"64:ff9b::808:808", false, true},
		{"ff02::1", false, true},
		{"2606:4700::1111", false, true},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		if got := IsPrivate(ip); got != tt.private {
			t.Errorf("IsPrivate(%s) = %v, want %v", tt.ip, got, tt.private)
		}
		if got := IsGlobal(ip); got != tt.global {
			t.Errorf("IsGlobal(%s) = %v, want %v", tt.ip, got, tt.global)
		}
	}
}

type logCapture struct{ buf bytes.Buffer }

func (l *logCapture) AddLog(e *addon.LogEntry) {
	l.buf.WriteString(addon.LevelName(e.Level) + ": " + e.Msg + "\n")
}

func TestClientConnected(t *testing.T) {
	tests := []struct {
		name    string
		peer    string
		mode    string
		specs   []string
		auth    bool // declare proxyauth, as the proxyauth addon does
		wantErr string
		wantLog string
	}{
		{name: "public blocked by default", peer: "8.8.8.8",
			wantErr: "Connection killed by block_global.",
			wantLog: "warn: Client connection from 8.8.8.8 killed by block_global option.\n"},
		{name: "public IPv6 blocked", peer: "2606:4700::1111",
			wantErr: "Connection killed by block_global.",
			wantLog: "warn: Client connection from 2606:4700::1111 killed by block_global option.\n"},
		{name: "IPv4-mapped public blocked, logged as given", peer: "::ffff:8.8.8.8",
			wantErr: "Connection killed by block_global.",
			wantLog: "warn: Client connection from ::ffff:8.8.8.8 killed by block_global option.\n"},
		{name: "private allowed by default", peer: "192.168.1.5"},
		{name: "shared space never blocked", peer: "100.64.1.1", specs: []string{"block_private=true"}},
		{name: "loopback always allowed", peer: "127.0.0.1", specs: []string{"block_private=true"}},
		{name: "IPv6 loopback always allowed", peer: "::1", specs: []string{"block_private=true"}},
		{name: "mapped loopback always allowed", peer: "::ffff:127.0.0.1", specs: []string{"block_private=true"}},
		{name: "local mode allowed", peer: "8.8.8.8", mode: "local:curl"},
		{name: "block_global off", peer: "8.8.8.8", specs: []string{"block_global=false"}},
		{name: "block_private", peer: "10.0.0.7", specs: []string{"block_private=true"},
			wantErr: "Connection killed by block_private.",
			wantLog: "warn: Client connection from 10.0.0.7 killed by block_private option.\n"},
		{name: "block_private with zone", peer: "fe80::1%eth0", specs: []string{"block_private=true"},
			wantErr: "Connection killed by block_private.",
			wantLog: "warn: Client connection from fe80::1%eth0 killed by block_private option.\n"},
		{name: "proxyauth lets public clients authenticate", peer: "8.8.8.8", auth: true,
			specs: []string{"proxyauth=user:pass"}},
		{name: "proxyauth declared but unset", peer: "8.8.8.8", auth: true,
			wantErr: "Connection killed by block_global.",
			wantLog: "warn: Client connection from 8.8.8.8 killed by block_global option.\n"},
		{name: "proxyauth does not lift block_private", peer: "10.0.0.7", auth: true,
			specs:   []string{"proxyauth=any", "block_private=true"},
			wantErr: "Connection killed by block_private.",
			wantLog: "warn: Client connection from 10.0.0.7 killed by block_private option.\n"},
		{name: "not an IP", peer: "/run/proxy.sock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := addon.NewManager()
			logs := &logCapture{}
			if err := m.Add(logs, New()); err != nil {
				t.Fatal(err)
			}
			if tt.auth {
				m.Options().MustAdd("proxyauth", addon.OptionalString, nil, "Require proxy authentication.")
			}
			if err := m.ConfigureAll(); err != nil {
				t.Fatal(err)
			}
			if err := m.Options().Set(tt.specs...); err != nil {
				t.Fatal(err)
			}
			mode := tt.mode
			if mode == "" {
				mode = "regular"
			}
			c := flow.NewClient(flow.Address{Host: tt.peer, Port: 40000}, flow.Address{Host: "0.0.0.0", Port: 8080}, mode)
			m.ClientConnected(c)
			if c.Error != tt.wantErr {
				t.Errorf("client.Error = %q, want %q", c.Error, tt.wantErr)
			}
			if got := logs.buf.String(); got != tt.wantLog {
				t.Errorf("log = %q, want %q", got, tt.wantLog)
			}
		})
	}
}

func TestOptionsDeclared(t *testing.T) {
	m := addon.NewManager()
	if err := m.Add(New()); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"block_global": true, "block_private": false} {
		opt, v, ok := m.Options().Lookup(name)
		if !ok || opt.Kind != addon.Bool || v != want {
			t.Errorf("%s: declared=%v kind=%v value=%v, want bool %v", name, ok, opt.Kind, v, want)
		}
		if !strings.Contains(opt.Help, "Block connections") {
			t.Errorf("%s: help %q", name, opt.Help)
		}
	}
}
