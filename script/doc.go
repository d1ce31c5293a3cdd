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
// Only hooks that some script defines are sent; the others cost one atomic
// load. Calls carry ids, so several flows can be in the child at once:
// handlers run one at a time on the child's event loop, as in mitmproxy,
// while @concurrent handlers run on threads and async handlers are awaited.
//
// Failures are contained: a script that does not load is logged with its
// file, line and traceback; an exception in a handler is logged as
// "Addon error" and the flow goes on without that handler's changes; a
// child that dies is restarted and the flows in flight continue unchanged.
// Scripts are polled for changes once a second and reloaded.
package script
