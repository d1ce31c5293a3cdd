package console

import (
	"log/slog"
	"sync"
	"time"
)

// LogEntry is one line of the event log.
type LogEntry struct {
	Time  time.Time
	Level slog.Level
	Msg   string
}

// eventLogSize bounds the event log, as mitmproxy's console does.
const eventLogSize = 10000

// EventLog is the bounded ring of log entries that the console's event log
// screen shows. The console addon feeds it from the log hook (any
// goroutine); screens read it.
type EventLog struct {
	mu    sync.Mutex
	buf   []LogEntry
	start int
	n     int
	total uint64
	size  int
}

// newEventRing returns an empty log that keeps the last size entries
// (eventLogSize when size <= 0).
func newEventRing(size int) *EventLog {
	if size <= 0 {
		size = eventLogSize
	}
	return &EventLog{size: size}
}

// Add appends an entry, dropping the oldest one when the log is full.
func (l *EventLog) Add(e LogEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf == nil {
		l.buf = make([]LogEntry, l.size)
	}
	l.total++
	if l.n < l.size {
		l.buf[(l.start+l.n)%l.size] = e
		l.n++
		return
	}
	l.buf[l.start] = e
	l.start = (l.start + 1) % l.size
}

// Entries returns the entries kept, oldest first.
func (l *EventLog) Entries() []LogEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]LogEntry, l.n)
	for i := range l.n {
		out[i] = l.buf[(l.start+i)%l.size]
	}
	return out
}

// Len is the number of entries kept.
func (l *EventLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// Total is the number of entries ever added: it changes when the log does.
func (l *EventLog) Total() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// Clear empties the log (mitmproxy's console.eventlog.clear).
func (l *EventLog) Clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.start, l.n = 0, 0
	l.total++
}
