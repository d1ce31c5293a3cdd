package console

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/mitmgo/mitmgo/addon"
)

func logSome(st *State, n int) {
	levels := []slog.Level{slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelDebug, addon.LevelAlert}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range n {
		st.Log.Add(LogEntry{Time: t0.Add(time.Duration(i) * time.Second), Level: levels[i%len(levels)], Msg: fmt.Sprintf("message %d", i)})
	}
}

func TestEventLogGolden(t *testing.T) {
	st := testState(t)
	logSome(st, 12)
	st.Log.Add(LogEntry{Level: slog.LevelError, Msg: "Addon error: Traceback (most recent call last):\n  File \"x.py\", line 2, in request\nValueError: boom"})
	st.Log.Add(LogEntry{Level: slog.LevelInfo, Msg: "a long line " + strings.Repeat("0123456789", 8)})
	e := NewEventLog()
	if e.Title() != "Events" || e.(Contexter).Context() != "eventlog" {
		t.Fatalf("title %q", e.Title())
	}
	checkGolden(t, "eventlog_follow", e.View(st, 60, 10), 60, 10)
	e.Update(navMsg(NavStart), st)
	checkGolden(t, "eventlog_top", e.View(st, 60, 10), 60, 10)
	if err := st.Options.Set("console_eventlog_verbosity=debug"); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "eventlog_debug", e.View(st, 60, 10), 60, 10)
}

