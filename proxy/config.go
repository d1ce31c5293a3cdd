package proxy

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/internal/h1"
	"github.com/mitmgo/mitmgo/internal/hostmatch"
	"github.com/mitmgo/mitmgo/internal/spec"
)

// Config is a snapshot of the options the proxy core reads. Connections load
// it once per request, so option changes apply to the next request.
type Config struct {
	ListenHost string
	ListenPort int
	// StreamLargeBodies: bodies larger than this are streamed, not buffered;
	// -1 means never.
	StreamLargeBodies int64
	// BodySizeLimit: larger bodies are refused; -1 means no limit.
	BodySizeLimit int64
	// IdleTimeout closes connections that see no traffic for this long.
	IdleTimeout time.Duration
	// ConnectTimeout bounds establishing an upstream TCP connection.
	ConnectTimeout time.Duration
	// RequestHeadTimeout bounds reading a request head once its first
	// bytes arrived (request_head_timeout); 0: no bound.
	RequestHeadTimeout time.Duration
	KeepHostHeader     bool
	// StoreStreamedBodies keeps a copy of streamed bodies in the flow.
	StoreStreamedBodies bool
	// StreamEventStreams streams text/event-stream responses as their
	// events come (stream_event_streams), keeping the first
	// EventStreamStore bytes in the flow (event_stream_store; -1: all).
	StreamEventStreams bool
	EventStreamStore   int64
	// MaxUpstreamPerClient bounds the idle upstream connections one client
	// connection keeps for reuse.
	MaxUpstreamPerClient int
	// ConnectAddr is the local IP address upstream connections are made
	// from (connect_addr); "" lets the system choose.
	ConnectAddr string
	// Debug logs the proxy core's inner workings (proxy_debug).
	Debug bool
	// HTTP2 speaks HTTP/2 where client and server can (http2).
	HTTP2 bool
	// H2PingKeepalive is how long an HTTP/2 server connection may be
	// silent before we PING it (http2_ping_keepalive); 0: never.
	H2PingKeepalive time.Duration
	// WebSocket gives upgraded WebSocket connections their hooks
	// (websocket); without it they are relayed like any other upgrade.
	WebSocket bool
	// Lazy defers server connections until a request needs one
	// (connection_strategy=lazy): a CONNECT is answered at once, and an
	// intercepted tunnel connects when its first request is forwarded, so
	// that server replay or map_local can answer while offline.
	Lazy bool
	// ValidateInboundHeaders refuses messages with invalid header names or
	// with both Transfer-Encoding and Content-Length
	// (validate_inbound_headers): both open the door to request smuggling.
	ValidateInboundHeaders bool
	// RawTCP relays tunnels that carry neither TLS nor HTTP as they are
	// (rawtcp); without it they are read as HTTP, as mitmproxy does.
	RawTCP bool
	// TCPHosts are the tunnels relayed as TCP flows whatever they carry,
	// TLS intercepted (tcp_hosts).
	TCPHosts hostmatch.List
	// Modes are the proxy servers to run, one per mode spec (mode; see
	// modes.go). listenPortSet says listen_port is set: it then overrides
	// the modes' default ports.
	Modes         []*spec.ProxyMode
	listenPortSet bool
	// ConnectSendHostHeader puts a Host header in the CONNECT requests
	// sent to an upstream proxy (http_connect_send_host_header).
	ConnectSendHostHeader bool
	// proxyAuth is the proxyauth addon's option (proxyAuthOption), read
	// live: set, SOCKS5 clients must authenticate. The zero handle (unset)
	// when that addon is not loaded.
	proxyAuth addon.Opt[*string]
}

// headOptions are the options messages are read with.
func (c *Config) headOptions() []h1.HeadOption {
	if c.ValidateInboundHeaders {
		return nil
	}
	return []h1.HeadOption{h1.AnyHeaderNames}
}

// DefaultListenPort is regular mode's port.
const DefaultListenPort = 8080

