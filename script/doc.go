// Package script is mitmgo's Python script host: the addon behind
// `-s script.py` (mitmproxy's ScriptLoader).
//
// Scripts run in one python3 child process that the addon starts when the
// first script is configured. The Python side (a `mitmproxy` package with
// mitmproxy's scripting API: ctx, http, script.concurrent, exceptions, ...)
// is embedded in the binary and extracted to a private cache directory, so
// nothing needs installing besides python3 (3.8 or newer, standard library
// only).
//
// The addon talks to the child over two extra pipes (file descriptors 3 and
// 4; the child's stdout and stderr go to the log). Each message is one
// dict, framed as a tnetstring item: mitmgo's messages, and the child's
// replies to hook calls and stream chunks, hold it in Python's marshal
// format (a tnetstring bytes item), which the child decodes and encodes in
// C, ten times faster than a tnetstring in pure Python (pywire.go); the
// child's other messages are tnetstring dicts. A hook call carries the
// flow as mitmproxy's state dict, each part (request, response,
// connections, ...) as its own nested marshal data, written straight from
// the flow (pystate.go), so that the child decodes only what a handler
// touches. Bodies larger than Config.BodyInlineLimit stay behind and are
// fetched when a handler first reads them. Large bodies and WebSocket
// messages that do travel are not copied into the message: it is written
// in pieces with one writev, each large value from where it lies, and a
// WebSocket part with large messages goes in line (a dict, not nested
// data), so that the child copies each once. The reply holds only what
// handlers changed, which is applied to the live flow before the next addon
// runs.
//
// A script may set request.stream or response.stream to a callable, as in
// mitmproxy: the message gets a flow.Message.StreamFunc that sends each
// chunk of the streamed body to the child, where the callable stays
// (stream.go). The child also keeps the messages of a WebSocket flow, so
// that each websocket_message call carries only the new one.
//
// Commands work both ways, as in mitmproxy (commands.go). A script's
// @command.command methods are registered in the command registry when it
// loads, with the types of their annotations (flow[], str, path,
// choice...), and removed when it unloads: Go, other scripts and
// --commands see them like the built-ins. Running one sends the call to the
// child, flows as in a hook call, and applies what the command changed in
// them. ctx.master.commands.call() and .execute() reach any command: those
// of scripts in the child directly, the others with a request to mitmgo.
// A request made while a call of the child is in progress (a hook, a
// command) is answered by the goroutine waiting for that call, so that a
// command on the call's flow runs where the flow is, and a command that
// calls back into a script is a nested call the child runs while it waits.
// Flows cross by id (mitmgo finds flows the child has seen, and the view's,
// without keeping them alive) or, when a script made them (copy(),
// from_state()), with their state. ctx.master.addons.get() describes
// built-ins (proxyserver's servers and listen addresses) and
// ctx.master.view reaches the view of mitmweb and the console.
//
// Flows convert to and from mitmproxy's state dict in the child
// (get_state, set_state, from_state, copy); mitmproxy.io's FlowWriter
// writes what -w writes, and FlowReader reads through mitmgo's reader
// (older versions migrated, HAR). Content views that scripts add
// (mitmproxy.contentviews) render bodies in the dumper (views.go).
//
// At start a script's configure runs once, with every option; a script
// whose configure rejects the options it declared gets them reset to their
// defaults.
//
// Only hooks that some script defines are sent; the others cost one atomic
// load. Calls carry ids, so several flows can be in the child at once:
// handlers run one at a time on the child's event loop, as in mitmproxy,
// while @concurrent handlers run on threads and async handlers are awaited.
//
// Failures are contained: a script that does not load is logged with its
// file, line and traceback; an exception in a handler is logged as
// "Addon error" and the flow goes on without that handler's changes, as in
// mitmproxy. A hook call that does not complete fails closed, since a
// script may enforce a policy: when the child dies or is stopped during
// it, or a handler runs past the script_hook_timeout option (off by
// default, as mitmproxy has no limit), the flow is killed and the log
// names the script and the hook. Such a handler is interrupted (an
// exception raised in it), so that the flows queued behind it go on; one
// that will not stop, or a child that stops answering (a handler holding
// the GIL), gets the child restarted. A child that dies is restarted; hook
// calls wait for the restarted scripts (10 s at most, then their flows are
// killed), so that no flow passes a script that is not loaded yet.
//
// The child never outlives mitmgo: on Linux the kernel kills it when its
// parent dies (a parent-death signal), and on every platform its watchdog
// thread exits the process as soon as its input pipe closes, even while a
// handler loops on the main thread. It ignores SIGINT and SIGTERM, which
// reach it when they are sent to mitmgo's process group: mitmgo shuts down
// in order and ends it. Shutdown is bounded (Addon.BeginShutdown): hooks
// still running Config.ShutdownGrace after it began get the child stopped.
//
// Scripts are polled for changes once a second and reloaded.
package script
