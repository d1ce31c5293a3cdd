package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
)

// Version is reported in the Server header of pages the proxy itself serves.
const Version = "0.1.0"

// Server is the proxy server. It is itself an addon ("proxyserver"): it
// declares the core options and reads them in configure.
type Server struct {
	m   *addon.Manager
	log *slog.Logger
	cfg atomic.Pointer[Config]
	// writeBufs holds the buffers in which TLS records are gathered before
	// they are written (see coalescingConn).
	writeBufs *sync.Pool
	// bodies recycles the buffers of large bodies (see flowRun.recycle).
	bodies bodyPool
	// bufs holds the buffers of idle streams.
	bufs bufPools
	// webSockets are the live WebSocket connections, for injection.
	webSockets wsRegistry
	// tcpFlows are the live TCP flows, for injection (tcp.go).
	tcpFlows tcpRegistry

	// self knows the proxy's own addresses, so that no request loops
	// back into it.
	self selfAddrs

	mu        sync.Mutex
	listeners []net.Listener
	conns     map[*clientConn]struct{}
	closing   bool
	wg        sync.WaitGroup
	// reclaim gives memory back to the system after a burst of
	// connections (see connDone).
	reclaim reclaimer
	// quietStop ends the quiet reclaimer (see quietReclaimer), which the
	// first Serve starts; nil before.
	quietStop chan struct{}

	// idle holds plain connections idle between requests with no
	// goroutine (see idleWatch); the first Serve starts it, nil before
	// and where there is none.
	idle *idleWatch
	// moving counts connections moveIdle moved that have not yet left
	// their old goroutines, and tells waitMoved when none is left.
	moving movedConns
	// ended counts the connections ended since moveIdle last read it.
	ended atomic.Int64

	// packetConns are the UDP sockets of the modes that have them (s.mu).
	packetConns []net.PacketConn
}

// New returns a proxy server dispatching to m. Register it with m.Add so its
// options exist, then call Listen and Serve.
func New(m *addon.Manager) *Server {
	s := &Server{m: m, log: m.Log(), conns: map[*clientConn]struct{}{}, writeBufs: newWriteBufPool()}
	return s
}

// Name is the addon name, as mitmproxy's.
func (s *Server) Name() string { return "proxyserver" }

// Load declares the core options.
func (s *Server) Load(l *addon.Loader) {
	declareOptions(l.AddOption)
	l.AddCommand(command.Command{
		Name: "inject.websocket",
		Params: []command.Param{
			{Name: "flow", Type: command.Flow}, {Name: "to_client", Type: command.Bool},
			{Name: "message", Type: command.Bytes}, {Name: "is_text", Type: command.Bool, Default: true},
		},
		// No help text: mitmproxy's has none (its --commands output is
		// matched in internal/cli's tests). It sends message to the
		// client when to_client, else to the server.
		Run: func(a command.Args) (any, error) {
			// As mitmproxy: a flow that cannot take the message is a
			// warning in the log, not a failed command.
			f, _ := a.Flow(0).(*flow.HTTPFlow)
			if err := s.InjectWebSocket(f, a.Bool(1), a.Bytes(2), a.Bool(3)); err != nil {
				s.log.Warn(err.Error())
			}
			return nil, nil
		},
	})
	l.AddCommand(command.Command{
		Name: "inject.tcp",
		Params: []command.Param{
			{Name: "flow", Type: command.Flow}, {Name: "to_client", Type: command.Bool},
			{Name: "message", Type: command.Bytes},
		},
		// No help text, as mitmproxy's (see inject.websocket).
		Run: func(a command.Args) (any, error) {
			f, _ := a.Flow(0).(*flow.TCPFlow)
			if err := s.InjectTCP(f, a.Bool(1), a.Bytes(2)); err != nil {
				s.log.Warn(err.Error())
			}
			return nil, nil
		},
	})
}

// Configure validates the options and publishes a new Config.
func (s *Server) Configure(map[string]bool) error {
	c, err := buildConfig(s.m.Options())
	if err != nil {
		return err
	}
	s.cfg.Store(c)
	return nil
}

var (
	_ addon.LoadHook          = (*Server)(nil)
	_ addon.ConfigureHook     = (*Server)(nil)
	_ addon.ServerConnectHook = (*Server)(nil)
)

// errSelfConnect is mitmproxy's error for a request to the proxy itself.
const errSelfConnect = "Request destination unknown. Unable to figure out where this request should be forwarded to."

