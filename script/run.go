package script

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// script.run (mitmproxy's ScriptLoader.script_run): a one-shot script run
// on flows that are already there, the console's `|` key.
//
// The script is loaded into the running child (started for it when no
// other script runs) as a one-shot: the child keeps it out of the order
// that live traffic goes through, and only hook calls that name it reach
// it. It gets configure with every option and running, then each flow's
// events in the order the documentation gives for a saved flow (request,
// responseheaders, response, error, skipping what the flow lacks; the
// WebSocket, TCP, UDP and DNS events as mitmproxy's eventsequence yields
// them); it is unloaded without done. mitmproxy 12's script_run runs
// neither load nor done; mitmgo runs load so that the options a script
// declares exist for its configure (the help text says so). What its handlers change is applied
// to the flows, and the update hook tells the view. Failures are logged,
// with the script's name, and never returned: mitmproxy's command logs
// them too, so a console binding that runs it does not show an error box.

// runOneShotTimeout bounds the lifecycle calls of a one-shot script (load,
// configure, running, unload); its flow hooks are bounded like all hooks, by
// script_hook_timeout.
const runOneShotTimeout = 60 * time.Second

func (a *Addon) loadRunCommand(l *addon.Loader) {
	l.AddCommand(command.Command{
		Name: "script.run",
		Help: "Run a script on the specified flows. The script is configured with the current options " +
			"and all lifecycle events for each flow are simulated. Unlike mitmproxy, the load event is " +
			"invoked, so that options the script declares exist when it is configured.",
		Params: []command.Param{{Name: "flows", Type: command.Flows}, {Name: "path", Type: command.Path}},
		Run: func(args command.Args) (any, error) {
			a.RunScript(args.Flows(0), args.Str(1))
			return nil, nil
		},
	})
}

// RunScript runs the script at path once on flows (script.run). It
// returns when the script is unloaded again; failures are logged.
func (a *Addon) RunScript(flows []flow.Any, path string) {
	if a.ctx == nil {
		return
	}
	path = expandHome(path)
	if st, err := os.Stat(path); err != nil || st.IsDir() {
		a.log.Error("No such script: " + path)
		return
	}
	h, sid, own, ok := a.loadOneShot(path)
	if h == nil {
		return
	}
	defer a.unloadOneShot(h, sid, own)
	if !ok {
		return // the child logged why, with the script's name
	}
	for _, f := range flows {
		if !a.whileStill(f, func() {}) {
			// The proxy is writing it: a script may change a flow only
			// when it is over or waits, intercepted.
			a.log.Warn(fmt.Sprintf("script.run: flow %s is in progress; intercept it to run %s on it", f.Base().ID, path))
			continue
		}
		for _, ev := range eventSequence(f) {
			if !h.alive() {
				a.log.Error(fmt.Sprintf("in script %s: the Python script host %s", path, h.endReason()))
				return
			}
			if !a.runEvent(h, sid, path, f, ev) {
				a.log.Warn(fmt.Sprintf("script.run: flow %s was resumed while %s ran on it; its other events are skipped", f.Base().ID, path))
				break
			}
		}
		a.ctx.Update(f)
		if !f.Base().IsLive() {
			// What the child keeps for the flow's next hooks: there are none.
			m := newMsg("forget")
			m.Set("fid", f.Base().ID)
			_ = h.send(m)
		}
	}
}

