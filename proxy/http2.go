package proxy

// serveHTTP2 is the HTTP/2 layer. Until it is built, the next-layer
// decision never picks it (Config.HTTP2 stays off) and such clients are
// relayed as TCP flows.
func (cc *clientConn) serveHTTP2(st *stream, t *target) {
	cc.log.Warn("The client speaks HTTP/2, which mitmgo does not intercept yet: relaying its bytes as a TCP flow.")
}
