package termlog

import (
	"bytes"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addon"
)

var noon = time.Date(2024, 1, 2, 12, 0, 1, 123999999, time.Local)

func TestFormat(t *testing.T) {
	tests := []struct {
		name  string
		e     addon.LogEntry
		color bool
		want  string
	}{
		{"plain", addon.LogEntry{Time: noon, Level: slog.LevelInfo, Msg: "HTTP(S) proxy listening at *:8080."}, false,
			"[12:00:01.123] HTTP(S) proxy listening at *:8080."},
		{"client", addon.LogEntry{Time: noon, Level: slog.LevelInfo, Msg: "client connect", Client: "127.0.0.1:50000"}, false,
			"[12:00:01.123][127.0.0.1:50000] client connect"},
		{"ipv4-mapped client", addon.LogEntry{Time: noon, Level: slog.LevelInfo, Msg: "x", Client: "[::ffff:10.0.0.1]:5"}, false,
			"[12:00:01.123][10.0.0.1:5] x"},
		{"ipv6 client", addon.LogEntry{Time: noon, Level: slog.LevelWarn, Msg: "x", Client: "[2001:db8::1]:5"}, false,
			"[12:00:01.123][[2001:db8::1]:5] x"},
		{"attributes", addon.LogEntry{Time: noon, Level: slog.LevelError, Msg: "failed", Attrs: []string{"err=boom"}}, false,
			"[12:00:01.123] failed err=boom"},
		{"colour info", addon.LogEntry{Time: noon, Level: slog.LevelInfo, Msg: "hi"}, true,
			"\x1b[36m\x1b[2m[12:00:01.123]\x1b[0m hi\x1b[0m"},
		{"colour error with client", addon.LogEntry{Time: noon, Level: slog.LevelError, Msg: "bad", Client: "1.2.3.4:5"}, true,
			"\x1b[36m\x1b[2m[12:00:01.123]\x1b[0m\x1b[33m\x1b[2m[1.2.3.4:5]\x1b[0m \x1b[31mbad\x1b[0m"},
		{"colour warn", addon.LogEntry{Time: noon, Level: slog.LevelWarn, Msg: "w"}, true,
			"\x1b[36m\x1b[2m[12:00:01.123]\x1b[0m \x1b[33mw\x1b[0m"},
		{"colour alert", addon.LogEntry{Time: noon, Level: addon.LevelAlert, Msg: "a"}, true,
			"\x1b[36m\x1b[2m[12:00:01.123]\x1b[0m \x1b[35ma\x1b[0m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Format(&tt.e, tt.color); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func newTermLog(t *testing.T, buf *bytes.Buffer, verbosity string) (*TermLog, *addon.Manager) {
	t.Helper()
	m := addon.NewManager()
	tl := New(buf, false)
	tl.now = func() time.Time { return noon }
	if err := m.Add(tl); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	if verbosity != "" {
		if err := m.Options().Set("termlog_verbosity=" + verbosity); err != nil {
			t.Fatal(err)
		}
	}
	return tl, m
}

func TestVerbosity(t *testing.T) {
	levels := []struct {
		name  string
		level slog.Level
	}{
		{"debug", slog.LevelDebug}, {"info", slog.LevelInfo}, {"alert", addon.LevelAlert},
		{"warn", slog.LevelWarn}, {"error", slog.LevelError},
	}
	// shown[verbosity] lists the levels printed, as mitmproxy's logging
	// levels order them (alert sits just above info).
	shown := map[string]string{
		"debug": "debug info alert warn error",
		"info":  "info alert warn error",
		"alert": "alert warn error",
		"warn":  "warn error",
		"error": "error",
	}
	for verbosity, want := range shown {
		t.Run(verbosity, func(t *testing.T) {
			var buf bytes.Buffer
			tl, _ := newTermLog(t, &buf, verbosity)
			for _, l := range levels {
				tl.AddLog(&addon.LogEntry{Level: l.level, Msg: l.name})
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				if line != "" {
					got = append(got, strings.TrimPrefix(line, "[12:00:01.123] "))
				}
			}
			if strings.Join(got, " ") != want {
				t.Errorf("verbosity %s printed %q, want %q", verbosity, got, want)
			}
		})
	}
}

func TestBadVerbosity(t *testing.T) {
	var buf bytes.Buffer
	_, m := newTermLog(t, &buf, "")
	if err := m.Options().Set("termlog_verbosity=loud"); err == nil || !strings.Contains(err.Error(), "termlog_verbosity") {
		t.Errorf("got %v, want an error naming termlog_verbosity", err)
	}
}

// TestThroughManager logs with the manager's slog logger, as addons do.
func TestThroughManager(t *testing.T) {
	var buf bytes.Buffer
	_, m := newTermLog(t, &buf, "")
	m.Log().With(addon.ClientKey, "127.0.0.1:50000").Info("client connect")
	m.Log().Debug("hidden")
	m.Log().Info("server connect", "address", "example.com:80")
	want := "[HH:MM:SS.mmm][127.0.0.1:50000] client connect\n[HH:MM:SS.mmm] server connect address=example.com:80\n"
	got := regexp.MustCompile(`\[\d\d:\d\d:\d\d\.\d\d\d\]`).ReplaceAllString(buf.String(), "[HH:MM:SS.mmm]")
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestConcurrentEntriesStayWhole(t *testing.T) {
	var buf bytes.Buffer
	tl, _ := newTermLog(t, &buf, "")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				tl.AddLog(&addon.LogEntry{Level: slog.LevelInfo, Msg: fmt.Sprintf("g%d line %d", g, i), Client: "10.0.0.1:1"})
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("got %d lines, want 800", len(lines))
	}
	for _, l := range lines {
		var g, i int
		if _, err := fmt.Sscanf(l, "[12:00:01.123][10.0.0.1:1] g%d line %d", &g, &i); err != nil {
			t.Fatalf("mangled line %q", l)
		}
	}
}
