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
// tnetstring dict. A hook call carries the flow as mitmproxy's state dict,
// each part (request, response, connections, ...) as its own nested
// tnetstring so that the child decodes only what a handler touches. Bodies
// larger than Config.BodyInlineLimit stay behind and are fetched when a
// handler first reads them. The reply holds only what handlers changed,
// which is applied to the live flow before the next addon runs.
//
// A script may set request.stream or response.stream to a callable, as in
// mitmproxy: the message gets a flow.Message.StreamFunc that sends each
// chunk of the streamed body to the child, where the callable stays
// (stream.go). The child also keeps the messages of a WebSocket flow, so
// that each websocket_message call carries only the new one.
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
