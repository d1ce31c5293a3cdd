// Package addon is mitmgo's addon API: one small interface per mitmproxy
// event hook, the ordered addon manager that dispatches them, the typed
// options registry, and the log that addons write to.
//
// An addon is any value. It takes part in an event by implementing that
// event's interface, found by type assertion when the addon is registered,
// exactly as mitmproxy looks up a method with the hook's name. Every built-in
// (the dumper, blocking, saving, the Python script host) is an ordinary addon
// on this API.
//
// Hooks for one flow are called synchronously by the goroutine that owns the
// flow, one addon after another in registration order, so an addon sees what
// earlier addons changed. Different flows run concurrently: addons must be
// safe for concurrent use across flows.
//
// An addon may keep the flows it is handed. The proxy then leaves their
// memory alone; an addon that keeps none says so with FlowKeeper, which lets
// the proxy reuse the buffers of large bodies.
package addon

import (
	"crypto/tls"

	"github.com/mitmgo/mitmgo/flow"
)

// Lifecycle hooks.
type (
	// LoadHook is called when the addon is registered; declare options here.
	LoadHook interface{ Load(l *Loader) }
	// ConfigureHook is called at start-up with every option name, then with
	// the names of options that changed. Returning an error rejects the new
	// values (mitmproxy's OptionsError): they are rolled back.
	ConfigureHook interface {
		Configure(updated map[string]bool) error
	}
	// RunningHook is called once the proxy is fully up.
	RunningHook interface{ Running() }
	// DoneHook is called when the addon is removed or mitmgo shuts down.
	DoneHook interface{ Done() }
	// LogHook receives every log entry (mitmproxy's add_log). It must not log.
	LogHook interface{ AddLog(e *LogEntry) }
	// UpdateHook is told that flows changed outside their own hooks: a
	// command marked, edited, resumed or killed them, or an addon changed
	// them later (mitmproxy's update). The view re-sorts and re-filters
	// them and a UI redraws them. Context.Update fires it.
	UpdateHook interface{ Update(flows []flow.Any) }
)

// Connection hooks.
type (
	// ClientConnectedHook: a client connected. Setting client.Error kills the
	// connection.
	ClientConnectedHook interface{ ClientConnected(c *flow.Client) }
	// ClientDisconnectedHook: the client connection closed.
	ClientDisconnectedHook interface{ ClientDisconnected(c *flow.Client) }
	// ServerConnectHook: about to connect upstream. Setting
	// data.Server.Error aborts the connection; Address may still change.
	ServerConnectHook interface{ ServerConnect(d *ServerConnectionData) }
	// ServerConnectedHook: the upstream connection is established.
	ServerConnectedHook interface{ ServerConnected(d *ServerConnectionData) }
	// ServerDisconnectedHook: the upstream connection closed.
	ServerDisconnectedHook interface{ ServerDisconnected(d *ServerConnectionData) }
	// ServerConnectErrorHook: an upstream connect attempt failed.
	ServerConnectErrorHook interface{ ServerConnectError(d *ServerConnectionData) }
)

// ServerConnectionData is the argument of the server connection hooks.
type ServerConnectionData struct {
	Server *flow.Server
	Client *flow.Client
}

// HTTP hooks.
type (
	// RequestHeadersHook: request headers read, body not yet. Set
	// Request.Stream here to stream the body.
	RequestHeadersHook interface{ RequestHeaders(f *flow.HTTPFlow) }
	// RequestHook: the full request was read. Setting f.Response answers the
	// request from the proxy without contacting the server.
	RequestHook interface{ Request(f *flow.HTTPFlow) }
	// ResponseHeadersHook: response headers read, body not yet. Set
	// Response.Stream here to stream the body.
	ResponseHeadersHook interface{ ResponseHeaders(f *flow.HTTPFlow) }
	// ResponseHook: the full response was read.
	ResponseHook interface{ Response(f *flow.HTTPFlow) }
	// ErrorHook: the flow failed without an HTTP response (f.Error is set).
	ErrorHook interface{ Error(f *flow.HTTPFlow) }
	// HTTPConnectHook: a CONNECT request was received. A non-2xx f.Response
	// refuses it.
	HTTPConnectHook interface{ HTTPConnect(f *flow.HTTPFlow) }
	// HTTPConnectUpstreamHook: a CONNECT is about to go to an upstream proxy.
	HTTPConnectUpstreamHook interface{ HTTPConnectUpstream(f *flow.HTTPFlow) }
	// HTTPConnectedHook: the CONNECT succeeded and the tunnel is open
	// (mitmproxy 10.4).
	HTTPConnectedHook interface{ HTTPConnected(f *flow.HTTPFlow) }
	// HTTPConnectErrorHook: the CONNECT failed: the server was unreachable,
	// or an addon refused it. Unlike in ErrorHook, f.Error may be nil
	// (mitmproxy 10.4).
	HTTPConnectErrorHook interface{ HTTPConnectError(f *flow.HTTPFlow) }
)

