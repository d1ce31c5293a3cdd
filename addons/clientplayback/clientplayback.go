// Package clientplayback is mitmproxy's client replay (-C FILE): the
// requests of recorded flows are sent to their servers again and the new
// responses recorded in the same flows, which are marked
// is_replay="request".
//
// A replayed flow goes through the addon chain as a live request does:
// requestheaders, request (where an addon may answer it, as server replay
// does, or kill it), then responseheaders and response, or error. The
// upstream round trip itself is done by a Sender, which the proxy package
// provides; this package owns the queue and the hook sequence.
//
// Flows are replayed one at a time (client_replay_concurrency=1, the
// default) or all at once (-1), starting when mitmgo is running.
package clientplayback

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/readfile"
	"github.com/mitmgo/mitmgo/flow"
)

// Compile-time checks of the hooks ClientPlayback relies on.
var (
	_ addon.LoadHook      = (*ClientPlayback)(nil)
	_ addon.ConfigureHook = (*ClientPlayback)(nil)
	_ addon.RunningHook   = (*ClientPlayback)(nil)
	_ addon.DoneHook      = (*ClientPlayback)(nil)
)

// Sender does the upstream round trip of a replayed request.
//
// Send connects to f.Request's scheme, host and port (through the upstream
// proxy in upstream mode; f.ServerConn describes the connection to make
// and is updated with what happened), writes f.Request and reads the
// response into f.Response with its timestamps. When there is no response
// it returns an error (or sets f.Error). Send must not fire the HTTP hooks
// (requestheaders, request, responseheaders, response, error): the addon
// fires them. It may fire the connection hooks (server_connect, ...). It
// must return when ctx is cancelled. Send is called from several
// goroutines at once when client_replay_concurrency is -1.
type Sender interface {
	Send(ctx context.Context, f *flow.HTTPFlow) error
}

// ClientPlayback is the client replay addon. It is safe for concurrent use.
type ClientPlayback struct {
	m      *addon.Manager
	sender atomic.Pointer[senderBox]
	opts   *addon.Options
	log    *slog.Logger

	mu       sync.Mutex
	queue    []*flow.HTTPFlow
	inflight map[*flow.HTTPFlow]bool
	wake     chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	running  bool
	loaded   []string // client_replay as last queued

	replayFiles addon.Opt[[]string]
	concurrency addon.Opt[int]
}

type senderBox struct{ s Sender }

// New returns the client replay addon dispatching through m and sending
// with s. s may be nil and set later with SetSender.
func New(m *addon.Manager, s Sender) *ClientPlayback {
	c := &ClientPlayback{
		m: m, opts: m.Options(), log: m.Log(),
		inflight: map[*flow.HTTPFlow]bool{},
		wake:     make(chan struct{}, 1),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.SetSender(s)
	return c
}

// Name is mitmproxy's addon name.
func (c *ClientPlayback) Name() string { return "clientplayback" }

// SetSender sets the upstream client.
func (c *ClientPlayback) SetSender(s Sender) { c.sender.Store(&senderBox{s}) }

// Load declares client_replay and client_replay_concurrency.
func (c *ClientPlayback) Load(l *addon.Loader) {
	c.opts = l.Context().Options
	c.log = l.Context().Log
	c.replayFiles = addon.Declare(l, "client_replay", []string{}, "Replay client requests from a saved file.")
	c.concurrency = addon.Declare(l, "client_replay_concurrency", 1,
		"Concurrency limit on in-flight client replay requests. Currently the only valid values are 1 and -1 (no limit).")
	c.addCommands(l)
}

// Configure validates client_replay_concurrency and queues the flows of
// the client_replay files.
func (c *ClientPlayback) Configure(updated map[string]bool) error {
	if c.concurrency.Changed(updated) {
		if n := c.concurrency.Get(); n != 1 && n != -1 {
			return fmt.Errorf("option client_replay_concurrency: currently the only valid values are -1 and 1, not %d", n)
		}
	}
	if c.replayFiles.Changed(updated) {
		paths := c.replayFiles.Get()
		// The CLI sets options, then configures every addon with all of
		// them: queue the same files only once.
		c.mu.Lock()
		same := slices.Equal(paths, c.loaded)
		c.mu.Unlock()
		if len(paths) > 0 && !same {
			flows, err := readfile.ReadFlows(paths)
			if err != nil {
				return fmt.Errorf("option client_replay: %w", err)
			}
			c.StartReplay(flows)
		}
		c.mu.Lock()
		c.loaded = paths
		c.mu.Unlock()
	}
	return nil
}

// Running starts replaying.
func (c *ClientPlayback) Running() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running || c.ctx.Err() != nil {
		return
	}
	c.running = true
	c.wg.Add(1)
	go c.loop()
}

// Done stops replaying: requests in flight are cancelled and Done waits for
// them to finish their hooks.
func (c *ClientPlayback) Done() {
	c.cancel()
	c.wg.Wait()
}

// check is mitmproxy's ClientPlayback.check: why f cannot be replayed, or
// "".
func (c *ClientPlayback) check(f any) string {
	hf, ok := f.(*flow.HTTPFlow)
	if !ok {
		return "Can only replay HTTP flows."
	}
	c.mu.Lock()
	busy := c.inflight[hf] || slices.Contains(c.queue, hf)
	c.mu.Unlock()
	switch {
	case hf.IsLive() || busy:
		return "Can't replay live flow."
	case hf.IsIntercepted():
		return "Can't replay intercepted flow."
	case hf.Request == nil:
		return "Can't replay flow with missing request."
	case hf.Request.RawContent == nil:
		return "Can't replay flow with missing content."
	case hf.WebSocket != nil:
		return "Can't replay WebSocket flows."
	}
	return ""
}

