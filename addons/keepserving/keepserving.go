// Package keepserving is mitmproxy's keepserving addon: when mitmdump
// reads a file (-r), replays client requests (-C) or server responses
// (-S), it exits once that work is done, unless the keepserving option is
// set.
//
// The addon finds the work in progress through the Busy interface, which
// readfile, clientplayback and serverplayback implement: every 100 ms after
// the running hook it asks each registered addon that implements Busy, and
// when none is busy it asks mitmgo to shut down (addon.Context.Shutdown).
// With none of rfile, client_replay and server_replay set, it does nothing:
// mitmdump then runs until it is interrupted.
package keepserving

import (
	"sync"
	"time"

	"github.com/mitmgo/mitmgo/addon"
)

// Compile-time checks of the hooks KeepServing relies on.
var (
	_ addon.LoadHook      = (*KeepServing)(nil)
	_ addon.ConfigureHook = (*KeepServing)(nil)
	_ addon.RunningHook   = (*KeepServing)(nil)
	_ addon.DoneHook      = (*KeepServing)(nil)
)

// Busy is implemented by addons whose unfinished work keeps mitmdump
// running: readfile while its file is being read, client replay while
// requests are queued or in flight, server replay while recorded responses
// are left.
type Busy interface{ Busy() bool }

// watched are handles on mitmproxy's options that make mitmdump exit when
// the work is done: client_replay and server_replay (clientplayback and
// serverplayback declare them) and rfile (readfile). An option that is not
// declared is the zero handle, which reads as unset.
type watched struct {
	clientReplay, serverReplay addon.Opt[[]string]
	rfile                      addon.Opt[*string]
}

// lookup finds the handles still missing; the options may be declared by
// addons loaded after this one.
func (w *watched) lookup(o *addon.Options) {
	if w.clientReplay.Name() == "" {
		w.clientReplay, _ = addon.Lookup[[]string](o, "client_replay")
	}
	if w.serverReplay.Name() == "" {
		w.serverReplay, _ = addon.Lookup[[]string](o, "server_replay")
	}
	if w.rfile.Name() == "" {
		w.rfile, _ = addon.Lookup[*string](o, "rfile")
	}
}

// set reports whether one of the options is set.
func (w *watched) set() bool {
	if len(w.clientReplay.Get()) > 0 || len(w.serverReplay.Get()) > 0 {
		return true
	}
	p := w.rfile.Get()
	return p != nil && *p != ""
}

// DefaultInterval is how often the addon checks for remaining work.
const DefaultInterval = 100 * time.Millisecond

// KeepServing is the keepserving addon.
type KeepServing struct {
	// Interval between checks; DefaultInterval when zero. Set it before
	// Running.
	Interval time.Duration

	m           *addon.Manager
	opts        *addon.Options
	keepserving addon.Opt[bool]

	mu      sync.Mutex
	watched watched // looked up in Configure
	stop    chan struct{}
	wg      sync.WaitGroup
}

// New returns the keepserving addon watching the addons registered with m.
func New(m *addon.Manager) *KeepServing {
	return &KeepServing{m: m, opts: m.Options()}
}

// Load declares keepserving.
func (k *KeepServing) Load(l *addon.Loader) {
	k.opts = l.Context().Options
	k.keepserving = addon.Declare(l, "keepserving", false,
		"Continue serving after client playback, server playback or file read. "+
			"This option is ignored by interactive tools, which always keep serving.")
}

// Configure looks up the options of the work to wait for, once all addons
// have declared theirs.
func (k *KeepServing) Configure(map[string]bool) error {
	k.mu.Lock()
	k.watched.lookup(k.opts)
	k.mu.Unlock()
	return nil
}

// ExitsWhenDone reports whether mitmdump will exit by itself once the file
// read and the replays are done: one of rfile, client_replay and
// server_replay is set and keepserving is not.
func (k *KeepServing) ExitsWhenDone() bool {
	if k.keepserving.Get() {
		return false
	}
	k.mu.Lock()
	w := k.watched
	k.mu.Unlock()
	return w.set()
}

// Running starts watching when mitmdump should exit after its work.
func (k *KeepServing) Running() {
	if !k.ExitsWhenDone() {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stop != nil {
		return
	}
	k.stop = make(chan struct{})
	interval := k.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	k.wg.Add(1)
	go k.watch(k.stop, interval)
}

// Done stops watching.
func (k *KeepServing) Done() {
	k.mu.Lock()
	if k.stop != nil {
		close(k.stop)
		k.stop = nil
	}
	k.mu.Unlock()
	k.wg.Wait()
}

func (k *KeepServing) watch(stop <-chan struct{}, interval time.Duration) {
	defer k.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if !k.Working() {
			k.m.Shutdown()
			return
		}
	}
}

// Working reports whether any registered addon is busy.
func (k *KeepServing) Working() bool {
	for _, name := range k.m.Names() {
		a, ok := k.m.Get(name)
		if !ok {
			continue
		}
		if b, ok := a.(Busy); ok && b.Busy() {
			return true
		}
	}
	return false
}
