// Package browsertest drives Debian's chromium, headless, through chromedp
// for mitmweb's end-to-end tests and its benchmark.
//
// New starts a browser with a fresh profile for a test and gives a Page:
// it waits for selectors and conditions in the style of testutil.Eventually
// (polling, no sleeps), types, clicks, uploads, keeps downloads in a
// directory, saves screenshots as test artifacts (into $MITMGO_ARTIFACTS
// when set, so that they outlive the test), and fails the test on every
// console error or uncaught exception of the page that the test did not
// announce with AllowConsole.
//
// Without chromium the test skips with a message, unless CI=true, where it
// fails: CI installs chromium, so its absence there is a broken set-up,
// never a reason to pass.
//
// Launch is the same start-up without a test, for programs (bench/).
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// Timeout is how long the helpers wait for a selector or a condition, and
// how long a single browser action may take. Generous: under -race on a
// small shared machine a page's first render takes a few hundred
// milliseconds, and a timeout only matters when something is broken.
const Timeout = 15 * time.Second

// FindChromium returns the path of a Chromium or Chrome binary, or "" when
// there is none: $MITMGO_CHROMIUM when set, then Debian's /usr/bin/chromium,
// then the usual names on PATH.
func FindChromium() string {
	if p := os.Getenv("MITMGO_CHROMIUM"); p != "" {
		return p
	}
	if st, err := os.Stat("/usr/bin/chromium"); err == nil && !st.IsDir() {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Options configure Launch.
type Options struct {
	// ExecPath is the browser binary (FindChromium's when empty).
	ExecPath string
	// UserDataDir is the browser's profile directory; it must be new and
	// empty (a test's t.TempDir()), so that no state leaks between runs.
	UserDataDir string
	// DownloadDir, when set, receives the page's downloads.
	DownloadDir string
	// Width and Height of the window (1280x900 when 0).
	Width, Height int
	// Output receives the browser's stdout and stderr (discarded when nil).
	Output io.Writer
}

// Flags are the command-line flags the browser needs in this sandbox:
// headless, no setuid sandbox (containers run as root without user
// namespaces), no GPU, no QUIC, and nothing that talks to the network on
// its own (first-run pages, component and safe-browsing updates, sync).
var Flags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
}

// Launch starts the browser and opens a tab. The returned context runs
// chromedp actions on the tab; cancel closes the browser and waits for it.
func Launch(parent context.Context, o Options) (context.Context, context.CancelFunc, error) {
	if o.ExecPath == "" {
		o.ExecPath = FindChromium()
		if o.ExecPath == "" {
			return nil, nil, errors.New("browsertest: no chromium found (apt-get install chromium, or set MITMGO_CHROMIUM)")
		}
	}
	if o.UserDataDir == "" {
		return nil, nil, errors.New("browsertest: Options.UserDataDir is required")
	}
	if o.Width == 0 {
		o.Width, o.Height = 1280, 900
	}
	out := o.Output
	if out == nil {
		out = io.Discard
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(o.ExecPath),
		chromedp.UserDataDir(o.UserDataDir),
		chromedp.WindowSize(o.Width, o.Height),
		chromedp.NoDefaultBrowserCheck,
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.CombinedOutput(out),
		// A background tab must keep its timers and rendering at full
		// speed: the tests and the benchmark measure the page.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		// performance.memory with exact figures (the benchmark's heap).
		chromedp.Flag("enable-precise-memory-info", true),
	}
	for _, f := range Flags {
		opts = append(opts, chromedp.Flag(strings.TrimPrefix(f, "--"), true))
	}
	actx, acancel := chromedp.NewExecAllocator(parent, opts...)
	tab, tcancel := chromedp.NewContext(actx)
	cancel := func() {
		tcancel()
		acancel()
	}
	// The first action starts the browser and attaches the tab. It must
	// not run on a context with a deadline (the browser would end with
	// it), so a timer ends a start that hangs.
	hung := time.AfterFunc(time.Minute, cancel)
	err := chromedp.Do(tab, chromedp.Navigate("about:blank"))
	if !hung.Stop() {
		return nil, nil, fmt.Errorf("browsertest: %s did not start within a minute: %v", o.ExecPath, err)
	}
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("browsertest: starting %s: %w", o.ExecPath, err)
	}
	if o.DownloadDir != "" {
		yes := true
		if _, err := chromedp.CallBrowser(tab, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: o.DownloadDir, EventsEnabled: &yes,
		}); err != nil {
			cancel()
			return nil, nil, fmt.Errorf("browsertest: download directory: %w", err)
		}
	}
	return tab, cancel, nil
}

// Page is a browser tab of a test. Its helpers fail the test they were
// given: a subtest uses p.For(t).
type Page struct {
	t testing.TB
	// Ctx runs chromedp actions on the tab (chromedp.Do, chromedp.Run).
	Ctx context.Context
	// Artifacts is where screenshots go; Downloads where downloads land.
	Artifacts, Downloads string

	*state
}