// StartReplay queues flows for replay (mitmproxy's replay.client command),
// skipping with a warning those that cannot be replayed. Each queued flow
// is backed up (replay.client.stop reverts it), loses its response and
// error and is marked is_replay="request"; the update hook tells the view.
func (c *ClientPlayback) StartReplay(flows []any) {
	var updated []*flow.HTTPFlow
	c.m.Context().EditFlows(func() {
		for _, f := range flows {
			if why := c.check(f); why != "" {
				c.log.Warn(why)
				continue
			}
			hf := f.(*flow.HTTPFlow)
			hf.Backup()
			hf.IsReplay = "request"
			hf.Response = nil
			hf.Error = nil
			c.mu.Lock()
			c.queue = append(c.queue, hf)
			c.mu.Unlock()
			updated = append(updated, hf)
		}
	})
	c.updated(updated)
	c.signal()
}

// LoadFile reads flows from path and queues them (replay.client.file).
func (c *ClientPlayback) LoadFile(path string) error {
	flows, err := readfile.ReadFlows([]string{path})
	if err != nil {
		return err
	}
	c.StartReplay(flows)
	return nil
}

// Stop empties the replay queue (replay.client.stop), reverting the queued
// flows to what they were; requests in flight complete.
func (c *ClientPlayback) Stop() {
	c.mu.Lock()
	queued := c.queue
	c.queue = nil
	c.mu.Unlock()
	c.m.Context().EditFlows(func() {
		for _, f := range queued {
			f.Revert()
		}
	})
	c.updated(queued)
	c.log.Log(context.Background(), addon.LevelAlert, "Client replay queue cleared.")
}

// Count is the number of flows queued or being replayed
// (replay.client.count).
func (c *ClientPlayback) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue) + len(c.inflight)
}

// Busy reports whether flows are queued or in flight; keepserving keeps
// mitmdump running until they are done.
func (c *ClientPlayback) Busy() bool { return c.Count() > 0 }

func (c *ClientPlayback) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// pop takes the next queued flow, marking it in flight, or waits; nil when
// the addon is done.
func (c *ClientPlayback) pop() *flow.HTTPFlow {
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			f := c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			c.inflight[f] = true
			c.mu.Unlock()
			return f
		}
		c.mu.Unlock()
		select {
		case <-c.wake:
		case <-c.ctx.Done():
			return nil
		}
	}
}

func (c *ClientPlayback) loop() {
	defer c.wg.Done()
	for {
		f := c.pop()
		if f == nil {
			return
		}
		if c.concurrency.Get() == -1 {
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				c.replay(f)
			}()
			continue
		}
		c.replay(f)
	}
}

// replay sends one flow through the hooks and the Sender.
func (c *ClientPlayback) replay(f *flow.HTTPFlow) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error(fmt.Sprintf("Client replay has crashed! %v", r))
		}
		f.SetLive(false)
		c.mu.Lock()
		delete(c.inflight, f)
		c.mu.Unlock()
	}()
	ctx := c.ctx
	m := c.m
	// The flow becomes live here: a view reading it from elsewhere must
	// not see it half prepared.
	m.Context().EditFlows(func() { prepare(f) })
	// hook fires one event and reports whether the flow is over (killed
	// or mitmgo shutting down).
	hook := func(fire func(*flow.HTTPFlow)) bool {
		fire(f)
		if err := f.WaitForResume(ctx); err != nil {
			if f.Error == nil {
				f.Error = flow.NewError("Replay cancelled: " + err.Error())
			}
			m.Error(f)
			return true
		}
		if f.Killed() {
			m.Error(f)
			return true
		}
		return false
	}
	if hook(m.RequestHeaders) || hook(m.Request) {
		return
	}
	if f.Response != nil {
		// An addon answered (server replay, a script): as mitmproxy, emulate
		// responseheaders.
		f.Response.TimestampStart = now()
	} else if f.Error == nil {
		s := c.sender.Load().s
		var err error
		if s == nil {
			err = fmt.Errorf("client replay is not available: no upstream client")
		} else {
			err = s.Send(ctx, f)
		}
		if f.Response == nil && f.Error == nil {
			if err == nil {
				err = fmt.Errorf("no response")
			}
			f.Error = flow.NewError(err.Error())
		}
	}
	if f.Response == nil {
		m.Error(f)
		return
	}
	if hook(m.ResponseHeaders) {
		return
	}
	m.Response(f)
	_ = f.WaitForResume(ctx)
}

// prepare readies a recorded flow for its new round trip, as mitmproxy's
// ReplayHandler and MockServer do: fresh request timestamps, a copy of the
// client connection, a new server connection to the request's host and
// port (the Sender adds the upstream proxy in upstream mode), and the flow
// live.
func prepare(f *flow.HTTPFlow) {
	t := now()
	f.Request.TimestampStart, f.Request.TimestampEnd = t, t
	if f.ClientConn != nil {
		f.ClientConn = f.ClientConn.Clone()
	}
	srv := flow.NewServer(flow.Address{Host: f.Request.Host, Port: f.Request.Port})
	if f.Request.Scheme == "https" {
		srv.TLS = true
		srv.SNI = f.Request.PrettyHost()
	}
	f.ServerConn = srv
	f.SetLive(true)
}

func now() float64 { return float64(time.Now().UnixNano()) / 1e9 }
