package console

import (
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/mitmgo/mitmgo/addon"
)

// The event log screen (E), as mitmproxy 12's eventlog.py: one line per
// entry, "level: message", error, warn and alert lines in their palette
// colours; console_eventlog_verbosity hides the levels above it (error <
// warn < info = alert < debug, mitmproxy's log_tier). Scripts' ctx.log and
// logging output arrive here through the log hook like every other entry.
//
// The log follows its end while the last line is in sight, so that new
// entries scroll in, and stays where it is once scrolled up (g, k, page
// up); G or End follows again. A message of several lines (a traceback)
// shows all of them; long lines wrap. z clears it (eventstore.clear,
// after a confirmation, bound in the "eventlog" context).

// logTier is mitmproxy's log_tier: the verbosity at which a level shows.
func logTier(level string) int {
	switch level {
	case "error":
		return 0
	case "warn":
		return 1
	case "info", "alert":
		return 2
	case "debug":
		return 3
	}
	return 2
}

// evRow is one screen line of the event log.
type evRow struct {
	level string
	text  string
}

type eventLogScreen struct {
	top    int
	follow bool
	last   int // the height of the last View

	// The rows, rebuilt when the log, the width or the verbosity
	// changed.
	total  uint64
	width  int
	verb   string
	rows   []evRow
	counts []int // how many rows each kept entry has, oldest first
	built  bool
}

// NewEventLog returns the event log screen (key E).
func NewEventLog() Screen { return &eventLogScreen{follow: true} }

func (e *eventLogScreen) Title() string   { return "Events" }
func (e *eventLogScreen) Context() string { return "eventlog" }

func (e *eventLogScreen) verbosity(st *State) string {
	if st.Options == nil {
		return "info"
	}
	o, err := addon.Lookup[string](st.Options, "console_eventlog_verbosity")
	if err != nil || o.Get() == "" {
		return "info"
	}
	return o.Get()
}

// build brings the rows up to date with the log. While only new entries
// came (the usual case: the log grows, and drops its oldest entries once
// full), it wraps just those; a clear, a new width or verbosity rebuilds
// everything. Total counts every Add and Clear, so that a clear is told
// from additions: after one, more entries seem dropped than were kept.
func (e *eventLogScreen) build(st *State, width int) {
	if st.Log == nil {
		e.rows, e.counts = nil, nil
		return
	}
	verb := e.verbosity(st)
	same := e.built && width == e.width && verb == e.verb
	var (
		total   uint64
		entries []LogEntry
	)
	for range 3 {
		total = st.Log.Total()
		if same && total == e.total {
			return
		}
		entries = st.Log.Entries()
		if st.Log.Total() == total {
			break
		}
		// An entry came between the two reads: read again (a third
		// mismatch only costs a rebuild next time).
	}
	tier := logTier(verb)
	added := int(total - e.total)
	dropped := len(e.counts) + added - len(entries)
	e.built, e.total, e.width, e.verb = true, total, width, verb
	if !same || dropped < 0 || dropped > len(e.counts) {
		e.rows, e.counts = e.rows[:0], e.counts[:0]
		for _, en := range entries {
			e.add(en, tier, width)
		}
		return
	}
	n := 0
	for _, c := range e.counts[:dropped] {
		n += c
	}
	e.rows, e.counts = e.rows[n:], e.counts[dropped:]
	e.top = max(e.top-n, 0)
	// The kept entries are the first len(e.counts) of entries.
	for _, en := range entries[len(e.counts):] {
		e.add(en, tier, width)
	}
}

// add appends the rows of one entry (none when the verbosity hides it).
func (e *eventLogScreen) add(en LogEntry, tier, width int) {
	level := addon.LevelName(en.Level)
	n := 0
	if logTier(level) <= tier {
		for _, line := range strings.Split(strings.TrimRight(level+": "+en.Msg, "\n"), "\n") {
			line = strings.ReplaceAll(line, "\t", "    ")
			for _, w := range strings.Split(ansi.Hardwrap(line, max(width, 1), true), "\n") {
				e.rows = append(e.rows, evRow{level, w})
				n++
			}
		}
	}
	e.counts = append(e.counts, n)
}

func (e *eventLogScreen) maxTop() int { return max(len(e.rows)-max(e.last, 1), 0) }

func (e *eventLogScreen) Update(msg tea.Msg, st *State) (Screen, tea.Cmd) {
	if m, ok := msg.(tea.KeyMsg); ok && KeyName(m) == "z" {
		// Only when the keymap leaves z to the screen (it binds it to
		// eventstore.clear in mitmproxy's defaults).
		st.Confirm("Clear event log", func(st *State) { st.Log.Clear() })
		return e, nil
	}
	k, ok := listNav(msg)
	if !ok {
		return e, nil
	}
	page := max(e.last-1, 1)
	if e.follow {
		e.top = e.maxTop()
	}
	switch k {
	case NavUp:
		e.top--
	case NavDown:
		e.top++
	case NavPageUp:
		e.top -= page
	case NavPageDown:
		e.top += page
	case NavStart:
		e.top = 0
	case NavEnd:
		e.top = e.maxTop()
	default:
		return e, nil
	}
	e.top = max(min(e.top, e.maxTop()), 0)
	e.follow = e.top >= e.maxTop()
	return e, nil
}

func (e *eventLogScreen) View(st *State, width, height int) string {
	e.build(st, width)
	e.last = height
	if e.follow {
		e.top = e.maxTop()
	}
	e.top = max(min(e.top, e.maxTop()), 0)
	lines := make([]string, 0, height)
	for i := e.top; i < len(e.rows) && len(lines) < height; i++ {
		r := e.rows[i]
		switch r.level {
		case "error", "warn", "alert":
			lines = append(lines, st.Style(r.level).Render(fitCells(r.text, width)))
		default:
			lines = append(lines, r.text)
		}
	}
	return block(lines, width, height)
}
