package script

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"
	"weak"

	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// Commands -----------------------------------------------------------------
//
// A script's @command.command functions are registered in the command
// registry when it loads (the load reply lists them with mitmproxy's type
// names) and removed when it unloads; running one sends "command" (name,
// args) to the child, flows as the envelopes of hook calls, and applies
// the changes the reply carries to those flows.
//
// A script calls commands (ctx.master.commands) with a request: "command"
// (name, args, strings), "execute" (cmdstr), "cmdlist". A request made
// while a hook or command call of the child is in progress names that
// call, and is answered by the goroutine waiting for it: a command on the
// call's own flow runs where the flow is, and a command that calls back
// into a script makes a nested call, which the child runs while it waits
// for the answer. Flows from the child arrive by id (refs finds the Go
// flow) or, when a script made them (copy(), from_state()), with their
// state.

// requester is implemented by the addon: the child's requests that are not
// about one flow.
type requester interface {
	hostRequest(ctx context.Context, h *host, req *tnetstring.Dict) (any, error)
}

// flowRefs finds flows the child has seen by id, without keeping them
// alive: a script keeps flow objects (websocket-inject-message injects
// into the flow of an earlier hook) and passes them to commands.
type flowRefs struct {
	mu sync.Mutex
	m  map[string]flowRef
}

type flowRef struct {
	h weak.Pointer[flow.HTTPFlow]
	t weak.Pointer[flow.TCPFlow]
}

func (r flowRef) get() flow.Any {
	if p := r.h.Value(); p != nil {
		return p
	}
	if p := r.t.Value(); p != nil {
		return p
	}
	return nil
}

// add records f under its id.
func (r *flowRefs) add(f flow.Any) {
	id := f.Base().ID
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.m[id]; ok && old.get() == f {
		return
	}
	if r.m == nil {
		r.m = map[string]flowRef{}
	}
	var ref flowRef
	switch x := f.(type) {
	case *flow.HTTPFlow:
		ref.h = weak.Make(x)
		runtime.AddCleanup(x, r.drop, id)
	case *flow.TCPFlow:
		ref.t = weak.Make(x)
		runtime.AddCleanup(x, r.drop, id)
	default:
		return
	}
	r.m[id] = ref
}

// drop forgets id once its flow is gone.
func (r *flowRefs) drop(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ref, ok := r.m[id]; ok && ref.get() == nil {
		delete(r.m, id)
	}
}

func (r *flowRefs) get(id string) flow.Any {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ref, ok := r.m[id]; ok {
		return ref.get()
	}
	return nil
}

// cmdDecl is a command a script declares (from its load reply).
type cmdDecl struct {
	name    string
	params  []command.Param
	returns command.Type
	help    string
}

// parseCommands reads the commands a load reply lists.
func parseCommands(l []any) ([]cmdDecl, []error) {
	var (
		out  []cmdDecl
		errs []error
	)
	for _, v := range l {
		d, ok := v.([]any)
		if !ok || len(d) < 4 {
			continue
		}
		c := cmdDecl{name: anyStr(d[0]), help: anyStr(d[3])}
		bad := false
		ps, _ := d[1].([]any)
		for _, pv := range ps {
			p, ok := pv.([]any)
			if !ok || len(p) < 3 {
				bad = true
				break
			}
			t, ok := command.TypeByName(anyStr(p[1]))
			if !ok {
				errs = append(errs, fmt.Errorf("command %s: argument %s has a type mitmgo does not support: %s",
					c.name, anyStr(p[0]), anyStr(p[1])))
				bad = true
				break
			}
			variadic, _ := p[2].(bool)
			param := command.Param{Name: anyStr(p[0]), Type: t, Variadic: variadic}
			if len(p) > 3 && p[3] != nil {
				param.Default = fromWireDefault(t, p[3])
			}
			c.params = append(c.params, param)
		}
		if rn := anyStr(d[2]); rn != "" && !bad {
			t, ok := command.TypeByName(rn)
			if !ok {
				errs = append(errs, fmt.Errorf("command %s: its result has a type mitmgo does not support: %s", c.name, rn))
				bad = true
			}
			c.returns = t
		}
		if !bad {
			out = append(out, c)
		}
	}
	return out, errs
}

