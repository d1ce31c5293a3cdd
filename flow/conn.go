package flow

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"sync/atomic"
)

// Address is a host (a name or an IP literal) and a port.
type Address struct {
	Host string
	Port int
}

// String formats the address as host:port, bracketing IPv6 literals.
func (a Address) String() string { return hostPort(a.Host, a.Port) }

// IsZero reports whether the address is unset.
func (a Address) IsZero() bool { return a.Host == "" && a.Port == 0 }

// AddrFrom converts a net.Addr (TCP or UDP) to an Address.
func AddrFrom(a net.Addr) Address {
	switch v := a.(type) {
	case *net.TCPAddr:
		return Address{ipString(v.IP), v.Port}
	case *net.UDPAddr:
		return Address{ipString(v.IP), v.Port}
	case nil:
		return Address{}
	}
	h, p, err := net.SplitHostPort(a.String())
	if err != nil {
		return Address{Host: a.String()}
	}
	n, _ := strconv.Atoi(p)
	return Address{h, n}
}

// ipString shows IPv4-mapped IPv6 addresses as IPv4, as mitmproxy does.
func ipString(ip net.IP) string {
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.String()
}

// TLSInfo is what a connection learned from its TLS handshake.
type TLSInfo struct {
	// TLS is whether TLS should be used on this connection.
	TLS bool
	// CertificateList holds the peer's certificates (DER), leaf first.
	CertificateList [][]byte
	ALPN            string
	ALPNOffers      []string
	Cipher          string
	CipherList      []string
	// TLSVersion is "TLSv1.2", "TLSv1.3" and so on.
	TLSVersion string
	SNI        string
	// TimestampTLSSetup is when the handshake completed; 0 if it has not.
	TimestampTLSSetup float64
}

// TLSEstablished reports whether the handshake completed.
func (t *TLSInfo) TLSEstablished() bool { return t.TimestampTLSSetup != 0 }

// Client is the connection from the client to the proxy.
type Client struct {
	ID       string
	Peername Address
	Sockname Address
	// TransportProtocol is "tcp" or "udp".
	TransportProtocol string
	// Error, when an addon sets it in client_connected, kills the connection.
	Error string
	TLSInfo
	TimestampStart float64
	// end holds TimestampEnd (see there); a copy gets its own (Clone).
	end *uint64
	// MitmCert is the certificate (DER) the proxy presented to the client.
	MitmCert []byte
	// ProxyMode is the mode spec the client connected through, e.g. "regular".
	ProxyMode string
}

// NewClient returns a Client with a fresh id for a connection from peer to
// local, accepted now.
func NewClient(peer, local Address, mode string) *Client {
	return &Client{
		ID: NewID(), Peername: peer, Sockname: local,
		TransportProtocol: "tcp", TimestampStart: nowSeconds(), ProxyMode: mode, end: new(uint64),
	}
}

// Server is the connection from the proxy to the upstream server.
type Server struct {
	ID string
	// Address is the address as requested; the host may be a domain name.
	Address  Address
	Peername Address
	Sockname Address
	// TransportProtocol is "tcp" or "udp".
	TransportProtocol string
	// Error, when an addon sets it in server_connect, aborts the connection.
	Error string
	TLSInfo
	TimestampStart float64
	// end holds TimestampEnd (see there); a copy gets its own (Clone).
	end               *uint64
	TimestampTCPSetup float64
	// Via is the upstream proxy the connection goes through, if any.
	Via *ServerSpec
}

// TimestampEnd is when the connection closed (seconds since the epoch), 0
// while it is open. It is read and set atomically: the proxy sets it when
// the connection closes, which may be after the flows that share the
// connection are done, while a command or a UI reads them. (It is held
// behind a pointer so that copying a Client, as Clone does, reads nothing
// the proxy may be writing.)
func (c *Client) TimestampEnd() float64 { return loadFloat(c.end) }

// SetTimestampEnd sets TimestampEnd. It may be called from any goroutine on
// a connection from NewClient, Clone or a state dict; on one built as a
// literal, only before it is shared.
func (c *Client) SetTimestampEnd(t float64) { storeFloat(&c.end, t) }

// TimestampEnd is when the connection closed, as Client.TimestampEnd.
func (s *Server) TimestampEnd() float64 { return loadFloat(s.end) }

// SetTimestampEnd sets TimestampEnd, as Client.SetTimestampEnd.
func (s *Server) SetTimestampEnd(t float64) { storeFloat(&s.end, t) }

// Clone returns a deep copy of the connection.
func (c *Client) Clone() *Client { return cloneClient(c) }

func loadFloat(p *uint64) float64 {
	if p == nil {
		return 0
	}
	return math.Float64frombits(atomic.LoadUint64(p))
}

func storeFloat(p **uint64, v float64) {
	if *p == nil {
		*p = new(uint64)
	}
	atomic.StoreUint64(*p, math.Float64bits(v))
}

// ServerSpec is an upstream proxy: a scheme and an address.
type ServerSpec struct {
	Scheme  string
	Address Address
}

// NewServer returns a Server with a fresh id for address.
func NewServer(address Address) *Server {
	return &Server{ID: NewID(), Address: address, TransportProtocol: "tcp", end: new(uint64)}
}

// NewID returns a random (version 4) UUID string, as mitmproxy's ids are.
// The bits come from math/rand/v2's generator (ChaCha8, seeded by the
// system): ids need to be unique, not secret, and this is several times
// faster than crypto/rand for an id made on every request.
func NewID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[0:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:16], rand.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	// Formatted by hand: a flow id is made for every request, and
	// fmt.Sprintf was a visible share of the per-request work. One loop,
	// not hex.Encode for each group: five inlined copies of it were
	// 0.6 KiB of code on every request's path.
	const digits = "0123456789abcdef"
	var out [36]byte
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = digits[c>>4], digits[c&0x0f]
		j += 2
	}
	return string(out[:])
}
