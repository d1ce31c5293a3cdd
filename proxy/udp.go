package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/spec"
)

// UDP serving (dns mode, reverse:dns, reverse:udp). A UDP socket has no
// connections, so, as mitmproxy does, every client address is one: its
// first datagram opens it (client_connected), and it ends after
// udpIdleTimeout without a datagram either way (client_disconnected).
// A session runs on its own goroutine, which takes the client's datagrams
// in order; what the mode does with them is the session's handler: a
// DNS flow per query (dns.go), or one UDP flow relayed to the server.

// udpIdleTimeout is how long a client address stays a connection without
// traffic.
const udpIdleTimeout = 20 * time.Second

// maxDatagram is the largest datagram read.
const maxDatagram = 65535

// serveUDP serves the UDP socket of dns mode, reverse:dns and reverse:udp
// until it is closed; the sessions in progress end with it.
func (s *Server) serveUDP(l *ModeListener) error {
	// Shutdown waits for the sessions to end (their flows' last hooks)
	// as it waits for TCP connections.
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	u := &udpListener{s: s, pc: l.udp, mode: l.Mode, idle: udpIdleTimeout, sessions: map[string]*udpSession{}}
	if l.Mode.Name == spec.ModeDNS || l.Mode.Scheme == "dns" {
		d := &dnsService{s: s, mode: l.Mode}
		if l.Mode.Name == spec.ModeReverse {
			d.upstream = flow.Address{Host: l.Mode.Address.Host, Port: l.Mode.Address.Port}
		}
		u.handler = d.serveSession
	} else {
		u.handler = (&udpRelay{s: s, target: flow.Address{Host: l.Mode.Address.Host, Port: l.Mode.Address.Port}}).serveSession
	}
	return u.serve()
}

// udpListener demultiplexes one UDP socket into sessions by client address.
type udpListener struct {
	s       *Server
	pc      net.PacketConn
	mode    *spec.ProxyMode
	idle    time.Duration
	handler func(*udpSession)

	mu       sync.Mutex
	sessions map[string]*udpSession
	closed   bool
	wg       sync.WaitGroup
}

// udpSession is one client address.
type udpSession struct {
	l      *udpListener
	peer   net.Addr
	key    string
	client *flow.Client
	log    *slog.Logger
	// in carries the client's datagrams to the handler.
	in chan []byte
	// ctx ends with the session (idle, or the socket closed).
	ctx    context.Context
	cancel context.CancelFunc
	// last is when traffic last passed either way (UnixNano).
	last atomic.Int64
}

func (u *udpListener) serve() error {
	buf := make([]byte, maxDatagram)
	var err error
	for {
		var n int
		var peer net.Addr
		n, peer, err = u.pc.ReadFrom(buf)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			break
		}
		u.deliver(peer, append([]byte(nil), buf[:n]...))
	}
	u.mu.Lock()
	u.closed = true
	for _, ss := range u.sessions {
		ss.cancel()
	}
	u.mu.Unlock()
	u.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// deliver hands a datagram to its client's session, opening one for a new
// address. A session that cannot keep up loses datagrams, as UDP may.
func (u *udpListener) deliver(peer net.Addr, b []byte) {
	key := peer.String()
	u.mu.Lock()
	ss := u.sessions[key]
	if ss == nil {
		if u.closed {
			u.mu.Unlock()
			return
		}
		ss = u.newSession(peer, key)
		u.sessions[key] = ss
		u.wg.Add(1)
		go ss.run()
	}
	ss.touch()
	select {
	case ss.in <- b:
	default:
		ss.log.Debug("UDP datagram dropped: the session is busy")
	}
	u.mu.Unlock()
}

func (u *udpListener) newSession(peer net.Addr, key string) *udpSession {
	client := flow.NewClient(flow.AddrFrom(peer), flow.AddrFrom(u.pc.LocalAddr()), u.mode.FullSpec)
	client.TransportProtocol = "udp"
	ctx, cancel := context.WithCancel(context.Background())
	return &udpSession{
		l: u, peer: peer, key: key, client: client, in: make(chan []byte, 64),
		log: u.s.log.With(addon.ClientKey, client.Peername.String()), ctx: ctx, cancel: cancel,
	}
}

func (ss *udpSession) touch() { ss.last.Store(time.Now().UnixNano()) }

// idleFor is how long the session has had no traffic.
func (ss *udpSession) idleFor() time.Duration {
	return time.Duration(time.Now().UnixNano() - ss.last.Load())
}

// send writes a datagram to the client.
func (ss *udpSession) send(b []byte) error {
	ss.touch()
	_, err := ss.l.pc.WriteTo(b, ss.peer)
	return err
}

// run is the session's life: the client hooks around the handler.
func (ss *udpSession) run() {
	defer ss.l.wg.Done()
	m := ss.l.s.m
	ss.log.Info("client connect")
	m.ClientConnected(ss.client)
	if ss.client.Error == "" {
		ss.l.handler(ss)
	} else {
		// Refused (block, proxyauth): its datagrams are dropped until it
		// has been quiet for the idle timeout.
		ss.drain()
	}
	ss.client.SetTimestampEnd(nowSeconds())
	ss.log.Info("client disconnect")
	m.ClientDisconnected(ss.client)
}

// drain discards datagrams until the session ends.
func (ss *udpSession) drain() {
	for {
		if _, ok := ss.next(); !ok {
			return
		}
	}
}