// loadOneShot loads the script into the child and runs its configure and
// running. Without a child (no scripts option), one is started for this
// run alone (own): it is not the current child, which live traffic and
// the scripts option use, and it is stopped when the run ends, so that
// concurrent runs each have their own and none outlives its run. ok is
// false when the script did not load; h is nil when there is no child to
// unload it from.
func (a *Addon) loadOneShot(path string) (h *host, sid int64, own, ok bool) {
	a.life.Lock()
	defer a.life.Unlock()
	if a.finished {
		a.log.Error(fmt.Sprintf("in script %s: mitmgo is shutting down", path))
		return nil, 0, false, false
	}
	h = a.liveHost()
	if h == nil {
		var err error
		if h, err = a.ensureHost(); err != nil {
			a.log.Error(fmt.Sprintf("in script %s: %v", path, err))
			return nil, 0, false, false
		}
		// ensureHost made it the current child: it is this run's only.
		// Its exit is then not a crash to restart from.
		a.hostMu.Lock()
		if a.cur == h {
			a.cur = nil
		}
		a.hostMu.Unlock()
		own = true
	}
	a.nextSID++
	sid = a.nextSID
	a.log.Info("Running script " + path)
	m := newMsg("load")
	m.Set("sid", sid)
	m.Set("path", path)
	m.Set("name", path)
	m.Set("argv", []any{path})
	m.Set("oneshot", true)
	ctx, cancel := context.WithTimeout(context.Background(), runOneShotTimeout)
	defer cancel()
	reply, err := h.call(ctx, m, nil)
	if err != nil {
		a.log.Error(fmt.Sprintf("in script %s: the script host failed: %v", path, err))
		return h, sid, own, false
	}
	if !reply.Bool("ok") {
		return h, sid, own, false
	}
	c := newMsg("configure")
	names := a.opts.Names()
	up := make([]any, len(names))
	for i, n := range names {
		up[i] = n
	}
	c.Set("updated", up)
	c.Set("options", a.optionValues(names))
	c.Set("sids", []any{sid})
	c.Set("load", true)
	if _, err := h.call(ctx, c, nil); err != nil {
		if re := (*replyError)(nil); errors.As(err, &re) {
			a.log.Error(fmt.Sprintf("in script %s: %s", path, re.msg))
		} else {
			a.log.Error(fmt.Sprintf("in script %s: configure failed: %v", path, err))
		}
		return h, sid, own, false
	}
	r := newMsg("running")
	r.Set("sids", []any{sid})
	if _, err := h.call(ctx, r, nil); err != nil {
		a.log.Error(fmt.Sprintf("in script %s: running failed: %v", path, err))
		return h, sid, own, false
	}
	return h, sid, own, true
}

// unloadOneShot drops the script from the child without its done, and
// stops the child when it was started for this run (own).
func (a *Addon) unloadOneShot(h *host, sid int64, own bool) {
	if own {
		defer h.stop(3 * time.Second)
	}
	if !h.alive() {
		return
	}
	a.life.Lock()
	defer a.life.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), runOneShotTimeout)
	defer cancel()
	m := newMsg("unload")
	m.Set("sid", sid)
	m.Set("done", false)
	if _, err := h.call(ctx, m, nil); err != nil && h.alive() {
		a.log.Error(fmt.Sprintf("Script host: unloading a one-shot script failed: %v", err))
	}
}

// event is one simulated event of a saved flow: the hook, and for the
// message hooks how many of the flow's messages the script sees (as
// mitmproxy's eventsequence appends them one at a time); -1 is all.
type event struct {
	hook string
	msgs int
}

// eventSequence is mitmproxy's eventsequence.iterate for a flow.
func eventSequence(f flow.Any) []event {
	all := func(hooks ...string) []event {
		out := make([]event, len(hooks))
		for i, h := range hooks {
			out[i] = event{h, -1}
		}
		return out
	}
	messages := func(start, msg, end, errHook string, n int, failed bool) []event {
		out := []event{{start, 0}}
		for i := 1; i <= n; i++ {
			out = append(out, event{msg, i})
		}
		if failed {
			return append(out, event{errHook, -1})
		}
		return append(out, event{end, -1})
	}
	var out []event
	switch x := f.(type) {
	case *flow.HTTPFlow:
		if x.Request != nil {
			out = append(out, all("requestheaders", "request")...)
		}
		if x.Response != nil {
			out = append(out, all("responseheaders", "response")...)
		}
		if x.WebSocket != nil {
			ms := messages("websocket_start", "websocket_message", "websocket_end", "", len(x.WebSocket.Messages), false)
			out = append(out, ms...)
		} else if x.Error != nil {
			out = append(out, all("error")...)
		}
	case *flow.TCPFlow:
		out = messages("tcp_start", "tcp_message", "tcp_end", "tcp_error", len(x.Messages), x.Error != nil)
	case *flow.UDPFlow:
		out = messages("udp_start", "udp_message", "udp_end", "udp_error", len(x.Messages), x.Error != nil)
	case *flow.DNSFlow:
		if x.Request != nil {
			out = append(out, all("dns_request")...)
		}
		if x.Response != nil {
			out = append(out, all("dns_response")...)
		}
		if x.Error != nil {
			out = append(out, all("dns_error")...)
		}
	}
	return out
}

// errFlowWentOn answers the child's requests about a flow that was resumed
// while a one-shot script ran on it.
var errFlowWentOn = errors.New("the flow was resumed: the proxy is writing it")

