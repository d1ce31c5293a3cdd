package addon

import "reflect"

// HookSpec describes one event hook: mitmproxy's name, the Go interface an
// addon implements to receive it and the Manager method that fires it.
type HookSpec struct {
	// Name is mitmproxy's name ("requestheaders", "tls_start_client").
	Name string
	// Interface is the Go interface (RequestHeadersHook).
	Interface reflect.Type
	// Method is the interface's one method ("RequestHeaders").
	Method string
	// Fire is the Manager method that dispatches the hook; "" for the
	// hooks the manager fires itself (load from Add, configure from
	// option changes and ConfigureAll, add_log from the log).
	Fire string
	// Arg says what the hook is handed: "loader", "updated", "" (none),
	// "log", "flows", "client", "server" (ServerConnectionData), "http",
	// "tcp", "udp", "dns", "clienthello", "tls" (TLSData) or "socks5" (Socks5AuthData).
	Arg string
}

func spec[H any](name, method, fire, arg string) HookSpec {
	return HookSpec{Name: name, Interface: reflect.TypeFor[H](), Method: method, Fire: fire, Arg: arg}
}

// hookTable is the one list of hooks, in mitmproxy's order. Adding a hook
// means a row here, its interface (hooks.go), its list in the chain and its
// Fire method (manager.go); TestHookTable checks that those agree with the
// table, and that the script host's hook list (script/hooks.go) and its
// Python side (script/py) know every hook a script can define.
var hookTable = []HookSpec{
	spec[LoadHook]("load", "Load", "", "loader"),
	spec[ConfigureHook]("configure", "Configure", "", "updated"),
	spec[RunningHook]("running", "Running", "Running", ""),
	spec[DoneHook]("done", "Done", "Done", ""),
	spec[LogHook]("add_log", "AddLog", "", "log"),
	spec[UpdateHook]("update", "Update", "Update", "flows"),

	spec[ClientConnectedHook]("client_connected", "ClientConnected", "ClientConnected", "client"),
	spec[ClientDisconnectedHook]("client_disconnected", "ClientDisconnected", "ClientDisconnected", "client"),
	spec[ServerConnectHook]("server_connect", "ServerConnect", "ServerConnect", "server"),
	spec[ServerConnectedHook]("server_connected", "ServerConnected", "ServerConnected", "server"),
	spec[ServerDisconnectedHook]("server_disconnected", "ServerDisconnected", "ServerDisconnected", "server"),
	spec[ServerConnectErrorHook]("server_connect_error", "ServerConnectError", "ServerConnectError", "server"),

	spec[RequestHeadersHook]("requestheaders", "RequestHeaders", "RequestHeaders", "http"),
	spec[RequestHook]("request", "Request", "Request", "http"),
	spec[ResponseHeadersHook]("responseheaders", "ResponseHeaders", "ResponseHeaders", "http"),
	spec[ResponseHook]("response", "Response", "Response", "http"),
	spec[ErrorHook]("error", "Error", "Error", "http"),
	spec[HTTPConnectHook]("http_connect", "HTTPConnect", "HTTPConnect", "http"),
	spec[HTTPConnectUpstreamHook]("http_connect_upstream", "HTTPConnectUpstream", "HTTPConnectUpstream", "http"),
	spec[HTTPConnectedHook]("http_connected", "HTTPConnected", "HTTPConnected", "http"),
	spec[HTTPConnectErrorHook]("http_connect_error", "HTTPConnectError", "HTTPConnectError", "http"),

	spec[WebSocketStartHook]("websocket_start", "WebSocketStart", "WebSocketStart", "http"),
	spec[WebSocketMessageHook]("websocket_message", "WebSocketMessage", "WebSocketMessage", "http"),
	spec[WebSocketEndHook]("websocket_end", "WebSocketEnd", "WebSocketEnd", "http"),

	spec[TCPStartHook]("tcp_start", "TCPStart", "TCPStart", "tcp"),
	spec[TCPMessageHook]("tcp_message", "TCPMessage", "TCPMessage", "tcp"),
	spec[TCPEndHook]("tcp_end", "TCPEnd", "TCPEnd", "tcp"),
	spec[TCPErrorHook]("tcp_error", "TCPError", "TCPError", "tcp"),

	spec[UDPStartHook]("udp_start", "UDPStart", "UDPStart", "udp"),
	spec[UDPMessageHook]("udp_message", "UDPMessage", "UDPMessage", "udp"),
	spec[UDPEndHook]("udp_end", "UDPEnd", "UDPEnd", "udp"),
	spec[UDPErrorHook]("udp_error", "UDPError", "UDPError", "udp"),

	spec[DNSRequestHook]("dns_request", "DNSRequest", "DNSRequest", "dns"),
	spec[DNSResponseHook]("dns_response", "DNSResponse", "DNSResponse", "dns"),
	spec[DNSErrorHook]("dns_error", "DNSError", "DNSError", "dns"),

	spec[TLSClientHelloHook]("tls_clienthello", "TLSClientHello", "TLSClientHello", "clienthello"),
	spec[TLSStartClientHook]("tls_start_client", "TLSStartClient", "TLSStartClient", "tls"),
	spec[TLSStartServerHook]("tls_start_server", "TLSStartServer", "TLSStartServer", "tls"),
	spec[TLSEstablishedClientHook]("tls_established_client", "TLSEstablishedClient", "TLSEstablishedClient", "tls"),
	spec[TLSEstablishedServerHook]("tls_established_server", "TLSEstablishedServer", "TLSEstablishedServer", "tls"),
	spec[TLSFailedClientHook]("tls_failed_client", "TLSFailedClient", "TLSFailedClient", "tls"),
	spec[TLSFailedServerHook]("tls_failed_server", "TLSFailedServer", "TLSFailedServer", "tls"),

	spec[Socks5AuthHook]("socks5_auth", "Socks5Auth", "Socks5Auth", "socks5"),
}

// Hooks lists every hook mitmgo fires, in mitmproxy's order.
func Hooks() []HookSpec { return append([]HookSpec(nil), hookTable...) }

// HookByName returns the hook mitmproxy calls name.
func HookByName(name string) (HookSpec, bool) {
	for _, h := range hookTable {
		if h.Name == name {
			return h, true
		}
	}
	return HookSpec{}, false
}