// setScriptCommands registers the commands s declares (nil: none),
// removing those it declared before. A command that replaced one of
// another addon gives it back when the script drops it. Called with the
// life lock held.
func (a *Addon) setScriptCommands(s *scriptState, decls []any) {
	if a.cmds == nil {
		return
	}
	cmds, errs := parseCommands(decls)
	for _, err := range errs {
		a.log.Warn(fmt.Sprintf("in script %s: %v", s.path, err))
	}
	keep := map[string]bool{}
	for _, c := range cmds {
		keep[c.name] = true
	}
	for _, name := range s.cmds {
		if keep[name] || a.cmdOwner[name] != s {
			continue
		}
		delete(a.cmdOwner, name)
		if prev := a.cmdPrev[name]; prev != nil {
			delete(a.cmdPrev, name)
			_ = a.cmds.Add(*prev)
		} else {
			a.cmds.Remove(name)
		}
	}
	s.cmds = s.cmds[:0]
	if a.cmdOwner == nil {
		a.cmdOwner = map[string]*scriptState{}
		a.cmdPrev = map[string]*command.Command{}
	}
	for _, c := range cmds {
		if _, owned := a.cmdOwner[c.name]; !owned {
			if prev, ok := a.cmds.Get(c.name); ok {
				a.cmdPrev[c.name] = prev
			}
		}
		err := a.cmds.Add(command.Command{Name: c.name, Help: c.help, Params: c.params, Returns: c.returns,
			Run: a.runScriptCommand(c.name, c.params, c.returns)})
		if err != nil {
			a.log.Warn(fmt.Sprintf("in script %s: %v", s.path, err))
			continue
		}
		a.cmdOwner[c.name] = s
		s.cmds = append(s.cmds, c.name)
	}
}

// runScriptCommand is the Run of a script's command: it calls the command
// in the child.
func (a *Addon) runScriptCommand(name string, params []command.Param, returns command.Type) func(command.Args) (any, error) {
	return func(args command.Args) (any, error) {
		h := a.hostForCall()
		if h == nil {
			return nil, &command.Error{Msg: fmt.Sprintf("%s: the Python script host is not running", name)}
		}
		flows := map[string]flow.Any{}
		wire, err := a.commandArgs(name, args, flows)
		if err != nil {
			return nil, err
		}
		m := newMsg("command")
		m.Set("name", name)
		m.Set("args", wire)
		reply, err := h.call(context.Background(), m, func(req *tnetstring.Dict) (any, error) {
			f := flows[req.Str("fid")]
			if f == nil {
				return nil, fmt.Errorf("%s: no flow %q among the command's arguments", req.Str("op"), req.Str("fid"))
			}
			switch req.Str("op") {
			case "filter":
				return h.filterOp(req, f)
			case "ws":
				if hf, ok := f.(*flow.HTTPFlow); ok {
					return wsMessages(hf)
				}
			case "body":
				if hf, ok := f.(*flow.HTTPFlow); ok {
					return serveBody(hf, req)
				}
			}
			return nil, fmt.Errorf("unknown request %q", req.Str("op"))
		})
		if reply != nil {
			a.applyCommandChanges(name, flows, reply.Dict("changes"))
		}
		if err != nil {
			var re *replyError
			if errors.As(err, &re) {
				return nil, &command.Error{Msg: re.msg}
			}
			return nil, &command.Error{Msg: fmt.Sprintf("%s: %v", name, err), Err: err}
		}
		if returns.IsNone() {
			return nil, nil
		}
		v, _ := reply.Get("ret")
		return a.fromPy(returns, v)
	}
}

// commandArgs is a script command's arguments for the child. Flows are
// read where they may be (addon.Context.EditReadable: over, intercepted and
// waited for, or lent by their own hook), in one hold of the lock that a
// resume takes: a flow the proxy writes meanwhile is refused, as core's
// flow commands refuse it.
func (a *Addon) commandArgs(name string, args command.Args, flows map[string]flow.Any) ([]any, error) {
	given := argFlows(args)
	envs := make(map[flow.Any]*tnetstring.Dict, len(given))
	var (
		busy   flow.Any
		envErr error
	)
	a.ctx.EditReadable(given, func(f flow.Any, readable bool) {
		switch {
		case busy != nil || envErr != nil:
		case !readable:
			busy = f
		case envs[f] == nil:
			envs[f], envErr = a.flowEnvelope(f, flows, a.limit)
		}
	})
	if busy != nil {
		return nil, &command.Error{Msg: fmt.Sprintf("%s: flow %s is in progress; intercept it or wait until it is done", name, busy.Base().ID)}
	}
	if envErr != nil {
		return nil, &command.Error{Msg: fmt.Sprintf("%s: %v", name, envErr), Err: envErr}
	}
	wire := make([]any, len(args))
	for i, v := range args {
		switch x := v.(type) {
		case flow.Any:
			wire[i] = envs[x]
		case []flow.Any:
			l := make([]any, len(x))
			for j, f := range x {
				l[j] = envs[f]
			}
			wire[i] = l
		default:
			w, err := a.toPy(v, flows, a.limit)
			if err != nil {
				return nil, &command.Error{Msg: fmt.Sprintf("%s: %v", name, err), Err: err}
			}
			wire[i] = w
		}
	}
	return wire, nil
}

