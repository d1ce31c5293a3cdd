package console

import (
	"github.com/mitmgo/mitmgo/addon"
)

// foreignOpts are typed handles on the options of other addons that the
// console shows (the status bar) or uses. A handle on an option nobody
// declared is the zero handle, which reads as the zero value.
type foreignOpts struct {
	modifyHeaders, modifyBody, ignoreHosts, allowHosts, tcpHosts, mode, scripts addon.Opt[[]string]
	intercept, viewFilter, stickyCookie, stickyAuth, streamLarge, saveStream    addon.Opt[*string]
	viewOrder, confdir                                                          addon.Opt[string]
	interceptActive, anticache, anticomp, showhost, replayRefresh, upstreamCert addon.Opt[bool]
	commandHistory                                                              addon.Opt[bool]
	linesCutoff                                                                 addon.Opt[int]
}

// lookupForeign finds the handles once the master is assembled (Attach).
func lookupForeign(o *addon.Options) foreignOpts {
	var f foreignOpts
	strs := map[string]*addon.Opt[[]string]{
		"modify_headers": &f.modifyHeaders, "modify_body": &f.modifyBody, "ignore_hosts": &f.ignoreHosts,
		"allow_hosts": &f.allowHosts, "tcp_hosts": &f.tcpHosts, "mode": &f.mode, "scripts": &f.scripts,
	}
	for name, h := range strs {
		*h, _ = addon.Lookup[[]string](o, name)
	}
	optStrs := map[string]*addon.Opt[*string]{
		"intercept": &f.intercept, "view_filter": &f.viewFilter, "stickycookie": &f.stickyCookie,
		"stickyauth": &f.stickyAuth, "stream_large_bodies": &f.streamLarge, "save_stream_file": &f.saveStream,
	}
	for name, h := range optStrs {
		*h, _ = addon.Lookup[*string](o, name)
	}
	f.viewOrder, _ = addon.Lookup[string](o, "view_order")
	f.confdir, _ = addon.Lookup[string](o, "confdir")
	bools := map[string]*addon.Opt[bool]{
		"intercept_active": &f.interceptActive, "anticache": &f.anticache, "anticomp": &f.anticomp,
		"showhost": &f.showhost, "server_replay_refresh": &f.replayRefresh, "upstream_cert": &f.upstreamCert,
		"command_history": &f.commandHistory,
	}
	for name, h := range bools {
		*h, _ = addon.Lookup[bool](o, name)
	}
	f.linesCutoff, _ = addon.Lookup[int](o, "content_view_lines_cutoff")
	return f
}

// str reads an optional string option ("" when unset).
func str(h addon.Opt[*string]) string {
	if v := h.Get(); v != nil {
		return *v
	}
	return ""
}

// declared reports whether a handle belongs to a registry.
func declared[T addon.OptValue](h addon.Opt[T]) bool { return h.Name() != "" }
