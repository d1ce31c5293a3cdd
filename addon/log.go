package addon

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// LevelAlert is mitmproxy's "alert" level, above error.
const LevelAlert = slog.Level(12)

// ClientKey is the log attribute that names the client connection a message
// is about; termlog prints it as "[client ip:port]".
const ClientKey = "client"

// LogEntry is one log message, as addons receive it in the log hook.
type LogEntry struct {
	Time  time.Time
	Level slog.Level
	Msg   string
	// Client is the client address the entry is about, or "".
	Client string
	// Attrs holds the remaining attributes rendered as "key=value".
	Attrs []string
}

// LevelName is mitmproxy's name for a level: debug, info, warn, error, alert.
func LevelName(l slog.Level) string {
	switch {
	case l >= LevelAlert:
		return "alert"
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warn"
	case l >= slog.LevelInfo:
		return "info"
	}
	return "debug"
}

// ParseLevel converts mitmproxy's level names (and "warning") to slog levels.
func ParseLevel(name string) (slog.Level, error) {
	switch strings.ToLower(name) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	case "alert":
		return LevelAlert, nil
	}
	return 0, fmt.Errorf("unknown log level %q (use debug, info, warn, error or alert)", name)
}

// logHandler turns slog records into LogEntries for the log hooks.
type logHandler struct {
	m      *Manager
	attrs  []slog.Attr
	client string
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	e := &LogEntry{Time: r.Time, Level: r.Level, Msg: r.Message, Client: h.client}
	add := func(a slog.Attr) bool {
		if a.Key == ClientKey {
			e.Client = a.Value.String()
			return true
		}
		e.Attrs = append(e.Attrs, a.Key+"="+a.Value.String())
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.m.dispatchLog(e)
	return nil
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	for _, a := range attrs {
		if a.Key == ClientKey {
			c.client = a.Value.String()
		}
	}
	return &c
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }
