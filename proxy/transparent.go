package proxy

import "github.com/mitmgo/mitmgo/flow"

// serveTransparent is the first layer of transparent mode: the client
// connected to some server and the firewall (iptables or nftables REDIRECT)
// sent the connection to us; its original destination, which connection
// tracking remembers (originalDst), is the server, and the connection is a
// tunnel to it exactly as a CONNECT's (serveTunnel). A TLS client's server
// name comes from its ClientHello there. As in mitmproxy, the server is
// connected first (connection_strategy eager), and a client whose server
// cannot be reached is closed.
func (cc *clientConn) serveTransparent(st *stream) {
	dst, err := originalDst(cc.raw)
	if err != nil {
		cc.log().Error("Transparent mode failure: " + err.Error())
		return
	}
	cfg := cc.s.Config()
	host, port := dst.Addr().Unmap().String(), int(dst.Port())
	server := flow.NewServer(flow.Address{Host: host, Port: port})
	var sc *serverConn
	if !cfg.Lazy {
		if sc, err = cc.up.connect(nil, dialSpec{scheme: "tcp", host: host, port: port}, cfg); err != nil {
			cc.logConnectError(err)
			return
		}
	}
	cc.setState(stateBusy)
	cc.serveTunnel(st, sc, server, cfg)
}