// applyCommandChanges applies what a script's command changed in the flows
// it was given, as mitmproxy's commands edit flows in place.
func (a *Addon) applyCommandChanges(name string, flows map[string]flow.Any, ch *tnetstring.Dict) {
	if ch.Len() == 0 {
		return
	}
	changes := make(map[flow.Any]*tnetstring.Dict, ch.Len())
	var targets []flow.Any
	for _, e := range ch.Entries {
		f := flows[e.Key]
		d, _ := e.Value.(*tnetstring.Dict)
		if f != nil && d != nil {
			changes[f] = d
			targets = append(targets, f)
		}
	}
	var (
		changed, dropped []flow.Any
		failed           []error
	)
	// A flow resumed while the command ran is the proxy's again: its
	// changes are dropped, with a warning.
	a.ctx.EditReadable(targets, func(f flow.Any, readable bool) {
		if !readable {
			dropped = append(dropped, f)
			return
		}
		var err error
		switch x := f.(type) {
		case *flow.HTTPFlow:
			err = applyHTTP(x, changes[f])
		case *flow.TCPFlow:
			err = applyTCP(x, changes[f])
		}
		if err != nil {
			failed = append(failed, fmt.Errorf("flow %s: %w", f.Base().ID, err))
		}
		changed = append(changed, f)
	})
	for _, f := range dropped {
		a.log.Warn(fmt.Sprintf("Script host: the changes of command %s to flow %s are dropped: it went on meanwhile", name, f.Base().ID))
	}
	for _, err := range failed {
		a.log.Error(fmt.Sprintf("Script host: applying the changes of command %s to %v", name, err))
	}
	if len(changed) > 0 {
		a.ctx.Update(changed...)
	}
}

// toPy converts a command value for the child: flows as hook envelopes
// (recorded in flows, when not nil, to serve their bodies), with bodies
// above limit left out.
func (a *Addon) toPy(v any, flows map[string]flow.Any, limit int64) (any, error) {
	switch x := v.(type) {
	case nil, bool, []byte:
		return x, nil
	case string:
		return wireStr(x), nil
	case int:
		return int64(x), nil
	case int64, float64:
		return x, nil
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = wireStr(s)
		}
		return out, nil
	case flow.Any:
		return a.flowEnvelope(x, flows, limit)
	case []flow.Any:
		out := make([]any, len(x))
		for i, f := range x {
			e, err := a.flowEnvelope(f, flows, limit)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			w, err := a.toPy(e, flows, limit)
			if err != nil {
				return nil, err
			}
			out[i] = w
		}
		return out, nil
	case [][]any:
		out := make([]any, len(x))
		for i, row := range x {
			w, err := a.toPy(row, flows, limit)
			if err != nil {
				return nil, err
			}
			out[i] = w
		}
		return out, nil
	}
	return wireStr(fmt.Sprint(v)), nil
}

// flowEnvelope is f as a hook call carries it, for a command.
func (a *Addon) flowEnvelope(f flow.Any, flows map[string]flow.Any, limit int64) (*tnetstring.Dict, error) {
	var (
		m   *tnetstring.Dict
		err error
	)
	switch x := f.(type) {
	case *flow.HTTPFlow:
		m, err = a.httpEnvelope("", x, 0, limit)
		if m != nil {
			// All its WebSocket messages, not joined to what the child
			// keeps for its hooks.
			m.Delete("wsbase")
		}
	case *flow.TCPFlow:
		m, err = tcpMessage("", x)
	default:
		return nil, fmt.Errorf("flows of type %s cannot be passed to scripts", f.Type())
	}
	if err != nil {
		return nil, err
	}
	m.Delete("cmd")
	m.Delete("hook")
	m.Set("type", f.Type())
	a.refs.add(f)
	if flows != nil {
		flows[f.Base().ID] = f
	}
	return m, nil
}

