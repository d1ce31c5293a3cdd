package proxy

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/spec"
)

// DNS (dns mode and reverse:dns), as mitmproxy 12's DNS layer: every query
// is a flow. dns_request may answer it (flow.Response) or fail it
// (flow.Error); otherwise it goes to the flow's server: the reverse
// proxy's target, or, in dns mode, wherever the dnsresolver addon pointed
// it (it answers A and AAAA queries itself, through the system's
// resolver). The answer passes dns_response on its way to the client; a
// failure fires dns_error and the client gets SERVFAIL. Queries come as
// UDP datagrams (one session per client address, udp.go) or over TCP with
// a length prefix.

// dnsOverTCP says that dns mode and reverse:dns listen on TCP too, as
// mitmproxy 12's do (its DnsMode's transport protocol is "both").
const dnsOverTCP = true

// dnsAnswerTimeout is how long a server has to answer a query.
const dnsAnswerTimeout = 10 * time.Second

// errNoUpstream is mitmproxy's error for a query nobody answered.
const errNoUpstream = "No hook has set a response and there is no upstream server."

// dnsService answers the queries of one dns or reverse:dns listener.
type dnsService struct {
	s    *Server
	mode *spec.ProxyMode
	// upstream is reverse:dns's server; zero in dns mode.
	upstream flow.Address
	// timeout overrides dnsAnswerTimeout (tests).
	timeout time.Duration
}

// serveSession answers the queries of one client address, each on its own
// goroutine as they may wait for a server.
func (d *dnsService) serveSession(ss *udpSession) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxDNSQueries)
	for {
		b, ok := ss.next()
		if !ok {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			d.query(ss.ctx, ss.log, ss.client, "udp", b, func(resp []byte) error { return ss.send(resp) })
		})
	}
	wg.Wait()
}

// maxDNSQueries bounds the queries of one client in progress at once; a
// client that sends more waits (over UDP its datagrams queue, then drop).
const maxDNSQueries = 64

// serveDNSOverTCP is the first layer of dns mode's (and reverse:dns's) TCP
// connections: length-prefixed messages both ways (RFC 1035 4.2.2).
func (cc *clientConn) serveDNSOverTCP(st *stream) {
	d := &dnsService{s: cc.s, mode: cc.mode}
	if cc.mode.Name == spec.ModeReverse {
		d.upstream = flow.Address{Host: cc.mode.Address.Host, Port: cc.mode.Address.Port}
	}
	cc.client.TransportProtocol = "tcp"
	var wmu sync.Mutex
	reply := func(resp []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		var n [2]byte
		binary.BigEndian.PutUint16(n[:], uint16(len(resp)))
		if _, err := st.conn.Write(append(n[:], resp...)); err != nil {
			return err
		}
		return nil
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, maxDNSQueries)
	var r io.Reader = st.r
	if st.r == nil {
		r = st.conn
	}
	for {
		b, err := readDNSOverTCP(r)
		if err != nil {
			if !ioDone(err) {
				cc.log().Info(fmt.Sprintf("client %s sent an invalid message: %v", cc.client.Peername, err))
			}
			return
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			d.query(cc.ctx, cc.log().Logger(), cc.client, "tcp", b, reply)
		})
	}
}