// next waits for the client's next datagram; false when the session ends:
// the socket closed, or no traffic either way for the idle timeout.
func (ss *udpSession) next() ([]byte, bool) {
	for {
		wait := ss.l.idle - ss.idleFor()
		if wait <= 0 {
			if ss.end() {
				return nil, false
			}
			wait = ss.l.idle
		}
		t := time.NewTimer(wait)
		select {
		case b := <-ss.in:
			t.Stop()
			return b, true
		case <-ss.ctx.Done():
			t.Stop()
			return nil, false
		case <-t.C:
		}
	}
}

// end removes an idle session from the listener, unless a datagram came
// in the meantime; later datagrams from the address open a new one.
func (ss *udpSession) end() bool {
	u := ss.l
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(ss.in) > 0 || ss.idleFor() < u.idle {
		return false
	}
	if u.sessions[ss.key] == ss {
		delete(u.sessions, ss.key)
	}
	ss.cancel()
	return true
}

// udpRelay is reverse:udp: one UDP flow per client address, relayed to the
// spec's server, every datagram through udp_message.
type udpRelay struct {
	s      *Server
	target flow.Address
}

func (r *udpRelay) serveSession(ss *udpSession) {
	first, ok := ss.next()
	if !ok {
		return
	}
	m := r.s.m
	server := flow.NewServer(r.target)
	server.TransportProtocol = "udp"
	f := flow.NewUDPFlow(ss.client, server)
	// mu serialises the flow's hooks: datagrams come from both sides.
	var mu sync.Mutex
	m.UDPStart(f)
	defer func() {
		// SetLive records a kill's error; a flow that ends with an
		// error gets udp_error instead of udp_end, as mitmproxy's.
		f.SetLive(false)
		if f.Error != nil {
			m.UDPError(f)
		} else {
			m.UDPEnd(f)
		}
	}()
	if f.Killed() {
		return
	}
	conn, err := r.connect(ss, f)
	if err != nil {
		f.Error = flow.NewError(err.Error())
		ss.drain()
		return
	}
	defer func() {
		conn.Close()
		server.SetTimestampEnd(nowSeconds())
		ss.log.Info("server disconnect " + server.Address.String())
		m.ServerDisconnected(&addon.ServerConnectionData{Server: server, Client: ss.client})
	}()
	// message runs udp_message for a datagram and says what to send on
	// (nil: the flow was killed).
	message := func(fromClient bool, b []byte) []byte {
		mu.Lock()
		defer mu.Unlock()
		msg := &flow.UDPMessage{FromClient: fromClient, Content: b, Timestamp: nowSeconds()}
		f.Messages = append(f.Messages, msg)
		m.UDPMessage(f)
		_ = f.WaitForResume(ss.ctx)
		if f.Killed() {
			return nil
		}
		return msg.Content
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, maxDatagram)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				if ss.ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
					// ICMP port unreachable and the like: the client keeps
					// its session; the datagram is lost.
					ss.log.Debug(fmt.Sprintf("reading from %s: %v", server.Address, err))
					if !isConnRefused(err) {
						return
					}
					continue
				}
				return
			}
			ss.touch()
			out := message(false, append([]byte(nil), buf[:n]...))
			if out == nil {
				ss.cancel()
				return
			}
			if err := ss.send(out); err != nil {
				ss.log.Debug(fmt.Sprintf("sending to the client: %v", err))
			}
		}
	})
	for b, ok := first, true; ok; b, ok = ss.next() {
		out := message(true, b)
		if out == nil {
			ss.cancel()
			break
		}
		if _, err := conn.Write(out); err != nil {
			ss.log.Debug(fmt.Sprintf("sending to %s: %v", server.Address, err))
		}
	}
	conn.Close()
	wg.Wait()
}

// connect opens the UDP socket to the flow's server, with the server
// connection hooks.
func (r *udpRelay) connect(ss *udpSession, f *flow.UDPFlow) (net.Conn, error) {
	return dialServer(ss.ctx, r.s, ss.log, ss.client, f.ServerConn, "udp")
}

// dialServer connects to server.Address over network, "tcp" (DNS over
// TCP) or "udp" (a "connected" UDP socket, from the flow's Sockname when it
// names one), firing server_connect (whose addons may refuse it or change
// the address), server_connected or server_connect_error.
func dialServer(ctx context.Context, s *Server, log *slog.Logger, client *flow.Client, server *flow.Server, network string) (net.Conn, error) {
	m := s.m
	data := &addon.ServerConnectionData{Server: server, Client: client}
	m.ServerConnect(data)
	if server.Error != "" {
		return nil, fmt.Errorf("server connection to %s killed before connect: %s", server.Address, server.Error)
	}
	server.TimestampStart = nowSeconds()
	var d net.Dialer
	if network == "tcp" {
		d.Timeout = s.Config().ConnectTimeout
	} else if local := server.Sockname; local.Host != "" {
		d.LocalAddr = &net.UDPAddr{IP: net.ParseIP(local.Host), Port: local.Port}
	}
	addr := server.Address.String()
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		server.Error = describeDialError(addr, err, s.Config())
		log.Info("server connect error: " + server.Error)
		m.ServerConnectError(data)
		return nil, errors.New(server.Error)
	}
	if network == "tcp" {
		server.TimestampTCPSetup = nowSeconds()
	}
	server.Peername = flow.AddrFrom(conn.RemoteAddr())
	server.Sockname = flow.AddrFrom(conn.LocalAddr())
	log.Info("server connect " + server.Address.String())
	m.ServerConnected(data)
	return conn, nil
}