// declareOptions declares the core options of the proxy server, with
// mitmproxy's names, defaults and help, through add (a Loader's AddOption).
func declareOptions(add func(name string, kind addon.Kind, def any, help string, choices ...string)) {
	add("server", addon.Bool, true, "Start a proxy server. Enabled by default.")
	add("listen_host", addon.String, "", "Address to bind proxy server(s) to (may be overridden for individual modes, see `mode`).")
	add("listen_port", addon.OptionalInt, nil, "Port to bind proxy server(s) to (may be overridden for individual modes, see `mode`). By default, the port is mode-specific. The default regular HTTP proxy spawns on port 8080.")
	add("mode", addon.Strings, []string{"regular"}, "The proxy server type(s) to spawn. Can be passed multiple times. mitmgo supports \"regular\" (HTTP), \"transparent\", \"socks5\", \"dns\", \"reverse:SPEC\" and \"upstream:SPEC\" proxy servers (local, tun and wireguard come later). For reverse and upstream proxy modes, SPEC is host specification in the form of \"http[s]://host[:port]\". You may append `@listen_port` or `@listen_host:listen_port` to override `listen_host` or `listen_port` for a specific proxy mode. Features such as client playback will use the first mode to determine which upstream server to use.")
	add("stream_large_bodies", addon.OptionalString, nil, "Stream data to the client if request or response body exceeds the given threshold. If streamed, the body will not be stored in any way, and such responses cannot be modified. Understands k/m/g suffixes, i.e. 3m for 3 megabytes.")
	add("body_size_limit", addon.OptionalString, nil, "Byte size limit of HTTP request and response bodies. Understands k/m/g suffixes, i.e. 3m for 3 megabytes.")
	add("stream_event_streams", addon.Bool, true, "Stream text/event-stream responses (server-sent events) to the client as each event arrives, while the flow keeps what passed (see event_stream_store) for the response hook, the output and saved flows (mitmgo). A script can still set flow.response.stream = False in responseheaders to have one buffered.")
	add("event_stream_store", addon.OptionalString, "1m", "How much of a streamed event stream (see stream_event_streams) the flow keeps; the rest still reaches the client. Understands k/m/g suffixes; 0 keeps nothing, unset keeps all (mitmgo).")
	add("store_streamed_bodies", addon.Bool, false, "Store HTTP request and response bodies when streamed (see `stream_large_bodies`). This increases memory consumption, but makes it possible to inspect streamed bodies.")
	add("tcp_timeout", addon.Int, 600, "Close idle TCP connections after this many seconds.")
	add("request_head_timeout", addon.Int, 60, "Close a client connection whose HTTP/1 request head has not arrived whole this many seconds after it began, so that a client trickling one byte at a time cannot hold a connection forever (slowloris); 0 turns it off (mitmgo).")
	add("connect_timeout", addon.Int, 30, "Give up establishing an upstream connection after this many seconds (mitmgo).")
	add("keep_host_header", addon.Bool, false, "Reverse Proxy: Keep the original host header instead of rewriting it to the reverse proxy target.")
	add("connection_strategy", addon.String, "eager", "Determine when server connections should be established. When set to lazy, mitmproxy tries to defer establishing an upstream connection as long as possible. This makes it possible to use server replay while being offline. When set to eager, mitmproxy can detect protocols with server-side greetings, as well as accurately mirror TLS ALPN negotiation.", "eager", "lazy")
	add("validate_inbound_headers", addon.Bool, true, "Make sure that incoming HTTP requests are not malformed. Disabling this option makes mitmproxy vulnerable to HTTP smuggling attacks.")
	add("normalize_outbound_headers", addon.Bool, true, "Normalize outgoing HTTP/2 header names, but emit a warning when doing so. HTTP/2 does not allow uppercase header names. This option makes sure that HTTP/2 headers set in custom scripts are lowercased before they are sent.")
	add("rawtcp", addon.Bool, true, "Enable/disable raw TCP connections. TCP connections are enabled by default.")
	add("http_connect_send_host_header", addon.Bool, true, "Include host header with CONNECT requests. Enabled by default.")
	add("websocket", addon.Bool, true, "Enable/disable WebSocket support. WebSocket support is enabled by default.")
	add("tcp_hosts", addon.Strings, []string{}, "Generic TCP SSL proxy mode for all hosts that match the pattern. Similar to --ignore-hosts, but SSL connections are intercepted. The communication contents are printed to the log in verbose mode.")
	add("connect_addr", addon.OptionalString, nil, "Set the local IP address that mitmproxy should use when connecting to upstream servers.")
	add("proxy_debug", addon.Bool, false, "Enable debug logs in the proxy core.")
	add("http2", addon.Bool, true, "Enable/disable HTTP/2 support. HTTP/2 support is enabled by default.")
	add("http2_ping_keepalive", addon.Int, 58, "Send a PING frame if an HTTP/2 connection is idle for more than the specified number of seconds to prevent the remote site from closing it. Set to 0 to disable this feature.")
}

