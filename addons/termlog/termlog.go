// Package termlog prints log entries to the terminal as mitmproxy's termlog
// addon does: "[HH:MM:SS.mmm] message", or "[HH:MM:SS.mmm][client] message"
// for entries about a client connection, filtered by the termlog_verbosity
// option and coloured by level when the output is a terminal.
//
// Like current mitmproxy (and unlike 8.1.1, which sent errors to stderr),
// every level goes to the one writer.
package termlog

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/internal/human"
)

var (
	_ addon.LoadHook      = (*TermLog)(nil)
	_ addon.ConfigureHook = (*TermLog)(nil)
	_ addon.LogHook       = (*TermLog)(nil)
)

// Levels are the termlog_verbosity choices, in mitmproxy's order.
var Levels = []string{"error", "warn", "info", "alert", "debug"}

// rank orders the levels as Python's logging levels do in mitmproxy: alert
// is info with a flag for interactive tools, just above it.
var rank = map[string]int32{"debug": 10, "info": 20, "alert": 21, "warn": 30, "error": 40}

// levelColors are mitmproxy's LOG_COLORS.
var levelColors = map[string]string{"error": "red", "warn": "yellow", "alert": "magenta"}

// TermLog is the addon. It is safe for concurrent use: each entry is one
// write.
type TermLog struct {
	mu    sync.Mutex
	w     io.Writer
	color bool
	min   atomic.Int32
	ctx   *addon.Context
	now   func() time.Time

	verbosity addon.Opt[string]
}

// New returns a TermLog writing to w, with colours when color is set (pass
// whether w is a terminal).
func New(w io.Writer, color bool) *TermLog {
	t := &TermLog{w: w, color: color, now: time.Now}
	t.min.Store(rank["info"])
	return t
}

// Load declares termlog_verbosity.
func (t *TermLog) Load(l *addon.Loader) {
	t.ctx = l.Context()
	t.verbosity = addon.Declare(l, "termlog_verbosity", "info", "Log verbosity.", Levels...)
}

// Configure applies termlog_verbosity.
func (t *TermLog) Configure(updated map[string]bool) error {
	if !t.verbosity.Changed(updated) {
		return nil
	}
	v := t.verbosity.Get()
	r, ok := rank[v]
	if !ok {
		return fmt.Errorf("termlog_verbosity: unknown level %q (use %s)", v, strings.Join(Levels, ", "))
	}
	t.min.Store(r)
	return nil
}

// AddLog prints e if its level is at least termlog_verbosity.
func (t *TermLog) AddLog(e *addon.LogEntry) {
	if rank[addon.LevelName(e.Level)] < t.min.Load() {
		return
	}
	if e.Time.IsZero() {
		c := *e
		c.Time = t.now()
		e = &c
	}
	line := Format(e, t.color) + "\n"
	t.mu.Lock()
	defer t.mu.Unlock()
	// There is nobody to tell when the terminal is gone; a closed stdout
	// ends the process through SIGPIPE anyway.
	_, _ = io.WriteString(t.w, line)
}

// Format renders one entry as mitmproxy's MitmFormatter does. Attributes
// other than the client, which mitmproxy's records do not have, follow the
// message as key=value.
func Format(e *addon.LogEntry, color bool) string {
	style := human.Styler(color)
	ts := style.Apply("["+e.Time.Format("15:04:05.000")+"]", human.Style{Fg: "cyan", Dim: human.On})
	msg := e.Msg
	if len(e.Attrs) > 0 {
		msg += " " + strings.Join(e.Attrs, " ")
	}
	msg = style.Apply(msg, human.Style{Fg: levelColors[addon.LevelName(e.Level)], Set: true})
	if e.Client == "" {
		return ts + " " + msg
	}
	client := style.Apply("["+human.FormatAddressString(e.Client)+"]", human.Style{Fg: "yellow", Dim: human.On})
	return ts + client + " " + msg
}
