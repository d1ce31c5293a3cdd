package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mitmgo/mitmgo/internal/browsertest"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// row is the selector of the flow table's row of a flow.
func row(id string) string { return tid("flow-row") + `[data-flow-id="` + id + `"]` }

// TestBrowser drives mitmweb's front end in headless chromium against a
// mitmweb running in process, with real traffic through its proxy: one
// mitmweb and one browser for the sub-tests, in order (later ones use the
// flows of earlier ones; the last one clears them).
func TestBrowser(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "hello.py")
	if err := os.WriteFile(script, []byte(`import logging
from mitmproxy import ctx


def running():
    ctx.log.info("browser-test script says hello")
    logging.info("browser-test logging says hello")
`), 0o644); err != nil {
		t.Fatal(err)
	}
	e := startWeb(t, "-s", script)
	p := browsertest.New(t)

	t.Run("open", func(t *testing.T) {
		p := p.For(t)
		p.Navigate(e.URL)
		needUI(t, "flow-table")
		p.WaitSelector(tid("flow-table"))
	})
	if !p.Has(tid("flow-table")) {
		// Without the shell there is nothing to drive; the sub-tests
		// below would all fail on the same missing table.
		t.Skip("front end lacks the flow table: the browser sub-tests need it")
	}

	// The traffic of the sub-tests below, before them: a sub-test that
	// skips must not take the flows of the others with it.
	ids := map[string]string{}
	for _, path := range []string{"/live/1", "/live/2", "/live/3"} {
		e.Get(t, path)
		ids[path] = e.FlowID(t, path)
	}

	t.Run("live", func(t *testing.T) {
		needUI(t, "flow-row")
		p := p.For(t)
		for _, path := range []string{"/live/1", "/live/2", "/live/3"} {
			p.WaitSelector(row(ids[path]))
		}
		e.Get(t, "/live/4")
		p.WaitSelector(row(e.FlowID(t, "/live/4")))
		p.WaitText(row(ids["/live/2"])+" .col-path", "/live/2")
		p.WaitText(row(ids["/live/2"])+" .col-status", "200")
		p.WaitText(row(ids["/live/2"])+" .col-method", "GET")
		// The rows' icons are CSS (a mask on the cell's ::before, from the
		// stylesheet the page makes of the icon shapes), not elements; the
		// header's cells of the same columns draw none.
		p.WaitJS(`(() => {
			const cell = document.querySelector('`+row(ids["/live/2"])+` .col-icon');
			const before = getComputedStyle(cell, "::before");
			const head = getComputedStyle(document.querySelector(".flow-table-head .col-icon"), "::before");
			return !cell.querySelector("svg") && before.content === '""' && /data:image\/svg\+xml/.test(before.maskImage || before.webkitMaskImage)
				&& head.content === "none";
		})()`, "the icon cell of a row does not draw its icon with a CSS mask (or the header's does)")
		p.Screenshot("flow-list")
	})

	t.Run("filter", func(t *testing.T) {
		needUI(t, "filter-input", "flow-row")
		p := p.For(t)
		p.Fill(tid("filter-input"), "~u /live/2")
		p.Press("\r")
		p.WaitJS(`document.querySelectorAll('`+tid("flow-row")+`').length === 1 && document.querySelector('`+row(ids["/live/2"])+`')`,
			"the filter ~u /live/2 does not narrow the table to /live/2 (%d rows)", p.Count(tid("flow-row")))
		if got := p.Text(tid("filter-input")); got != "~u /live/2" {
			t.Errorf("the filter input shows %q", got)
		}
		p.Screenshot("filtered")
		p.Fill(tid("filter-input"), "")
		p.Press("\r")
		p.WaitJS(`document.querySelectorAll('`+tid("flow-row")+`').length >= 4`, "the cleared filter does not show every flow")
	})

	t.Run("highlight-mark", func(t *testing.T) {
		needUI(t, "highlight-input", "flow-row", "flow-mark")
		p := p.For(t)
		p.Fill(tid("highlight-input"), "~u /live/3")
		p.Press("\r")
		p.WaitSelector(row(ids["/live/3"]) + ".highlighted")
		if n := p.Count(tid("flow-row") + ".highlighted"); n != 1 {
			t.Errorf("%d rows highlighted by ~u /live/3", n)
		}
		p.Fill(tid("highlight-input"), "")
		p.Press("\r")
		p.WaitGone(tid("flow-row") + ".highlighted")

		p.Click(row(ids["/live/2"]))
		p.WaitSelector(row(ids["/live/2"]) + `[aria-selected="true"]`)
		p.Click(tid("flow-mark"))
		p.WaitSelector(row(ids["/live/2"]) + ".marked")
		testutil.Eventually(t, wait, func() bool {
			for _, f := range e.Flows(t) {
				if f["id"] == ids["/live/2"] {
					return f["marked"] != "" && f["marked"] != nil
				}
			}
			return false
		}, "flow-mark did not mark the flow in /flows")
		p.Click(tid("flow-mark"))
		p.WaitGone(row(ids["/live/2"]) + ".marked")
	})

	t.Run("detail", func(t *testing.T) {
		needUI(t, "flow-row", "tab-request", "tab-response")
		p := p.For(t)
		p.Click(row(ids["/live/1"]))
		p.WaitSelector(row(ids["/live/1"]) + `[aria-selected="true"]`)
		p.Click(tid("tab-request"))
		p.WaitJS(`document.body.innerText.includes("/live/1")`, "the request tab does not show the path")
		p.Screenshot("detail-request")
		p.Click(tid("tab-response"))
		p.WaitJS(`document.body.innerText.includes("origin saw /live/1")`, "the response tab does not show the body")
		p.WaitJS(`document.body.innerText.includes("X-Origin") || document.body.innerText.includes("x-origin")`,
			"the response tab does not show the origin's header")
		p.Screenshot("detail-response")
	})

	t.Run("export-curl", func(t *testing.T) {
		needUI(t, "flow-row", "export-curl", "export-text")
		p := p.For(t)
		p.Click(row(ids["/live/1"]))
		p.Click(tid("export-curl"))
		p.WaitText(tid("export-text"), "curl ")
		p.WaitText(tid("export-text"), e.Origin.URL+"/live/1")
		p.Screenshot("export-curl")
		if p.Visible(tid("export-close")) {
			p.Click(tid("export-close"))
		} else {
			p.Press("\x1b")
		}
		p.WaitJS(`!document.querySelector('`+tid("export-text")+`')`, "the export dialog does not close")
	})

	t.Run("replay", func(t *testing.T) {
		needUI(t, "flow-row", "flow-replay")
		p := p.For(t)
		before := len(e.Origin.Requests("/live/3"))
		p.Click(row(ids["/live/3"]))
		p.WaitSelector(row(ids["/live/3"]) + `[aria-selected="true"]`)
		p.Click(tid("flow-replay"))
		testutil.Eventually(t, wait, func() bool { return len(e.Origin.Requests("/live/3")) > before },
			"the origin did not see the replayed request")
	})

	t.Run("intercept-edit-resume", func(t *testing.T) {
		needUI(t, "intercept-input", "flow-row", "flow-edit", "edit-url", "edit-header-add", "edit-header-name",
			"edit-header-value", "edit-save", "flow-resume")
		p := p.For(t)
		// ~q: only the request is intercepted (a filter that matches
		// the response too intercepts it a second time, as in mitmproxy).
		p.Fill(tid("intercept-input"), "~u /held & ~q")
		p.Press("\r")
		testutil.Eventually(t, wait, func() bool { return e.Options(t)["intercept"] == "~u /held & ~q" },
			"the intercept input did not set the intercept option")
		got := make(chan string, 1)
		go func() {
			resp, err := e.Proxied.Get(e.Origin.URL + "/held")
			if err != nil {
				got <- err.Error()
				return
			}
			resp.Body.Close()
			got <- resp.Status
		}()
		id := e.FlowID(t, "/held")
		p.WaitSelector(row(id) + ".intercepted")
		p.Screenshot("intercepted")
		p.Click(row(id))
		p.WaitSelector(row(id) + `[aria-selected="true"]`)
		if p.Has(tid("tab-request")) {
			p.Click(tid("tab-request"))
		}
		p.Click(tid("flow-edit"))
		p.WaitSelector(tid("edit-url"))
		p.Fill(tid("edit-url"), e.Origin.URL+"/held-edited")
		n := p.Count(tid("edit-header-name"))
		p.Click(tid("edit-header-add"))
		p.WaitJS(`document.querySelectorAll('`+tid("edit-header-name")+`').length > `+itoa(n), "edit-header-add adds no header row")
		browsertest.Eval[bool](p, `(() => { const n = [...document.querySelectorAll('`+tid("edit-header-name")+`')].pop();
			n.setAttribute("data-test-last", "name"); const v = [...document.querySelectorAll('`+tid("edit-header-value")+`')].pop();
			v.setAttribute("data-test-last", "value"); return true; })()`)
		p.Fill(`[data-test-last="name"]`, "X-Edited")
		p.Fill(`[data-test-last="value"]`, "in the browser")
		p.Screenshot("editing")
		p.Click(tid("edit-save"))
		p.WaitGone(tid("edit-save"))
		p.Click(tid("flow-resume"))
		testutil.Eventually(t, wait, func() bool { return len(e.Origin.Requests("/held-edited")) == 1 },
			"the origin did not see the edited request; it saw /held %d times", len(e.Origin.Requests("/held")))
		if h := e.Origin.Requests("/held-edited")[0].Header.Get("X-Edited"); h != "in the browser" {
			t.Errorf("the origin saw X-Edited %q", h)
		}
		if s := <-got; s != "200 OK" {
			t.Errorf("the intercepted client got %s", s)
		}
		p.WaitGone(row(id) + ".intercepted")
		p.Fill(tid("intercept-input"), "")
		p.Press("\r")
		testutil.Eventually(t, wait, func() bool { return e.Options(t)["intercept"] == "" },
			"clearing the intercept input did not clear the intercept option")
	})

	t.Run("options", func(t *testing.T) {
		needUI(t, "menu-options", "options-editor", "option-")
		p := p.For(t)
		if e.Options(t)["anticache"] != false {
			t.Fatal("anticache is not false at first")
		}
		p.Click(tid("menu-options"))
		p.WaitSelector(tid("options-editor"))
		p.WaitSelector(tid("option-anticache"))
		// The option's control: the element itself when it is an input,
		// else the input inside it.
		p.Click(`input` + tid("option-anticache") + `, ` + tid("option-anticache") + ` input`)
		testutil.Eventually(t, wait, func() bool { return e.Options(t)["anticache"] == true },
			"checking anticache in the options editor did not set it in GET /options")
		p.Screenshot("options")
		if p.Visible(tid("options-close")) {
			p.Click(tid("options-close"))
		} else {
			p.Press("\x1b")
		}
		p.WaitJS(`!document.querySelector('`+tid("options-editor")+`')`, "the options editor does not close")
	})

	t.Run("eventlog", func(t *testing.T) {
		needUI(t, "eventlog", "event-entry")
		p := p.For(t)
		if !p.Visible(tid("eventlog")) {
			p.Click(tid("eventlog-toggle"))
		}
		p.WaitSelector(tid("eventlog"))
		p.WaitJS(`[...document.querySelectorAll('`+tid("event-entry")+`')].some(e => e.textContent.includes("browser-test script says hello"))`,
			"the script's ctx.log.info line is not in the event log")
		p.WaitJS(`[...document.querySelectorAll('`+tid("event-entry")+`')].some(e => e.textContent.includes("browser-test logging says hello"))`,
			"the script's logging.info line is not in the event log")
		p.Screenshot("eventlog")
	})

	t.Run("save-clear-load", func(t *testing.T) {
		needUI(t, "menu-file", "file-save", "clear-all", "file-upload", "flow-row")
		p := p.For(t)
		n := p.Count(tid("flow-row"))
		p.Click(tid("menu-file"))
		p.Click(tid("file-save"))
		saved := p.WaitDownload("*")
		data, err := os.ReadFile(saved)
		if err != nil || !strings.Contains(string(data), "/live/1") {
			t.Fatalf("the saved file %s has no /live/1 flow (%d bytes, %v)", saved, len(data), err)
		}
		if !p.Visible(tid("clear-all")) {
			p.Click(tid("menu-file"))
		}
		p.Click(tid("clear-all"))
		p.WaitGone(tid("flow-row"))
		testutil.Eventually(t, wait, func() bool { return len(e.Flows(t)) == 0 }, "clear-all left flows in /flows")
		if !p.Visible(tid("file-open")) && !p.Has(tid("file-upload")) {
			p.Click(tid("menu-file"))
		}
		p.Upload(tid("file-upload"), saved)
		p.WaitJS(`document.querySelectorAll('`+tid("flow-row")+`').length === `+itoa(n),
			"the loaded file does not show its %d flows (%d rows)", n, p.Count(tid("flow-row")))
		p.WaitJS(`[...document.querySelectorAll('`+tid("flow-row")+` .col-path')].some(e => e.textContent.includes("/live/1"))`,
			"the loaded flows do not show /live/1")
		p.Screenshot("loaded")
	})
}

