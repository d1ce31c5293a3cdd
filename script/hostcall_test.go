package script

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/tnetstring"
)

type logEvents struct {
	nopEvents
	mu   sync.Mutex
	msgs []string
}

func (e *logEvents) hostLog(level slog.Level, msg string, fromScript bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.msgs = append(e.msgs, msg)
}

// TestWarnSlow checks the log's word on a hook call that runs long, which
// the addon's monitor asks for every second instead of a timer per call:
// once slowCall after the start, then every slowCall, for hook calls only.
func TestWarnSlow(t *testing.T) {
	ev := &logEvents{}
	h := &host{events: ev, calls: map[int64]pendingCall{}}
	start := time.Now()
	h.calls[1] = pendingCall{cmd: "hook", hook: "response", start: start}
	h.calls[2] = pendingCall{cmd: "configure", start: start}
	for _, tc := range []struct {
		after time.Duration
		want  int // warnings so far
	}{
		{time.Second, 0},
		{slowCall - time.Second, 0},
		{slowCall, 1},
		{slowCall + 2*time.Second, 1},
		{2*slowCall - time.Second, 1},
		{2 * slowCall, 2},
		{3*slowCall + 5*time.Second, 3},
	} {
		h.warnSlow(start.Add(tc.after))
		if len(ev.msgs) != tc.want {
			t.Fatalf("after %s: %d warnings, want %d: %q", tc.after, len(ev.msgs), tc.want, ev.msgs)
		}
	}
	if m := ev.msgs[0]; !strings.Contains(m, "the response hook has been running for 30s") {
		t.Errorf("warning %q", m)
	}
	if m := ev.msgs[2]; !strings.Contains(m, "running for 1m35s") {
		t.Errorf("warning %q", m)
	}
}

// TestDecodeKnownStrings checks that the strings decodePy returns as
// constants (knownStr) decode as any other str, in keys and in values.
func TestDecodeKnownStrings(t *testing.T) {
	for _, s := range []string{"cmd", "ret", "id", "changes", "headers", "response", "fid", "rs", "ids", "Cmd", "", "héllo"} {
		d := tnetstring.NewDict()
		d.Set(s, s)
		b, err := appendPy(nil, d, 0)
		if err != nil {
			t.Fatal(err)
		}
		v, err := decodePy(b)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := v.(*tnetstring.Dict)
		if !ok || got.Len() != 1 || got.Entries[0].Key != s || got.Str(s) != s {
			t.Errorf("%q: decoded %#v", s, v)
		}
	}
}

// TestDecodeReplyAllocs bounds the allocations of decoding the reply to a
// hook call that changed nothing (the common case).
func TestDecodeReplyAllocs(t *testing.T) {
	d := tnetstring.NewDict()
	d.Set("cmd", "ret")
	d.Set("id", int64(7))
	d.Set("changes", tnetstring.NewDict())
	b, err := appendPy(nil, d, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(100, func() {
		if _, err := decodePy(b); err != nil {
			t.Fatal(err)
		}
	})
	// Two dicts with their entries; no strings.
	if n > 5 {
		t.Errorf("%.0f allocations to decode an empty reply", n)
	}
}