// fromPy converts a value from the child to the Go value of type t.
func (a *Addon) fromPy(t command.Type, v any) (any, error) {
	switch t {
	case command.Flow:
		return a.pyFlow(v)
	case command.Flows:
		l, _ := v.([]any)
		out := make([]flow.Any, 0, len(l))
		for _, x := range l {
			f, err := a.pyFlow(x)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
		return out, nil
	case command.Int:
		if n, ok := tnetstring.AsInt(v); ok {
			return int(n), nil
		}
	case command.Bool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case command.Bytes:
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case command.Strs, command.CutSpec:
		l, _ := v.([]any)
		out := make([]string, len(l))
		for i, x := range l {
			out[i] = anyStr(x)
		}
		return out, nil
	case command.Data:
		l, _ := v.([]any)
		out := make([][]any, len(l))
		for i, row := range l {
			r, _ := row.([]any)
			out[i] = make([]any, len(r))
			for j, c := range r {
				switch c.(type) {
				case []byte:
					out[i][j] = c
				default:
					out[i][j] = anyStr(c)
				}
			}
		}
		return out, nil
	default:
		if v == nil {
			return nil, nil
		}
		return anyStr(v), nil
	}
	return v, nil
}

// goValue converts an argument from the child for parameter p: flows
// found by id (or made from their state), the rest as the registry's Call
// takes them.
func (a *Addon) goValue(p command.Param, v any) (any, error) {
	switch p.Type {
	case command.Flow:
		return a.pyFlow(v)
	case command.Flows:
		return a.fromPy(p.Type, v)
	case command.Str, command.Path, command.Cmd, command.Arg, command.Marker, command.Unknown:
		if b, ok := v.([]byte); ok {
			return string(b), nil
		}
	case command.Bytes:
		if s, ok := v.(string); ok {
			return []byte(s), nil
		}
	case command.Strs, command.CutSpec:
		if l, ok := v.([]any); ok {
			out := make([]any, len(l))
			for i, x := range l {
				out[i] = anyStr(x)
			}
			return out, nil
		}
	}
	if p.Type.ChoicesCommand() != "" {
		if b, ok := v.([]byte); ok {
			return string(b), nil
		}
	}
	return v, nil
}

// pyFlow resolves a flow the child sent: {"__flow__": id} for a flow it
// had from mitmgo, with "state" for one a script made.
func (a *Addon) pyFlow(v any) (flow.Any, error) {
	d, ok := v.(*tnetstring.Dict)
	if !ok || !d.Has("__flow__") {
		return nil, fmt.Errorf("expected a flow, got %s", pyTypeName(v))
	}
	id := d.Str("__flow__")
	if b := d.Bytes("state"); b != nil {
		sv, _, err := tnetstring.Unmarshal(b)
		if err != nil {
			return nil, fmt.Errorf("flow %s: %w", id, err)
		}
		sd, ok := sv.(*tnetstring.Dict)
		if !ok {
			return nil, fmt.Errorf("flow %s: malformed state", id)
		}
		fv, err := flow.FromState(sd)
		if err != nil {
			return nil, fmt.Errorf("flow %s: %w", id, err)
		}
		f, ok := fv.(flow.Any)
		if !ok {
			return nil, fmt.Errorf("flow %s: unsupported flow type", id)
		}
		a.refs.add(f)
		return f, nil
	}
	if f := a.refs.get(id); f != nil {
		return f, nil
	}
	if v := a.flowView(); v != nil {
		if f, ok := v.Get(id); ok {
			return f, nil
		}
	}
	return nil, fmt.Errorf("flow %s is no longer known to mitmgo", id)
}

func pyTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case int64:
		return "int"
	case bool:
		return "bool"
	case []any:
		return "list"
	case *tnetstring.Dict:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

// hostRequest answers the child's command requests (see requester).
func (a *Addon) hostRequest(ctx context.Context, h *host, req *tnetstring.Dict) (any, error) {
	if a.cmds == nil {
		return nil, errors.New("no command registry")
	}
	var (
		ret any
		err error
	)
	switch req.Str("op") {
	case "addon":
		return a.describeAddon(req.Str("name")), nil
	case "viewlen", "viewat":
		v := a.flowView()
		if v == nil {
			return nil, errors.New("there is no view (mitmdump has none)")
		}
		if req.Str("op") == "viewlen" {
			return int64(v.Len()), nil
		}
		n := v.Len()
		i := int(req.Int("index"))
		if i < 0 {
			i += n
		}
		f := v.At(i)
		if f == nil {
			return nil, errors.New("view index out of range")
		}
		return a.flowEnvelope(f, nil, math.MaxInt64)
	case "cmdlist":
		cmds := a.cmds.Commands()
		out := make([]any, len(cmds))
		for i, c := range cmds {
			out[i] = []any{wireStr(c.Name), wireStr(c.Signature()), wireStr(c.HelpText())}
		}
		return out, nil
	case "execute":
		ret, err = a.cmds.Execute(req.Str("cmdstr"))
	case "command":
		name := req.Str("name")
		raw := req.List("args")
		if req.Bool("strings") {
			texts := make([]string, len(raw))
			for i, x := range raw {
				texts[i] = anyStr(x)
			}
			ret, err = a.cmds.CallStrings(name, texts)
			break
		}
		c, ok := a.cmds.Get(name)
		if !ok {
			return nil, &command.Error{Msg: "Unknown command: " + name}
		}
		args := make([]any, 0, len(raw))
		for i, x := range raw {
			p := command.Param{Type: command.Unknown}
			switch {
			case i < len(c.Params):
				p = c.Params[i]
			case len(c.Params) > 0 && c.Params[len(c.Params)-1].Variadic:
				p = c.Params[len(c.Params)-1]
			}
			v, cerr := a.goValue(p, x)
			if cerr != nil {
				return nil, &command.Error{Msg: fmt.Sprintf("command argument mismatch: argument %s: %v", p.Name, cerr)}
			}
			args = append(args, v)
		}
		// The flows of the call in progress that it was given; when the
		// call is a proxy hook's, the flow is this goroutine's, and
		// commands may read and change it (addon.Context.Lend).
		own := ownFlows(args, req.List("refresh"))
		a.ctx.Lend(hookFlows(ctx, own), func() { ret, err = a.cmds.Call(name, args...) })
		if refresh := req.List("refresh"); err == nil && refresh != nil {
			// With the flow-level fields of the flows of the call in
			// progress that it was given, which the command may have
			// changed (flow.mark, flow.comment), so that the script's
			// objects show them. Only those: the request is answered by
			// the goroutine that has them, while other flows may be
			// changing on theirs.
			w, err := a.toPy(ret, nil, math.MaxInt64)
			if err != nil {
				return nil, err
			}
			out := tnetstring.NewDict()
			out.Set("ret", w)
			out.Set("fl", a.readableFlowFields(ctx, own))
			return out, nil
		}
	default:
		return nil, fmt.Errorf("unknown request %q", req.Str("op"))
	}
	if err != nil {
		return nil, err
	}
	// The child may keep what it gets; bodies travel with it.
	return a.toPy(ret, nil, math.MaxInt64)
}

// readFlows answers mitmproxy.io's FlowReader: the flows of data (one
// tnetstring flow, or a whole HAR file) as version-21 state dicts, read as
// mitmgo's -r reads them (older versions migrated).
func readFlows(data []byte, har bool) (any, error) {
	r := flowfile.NewReader(bytes.NewReader(data))
	var out []any
	for {
		d, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
		if !har {
			return out, nil
		}
	}
}

// scriptAttrs is implemented by built-in addons that describe themselves
// to scripts (ctx.master.addons.get): the attributes mitmproxy's addon of
// that name has, as plain values.
type scriptAttrs interface {
	ScriptAttrs() map[string]any
}

// describeAddon answers ctx.master.addons.get(name) for a built-in: nil
// when there is none, else its attributes ("name" at least).
func (a *Addon) describeAddon(name string) any {
	if a.ctx == nil {
		return nil
	}
	v, ok := a.ctx.Addon(name)
	if !ok {
		return nil
	}
	attrs := map[string]any{}
	if sa, ok := v.(scriptAttrs); ok {
		attrs = sa.ScriptAttrs()
	}
	d := wireAttrs(attrs).(*tnetstring.Dict)
	d.Set("name", wireStr(name))
	return d
}

// wireAttrs converts plain Go values (maps, slices, numbers, strings) for
// the child.
func wireAttrs(v any) any {
	switch x := v.(type) {
	case map[string]any:
		d := tnetstring.NewDict()
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			d.Set(k, wireAttrs(x[k]))
		}
		return d
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = wireAttrs(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = wireStr(e)
		}
		return out
	case string:
		return wireStr(x)
	case int:
		return int64(x)
	case nil, bool, int64, float64, []byte:
		return x
	}
	return wireStr(fmt.Sprint(v))
}

