package browser

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
)

type logs struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logs) AddLog(e *addon.LogEntry) {
	l.mu.Lock()
	l.msgs = append(l.msgs, addon.LevelName(e.Level)+": "+e.Msg)
	l.mu.Unlock()
}

func (l *logs) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.msgs)
}

// setup runs the addon with the given browsers installed, starting no
// process: started gets each command instead.
func setup(t *testing.T, installed []string, sets ...string) (*Browser, *logs, *[]*exec.Cmd) {
	t.Helper()
	m := addon.NewManager()
	b := New()
	var started []*exec.Cmd
	b.lookPath = func(name string) (string, error) {
		if slices.Contains(installed, name) {
			return "/usr/bin/" + name, nil
		}
		return "", errors.New("not found")
	}
	b.start = func(c *exec.Cmd) error { started = append(started, c); return nil }
	lg := &logs{}
	if err := m.Add(lg, b); err != nil {
		t.Fatal(err)
	}
	m.Options().MustAdd("listen_host", addon.String, "", "")
	m.Options().MustAdd("listen_port", addon.OptionalInt, nil, "")
	for _, s := range sets {
		if err := m.Options().Set(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	return b, lg, &started
}

func TestStart(t *testing.T) {
	tests := []struct {
		name      string
		installed []string
		browser   string
		sets      []string
		wantExe   string
		wantArgs  []string // each must be among the arguments
		wantLog   string
	}{
		{name: "chromium", installed: []string{"chromium"}, browser: "chrome", wantExe: "/usr/bin/chromium",
			wantArgs: []string{"--proxy-server=127.0.0.1:8080", "--no-first-run", "about:blank"}},
		{name: "chrome before chromium", installed: []string{"chromium", "google-chrome"}, browser: "chromium", wantExe: "/usr/bin/google-chrome"},
		{name: "listen options", installed: []string{"chromium"}, browser: "chrome", sets: []string{"listen_host=192.0.2.1", "listen_port=9090"},
			wantExe: "/usr/bin/chromium", wantArgs: []string{"--proxy-server=192.0.2.1:9090"}},
		{name: "firefox", installed: []string{"firefox"}, browser: "firefox", wantExe: "/usr/bin/firefox", wantArgs: []string{"--profile", "--new-window"}},
		{name: "none installed", browser: "chrome", wantLog: "alert: Your platform is not supported yet - please submit a patch."},
		{name: "unknown name", installed: []string{"chromium"}, browser: "lynx", wantLog: "alert: Invalid browser name."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, lg, started := setup(t, tt.installed, tt.sets...)
			if _, err := b.ctx.Commands.Call("browser.start", tt.browser); err != nil {
				t.Fatal(err)
			}
			if tt.wantLog != "" {
				if len(*started) != 0 || !slices.Contains(lg.all(), tt.wantLog) {
					t.Fatalf("started %d, log %q, want no browser and %q", len(*started), lg.all(), tt.wantLog)
				}
				return
			}
			if len(*started) != 1 {
				t.Fatalf("started %d browsers, want 1", len(*started))
			}
			c := (*started)[0]
			if c.Path != tt.wantExe {
				t.Errorf("started %s, want %s", c.Path, tt.wantExe)
			}
			for _, a := range tt.wantArgs {
				if !slices.Contains(c.Args, a) {
					t.Errorf("arguments %q lack %q", c.Args, a)
				}
			}
			profile := b.profiles[0]
			if _, err := os.Stat(profile); err != nil {
				t.Fatalf("profile: %v", err)
			}
			if tt.browser == "firefox" {
				prefs, err := os.ReadFile(profile + "/prefs.js")
				if err != nil || !strings.Contains(string(prefs), `user_pref("network.proxy.http_port", 8080);`) {
					t.Errorf("prefs.js: %v\n%s", err, prefs)
				}
			} else if !slices.Contains(c.Args, "--user-data-dir="+profile) {
				t.Errorf("arguments %q lack the profile %s", c.Args, profile)
			}
			b.Done()
			if _, err := os.Stat(profile); !os.IsNotExist(err) {
				t.Errorf("profile %s left behind: %v", profile, err)
			}
		})
	}
}

func TestStartAdditional(t *testing.T) {
	b, lg, started := setup(t, []string{"chromium"})
	for range 2 {
		if err := b.Start("chrome"); err != nil {
			t.Fatal(err)
		}
	}
	defer b.Done()
	if len(*started) != 2 || !slices.Contains(lg.all(), "alert: Starting additional browser") {
		t.Fatalf("started %d, log %q", len(*started), lg.all())
	}
}
