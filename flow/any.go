package flow

import (
	"fmt"

	"github.com/mitmgo/mitmgo/tnetstring"
)

// Any is a flow of any type, *HTTPFlow or *TCPFlow: what mitmproxy's
// commands, its view and its flow files call a flow. Base reaches the
// fields every flow shares (ID, Marked, Error, the intercept controls).
type Any interface {
	Base() *Flow
	// Type is "http", "tcp", "dns" or "udp".
	Type() string
	// State is mitmproxy's get_state() dict.
	State() *tnetstring.Dict
	// Backup, Revert and Modified are mitmproxy's flow.backup(),
	// flow.revert() and flow.modified().
	Backup()
	Revert() bool
	Modified() bool
}

var (
	_ Any = (*HTTPFlow)(nil)
	_ Any = (*TCPFlow)(nil)
	_ Any = (*DNSFlow)(nil)
	_ Any = (*UDPFlow)(nil)
)

// Base returns the fields every flow type shares. It is promoted to
// HTTPFlow and TCPFlow, so that code holding an Any can reach them.
func (f *Flow) Base() *Flow { return f }

// Backup saves the flow's state, unless a backup exists already, so that
// Revert can restore it (mitmproxy's flow.backup(), which editing commands
// such as flow.decode call before they change a flow).
func (f *HTTPFlow) Backup() { f.Flow.saveBackup(f.State) }

// Backup is HTTPFlow.Backup for a TCP flow.
func (f *TCPFlow) Backup() { f.Flow.saveBackup(f.State) }

// Modified reports whether the flow differs from its backup; false when it
// has none.
func (f *HTTPFlow) Modified() bool { return f.Flow.modified(f.State) }

// Modified is HTTPFlow.Modified for a TCP flow.
func (f *TCPFlow) Modified() bool { return f.Flow.modified(f.State) }

// Revert restores the state saved by Backup and drops the backup; it
// reports whether there was one. The flow keeps its identity (the same
// pointer, as a view holds it) and its live, intercepted and killed state.
func (f *HTTPFlow) Revert() bool {
	return revert(&f.Flow, func(h *HTTPFlow) {
		f.Request, f.Response, f.WebSocket = h.Request, h.Response, h.WebSocket
	})
}

// Revert is HTTPFlow.Revert for a TCP flow.
func (f *TCPFlow) Revert() bool {
	return revert(&f.Flow, func(t *TCPFlow) { f.Messages = t.Messages })
}

// revert is every flow type's Revert: it reads f's backup back as a flow of
// type T, restores f's shared fields from it and hands it to take, which
// moves the type's own fields into the flow being reverted.
func revert[T Any](f *Flow, take func(T)) bool {
	st := f.takeBackup()
	if st == nil {
		return false
	}
	g, err := FromState(st)
	if err != nil {
		// A backup is State's own output: it always reads back.
		panic(fmt.Sprintf("flow: reverting %s: %v", f.ID, err))
	}
	t := g.(T)
	f.restoreFrom(t.Base())
	take(t)
	return true
}

func (f *Flow) saveBackup(state func() *tnetstring.Dict) {
	f.mu.Lock()
	has := f.backup != nil
	f.mu.Unlock()
	if has {
		return
	}
	// State takes the lock itself (it reads the intercepted flag).
	st := state()
	f.mu.Lock()
	if f.backup == nil {
		f.backup = st
	}
	f.mu.Unlock()
}

func (f *Flow) modified(state func() *tnetstring.Dict) bool {
	f.mu.Lock()
	b := f.backup
	f.mu.Unlock()
	if b == nil {
		return false
	}
	cur := state()
	// The control flags are not part of what a user edits.
	for _, k := range [...]string{"intercepted", "backup"} {
		cur.Set(k, nil)
	}
	saved := tnetstring.Clone(b).(*tnetstring.Dict)
	for _, k := range [...]string{"intercepted", "backup"} {
		saved.Set(k, nil)
	}
	return !tnetstring.Equal(saved, cur)
}

func (f *Flow) takeBackup() *tnetstring.Dict {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.backup
	f.backup = nil
	return b
}

// restoreFrom copies the serialisable fields of src into f, keeping f's
// control state.
func (f *Flow) restoreFrom(src *Flow) {
	f.ID, f.Error, f.ClientConn, f.ServerConn = src.ID, src.Error, src.ClientConn, src.ServerConn
	f.IsReplay = src.IsReplay
	f.marked.Store(src.marked.Load())
	f.comment.Store(src.comment.Load())
	f.Metadata, f.TimestampCreated = src.Metadata, src.TimestampCreated
}

// Share fills f, the Flow of a flow made to show part of src (a script's
// envelope of one event, a UI's copy), with src's fields, shared rather
// than copied, and src's live, running, intercepted and killed state. Nothing waits
// on f: it only reports that state.
func (f *Flow) Share(src *Flow) {
	f.restoreFrom(src)
	const state = ctlLive | ctlRunning | ctlIntercepted | ctlKilled
	f.mu.Lock()
	f.setControlLocked(state, src.control()&state)
	f.mu.Unlock()
}

// copyInto fills c, the Flow of a new copy, with a deep copy of f's shared
// fields under a new id, and f's intercepted and killed state (a copy is not
// live): what every flow type's Copy shares.
func (f *Flow) copyInto(c *Flow) {
	c.ID, c.Error, c.ClientConn, c.ServerConn = NewID(), cloneError(f.Error), cloneClient(f.ClientConn), cloneServer(f.ServerConn)
	c.IsReplay = f.IsReplay
	// The strings are immutable: the pointers are shared, not the fields.
	c.marked.Store(f.marked.Load())
	c.comment.Store(f.comment.Load())
	c.Metadata, c.TimestampCreated = f.Metadata.clone(), f.TimestampCreated
	c.setControl(f.IsIntercepted(), f.Killed())
}

// Copy returns a deep copy with a new id that is not live, as HTTPFlow.Copy.
func (f *TCPFlow) Copy() *TCPFlow {
	c := &TCPFlow{Messages: cloneMessages(f.Messages)}
	f.Flow.copyInto(&c.Flow)
	return c
}

// CopyAny copies an *HTTPFlow or a *TCPFlow (see HTTPFlow.Copy).
func CopyAny(f Any) Any {
	switch f := f.(type) {
	case *HTTPFlow:
		return f.Copy()
	case *TCPFlow:
		return f.Copy()
	case *DNSFlow:
		return f.Copy()
	case *UDPFlow:
		return f.Copy()
	}
	panic(fmt.Sprintf("flow: CopyAny of %T", f))
}