// state is what the Pages of one tab share.
type state struct {
	mu      sync.Mutex
	errs    []string // console errors and exceptions, in order
	allowed []*regexp.Regexp
	shots   int
}

// For returns the page with helpers that fail t (a subtest) instead of the
// test that started the browser.
func (p *Page) For(t testing.TB) *Page {
	q := *p
	q.t = t
	return &q
}

// New starts a headless browser with a fresh profile for the test and
// returns its tab. Without chromium the test skips (fails under CI=true).
// At the end of the test the browser stops and every console error or
// uncaught exception of the page that AllowConsole did not allow fails it.
func New(t testing.TB) *Page {
	t.Helper()
	path := FindChromium()
	requireBrowser(t, path)
	p := &Page{t: t, Artifacts: ArtifactDir(t), Downloads: t.TempDir(), state: &state{}}
	var out testutil.SyncBuffer
	ctx, cancel, err := Launch(context.Background(), Options{
		ExecPath: path, UserDataDir: t.TempDir(), DownloadDir: p.Downloads, Output: &out,
	})
	if err != nil {
		t.Fatalf("%v\nbrowser output:\n%s", err, out.String())
	}
	p.Ctx = ctx
	consoleCtx, stopConsole := context.WithCancel(ctx)
	messages := chromedp.Console(consoleCtx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				s := m.String()
				if m.URL != "" {
					s += " (" + m.URL + ")"
				}
				p.mu.Lock()
				p.errs = append(p.errs, s)
				p.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		stopConsole()
		<-done
		cancel()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, e := range p.errs {
			if !p.allowedLocked(e) {
				t.Errorf("console error of the page: %s", e)
			}
		}
	})
	return p
}

// requireBrowser skips the test when there is no browser (path ""), or
// fails it under CI=true, where a missing browser is a broken set-up.
func requireBrowser(t testing.TB, path string) {
	t.Helper()
	if path != "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (CI=true: .ci/run installs it; apt-get install chromium)")
		return
	}
	t.Skip("chromium is not installed (apt-get install chromium, or set MITMGO_CHROMIUM): skipping the browser test")
}

// ArtifactDir is the directory for a test's artifacts: $MITMGO_ARTIFACTS/<test
// name> when the variable is set (kept after the test), a temporary
// directory otherwise. Its path is in the test log.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	base := os.Getenv("MITMGO_ARTIFACTS")
	if base == "" {
		dir := t.TempDir()
		t.Logf("artifacts in %s (removed after the test; set MITMGO_ARTIFACTS=DIR to keep them)", dir)
		return dir
	}
	dir := filepath.Join(base, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("artifacts in %s", dir)
	return dir
}

// AllowConsole lets console errors matching the regular expression pass
// (a test that provokes a 403 expects the browser to log it).
func (p *Page) AllowConsole(re string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.allowed = append(p.allowed, regexp.MustCompile(re))
}

func (p *Page) allowedLocked(e string) bool {
	for _, re := range p.allowed {
		if re.MatchString(e) {
			return true
		}
	}
	return false
}

// ConsoleErrors returns the console errors so far, allowed ones included.
func (p *Page) ConsoleErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errs...)
}

// Do runs actions on the tab within Timeout, failing the test on an error.
func (p *Page) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.Screenshot("failed")
		p.t.Fatalf("%s: %v", what, err)
	}
}

// Navigate opens url in the tab.
func (p *Page) Navigate(url string) {
	p.t.Helper()
	p.Do("navigate to "+url, chromedp.Navigate(url))
}