// flowView is the view (mitmweb, the console), as scripts reach it
// (ctx.master.view); nil without one.
type flowView interface {
	Len() int
	At(i int) flow.Any
	Get(id string) (flow.Any, bool)
}

func (a *Addon) flowView() flowView {
	if a.ctx == nil {
		return nil
	}
	v, ok := a.ctx.Addon("view")
	if !ok {
		return nil
	}
	fv, _ := v.(flowView)
	return fv
}

// fromWireDefault converts a Python default value for a parameter of type
// t (nil when it does not fit).
func fromWireDefault(t command.Type, v any) any {
	switch t {
	case command.Int:
		if n, ok := tnetstring.AsInt(v); ok {
			return int(n)
		}
	case command.Bool:
		if b, ok := v.(bool); ok {
			return b
		}
	case command.Bytes:
		if b, ok := v.([]byte); ok {
			return b
		}
	default:
		if t.String() == "flow" || t.String() == "flow[]" || t.String() == "str[]" || t.String() == "cut[]" {
			return nil
		}
		switch v.(type) {
		case string, []byte:
			return anyStr(v)
		}
	}
	return nil
}

// hookFlowKey is the context key of hookCall.
type hookFlowKey struct{}

// hookCall is the context of a proxy hook's call of f, made on the goroutine
// that runs the hook (the flow's writer, waiting for the call): only there
// may a command the hook calls on f change it (see hookFlows). A one-shot
// script's calls (script.run) and requests answered outside any call are
// not hook calls.
func hookCall(f flow.Any) context.Context {
	return context.WithValue(context.Background(), hookFlowKey{}, f)
}