// FlowKeeper is implemented by an addon that tells whether it may still
// hold a flow, or part of one such as a message body, after the hooks that
// handed the flow over have returned (a list of flows kept for later, a
// queue written by another goroutine). When no addon that receives HTTP
// flows keeps them, the proxy reuses the memory of a finished flow's large
// bodies for the next flows, which saves allocating, zeroing and collecting
// them. An addon that receives HTTP flows and does not implement FlowKeeper
// is taken to keep them, so addons written without knowing of FlowKeeper
// stay correct.
type FlowKeeper interface {
	KeepsFlows() bool
}

// WebSocket hooks.
type (
	WebSocketStartHook   interface{ WebSocketStart(f *flow.HTTPFlow) }
	WebSocketMessageHook interface{ WebSocketMessage(f *flow.HTTPFlow) }
	WebSocketEndHook     interface{ WebSocketEnd(f *flow.HTTPFlow) }
)

// TCP hooks.
type (
	TCPStartHook   interface{ TCPStart(f *flow.TCPFlow) }
	TCPMessageHook interface{ TCPMessage(f *flow.TCPFlow) }
	TCPEndHook     interface{ TCPEnd(f *flow.TCPFlow) }
	TCPErrorHook   interface{ TCPError(f *flow.TCPFlow) }
)

// UDP hooks (reverse:udp): one flow per client address.
type (
	UDPStartHook   interface{ UDPStart(f *flow.UDPFlow) }
	UDPMessageHook interface{ UDPMessage(f *flow.UDPFlow) }
	UDPEndHook     interface{ UDPEnd(f *flow.UDPFlow) }
	UDPErrorHook   interface{ UDPError(f *flow.UDPFlow) }
)

// DNS hooks: one flow per query.
type (
	// DNSRequestHook: a query was received. Setting f.Response answers it
	// without resolving or forwarding; setting f.Error fails it.
	DNSRequestHook interface{ DNSRequest(f *flow.DNSFlow) }
	// DNSResponseHook: a response was received or set. Setting f.Response
	// to nil sends nothing back.
	DNSResponseHook interface{ DNSResponse(f *flow.DNSFlow) }
	// DNSErrorHook: the query failed (f.Error is set); the client gets
	// SERVFAIL.
	DNSErrorHook interface{ DNSError(f *flow.DNSFlow) }
)

// TLS hooks.
type (
	TLSClientHelloHook       interface{ TLSClientHello(d *ClientHelloData) }
	TLSStartClientHook       interface{ TLSStartClient(d *TLSData) }
	TLSStartServerHook       interface{ TLSStartServer(d *TLSData) }
	TLSEstablishedClientHook interface{ TLSEstablishedClient(d *TLSData) }
	TLSEstablishedServerHook interface{ TLSEstablishedServer(d *TLSData) }
	TLSFailedClientHook      interface{ TLSFailedClient(d *TLSData) }
	TLSFailedServerHook      interface{ TLSFailedServer(d *TLSData) }
)

// ClientHelloData is the argument of tls_clienthello.
type ClientHelloData struct {
	Client *flow.Client
	// Server is the upstream connection (already connected with the eager
	// connection strategy).
	Server *flow.Server
	// SNI and ALPNProtocols come from the ClientHello.
	SNI           string
	ALPNProtocols []string
	// IgnoreConnection, set by an addon, passes the connection through
	// without decrypting it.
	IgnoreConnection bool
	// EstablishServerTLSFirst asks to complete the upstream handshake before
	// answering the client, so the server's certificate and ALPN can be
	// mirrored (on by default with upstream_cert).
	EstablishServerTLSFirst bool
}

// SOCKS5 hooks.
type (
	// Socks5AuthHook: a SOCKS5 client sent a user name and password
	// (proxyauth is set). Setting d.Valid accepts them; unless an addon
	// does, the client is refused.
	Socks5AuthHook interface{ Socks5Auth(d *Socks5AuthData) }
)

// Socks5AuthData is the argument of socks5_auth.
type Socks5AuthData struct {
	Client   *flow.Client
	Username string
	Password string
	// Valid, set by an addon, accepts the credentials.
	Valid bool
}

// TLSData is the argument of the tls_start/established/failed hooks.
type TLSData struct {
	Client *flow.Client
	Server *flow.Server
	// IsClient is true for the handshake with the client, false for the one
	// with the server.
	IsClient bool
	// ClientHello is the client's hello: its SNI and ALPN offers.
	ClientHello *ClientHelloData
	// Config is the configuration of the handshake. In tls_start_client and
	// tls_start_server an addon must set it (the tlsconfig built-in does);
	// without one the connection fails.
	Config *tls.Config
	// Err is set in the failed hooks.
	Err error
}