func readDNSOverTCP(r io.Reader) ([]byte, error) {
	var n [2]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint16(n[:])
	if size == 0 {
		return nil, errors.New("Message length field cannot be zero")
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// query carries one query through its hooks to its answer, which reply
// sends to the client.
func (d *dnsService) query(ctx context.Context, log *slog.Logger, client *flow.Client, transport string, b []byte, reply func([]byte) error) {
	msg, err := flow.UnpackDNSMessage(b, nowSeconds())
	if err != nil {
		log.Info(fmt.Sprintf("client %s sent an invalid message: %v", client.Peername, err))
		return
	}
	m := d.s.m
	server := flow.NewServer(d.upstream)
	server.TransportProtocol = transport
	f := flow.NewDNSFlow(client, server)
	f.Request = msg
	defer f.SetLive(false)
	send := func(resp *flow.DNSMessage) {
		out, err := resp.Pack()
		if err != nil {
			log.Error(fmt.Sprintf("DNS flow %s: cannot send the response: %v", f.ID, err))
			return
		}
		if err := reply(out); err != nil {
			log.Debug(fmt.Sprintf("sending the DNS response to %s: %v", client.Peername, err))
		}
	}
	fail := func(why string) {
		f.Error = flow.NewError(why)
		m.DNSError(f)
		servfail, _ := f.Request.Fail(flow.DNSServFail)
		send(servfail)
	}
	respond := func(resp *flow.DNSMessage) {
		f.Response = resp
		m.DNSResponse(f)
		if f.WaitForResume(ctx) != nil || f.Killed() {
			return
		}
		if f.Response != nil {
			send(f.Response)
		}
	}

	m.DNSRequest(f)
	if f.WaitForResume(ctx) != nil {
		return
	}
	switch {
	case f.Killed():
		// As mitmproxy's: the kill's error (recorded by WaitForResume)
		// goes through dns_error, and the client gets SERVFAIL.
		fail(f.Error.Msg)
	case f.Response != nil:
		respond(f.Response)
	case f.Error != nil:
		fail(f.Error.Msg)
	case f.ServerConn == nil || f.ServerConn.Address.IsZero():
		fail(errNoUpstream)
	default:
		resp, err := d.forward(ctx, log, f)
		if err != nil {
			fail(err.Error())
			return
		}
		respond(resp)
	}
}

// forward sends the flow's request to its server and waits for the
// response with the query's id.
func (d *dnsService) forward(ctx context.Context, log *slog.Logger, f *flow.DNSFlow) (*flow.DNSMessage, error) {
	out, err := f.Request.Pack()
	if err != nil {
		return nil, err
	}
	server := f.ServerConn
	timeout := d.timeout
	if timeout == 0 {
		timeout = dnsAnswerTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var conn net.Conn
	if server.TransportProtocol == "tcp" {
		conn, err = dialServer(ctx, d.s, log, f.ClientConn, server, "tcp")
	} else {
		conn, err = dialServer(ctx, d.s, log, f.ClientConn, server, "udp")
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		conn.Close()
		server.SetTimestampEnd(nowSeconds())
		log.Info("server disconnect " + server.Address.String())
		d.s.m.ServerDisconnected(&addon.ServerConnectionData{Server: server, Client: f.ClientConn})
	}()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if server.TransportProtocol == "tcp" {
		var n [2]byte
		binary.BigEndian.PutUint16(n[:], uint16(len(out)))
		out = append(n[:], out...)
	}
	if _, err := conn.Write(out); err != nil {
		return nil, fmt.Errorf("sending the query to %s: %w", server.Address, err)
	}
	buf := make([]byte, maxDatagram)
	for {
		var b []byte
		if server.TransportProtocol == "tcp" {
			b, err = readDNSOverTCP(conn)
		} else {
			var n int
			n, err = conn.Read(buf)
			b = buf[:n]
		}
		if err != nil {
			if ctx.Err() == context.DeadlineExceeded {
				return nil, fmt.Errorf("%s did not answer the DNS query within %v", server.Address, timeout)
			}
			if isConnRefused(err) {
				return nil, fmt.Errorf("%s refused the DNS query (nothing listens there)", server.Address)
			}
			return nil, fmt.Errorf("reading the DNS response from %s: %w", server.Address, err)
		}
		resp, err := flow.UnpackDNSMessage(b, nowSeconds())
		if err != nil {
			if server.TransportProtocol == "tcp" {
				return nil, fmt.Errorf("%s sent an invalid message: %w", server.Address, err)
			}
			log.Info(fmt.Sprintf("server %s sent an invalid message: %v", server.Address, err))
			continue
		}
		if resp.ID != f.Request.ID {
			// A late answer to another query on a reused port.
			continue
		}
		return resp, nil
	}
}

func isConnRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