// ServerConnect refuses to connect to the proxy's own address, which would
// only loop back in, and sets the local address of upstream connections
// (connect_addr), as mitmproxy's proxyserver addon does in this hook: later
// addons see both, and may still change the local address.
func (s *Server) ServerConnect(d *addon.ServerConnectionData) {
	if s.self.isOwn(d.Server.Address) {
		d.Server.Error = errSelfConnect
	}
	if c := s.Config(); d.Server.Sockname.Host == "" && c.ConnectAddr != "" {
		d.Server.Sockname = flow.Address{Host: c.ConnectAddr}
	}
}

// Config returns the current configuration.
func (s *Server) Config() *Config {
	if c := s.cfg.Load(); c != nil {
		return c
	}
	c, err := buildConfig(s.m.Options())
	if err != nil {
		// The options are not declared (the server is not added to its
		// manager) or not valid yet: the declared defaults.
		c = defaultConfig()
	}
	return c
}

// Listen binds the TCP listener of the first configured mode (see
// ListenModes for all of them); Serve gives its connections that mode. A
// port in use gives an error that names the address.
func (s *Server) Listen() (net.Listener, error) {
	if s.cfg.Load() == nil {
		// Without its options the server would listen with defaults
		// nobody chose.
		return nil, errors.New("proxy: the server is not configured: add it to its addon.Manager (Add) and configure the manager (ConfigureAll) before Listen")
	}
	c := s.Config()
	if len(c.Modes) == 0 {
		return nil, errors.New("proxy: no proxy mode is configured (option mode)")
	}
	l, err := c.listenMode(c.Modes[0])
	if err != nil {
		return nil, err
	}
	if l.tcp == nil {
		l.Close()
		return nil, fmt.Errorf("proxy: %s listens on UDP only: use ListenModes", c.Modes[0].FullSpec)
	}
	return l.tcp, nil
}

// ListenAddrString formats a listener address as mitmproxy does: "*:8080"
// for an unspecified address.
func ListenAddrString(a net.Addr) string {
	ad := flow.AddrFrom(a)
	if ip := net.ParseIP(ad.Host); ip != nil && ip.IsUnspecified() {
		return "*:" + strconv.Itoa(ad.Port)
	}
	return ad.String()
}

// Serve accepts connections on ln until ln is closed or Shutdown is called.
// Their mode is the one ln was made for by Listen or ListenModes, regular
// for other listeners.
func (s *Server) Serve(ln net.Listener) error {
	mode := modeOf(ln)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return net.ErrClosed
	}
	s.listeners = append(s.listeners, ln)
	if s.quietStop == nil {
		s.quietStop = make(chan struct{})
		s.wg.Add(1)
		go func(stop <-chan struct{}) {
			defer s.wg.Done()
			newQuietReclaimer().run(stop, s)
		}(s.quietStop)
		if w, err := newIdleWatch((*clientConn).wake); err == nil {
			s.idle = w
		} else if !errors.Is(err, errors.ErrUnsupported) {
			// Idle connections then wait on their goroutines.
			s.log.Warn("idle connections will each hold a goroutine", "error", err)
		}
	}
	watch := s.idle
	s.mu.Unlock()
	s.self.addListener(ln.Addr())
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Temporary errors (EMFILE and the like): back off, keep serving.
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay < time.Second {
				delay *= 2
			}
			s.log.Error("accept failed", "error", err)
			time.Sleep(delay)
			continue
		}
		delay = 0
		cc := s.newClientConn(conn, mode, watch)
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			conn.Close()
			continue
		}
		s.conns[cc] = struct{}{}
		s.reclaim.opened(len(s.conns))
		s.wg.Add(1)
		s.mu.Unlock()
		// It ends with connDone.
		go cc.serve()
	}
}

// moveIdle moves the movable connections idle in their wait for the next
// request since its last call to the idle watch (see clientConn.parkIn):
// it interrupts each one's wait, and the goroutine hands the connection to
// the watch and ends. It returns how many it moved, plus how many
// connections the watch resumed or that ended since its last call: each
// left a goroutine's stack free, worth collecting once there are many
// (when thousands of parked clients close at once, the watch resumes each
// on a goroutine: mitmbench -idle 1000, HTTP, 30 s after the close, 1.65x
// the idle start without counting them, 1.28x with).
func (s *Server) moveIdle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := int(s.ended.Swap(0))
	if s.idle == nil {
		return n
	}
	n += s.idle.takeWoken()
	for cc := range s.conns {
		if !cc.movable || cc.unwatched.Load() {
			continue
		}
		// Idle at the last tick too: moved. Idle since this one: seen
		// (a new wait marks the connection idle again).
		if cc.park.CompareAndSwap(parkIdle, parkSeen) || !cc.park.CompareAndSwap(parkSeen, parkMoving) {
			continue
		}
		s.moving.Add(1)
		_ = cc.conn.Conn.SetReadDeadline(aLongTimeAgo)
		cc.park.Store(parkMoved)
		n++
	}
	return n
}