// defaultConfig is the configuration of the declared defaults.
func defaultConfig() *Config {
	o := addon.NewOptions()
	declareOptions(o.MustAdd)
	c, err := buildConfig(o)
	if err != nil {
		panic("proxy: the default options do not make a valid configuration: " + err.Error())
	}
	return c
}

// coreOpts are typed handles on the core options (declareOptions) that
// buildConfig reads.
type coreOpts struct {
	listenHost, connectionStrategy                                  addon.Opt[string]
	listenPort                                                      addon.Opt[*int]
	mode, tcpHosts                                                  addon.Opt[[]string]
	streamLargeBodies, bodySizeLimit, eventStreamStore, connectAddr addon.Opt[*string]
	tcpTimeout, h2PingKeepalive, requestHeadTimeout, connectTimeout addon.Opt[int]

	keepHostHeader, storeStreamedBodies, streamEventStreams, debug addon.Opt[bool]
	validateInboundHeaders, rawTCP, webSocket, http2               addon.Opt[bool]
	connectSendHostHeader                                          addon.Opt[bool]
}

// lookupCoreOpts finds the core options in o. One that is missing or of
// another type than declareOptions declares is an error naming it, never
// a zero value.
func lookupCoreOpts(o *addon.Options) (*coreOpts, error) {
	var errs []error
	c := &coreOpts{}
	lookup(o, &errs, &c.listenHost, "listen_host")
	lookup(o, &errs, &c.connectionStrategy, "connection_strategy")
	lookup(o, &errs, &c.listenPort, "listen_port")
	lookup(o, &errs, &c.mode, "mode")
	lookup(o, &errs, &c.tcpHosts, "tcp_hosts")
	lookup(o, &errs, &c.streamLargeBodies, "stream_large_bodies")
	lookup(o, &errs, &c.bodySizeLimit, "body_size_limit")
	lookup(o, &errs, &c.eventStreamStore, "event_stream_store")
	lookup(o, &errs, &c.connectAddr, "connect_addr")
	lookup(o, &errs, &c.tcpTimeout, "tcp_timeout")
	lookup(o, &errs, &c.h2PingKeepalive, "http2_ping_keepalive")
	lookup(o, &errs, &c.requestHeadTimeout, "request_head_timeout")
	lookup(o, &errs, &c.connectTimeout, "connect_timeout")
	lookup(o, &errs, &c.keepHostHeader, "keep_host_header")
	lookup(o, &errs, &c.storeStreamedBodies, "store_streamed_bodies")
	lookup(o, &errs, &c.streamEventStreams, "stream_event_streams")
	lookup(o, &errs, &c.debug, "proxy_debug")
	lookup(o, &errs, &c.validateInboundHeaders, "validate_inbound_headers")
	lookup(o, &errs, &c.rawTCP, "rawtcp")
	lookup(o, &errs, &c.webSocket, "websocket")
	lookup(o, &errs, &c.http2, "http2")
	lookup(o, &errs, &c.connectSendHostHeader, "http_connect_send_host_header")
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// lookupProxyAuth finds the proxyauth addon's option, if it is loaded.
func lookupProxyAuth(o *addon.Options) addon.Opt[*string] {
	h, _ := addon.Lookup[*string](o, proxyAuthOption)
	return h
}

// lookup sets *h to the handle on name, or records why there is none.
func lookup[T addon.OptValue](o *addon.Options, errs *[]error, h *addon.Opt[T], name string) {
	var err error
	if *h, err = addon.Lookup[T](o, name); err != nil {
		*errs = append(*errs, err)
	}
}

// optString is an optional string's value, "" when unset.
func optString(h addon.Opt[*string]) string {
	if p := h.Get(); p != nil {
		return *p
	}
	return ""
}

func buildConfig(o *addon.Options) (*Config, error) {
	h, err := lookupCoreOpts(o)
	if err != nil {
		return nil, err
	}
	c := &Config{
		ListenHost:             h.listenHost.Get(),
		ListenPort:             DefaultListenPort,
		KeepHostHeader:         h.keepHostHeader.Get(),
		StoreStreamedBodies:    h.storeStreamedBodies.Get(),
		StreamEventStreams:     h.streamEventStreams.Get(),
		MaxUpstreamPerClient:   8,
		Debug:                  h.debug.Get(),
		Lazy:                   h.connectionStrategy.Get() == "lazy",
		ValidateInboundHeaders: h.validateInboundHeaders.Get(),
		RawTCP:                 h.rawTCP.Get(),
		WebSocket:              h.webSocket.Get(),
		HTTP2:                  h.http2.Get(),
		ConnectSendHostHeader:  h.connectSendHostHeader.Get(),
		proxyAuth:              lookupProxyAuth(o),
	}
	if c.TCPHosts, err = hostmatch.Compile("tcp_hosts", h.tcpHosts.Get()); err != nil {
		return nil, err
	}
	if a := optString(h.connectAddr); a != "" {
		ip, err := netip.ParseAddr(a)
		if err != nil || ip.Zone() != "" {
			return nil, fmt.Errorf("option connect_addr: invalid connection address %q, specify a valid IP address", a)
		}
		c.ConnectAddr = ip.String()
	}
	if p := h.listenPort.Get(); p != nil {
		c.ListenPort = *p
		c.listenPortSet = true
		if c.ListenPort < 0 || c.ListenPort > 65535 {
			return nil, fmt.Errorf("option listen_port: %d is not a valid port (0-65535)", c.ListenPort)
		}
	}
	if c.StreamLargeBodies, err = optionalSize(h.streamLargeBodies); err != nil {
		return nil, err
	}
	if c.BodySizeLimit, err = optionalSize(h.bodySizeLimit); err != nil {
		return nil, err
	}
	if c.EventStreamStore, err = optionalSize(h.eventStreamStore); err != nil {
		return nil, err
	}
	if t := h.tcpTimeout.Get(); t <= 0 {
		return nil, fmt.Errorf("option tcp_timeout: must be a positive number of seconds, got %d", t)
	} else {
		c.IdleTimeout = time.Duration(t) * time.Second
	}
	if t := h.h2PingKeepalive.Get(); t < 0 {
		return nil, fmt.Errorf("option http2_ping_keepalive: must be 0 (off) or a number of seconds, got %d", t)
	} else {
		c.H2PingKeepalive = time.Duration(t) * time.Second
	}
	if t := h.requestHeadTimeout.Get(); t < 0 {
		return nil, fmt.Errorf("option request_head_timeout: must be 0 (off) or a number of seconds, got %d", t)
	} else {
		c.RequestHeadTimeout = time.Duration(t) * time.Second
	}
	if t := h.connectTimeout.Get(); t <= 0 {
		return nil, fmt.Errorf("option connect_timeout: must be a positive number of seconds, got %d", t)
	} else {
		c.ConnectTimeout = time.Duration(t) * time.Second
	}
	// The proxy servers to run (modes.go).
	if c.Modes, err = parseModes(h.mode.Get(), c); err != nil {
		return nil, err
	}
	return c, nil
}

// optionalSize is a size option's value in bytes; -1 when it is unset.
func optionalSize(h addon.Opt[*string]) (int64, error) {
	p := h.Get()
	if p == nil {
		return -1, nil
	}
	n, err := ParseSize(*p)
	if err != nil {
		return 0, fmt.Errorf("option %s: %w", h.Name(), err)
	}
	return n, nil
}

// ParseSize parses a human size such as "3m" or "512k" (b, k, m, g, t;
// powers of 1024), as mitmproxy's parse_size.
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'b':
			t = t[:len(t)-1]
		case 'k':
			mult, t = 1<<10, t[:len(t)-1]
		case 'm':
			mult, t = 1<<20, t[:len(t)-1]
		case 'g':
			mult, t = 1<<30, t[:len(t)-1]
		case 't':
			mult, t = 1<<40, t[:len(t)-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("invalid size %q (use a number with an optional b/k/m/g/t suffix)", s)
	}
	return n * mult, nil
}