// TestBrowserWrongToken: a browser with a wrong token gets a 403 and no
// data: no flow table, no flow.
func TestBrowserWrongToken(t *testing.T) {
	e := startWeb(t)
	e.Get(t, "/secret-path")
	p := browsertest.New(t)
	// The browser logs the 403 of the page itself.
	p.AllowConsole(`403`)
	ctx, cancel := context.WithTimeout(p.Ctx, wait)
	defer cancel()
	// The server answers 403 with no body, which Chrome shows as its own
	// error page and chromedp reports as a failed navigation.
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(e.Base+"/?token=0123456789abcdef0123456789abcdef"))
	switch {
	case err != nil && !strings.Contains(err.Error(), "ERR_HTTP_RESPONSE_CODE_FAILURE"):
		t.Fatalf("navigating with a wrong token: %v", err)
	case err == nil && resp.Status != 403:
		t.Errorf("a wrong token: %d", resp.Status)
	}
	body := browsertest.Eval[string](p, `document.documentElement ? document.documentElement.outerHTML : ""`)
	if strings.Contains(body, "secret-path") || strings.Contains(body, "flow-table") {
		t.Errorf("a wrong token shows data: %.500s", body)
	}
	if r, err := http.Get(e.Base + "/?token=0123456789abcdef0123456789abcdef"); err != nil || r.StatusCode != 403 {
		t.Errorf("a wrong token: %v %v", r, err)
	} else {
		r.Body.Close()
	}
	p.Screenshot("wrong-token")
}

func itoa(n int) string { return strconv.Itoa(n) }
