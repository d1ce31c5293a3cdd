package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/cdproto/systeminfo"
	"github.com/chromedp/chromedp"
)

// eval evaluates JavaScript in the page (awaiting a promise) within
// timeout and decodes the result into T.
func eval[T any](ctx context.Context, timeout time.Duration, js string) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// jsCfg is a value given to a page script as JSON.
func jsCfg(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// observerJS installs window.__wb: a MutationObserver that records, for
// every row of the flow table whose path cell holds prefix followed by a
// number n, the time (performance.timeOrigin + performance.now(), ms since
// the Unix epoch on the page's clock) at which the row first showed a
// status code (seen[n]), and at which it first appeared at all (rows[n]).
// The time is taken once per observer callback, which runs after the DOM
// change and before the next frame is painted.
//
// Virtualized tables render only the rows in their viewport; with follow
// the script keeps the table's scroll container at the bottom after each
// change (once per frame), as a user following the live list does, so the
// newest rows are the rendered ones.
const observerJS = `((cfg) => {
  const W = window.__wb = { seen: {}, rows: {}, count: 0 };
  const esc = (s) => s.replace(/[.*+?^${}()|[\]\\\/]/g, "\\$&");
  const re = new RegExp(esc(cfg.prefix) + "(\\d+)(?!\\d)");
  const now = () => performance.timeOrigin + performance.now();
  const check = (row, t) => {
    const p = row.querySelector(cfg.path);
    if (!p) return;
    const m = re.exec(p.textContent);
    if (!m) return;
    const n = m[1];
    if (!(n in W.rows)) W.rows[n] = t;
    if (n in W.seen) return;
    const s = row.querySelector(cfg.status);
    if (s && /\d/.test(s.textContent)) { W.seen[n] = t; W.count++; }
  };
  let scroller = null, pending = false;
  const findScroller = () => {
    for (let e = document.querySelector(cfg.row); e && e !== document.body; e = e.parentElement) {
      const s = getComputedStyle(e);
      if ((s.overflowY === "auto" || s.overflowY === "scroll") && e.scrollHeight > e.clientHeight) return e;
    }
    return null;
  };
  const follow = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      if (!scroller || !scroller.isConnected) scroller = findScroller();
      const s = scroller || document.scrollingElement;
      if (s.scrollTop + s.clientHeight < s.scrollHeight - 2) s.scrollTop = s.scrollHeight;
    });
  };
  const mo = new MutationObserver((muts) => {
    const t = now();
    const rows = new Set();
    for (const m of muts) {
      const n = m.target.nodeType === 1 ? m.target : m.target.parentElement;
      const r = n && n.closest(cfg.row);
      if (r) rows.add(r);
      for (const a of m.addedNodes) {
        if (a.nodeType !== 1) continue;
        if (a.matches(cfg.row)) rows.add(a);
        else for (const r2 of a.querySelectorAll(cfg.row)) rows.add(r2);
      }
    }
    for (const r of rows) check(r, t);
    if (cfg.follow) follow();
  });
  mo.observe(document.body, { childList: true, subtree: true, characterData: true });
  for (const r of document.querySelectorAll(cfg.row)) check(r, now());
  return true;
})(%s)`

type observerCfg struct {
	Row    string `json:"row"`
	Path   string `json:"path"`
	Status string `json:"status"`
	Prefix string `json:"prefix"`
	Follow bool   `json:"follow"`
}

// clockOffset estimates the page clock minus the harness's clock, in ms:
// it reads the page's performance.timeOrigin + performance.now() between
// two readings of the harness's clock, and keeps the sample with the
// shortest round trip, taking the page's reading as made at its middle.
// Both are the same machine's real-time clock, so the offset is small
// (performance.now is monotonic from timeOrigin, which the browser takes
// from the real-time clock at navigation; they drift apart only by the
// clock's adjustments since); the error is at most half the round trip,
// which the result reports.
func clockOffset(ctx context.Context) (offset, uncertainty float64, err error) {
	best := time.Duration(1 << 62)
	for range 25 {
		t0 := time.Now()
		page, err := eval[float64](ctx, 5*time.Second, `performance.timeOrigin + performance.now()`)
		t1 := time.Now()
		if err != nil {
			return 0, 0, err
		}
		if rtt := t1.Sub(t0); rtt < best {
			best = rtt
			mid := float64(t0.UnixNano()+t1.UnixNano()) / 2 / 1e6
			offset = page - mid
		}
	}
	return offset, float64(best) / 2 / 1e6, nil
}

// filterJS types a filter into the search box the way the page's handlers
// see typing (the native value setter and an input event) and resolves
// with the milliseconds until the table shows the result (cfg.want), or -1
// after cfg.timeout ms. The time starts at the input event for a UI that
// applies the filter as it is typed (mitmproxy 8.1.1), and at the Enter
// key, sent as a task of its own after the input was handled, for one that
// applies it on Enter (mitmgo; else after a debounce). The condition is
// checked after every DOM change and every 20 ms.
const filterJS = `new Promise((resolve) => {
  const cfg = %s;
  const el = document.querySelector(cfg.input);
  if (!el) { resolve(-2); return; }
  const rows = () => Array.from(document.querySelectorAll(cfg.row));
  const text = (r, sel) => { const c = r.querySelector(sel); return c ? c.textContent.trim() : ""; };
  const ok = () => {
    const rs = rows();
    switch (cfg.want) {
    case "one": return rs.length === 1 && text(rs[0], cfg.path).includes(cfg.arg);
    case "method": return rs.length > 0 && rs.every((r) => text(r, cfg.method) === cfg.arg);
    case "all": return rs.length > 1 && rs.some((r) => text(r, cfg.method) !== cfg.arg) && rs.some((r) => text(r, cfg.method) === cfg.arg);
    }
    return false;
  };
  let done = false, iv = 0, t0 = 0;
  const mo = new MutationObserver(() => check());
  const finish = (v) => { if (done) return; done = true; mo.disconnect(); clearInterval(iv); resolve(v); };
  const check = () => {
    if (!t0) return;
    if (ok()) finish(performance.now() - t0);
    else if (performance.now() - t0 > cfg.timeout) finish(-1);
  };
  mo.observe(document.body, { childList: true, subtree: true, characterData: true });
  iv = setInterval(check, 20);
  el.focus();
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set.call(el, cfg.value);
  if (!cfg.enter) t0 = performance.now();
  el.dispatchEvent(new Event("input", { bubbles: true }));
  el.dispatchEvent(new Event("change", { bubbles: true }));
  if (cfg.enter) {
    // Enter comes as its own event after the page has handled the input
    // (as a user's key press does), and the time starts there.
    setTimeout(() => {
      t0 = performance.now();
      for (const type of ["keydown", "keypress", "keyup"]) {
        el.dispatchEvent(new KeyboardEvent(type, { key: "Enter", code: "Enter", keyCode: 13, which: 13, bubbles: true }));
      }
      check();
    }, 0);
  }
  check();
})`

type filterCfg struct {
	Input   string `json:"input"`
	Row     string `json:"row"`
	Path    string `json:"path"`
	Method  string `json:"method"`
	Value   string `json:"value"`
	Want    string `json:"want"`
	Arg     string `json:"arg"`
	Enter   bool   `json:"enter"`
	Timeout int    `json:"timeout"`
}

// scrollJS scrolls the flow table (cfg.table) from the top by cfg.step px
// every animation frame for cfg.ms ms, as a fast wheel or a dragged
// scrollbar does, and resolves with the intervals between the frames (ms,
// from requestAnimationFrame's timestamps: a frame the page's work made
// late or dropped shows as an interval of 2 or more refresh periods) and
// where the table ended (px); it resolves with null when there is no
// table. The page should be at rest.
const scrollJS = `new Promise((resolve) => {
  const cfg = %s;
  const el = document.querySelector(cfg.table);
  if (!el) { resolve(null); return; }
  el.scrollTop = 0;
  const deltas = [];
  let prev = 0, t0 = 0, frames = 0;
  const tick = (t) => {
    if (prev) deltas.push(t - prev);
    prev = t;
    if (!t0) t0 = t;
    if (t - t0 >= cfg.ms) { resolve({ deltas, top: el.scrollTop, frames }); return; }
    frames++;
    el.scrollTop += cfg.step;
    requestAnimationFrame(tick);
  };
  // Two frames first, so that setting scrollTop = 0 is done with.
  requestAnimationFrame(() => requestAnimationFrame(tick));
})`

type scrollCfg struct {
	Table string `json:"table"`
	Step  int    `json:"step"`
	MS    int    `json:"ms"`
}

type scrollOut struct {
	Deltas []float64 `json:"deltas"`
	Top    float64   `json:"top"`
	Frames int       `json:"frames"`
}

// quietJS resolves when the DOM has not changed for cfg.quiet ms and the
// table has a row, with the ms since the script started, or -1 after
// cfg.timeout ms.
const quietJS = `new Promise((resolve) => {
  const cfg = %s;
  const t0 = performance.now();
  let last = t0, done = false;
  const mo = new MutationObserver(() => { last = performance.now(); });
  mo.observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true });
  const iv = setInterval(() => {
    const t = performance.now();
    if (document.querySelector(cfg.row) && t - last >= cfg.quiet) { mo.disconnect(); clearInterval(iv); resolve(last - t0); }
    else if (t - t0 > cfg.timeout) { mo.disconnect(); clearInterval(iv); resolve(-1); }
  }, 50);
})`

// heap collects garbage and returns the page's used JS heap: the CDP
// metric JSHeapUsedSize and the count of DOM nodes.
func heap(ctx context.Context) (used, nodes float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := chromedp.Call(ctx, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
		return 0, 0, fmt.Errorf("collectGarbage: %w", err)
	}
	if _, err := chromedp.Call(ctx, performance.Enable, performance.EnableParams{}); err != nil {
		return 0, 0, fmt.Errorf("Performance.enable: %w", err)
	}
	res, err := chromedp.Call(ctx, performance.GetMetrics, cdp.Empty{})
	if err != nil {
		return 0, 0, fmt.Errorf("Performance.getMetrics: %w", err)
	}
	for _, m := range res.Metrics {
		switch m.Name {
		case "JSHeapUsedSize":
			used = m.Value
		case "Nodes":
			nodes = m.Value
		}
	}
	return used, nodes, nil
}

// threadTime is the page's main-thread time in ms, from the renderer's
// own counters (CDP Performance metrics TaskDuration, ScriptDuration,
// LayoutDuration, RecalcStyleDuration): what the page's own work took,
// which a wall-clock latency on a shared machine does not tell apart from
// the other processes' work. Task is every task; script, layout and style are parts of it.
// Those are the tasks' durations, which a descheduled thread stretches on
// a loaded machine; cpu is the renderer processes' CPU time (every
// thread: the main thread, the compositor, raster), which does not.
type threadTime struct{ task, script, layout, style, cpu float64 }

func (a threadTime) sub(b threadTime) threadTime {
	return threadTime{a.task - b.task, a.script - b.script, a.layout - b.layout, a.style - b.style, a.cpu - b.cpu}
}

// scale is the time times f (per 1,000 rows, per frame).
func (a threadTime) scale(f float64) threadTime {
	return threadTime{a.task * f, a.script * f, a.layout * f, a.style * f, a.cpu * f}
}

// mainThread reads the counters (cumulative; take the difference of two
// readings). Performance.enable is idempotent, so every reading enables.
func mainThread(ctx context.Context) (threadTime, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, performance.Enable, performance.EnableParams{}); err != nil {
		return threadTime{}, fmt.Errorf("Performance.enable: %w", err)
	}
	res, err := chromedp.Call(ctx, performance.GetMetrics, cdp.Empty{})
	if err != nil {
		return threadTime{}, fmt.Errorf("Performance.getMetrics: %w", err)
	}
	var t threadTime
	for _, m := range res.Metrics {
		switch m.Name { // seconds
		case "TaskDuration":
			t.task = m.Value * 1e3
		case "ScriptDuration":
			t.script = m.Value * 1e3
		case "LayoutDuration":
			t.layout = m.Value * 1e3
		case "RecalcStyleDuration":
			t.style = m.Value * 1e3
		}
	}
	procs, err := chromedp.CallBrowser(ctx, systeminfo.GetProcessInfo, cdp.Empty{})
	if err != nil {
		return threadTime{}, fmt.Errorf("SystemInfo.getProcessInfo: %w", err)
	}
	for _, p := range procs.ProcessInfo {
		if p.Type == "renderer" {
			t.cpu += p.CPUTime * 1e3
		}
	}
	return t, nil
}

// String formats the time as the report prints it.
func (a threadTime) String() string {
	return fmt.Sprintf("tasks %.0f ms (script %.0f, layout %.0f, style %.0f), renderer CPU %.0f ms", a.task, a.script, a.layout, a.style, a.cpu)
}
