// Package proxy is mitmgo's proxy core: listeners, client connections, the
// protocol layers (TLS, HTTP/1, HTTP/2, TCP), CONNECT tunnels and the
// connections to servers. Every step that carries a flow calls the addon
// chain; the proxy itself formats no output and knows no concrete addon.
//
// # The request path
//
// A connection goes through a stack of layers, each handed a stream (the
// connection, or the TLS session over it, with its buffered reader and
// writer) by the one before; a layer that changes what the bytes travel on
// hands a new stream down, and none swaps another's:
//
//  1. Accept (server.go): Server.Serve accepts a connection and runs a
//     clientConn (conn.go) on its own goroutine: client_connected, then the
//     first layer, which the listener's proxy mode decides (modes.go: one
//     listener per mode spec): HTTP/1 for the regular and upstream modes,
//     a tunnel to a fixed target for reverse mode (mode_reverse.go), the
//     SOCKS5 handshake, the original destination in transparent mode, DNS.
//     Upstream mode reaches servers through another proxy
//     (mode_upstream.go).
//  2. HTTP/1 (http1.go): serveHTTP1 reads request heads one at a time. A
//     proxy request (absolute form) becomes a flow; CONNECT goes to
//     handleConnect (connect.go), which answers the tunnel (http_connect
//     hooks, an eager server connection) and returns it: the connection's
//     goroutine runs serveTunnel once the HTTP/1 layer has returned, so
//     that an idle tunnel waits on a short stack (the runtime shrinks a
//     goroutine's stack only while little of it is used). Between
//     requests a plain connection reads the next one at once when it is
//     there, and otherwise waits holding no buffers (stream.idleUntilReadable);
//     idle for a tick or two, it leaves its goroutine for the idle watch, an
//     epoll set of the proxy's own, which goes on with it on a worker
//     goroutine when the client sends or closes (Server.moveIdle,
//     clientConn.parkIn, idlewatch_linux.go). An intercepted HTTPS
//     connection's HTTP/1 layer moves the same way: its frames unwind
//     through the tunnel, and it resumes inside the tunnel
//     (clientConn.tunnelMovable, movedTunnel).
//  3. Next layer (nextlayer.go): the tunnel's first bytes, from either side,
//     decide: a TLS ClientHello, an HTTP/1 request, the HTTP/2 preface, or
//     anything else, which is a TCP flow (tcp.go).
//  4. TLS (tlslayer.go): tls_clienthello decides whether to intercept; the
//     server's handshake comes first when it is connected (its certificate
//     and ALPN are mirrored), then the client's; the decrypted stream goes
//     to HTTP/2 or HTTP/1 as ALPN says, or to TCP when it carries no HTTP.
//     A target (flowrun.go) tells the HTTP layer where origin-form
//     requests in the tunnel go.
//  5. HTTP/2 (http2.go): serveHTTP2 serves the client with internal/h2; every
//     stream is a flow on its own goroutine.
//  6. The flow runner (flowrun.go): flowRun carries one flow through its
//     hooks whatever HTTP version either side speaks: requestheaders, the
//     body (buffered, or streamed past stream_large_bodies), request, the
//     server or an addon's answer, responseheaders, the body, response;
//     intercept and kill after every hook; errors as flow errors and error
//     pages. It answers the client through a responder, which the HTTP/1
//     and HTTP/2 layers implement.
//  7. Upstream (upstream.go, upstream_h1.go, http2.go): upstream dials
//     servers (server_connect hooks, TLS with tls_start_server), keeps idle
//     HTTP/1 connections and shares HTTP/2 ones per client connection, and
//     does the round trip in the server's HTTP version, translating from
//     the client's. Client replay (replay.go) uses it directly.
//  8. A 101 Switching Protocols hands the HTTP/1 connection to the
//     WebSocket layer (websocket.go: messages both ways through
//     websocket_message, injection) or, for other upgrades, to a relay.
//  9. The response goes back through the responder; the HTTP/1 layer reads
//     the next request, or the connection closes: server_disconnected,
//     client_disconnected.
//
// Options are read once per flow (Config, config.go), so a change applies
// to the next flow.
package proxy
