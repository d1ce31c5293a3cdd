package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
)

// tracer records a Chrome trace of the page (-trace): where the
// renderer's time went (script, style, layout, paint, compositing,
// raster), which the JavaScript profiler shows only as "(program)".
type tracer struct {
	mu     sync.Mutex
	events []json.RawMessage
	done   chan struct{}
}

// traceCategories are those of DevTools' Performance panel, without the
// screenshots and the JavaScript sampling.
var traceCategories = []string{
	"devtools.timeline", "disabled-by-default-devtools.timeline", "v8", "blink", "cc", "gpu", "viz",
	"disabled-by-default-devtools.timeline.frame",
}

// startTrace starts tracing the page of ctx.
func startTrace(ctx context.Context) (*tracer, error) {
	t := &tracer{done: make(chan struct{})}
	lctx, cancel := context.WithCancel(ctx)
	if err := chromedp.Listen(lctx, func(ev any) {
		switch e := ev.(type) {
		case *tracing.EventDataCollected:
			t.mu.Lock()
			for _, v := range e.Value {
				t.events = append(t.events, json.RawMessage(slices.Clone(v)))
			}
			t.mu.Unlock()
		case *tracing.EventTracingComplete:
			close(t.done)
			cancel()
		}
	}); err != nil {
		cancel()
		return nil, err
	}
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	_, err := chromedp.Call(sctx, tracing.Start, tracing.StartParams{
		TransferMode: tracing.StartTransferModeReportEvents,
		TraceConfig:  &tracing.TraceConfig{IncludedCategories: traceCategories},
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("Tracing.start: %w", err)
	}
	return t, nil
}

// traceEvent is what the summary reads of a trace event.
type traceEvent struct {
	Name string          `json:"name"`
	Ph   string          `json:"ph"`
	Pid  int64           `json:"pid"`
	Tid  int64           `json:"tid"`
	Ts   float64         `json:"ts"`
	Dur  float64         `json:"dur"`
	Args json.RawMessage `json:"args"`
}

// stop ends the trace, writes it to dir/name.json (DevTools' Performance
// panel loads it) and prints the time of the renderer's main thread and
// of the raster threads by kind of work.
func (t *tracer) stop(ctx context.Context, w io.Writer, dir, name string, per float64, perWhat string) error {
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := chromedp.Call(sctx, tracing.End, cdp.Empty{}); err != nil {
		return fmt.Errorf("Tracing.end: %w", err)
	}
	select {
	case <-t.done:
	case <-sctx.Done():
		return fmt.Errorf("the trace did not complete: %w", sctx.Err())
	}
	t.mu.Lock()
	events := t.events
	t.mu.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(map[string]any{"traceEvents": events})
	if err != nil {
		return err
	}
	path := filepath.Join(dir, name+".json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	for _, l := range summarizeTrace(events, per, perWhat) {
		fmt.Fprintln(w, "    "+l)
	}
	fmt.Fprintf(w, "    trace: %s\n", path)
	return nil
}

// summarizeTrace sums, on the renderer's main thread (CrRendererMain),
// the durations of the kinds of work DevTools shows (nested events
// count in their own kind: a forced layout inside a script counts as
// layout, not script), and the raster threads' tasks, per `per` units.
func summarizeTrace(raw []json.RawMessage, per float64, perWhat string) []string {
	var evs []traceEvent
	main := map[[2]int64]bool{}
	raster := map[[2]int64]bool{}
	for _, r := range raw {
		var e traceEvent
		if json.Unmarshal(r, &e) != nil {
			continue
		}
		if e.Ph == "M" && e.Name == "thread_name" {
			var a struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(e.Args, &a)
			switch {
			case a.Name == "CrRendererMain":
				main[[2]int64{e.Pid, e.Tid}] = true
			case len(a.Name) >= 16 && a.Name[:16] == "CompositorTileWo":
				raster[[2]int64{e.Pid, e.Tid}] = true
			}
			continue
		}
		if e.Ph == "X" {
			evs = append(evs, e)
		}
	}
	kind := map[string]string{
		"RunTask": "tasks", "ThreadControllerImpl::RunTask": "tasks",
		"FunctionCall": "script", "EvaluateScript": "script", "v8.callFunction": "script", "TimerFire": "script",
		"FireAnimationFrame": "script", "EventDispatch": "script", "v8.run": "script",
		"UpdateLayoutTree": "style", "Layout": "layout", "PrePaint": "prepaint", "Paint": "paint",
		"Layerize": "layerize", "Commit": "commit", "HitTest": "hittest",
		"MajorGC": "gc", "MinorGC": "gc", "V8.GCScavenger": "gc", "V8.GC_MARK_COMPACTOR": "gc",
	}
	// Main-thread events by kind, as intervals, so that an event nested in
	// one of its own kind is not counted twice.
	byKind := map[string][][2]float64{}
	var rasterMS float64
	for _, e := range evs {
		k := [2]int64{e.Pid, e.Tid}
		if raster[k] && (e.Name == "RasterTask" || e.Name == "TaskGraphRunner::RunTask") {
			rasterMS += e.Dur / 1e3
			continue
		}
		if !main[k] {
			continue
		}
		if kd, ok := kind[e.Name]; ok {
			byKind[kd] = append(byKind[kd], [2]float64{e.Ts, e.Ts + e.Dur})
		}
	}
	total := map[string]float64{}
	for kd, iv := range byKind {
		slices.SortFunc(iv, func(a, b [2]float64) int { return cmp.Compare(a[0], b[0]) })
		end := -1.0
		for _, x := range iv {
			if x[0] >= end {
				total[kd] += (x[1] - x[0]) / 1e3
				end = x[1]
			} else if x[1] > end {
				total[kd] += (x[1] - end) / 1e3
				end = x[1]
			}
		}
	}
	order := []string{"tasks", "script", "style", "layout", "prepaint", "paint", "layerize", "commit", "hittest", "gc"}
	line := "renderer main thread (trace)"
	for _, k := range order {
		line += fmt.Sprintf(", %s %.0f ms", k, total[k])
	}
	line += fmt.Sprintf("; raster threads %.0f ms", rasterMS)
	out := []string{line}
	if per > 0 {
		l := "  per " + perWhat
		for _, k := range order {
			l += fmt.Sprintf(", %s %.2f", k, total[k]/per)
		}
		l += fmt.Sprintf("; raster %.2f (ms)", rasterMS/per)
		out = append(out, l)
	}
	return out
}
