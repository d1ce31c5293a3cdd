package flow

import (
	"sync"
	"sync/atomic"
)

// BodyProgress is what has passed so far of a body the proxy streams
// (Message.Stream), readable from any goroutine while the flow is in
// flight: a flow may not be read between its hooks, and a streamed body
// records nothing in the flow until it is over. The proxy publishes each
// piece as it forwards it; a UI reads a copy (Snapshot) to show the body as
// it grows. Once the body is over (Finish) it is the flow's RawContent and
// the progress tells nothing more.
//
// The zero value is ready to use; all methods are safe on a nil
// *BodyProgress.
type BodyProgress struct {
	mu sync.Mutex
	// passed counts the bytes that arrived.
	passed int64
	// kept is what the flow keeps of the body (store_streamed_bodies,
	// event_stream_store), nil when it keeps nothing. The proxy appends to
	// its own slice and publishes the longer slice: bytes below len(kept)
	// are never written again while the body streams, so a reader holding
	// the lock may copy them while the proxy appends past them.
	kept []byte
	done bool
}

// Publish records that passed bytes have arrived in all and that kept is
// what the flow keeps of them so far (the proxy's buffer; nil: nothing).
// Only the goroutine that streams the body calls it.
func (p *BodyProgress) Publish(passed int64, kept []byte) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.passed, p.kept = passed, kept
	p.mu.Unlock()
}

// Finish ends the progress: the body is over (or failed) and its bytes go
// to the flow, where hooks may change them in place, so no reader may see
// them from here on.
func (p *BodyProgress) Finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.done, p.kept = true, nil
	p.mu.Unlock()
}

// Snapshot returns a copy of what the flow keeps of the body so far
// (content; nil when it keeps nothing) and how many bytes arrived
// (passed). ok is false once the body is over: read the flow then.
func (p *BodyProgress) Snapshot() (content []byte, passed int64, ok bool) {
	if p == nil {
		return nil, 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return nil, p.passed, false
	}
	if p.kept != nil {
		content = append(make([]byte, 0, len(p.kept)), p.kept...)
	}
	return content, p.passed, true
}

// Passed is how many bytes arrived, and whether the body still streams; it
// copies nothing.
func (p *BodyProgress) Passed() (passed int64, kept int, streaming bool) {
	if p == nil {
		return 0, 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.passed, len(p.kept), !p.done
}

// streamProgress holds the progress of a flow's streamed request and
// response bodies (see HTTPFlow.StreamProgress).
type streamProgress struct {
	request, response atomic.Pointer[BodyProgress]
}

// StreamProgress is the progress of the request's body (response false) or
// the response's while the proxy streams it, nil when it does not. It may
// be called from any goroutine at any time.
func (f *HTTPFlow) StreamProgress(response bool) *BodyProgress {
	if response {
		return f.streams.response.Load()
	}
	return f.streams.request.Load()
}

// SetStreamProgress attaches the progress of a body the proxy streams (the
// proxy calls it as it starts streaming; any goroutine may read it).
func (f *HTTPFlow) SetStreamProgress(response bool, p *BodyProgress) {
	if response {
		f.streams.response.Store(p)
	} else {
		f.streams.request.Store(p)
	}
}
