// Package browser is mitmproxy's browser addon: the browser.start command
// starts an isolated Chrome or Chromium (or Firefox) that goes through the
// running proxy, with a profile of its own in a temporary directory, so
// that a user (or a script, as mitmproxy's httpdump example does at
// start) gets a browser to intercept without changing their own. The
// browsers end, and their profiles are removed, when mitmgo stops.
package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/command"
)

// Compile-time checks of the hooks Browser relies on.
var (
	_ addon.LoadHook      = (*Browser)(nil)
	_ addon.ConfigureHook = (*Browser)(nil)
	_ addon.DoneHook      = (*Browser)(nil)
)

// Where the browsers are looked for, in mitmproxy's order: the paths of
// macOS and Windows installs, then the names Python's webbrowser module
// knows on Linux.
var (
	chromeNames = []string{
		"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
		`C:\Program Files (x86)\Google\Chrome\Application\chrome.exe`,
		`C:\Program Files (x86)\Google\Application\chrome.exe`,
		"google-chrome", "google-chrome-stable", "chrome", "chromium", "chromium-browser", "google-chrome-unstable",
	}
	firefoxNames = []string{
		"/Applications/Firefox.app/Contents/MacOS/firefox",
		`C:\Program Files\Mozilla Firefox\firefox.exe`,
		"firefox", "mozilla-firefox", "mozilla",
	}
)

// Browser is the addon.
type Browser struct {
	ctx        *addon.Context
	listenHost addon.Opt[string]
	listenPort addon.Opt[*int]
	lookPath   func(string) (string, error)
	start      func(*exec.Cmd) error
	mu         sync.Mutex
	running    []*exec.Cmd
	profiles   []string
}

// New returns the addon, finding browsers on the PATH.
func New() *Browser {
	return &Browser{lookPath: exec.LookPath, start: (*exec.Cmd).Start}
}

// Name is mitmproxy's.
func (b *Browser) Name() string { return "browser" }

// Load registers browser.start, as mitmproxy's.
func (b *Browser) Load(l *addon.Loader) {
	b.ctx = l.Context()
	l.AddCommand(command.Command{
		Name:   "browser.start",
		Params: []command.Param{{Name: "browser", Type: command.Str, Default: "chrome"}},
		Run: func(a command.Args) (any, error) {
			return nil, b.Start(a.Str(0))
		},
	})
}

// Configure finds the listen options, which the proxy core declares.
func (b *Browser) Configure(map[string]bool) error {
	if b.listenHost.Name() == "" {
		b.listenHost, _ = addon.Lookup[string](b.ctx.Options, "listen_host")
	}
	if b.listenPort.Name() == "" {
		b.listenPort, _ = addon.Lookup[*int](b.ctx.Options, "listen_port")
	}
	return nil
}

// proxyAddr is where the browser sends its requests: listen_host and
// listen_port, or mitmproxy's defaults.
func (b *Browser) proxyAddr() (host string, port int) {
	host, port = b.listenHost.Get(), 8080
	if host == "" {
		host = "127.0.0.1"
	}
	if p := b.listenPort.Get(); p != nil && *p != 0 {
		port = *p
	}
	return host, port
}

// Start starts browser ("chrome", "chromium" or "firefox"). A browser
// that is not installed, or a name it does not know, is an alert in the
// log, as in mitmproxy, not an error.
func (b *Browser) Start(browser string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.running) > 0 {
		b.alert("Starting additional browser")
	}
	var names []string
	switch browser {
	case "chrome", "chromium":
		names = chromeNames
	case "firefox":
		names = firefoxNames
	default:
		b.alert("Invalid browser name.")
		return nil
	}
	exe := b.find(names)
	if exe == "" {
		b.alert("Your platform is not supported yet - please submit a patch.")
		return nil
	}
	profile, err := os.MkdirTemp("", "mitmgo-browser-")
	if err != nil {
		return fmt.Errorf("browser.start: %w", err)
	}
	host, port := b.proxyAddr()
	var args []string
	if browser == "firefox" {
		if err := os.WriteFile(profile+"/prefs.js", []byte(firefoxPrefs(host, port)), 0o600); err != nil {
			os.RemoveAll(profile)
			return fmt.Errorf("browser.start: %w", err)
		}
		args = []string{"--profile", profile, "--new-window", "about:blank"}
	} else {
		args = []string{
			"--user-data-dir=" + profile,
			"--proxy-server=" + host + ":" + strconv.Itoa(port),
			"--disable-fre", "--no-default-browser-check", "--no-first-run", "--disable-extensions",
			"about:blank",
		}
	}
	cmd := exec.Command(exe, args...)
	if err := b.start(cmd); err != nil {
		os.RemoveAll(profile)
		return fmt.Errorf("browser.start: %s: %w", exe, err)
	}
	b.running = append(b.running, cmd)
	b.profiles = append(b.profiles, profile)
	return nil
}

// find returns the first of names that is installed, or "".
func (b *Browser) find(names []string) string {
	for _, n := range names {
		if p, err := b.lookPath(n); err == nil {
			return p
		}
	}
	return ""
}

func (b *Browser) alert(msg string) {
	b.ctx.Log.Log(context.Background(), addon.LevelAlert, msg)
}

// Done ends the browsers and removes their profiles.
func (b *Browser) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, cmd := range b.running {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}
	for _, p := range b.profiles {
		os.RemoveAll(p)
	}
	b.running, b.profiles = nil, nil
}

// firefoxPrefs is the profile of an isolated Firefox, as mitmproxy writes
// it: the proxy for HTTP and TLS, and none of the start-up and background
// traffic that would fill the flow list.
func firefoxPrefs(host string, port int) string {
	prefs := []string{
		`user_pref("datareporting.policy.firstRunURL", "");`,
		`user_pref("network.proxy.type", 1);`,
		`user_pref("network.proxy.share_proxy_settings", true);`,
		`user_pref("datareporting.healthreport.uploadEnabled", false);`,
		`user_pref("app.normandy.enabled", false);`,
		`user_pref("app.update.auto", false);`,
		`user_pref("app.update.enabled", false);`,
		`user_pref("app.update.autoInstallEnabled", false);`,
		`user_pref("app.shield.optoutstudies.enabled", false);`,
		`user_pref("extensions.blocklist.enabled", false);`,
		`user_pref("browser.safebrowsing.downloads.remote.enabled", false);`,
		`user_pref("browser.region.network.url", "");`,
		`user_pref("browser.region.update.enabled", false);`,
		`user_pref("browser.region.local-geocoding", false);`,
		`user_pref("extensions.pocket.enabled", false);`,
		`user_pref("network.captive-portal-service.enabled", false);`,
		`user_pref("network.connectivity-service.enabled", false);`,
		`user_pref("toolkit.telemetry.server", "");`,
		`user_pref("dom.push.serverURL", "");`,
		`user_pref("services.settings.enabled", false);`,
		`user_pref("browser.newtab.preload", false);`,
	}
	for _, service := range []string{"http", "ssl"} {
		prefs = append(prefs,
			fmt.Sprintf(`user_pref("network.proxy.%s", %q);`, service, host),
			fmt.Sprintf(`user_pref("network.proxy.%s_port", %d);`, service, port))
	}
	return strings.Join(prefs, "\n") + "\n"
}