// aLongTimeAgo is a read deadline that interrupts a read at once.
var aLongTimeAgo = time.Unix(1, 0)

// waitMoved waits until the connections moveIdle moved have left their old
// goroutines, at most for d and not beyond stop; it reports whether they
// all did. The count falls as each old goroutine lets go of its
// connection, a few frames before it ends: the short grace after the last
// one lets them return, so that the collection that follows (see
// quietReclaimer.collectMoved) finds their stacks free.
func (s *Server) waitMoved(stop <-chan struct{}, d time.Duration) bool {
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	select {
	case <-s.moving.none():
	case <-stop:
		return false
	case <-timeout.C:
		return false
	}
	grace := time.NewTimer(movedGrace)
	defer grace.Stop()
	select {
	case <-grace.C:
		return true
	case <-stop:
		return false
	}
}

// movedGrace is the time given to the old goroutines of moved connections
// to return once they have let go (a few frames each).
const movedGrace = 5 * time.Millisecond

// movedConns counts the connections moveIdle moved that have not yet left
// their old goroutines; none's channel is closed while the count is zero,
// so that waitMoved waits without polling.
type movedConns struct {
	mu sync.Mutex
	n  int32
	// zero is closed while n is 0; nil until the first Add (none then
	// hands out a closed one).
	zero chan struct{}
}

// Add adds delta to the count: moveIdle adds one per connection it moves,
// the old goroutine takes it away when it lets go (clientConn.unpark).
func (m *movedConns) Add(delta int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	was := m.n
	m.n += delta
	if m.n < 0 {
		// A decrement without its move is a bug in the caller; keeping
		// the count at zero keeps waitMoved from waiting for ever.
		m.n = 0
	}
	switch {
	case was == 0 && m.n > 0:
		m.zero = make(chan struct{})
	case was > 0 && m.n == 0:
		close(m.zero)
	}
}

// Load returns the count.
func (m *movedConns) Load() int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}

// none returns a channel that is closed once the count is zero.
func (m *movedConns) none() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n == 0 || m.zero == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return m.zero
}

// connDone lets go of a connection that has ended.
func (s *Server) connDone(cc *clientConn) {
	defer s.wg.Done()
	s.ended.Add(1)
	s.mu.Lock()
	delete(s.conns, cc)
	free := s.reclaim.closed(len(s.conns), time.Now())
	if free {
		s.conns = regrown(s.conns)
	}
	s.mu.Unlock()
	if free {
		freeOSMemory()
	}
}

// regrown returns a copy of m sized for what it holds. A Go map keeps the
// room of the most it ever held: after a burst of 9,900 connections, the
// map of open connections kept 290 KiB with none left; the reclaim that
// follows frees the old one.
func regrown[K comparable, V any](m map[K]V) map[K]V {
	n := make(map[K]V, len(m))
	for k, v := range m {
		n[k] = v
	}
	return n
}

// Shutdown stops accepting, closes idle connections at once and lets
// requests in flight finish until ctx ends; connections still busy then are
// closed, and their flows get an error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	if s.quietStop != nil {
		close(s.quietStop)
		s.quietStop = nil
	}
	for _, ln := range s.listeners {
		ln.Close()
	}
	for _, pc := range s.packetConns {
		pc.Close()
	}
	for cc := range s.conns {
		cc.shutdown()
	}
	idle := s.idle
	s.mu.Unlock()
	if idle != nil {
		// The idle connections are closed and resumed to end; a
		// connection that was about to park now waits on its
		// goroutine, which the close ends.
		idle.close()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for cc := range s.conns {
		cc.forceClose()
	}
	s.mu.Unlock()
	<-done
	return ctx.Err()
}

// trackPacketConn registers a mode's UDP socket, which Shutdown closes;
// false (and pc closed) when the server is shutting down already.
func (s *Server) trackPacketConn(pc net.PacketConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		pc.Close()
		return false
	}
	s.packetConns = append(s.packetConns, pc)
	return true
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}
