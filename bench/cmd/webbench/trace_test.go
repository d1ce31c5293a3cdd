package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// traceJSON makes trace events: thread names, then complete events.
func traceJSON(t testing.TB, evs ...map[string]any) []json.RawMessage {
	var out []json.RawMessage
	for _, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func thread(tid int, name string) map[string]any {
	return map[string]any{"ph": "M", "name": "thread_name", "pid": 1, "tid": tid, "args": map[string]any{"name": name}}
}

func ev(tid int, name string, ts, dur float64) map[string]any {
	return map[string]any{"ph": "X", "name": name, "pid": 1, "tid": tid, "ts": ts, "dur": dur}
}

func TestSummarizeTrace(t *testing.T) {
	tests := []struct {
		name string
		evs  []map[string]any
		per  float64
		want []string // substrings of the output
	}{
		{
			name: "main thread kinds, nested events of a kind counted once, other threads left out",
			evs: []map[string]any{
				thread(10, "CrRendererMain"), thread(11, "CompositorTileWorker1"), thread(12, "Chrome_IOThread"),
				ev(10, "RunTask", 0, 10_000),
				ev(10, "FunctionCall", 0, 6_000),
				ev(10, "v8.callFunction", 1_000, 2_000), // inside FunctionCall: script once
				ev(10, "Layout", 2_000, 1_500),          // a forced layout inside the script
				ev(10, "Paint", 7_000, 1_000),
				ev(11, "RasterTask", 0, 4_000),
				ev(12, "FunctionCall", 0, 50_000), // not the main thread
			},
			per: 2,
			want: []string{
				"tasks 10 ms", "script 6 ms", "layout 2 ms", "paint 1 ms", "raster threads 4 ms",
				"per 1,000 flows, tasks 5.00, script 3.00", "raster 2.00 (ms)",
			},
		},
		{
			name: "overlapping events of a kind: the union",
			evs: []map[string]any{
				thread(10, "CrRendererMain"),
				ev(10, "Layout", 0, 2_000),
				ev(10, "Layout", 1_000, 3_000), // 0-4 ms in all
			},
			want: []string{"layout 4 ms"},
		},
		{
			name: "no main thread: nothing counted",
			evs:  []map[string]any{ev(10, "Layout", 0, 2_000)},
			want: []string{"tasks 0 ms", "layout 0 ms"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(summarizeTrace(traceJSON(t, tt.evs...), tt.per, "1,000 flows"), "\n")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("summary lacks %q:\n%s", w, got)
				}
			}
			if tt.per == 0 && strings.Contains(got, "per ") {
				t.Errorf("a summary without a unit has a per line:\n%s", got)
			}
		})
	}
}

func TestThreadTime(t *testing.T) {
	a := threadTime{task: 10, script: 4, layout: 3, style: 2, cpu: 8}
	b := threadTime{task: 4, script: 1, layout: 1, style: 1, cpu: 2}
	if got, want := a.sub(b), (threadTime{6, 3, 2, 1, 6}); got != want {
		t.Errorf("sub: %+v, want %+v", got, want)
	}
	if got, want := a.scale(0.5), (threadTime{5, 2, 1.5, 1, 4}); got != want {
		t.Errorf("scale: %+v, want %+v", got, want)
	}
	if got := a.String(); got != "tasks 10 ms (script 4, layout 3, style 2), renderer CPU 8 ms" {
		t.Errorf("String: %q", got)
	}
}

// FuzzSummarizeTrace: any events (a trace is the browser's JSON) give a
// summary, never a panic.
func FuzzSummarizeTrace(f *testing.F) {
	f.Add(`{"ph":"M","name":"thread_name","pid":1,"tid":1,"args":{"name":"CrRendererMain"}}`, `{"ph":"X","name":"Layout","pid":1,"tid":1,"ts":1,"dur":2}`)
	f.Add(`{"ph":"M","name":"thread_name","args":{"name":"CompositorTileWorker"}}`, `{"ph":"X","name":"RasterTask","dur":-5}`)
	f.Add(`[]`, `not json`)
	f.Fuzz(func(t *testing.T, a, b string) {
		lines := summarizeTrace([]json.RawMessage{json.RawMessage(a), json.RawMessage(b)}, 1, "frame")
		if len(lines) != 2 {
			t.Fatalf("%d lines", len(lines))
		}
	})
}