// TestEventLogVerbosity: console_eventlog_verbosity hides what is above it,
// in mitmproxy's tiers (alert shows with info).
func TestEventLogVerbosity(t *testing.T) {
	tests := []struct {
		verbosity string
		want      []string
	}{
		{"error", []string{"error"}},
		{"warn", []string{"warn", "error"}},
		{"info", []string{"info", "warn", "error", "alert"}},
		{"alert", []string{"info", "warn", "error", "alert"}},
		{"debug", []string{"info", "warn", "error", "debug", "alert"}},
	}
	for _, tt := range tests {
		t.Run(tt.verbosity, func(t *testing.T) {
			st := testState(t)
			logSome(st, 5)
			if err := st.Options.Set("console_eventlog_verbosity=" + tt.verbosity); err != nil {
				t.Fatal(err)
			}
			v := NewEventLog().View(st, 40, 8)
			var got []string
			for _, l := range strings.Split(v, "\n") {
				if lvl, _, ok := strings.Cut(strings.TrimSpace(l), ": "); ok {
					got = append(got, lvl)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("levels shown %v, want %v", got, tt.want)
			}
		})
	}
}

// TestEventLogFollow: the log follows its end as entries come in, stays
// put once scrolled up, and follows again from the end.
func TestEventLogFollow(t *testing.T) {
	st := testState(t)
	e := NewEventLog().(*eventLogScreen)
	last := func() string {
		lines := strings.Split(e.View(st, 40, 5), "\n")
		for i := len(lines) - 1; i >= 0; i-- {
			if s := strings.TrimSpace(lines[i]); s != "" {
				return s
			}
		}
		return ""
	}
	first := func() string { return strings.TrimSpace(strings.Split(e.View(st, 40, 5), "\n")[0]) }
	steps := []struct {
		name      string
		do        func()
		wantFirst string
		wantLast  string
	}{
		{"empty", func() {}, "", ""},
		{"three", func() { st.Log.Add(LogEntry{Msg: "a"}); st.Log.Add(LogEntry{Msg: "b"}); st.Log.Add(LogEntry{Msg: "c"}) }, "info: a", "info: c"},
		{"more than a page", func() {
			for _, m := range []string{"d", "e", "f", "g"} {
				st.Log.Add(LogEntry{Msg: m})
			}
		}, "info: c", "info: g"},
		{"scrolled up", func() { e.Update(navMsg(NavUp), st); e.Update(keyPress("up"), st) }, "info: a", "info: e"},
		{"stays while entries come", func() { st.Log.Add(LogEntry{Msg: "h"}) }, "info: a", "info: e"},
		{"page down to the end", func() { e.Update(navMsg(NavPageDown), st) }, "info: d", "info: h"},
		{"follows at the end again", func() { st.Log.Add(LogEntry{Msg: "i"}) }, "info: e", "info: i"},
		{"start", func() { e.Update(navMsg(NavStart), st) }, "info: a", "info: e"},
		{"end", func() { e.Update(navMsg(NavEnd), st); st.Log.Add(LogEntry{Msg: "j"}) }, "info: f", "info: j"},
		{"cleared", func() { st.Log.Clear() }, "", ""},
	}
	for _, s := range steps {
		s.do()
		if f, l := first(), last(); f != s.wantFirst || l != s.wantLast {
			t.Errorf("%s: first line %q, last %q; want %q, %q", s.name, f, l, s.wantFirst, s.wantLast)
		}
	}
}

// TestEventLogClearKey: z, when the keymap leaves it to the screen, asks
// before clearing.
func TestEventLogClearKey(t *testing.T) {
	st := testState(t)
	logSome(st, 3)
	e := NewEventLog()
	e.Update(keyPress("z"), st)
	if st.prompt == nil {
		t.Fatal("z did not ask")
	}
	if st.Log.Len() != 3 {
		t.Fatal("cleared before the answer")
	}
	st.prompt.done(st, "y")
	if st.Log.Len() != 0 {
		t.Errorf("log has %d entries after z, y", st.Log.Len())
	}
}

// TestEventLogColours: error, warn and alert lines take their palette
// colours, other levels the terminal's default, as mitmproxy's event log.
func TestEventLogColours(t *testing.T) {
	st := testState(t)
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	st.palette = NewPalette("dark", false, r)
	for _, l := range []slog.Level{slog.LevelInfo, slog.LevelWarn, slog.LevelError, addon.LevelAlert} {
		st.Log.Add(LogEntry{Level: l, Msg: "m"})
	}
	lines := strings.Split(NewEventLog().View(st, 30, 4), "\n")
	for i, level := range []string{"info", "warn", "error", "alert"} {
		styled := strings.Contains(lines[i], "\x1b[")
		if want := level != "info"; styled != want {
			t.Errorf("%s line %q: styled %v, want %v", level, lines[i], styled, want)
		}
		if level != "info" && !strings.Contains(lines[i], st.Style(level).Render(fitCells(level+": m", 30))) {
			t.Errorf("%s line %q is not in the %s style", level, lines[i], level)
		}
	}
}

// TestEventLogIncremental: the rows built entry by entry as the log grows,
// drops its oldest entries and is cleared are those a fresh screen builds
// from the same log.
func TestEventLogIncremental(t *testing.T) {
	st := testState(t)
	st.Log = newEventRing(7)
	e := NewEventLog().(*eventLogScreen)
	ops := "aaacaaaaaaaaaaacaaaaaaaaaaaaaaaaaaaaaacc" + "aaaaaaaaaaaaaaaaa"
	for i, op := range ops {
		switch op {
		case 'a':
			msg := fmt.Sprintf("entry %d", i)
			if i%5 == 0 {
				msg += "\nsecond line " + strings.Repeat("x", 30)
			}
			st.Log.Add(LogEntry{Level: []slog.Level{slog.LevelInfo, slog.LevelDebug, slog.LevelError}[i%3], Msg: msg})
		case 'c':
			st.Log.Clear()
		}
		if i%3 == 0 {
			continue // several changes between two views
		}
		got := e.View(st, 20, 30)
		want := NewEventLog().View(st, 20, 30)
		if got != want {
			t.Fatalf("after op %d (%c):\n--- incremental\n%s\n--- fresh\n%s", i, op, got, want)
		}
		if len(e.counts) != st.Log.Len() {
			t.Fatalf("after op %d: %d row counts for %d entries", i, len(e.counts), st.Log.Len())
		}
	}
}