// whileStill runs fn while the view reads no flow and commands change none,
// when f may be read and changed there (addon.Context.EditReadable: it is
// over, or intercepted and the proxy waits for it; a resume, from a UI's
// command, happens under the same lock). It reports whether fn
// ran. script.run reads and changes flows only this way, each time anew:
// a flow may be resumed while its events run.
func (a *Addon) whileStill(f flow.Any, fn func()) bool {
	ran := false
	a.ctx.EditReadable([]flow.Any{f}, func(_ flow.Any, readable bool) {
		if readable {
			ran = true
			fn()
		}
	})
	return ran
}

// runEvent sends one event of f to the one-shot script sid and applies
// what its handlers changed. It reports false when the flow went on (was
// resumed) and may not be read any more.
func (a *Addon) runEvent(h *host, sid int64, path string, f flow.Any, ev event) bool {
	var (
		m     *tnetstring.Dict
		err   error
		serve server
		apply func(*tnetstring.Dict) error
	)
	// The envelope is built, while the view does not read the flow, from
	// a flow that shares f's parts but holds only the messages the event
	// shows: f itself is not changed, not even for a moment (a UI, a
	// command or the proxy may read it meanwhile).
	still := a.whileStill(f, func() {
		switch x := f.(type) {
		case *flow.HTTPFlow:
			sent := x
			if ws := x.WebSocket; ws != nil && ev.msgs >= 0 {
				cut := *ws
				cut.Messages = ws.Messages[:ev.msgs:ev.msgs]
				sent = &flow.HTTPFlow{Request: x.Request, Response: x.Response, WebSocket: &cut}
				sent.Flow.Share(&x.Flow)
			}
			m, err = a.httpEnvelope(ev.hook, sent, 0, a.limit)
			serve = func(req *tnetstring.Dict) (any, error) {
				switch req.Str("op") {
				case "filter":
					return h.filterOp(req, sent)
				case "ws":
					return wsMessages(sent)
				}
				return serveBody(sent, req)
			}
			apply = func(ch *tnetstring.Dict) error { return applyHTTP(x, ch) }
		case *flow.TCPFlow:
			sent := x
			if ev.msgs >= 0 {
				sent = &flow.TCPFlow{Messages: x.Messages[:ev.msgs:ev.msgs]}
				sent.Flow.Share(&x.Flow)
			}
			m, err = tcpMessage(ev.hook, sent)
			apply = func(ch *tnetstring.Dict) error { return applyTCP(x, ch) }
		case *flow.UDPFlow:
			sent := x
			if ev.msgs >= 0 {
				sent = &flow.UDPFlow{Messages: x.Messages[:ev.msgs:ev.msgs]}
				sent.Flow.Share(&x.Flow)
			}
			m, err = flowEnvelope(ev.hook, sent, [][2]string{{"messages", "tm"}, {"client_conn", "cc"}, {"server_conn", "sc"}})
			apply = func(ch *tnetstring.Dict) error { return applyUDP(x, ch) }
		case *flow.DNSFlow:
			m, err = flowEnvelope(ev.hook, x, [][2]string{{"request", "rq"}, {"response", "rs"}, {"client_conn", "cc"}, {"server_conn", "sc"}})
			apply = func(ch *tnetstring.Dict) error { return applyDNS(x, ch) }
		default:
			err = fmt.Errorf("flows of type %s cannot be passed to scripts", f.Type())
		}
	})
	if !still {
		return false
	}
	if err != nil {
		a.log.Error(fmt.Sprintf("in script %s: cannot send flow %s to the %s hook: %v", path, f.Base().ID, ev.hook, err))
		return true
	}
	if serve == nil {
		serve = func(req *tnetstring.Dict) (any, error) {
			if req.Str("op") == "filter" {
				return h.filterOp(req, f)
			}
			return nil, fmt.Errorf("unknown request %q", req.Str("op"))
		}
	}
	// The child's requests (bodies, filters) read the flow while the hook
	// runs: each checks again.
	serveStill := func(req *tnetstring.Dict) (v any, err error) {
		if !a.whileStill(f, func() { v, err = serve(req) }) {
			return nil, errFlowWentOn
		}
		return v, err
	}
	m.Set("sids", []any{sid})
	a.refs.add(f)
	reply, err := h.call(context.Background(), m, serveStill)
	if err != nil {
		a.log.Error(fmt.Sprintf("in script %s: the %s hook failed: %v", path, ev.hook, err))
		return true
	}
	ch := reply.Dict("changes")
	if ch.Len() == 0 {
		return true
	}
	if !a.whileStill(f, func() { err = apply(ch) }) {
		return false
	}
	if err != nil {
		a.log.Error(fmt.Sprintf("in script %s: applying the changes of %s to flow %s: %v", path, ev.hook, f.Base().ID, err))
	}
	return true
}