// hookFlows is the flow of ctx's hook call among flows (none when ctx is
// not a hook call's).
func hookFlows(ctx context.Context, flows []flow.Any) []flow.Any {
	f, _ := ctx.Value(hookFlowKey{}).(flow.Any)
	if f == nil || !slices.Contains(flows, f) {
		return nil
	}
	return []flow.Any{f}
}

// ownFlows are the flows among args whose id is in ids: the child names
// so the flows of the hook call in progress that the request belongs to
// (see CommandManager.call in the child), whose goroutine answers it.
func ownFlows(args []any, ids []any) []flow.Any {
	if len(ids) == 0 {
		return nil
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[anyStr(id)] = true
	}
	var own []flow.Any
	for _, f := range argFlows(args) {
		if f != nil && want[f.Base().ID] && !slices.Contains(own, f) {
			own = append(own, f)
		}
	}
	return own
}

// argFlows are the flows among a command's arguments (a flow, or a list of
// them), in order.
func argFlows(args []any) []flow.Any {
	var flows []flow.Any
	for _, v := range args {
		switch x := v.(type) {
		case flow.Any:
			flows = append(flows, x)
		case []flow.Any:
			flows = append(flows, x...)
		}
	}
	return flows
}

// readableFlowFields is the flow-level part of the state (its "f" as a
// hook call carries it) of each of flows that may be read now, by id: the
// hook call's own flow, which this goroutine runs, and flows the proxy
// leaves alone (addon.Context.EditReadable). A flow a UI resumed while the
// command ran (script.run's) is left out: the proxy writes it meanwhile,
// and the child keeps the fields it had.
func (a *Addon) readableFlowFields(ctx context.Context, flows []flow.Any) *tnetstring.Dict {
	out := tnetstring.NewDict()
	a.ctx.Lend(hookFlows(ctx, flows), func() {
		a.ctx.EditReadable(flows, func(f flow.Any, readable bool) {
			if !readable {
				return
			}
			st := f.State()
			for _, k := range []string{"request", "response", "websocket", "messages", "client_conn", "server_conn"} {
				st.Delete(k)
			}
			if b, err := tnetstring.Marshal(st); err == nil {
				out.Set(f.Base().ID, b)
			}
		})
	})
	return out
}