// Eval evaluates a JavaScript expression in the page (a promise is
// awaited) and decodes its JSON value into T.
func Eval[T any](p *Page, js string) T {
	p.t.Helper()
	v, err := EvalErr[T](p.Ctx, js)
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// EvalErr is Eval for programs: the error instead of a failed test.
func EvalErr[T any](ctx context.Context, js string) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// WaitJS waits until the JavaScript expression is truthy in the page, as
// testutil.Eventually, and fails the test with what (and a screenshot)
// when it is not within Timeout.
func (p *Page) WaitJS(js, what string, args ...any) {
	p.t.Helper()
	if !p.PollJS(Timeout, js) {
		shot := p.Screenshot("timeout")
		p.t.Fatalf("after %s: "+what+" (page: %s)", append(append([]any{Timeout}, args...), shot)...)
	}
}

// PollJS reports whether the JavaScript expression became truthy within
// timeout.
func (p *Page) PollJS(timeout time.Duration, js string) bool {
	expr := "!!(" + js + ")"
	return testutil.Poll(timeout, func() bool {
		ok, err := EvalErr[bool](p.Ctx, expr)
		return err == nil && ok
	})
}

// Has reports whether an element matches the CSS selector now.
func (p *Page) Has(sel string) bool {
	p.t.Helper()
	return Eval[bool](p, "document.querySelector("+jsString(sel)+") !== null")
}

// Visible reports whether an element matching the CSS selector is shown
// now (rendered with a box, not display:none or visibility:hidden).
func (p *Page) Visible(sel string) bool {
	p.t.Helper()
	return Eval[bool](p, `(() => { const e = document.querySelector(`+jsString(sel)+`);
		return !!e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden"; })()`)
}

// WaitSelector waits until an element matches the CSS selector.
func (p *Page) WaitSelector(sel string) {
	p.t.Helper()
	p.WaitJS("document.querySelector("+jsString(sel)+")", "no element matches %s", sel)
}

// WaitGone waits until no element matches the CSS selector.
func (p *Page) WaitGone(sel string) {
	p.t.Helper()
	p.WaitJS("document.querySelector("+jsString(sel)+") === null", "an element still matches %s", sel)
}

// Count is the number of elements matching the CSS selector.
func (p *Page) Count(sel string) int {
	p.t.Helper()
	return Eval[int](p, "document.querySelectorAll("+jsString(sel)+").length")
}

// Text is the text (textContent, or value for form fields) of the first
// element matching the selector, "" when none does.
func (p *Page) Text(sel string) string {
	p.t.Helper()
	return Eval[string](p, `(() => { const e = document.querySelector(`+jsString(sel)+`);
		if (!e) return "";
		return ("value" in e && typeof e.value === "string" && e.tagName !== "BUTTON" && e.tagName !== "LI") ? e.value : e.textContent; })()`)
}

// WaitText waits until the text of the first element matching sel
// contains substr.
func (p *Page) WaitText(sel, substr string) {
	p.t.Helper()
	p.WaitJS(`(() => { const e = document.querySelector(`+jsString(sel)+`);
		return e && (e.textContent.includes(`+jsString(substr)+`) || ("value" in e && String(e.value).includes(`+jsString(substr)+`))); })()`,
		"%s does not show %q; it shows %q", sel, substr, p.Text(sel))
}

// Click waits for the element and clicks it with the mouse (scrolled into
// view).
func (p *Page) Click(sel string) {
	p.t.Helper()
	p.WaitSelector(sel)
	p.Do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// Fill focuses the input, selects what it holds and types text over it
// with key events (as a user does, so the page's input handlers run);
// empty text deletes the content.
func (p *Page) Fill(sel, text string) {
	p.t.Helper()
	p.WaitSelector(sel)
	Eval[bool](p, `(() => { const e = document.querySelector(`+jsString(sel)+`); e.focus();
		if (e.select) e.select(); else document.execCommand("selectAll"); return true; })()`)
	if text == "" {
		p.Do("clear "+sel, chromedp.KeyEvent("\b"))
		return
	}
	p.Do("type into "+sel, chromedp.KeyEvent(text))
}

// Press sends keys (chromedp's kb names, "\r" for Enter) to the focused
// element.
func (p *Page) Press(keys string) {
	p.t.Helper()
	p.Do("press keys", chromedp.KeyEvent(keys))
}

// Upload sets the files of the input type=file matching sel (which fires
// its change event).
func (p *Page) Upload(sel string, files ...string) {
	p.t.Helper()
	p.WaitJS("document.querySelector("+jsString(sel)+")", "no element matches %s", sel)
	p.Do("upload to "+sel, chromedp.SetUploadFiles(chromedp.CSS(sel), files))
}

// WaitDownload waits for a complete file in the download directory whose
// name matches the pattern (filepath.Match) and returns its path.
// Chromium reserves the final name with an empty file while the data goes
// to "<name>.crdownload", so a download is complete when its file is not
// empty and that partial file is gone.
func (p *Page) WaitDownload(pattern string) string {
	p.t.Helper()
	var found string
	ok := testutil.Poll(Timeout, func() bool {
		m, _ := filepath.Glob(filepath.Join(p.Downloads, pattern))
		for _, f := range m {
			if strings.HasSuffix(f, ".crdownload") {
				continue
			}
			if _, err := os.Stat(f + ".crdownload"); err == nil {
				continue
			}
			if fi, err := os.Stat(f); err == nil && fi.Size() > 0 {
				found = f
				return true
			}
		}
		return false
	})
	if !ok {
		ents, _ := os.ReadDir(p.Downloads)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		p.t.Fatalf("after %s: no download %s (have %v)", Timeout, pattern, names)
	}
	return found
}

// Screenshot saves a PNG of the viewport as <Artifacts>/<nn>-<name>.png,
// logs and returns its path ("" when it could not be taken: a failed
// screenshot does not fail the test).
func (p *Page) Screenshot(name string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, Timeout)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	p.mu.Lock()
	p.shots++
	n := p.shots
	p.mu.Unlock()
	path := filepath.Join(p.Artifacts, fmt.Sprintf("%02d-%s.png", n, name))
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	p.t.Logf("screenshot: %s", path)
	return path
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return JSString(s)
}

// JSString quotes s as a JavaScript (JSON) string literal.
func JSString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
