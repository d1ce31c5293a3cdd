package proxy

import (
	"io"
	"net"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

// pieces reads n pieces of size bytes, then EOF.
type pieces struct {
	n, size int
}

func (p *pieces) Read(b []byte) (int, error) {
	if p.n == 0 {
		return 0, io.EOF
	}
	p.n--
	return p.size, nil
}

// discardConn is a net.Conn that takes every write.
type discardConn struct{ net.Conn }

func (discardConn) Write(b []byte) (int, error) { return len(b), nil }
func (discardConn) Close() error                { return nil }

// forgetMessages keeps the flow small.
type forgetMessages struct{}

func (forgetMessages) TCPMessage(f *flow.TCPFlow) { f.Messages = f.Messages[:0] }

// BenchmarkTCPForward is the TCP layer's cost per piece relayed, without
// the sockets: tcp_message (with one Go addon) and the forwarding, as
// copyAndHalfClose runs them; BenchmarkTCPRelay measures it with the
// sockets, which the machine's load makes noisy.
func BenchmarkTCPForward(b *testing.B) {
	m := addon.NewManager()
	s := New(m)
	if err := m.Add(s, forgetMessages{}); err != nil {
		b.Fatal(err)
	}
	f := flow.NewTCPFlow(flow.NewClient(flow.Address{}, flow.Address{}, "regular"), flow.NewServer(flow.Address{}))
	t := &tcpConn{s: s, f: f}
	t.toServer.dst, t.toClient.dst = discardConn{}, discardConn{}
	b.ReportAllocs()
	b.ResetTimer()
	if err := copyAndHalfClose(discardConn{}, &pieces{n: b.N, size: 100}, &s.bodies, t, true); err != nil {
		b.Fatal(err)
	}
}
