package h2

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// fuzzConn is a net.Conn that reads given bytes, then EOF, and discards
// what is written.
type fuzzConn struct {
	r         *bytes.Reader
	closeOnce sync.Once
	closed    chan struct{}
}

func newFuzzConn(data []byte) *fuzzConn {
	return &fuzzConn{r: bytes.NewReader(data), closed: make(chan struct{})}
}

func (c *fuzzConn) Read(p []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	return c.r.Read(p)
}

func (c *fuzzConn) Write(p []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
		return len(p), nil
	}
}

func (c *fuzzConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

type fuzzAddr struct{}

func (fuzzAddr) Network() string { return "fuzz" }
func (fuzzAddr) String() string  { return "fuzz" }

func (c *fuzzConn) LocalAddr() net.Addr              { return fuzzAddr{} }
func (c *fuzzConn) RemoteAddr() net.Addr             { return fuzzAddr{} }
func (c *fuzzConn) SetDeadline(time.Time) error      { return nil }
func (c *fuzzConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fuzzConn) SetWriteDeadline(time.Time) error { return nil }

// frames builds a frame sequence for the seed corpus.
func frames(build func(fr *http2.Framer, enc func(...Field) []byte)) []byte {
	var out, hb bytes.Buffer
	fr := http2.NewFramer(&out, nil)
	fr.AllowIllegalWrites = true
	e := hpack.NewEncoder(&hb)
	enc := func(fields ...Field) []byte {
		hb.Reset()
		for _, f := range fields {
			e.WriteField(hpack.HeaderField{Name: f.Name, Value: f.Value, Sensitive: f.Sensitive})
		}
		return append([]byte(nil), hb.Bytes()...)
	}
	build(fr, enc)
	return out.Bytes()
}

func serverSeeds() [][]byte {
	h := func(fr *http2.Framer, id uint32, end bool, b []byte) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b, EndStream: end, EndHeaders: true})
	}
	return [][]byte{
		frames(func(fr *http2.Framer, enc func(...Field) []byte) {
			fr.WriteSettings()
			h(fr, 1, true, enc(get("a", "/")...))
		}),
		frames(func(fr *http2.Framer, enc func(...Field) []byte) {
			fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10}, http2.Setting{ID: http2.SettingHeaderTableSize, Val: 0})
			h(fr, 1, false, enc(post("a", "/", Field{Name: "content-length", Value: "5"})...))
			fr.WriteData(1, false, []byte("hel"))
			fr.WriteWindowUpdate(1, 100)
			fr.WriteData(1, false, []byte("lo"))
			h(fr, 1, true, enc(Field{Name: "x-t", Value: "1"}))
			fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
			fr.WriteWindowUpdate(0, 1<<20)
		}),
		frames(func(fr *http2.Framer, enc func(...Field) []byte) {
			fr.WriteSettings()
			b := enc(get("a", "/", Field{Name: "cookie", Value: "secret", Sensitive: true})...)
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:3], EndStream: true})
			fr.WriteContinuation(1, true, b[3:])
			fr.WritePing(false, [8]byte{1})
			fr.WritePriority(3, http2.PriorityParam{StreamDep: 1, Weight: 3})
			h(fr, 3, false, enc(get("a", "/3")...))
			fr.WriteRSTStream(3, http2.ErrCodeCancel)
			fr.WriteGoAway(0, http2.ErrCodeNo, []byte("bye"))
		}),
		frames(func(fr *http2.Framer, enc func(...Field) []byte) {
			fr.WriteSettings()
			h(fr, 1, false, enc(post("a", "/")...))
			fr.WriteDataPadded(1, true, []byte("x"), make([]byte, 9))
			h(fr, 5, true, enc(Field{Name: "X-Up", Value: "1"}))
			fr.WriteRawFrame(0xfe, 0, 0, []byte("unknown"))
			fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: enc(get("a", "/")...), EndHeaders: true})
		}),
		{},
	}
}

// FuzzServerConn feeds the client preface and arbitrary bytes to a
// ServerConn: no panic, Serve returns in bounded time, no goroutine stays.
func FuzzServerConn(f *testing.F) {
	for _, s := range serverSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		nc := newFuzzConn(append([]byte(http2.ClientPreface), data...))
		sc := NewServerConn(nc, nil, Settings{MaxConcurrentStreams: 8, MaxHeaderListSize: 4096, InitialWindowSize: 65535}, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := sc.Serve(ctx, func(s *Stream) {
			body, err := io.ReadAll(io.LimitReader(s, 1<<20))
			if err != nil {
				return
			}
			if s.WriteHeader([]Field{{Name: ":status", Value: "200"}}, false) != nil {
				return
			}
			s.Write(body)
			if tr := s.Trailers(); tr != nil {
				s.WriteTrailers(tr)
			} else {
				s.CloseWrite()
			}
		})
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatal("Serve hung")
		}
	})
}

// FuzzClientConn feeds arbitrary bytes as a server's side of a connection
// to a ClientConn with one stream open.
func FuzzClientConn(f *testing.F) {
	f.Add(frames(func(fr *http2.Framer, enc func(...Field) []byte) {
		fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 1})
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(Field{Name: ":status", Value: "103"}), EndHeaders: true})
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(Field{Name: ":status", Value: "200"}, Field{Name: "content-length", Value: "2"}), EndHeaders: true})
		fr.WriteData(1, false, []byte("o"))
		fr.WriteData(1, false, []byte("k"))
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(Field{Name: "x-t", Value: "1"}), EndHeaders: true, EndStream: true})
		fr.WriteGoAway(1, http2.ErrCodeNo, nil)
	}))
	f.Add(frames(func(fr *http2.Framer, enc func(...Field) []byte) {
		fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 1})
		fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: enc(get("a", "/")...), EndHeaders: true})
		fr.WriteRSTStream(1, http2.ErrCodeRefusedStream)
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		cc, err := NewClientConn(newFuzzConn(data), nil, Settings{MaxHeaderListSize: 4096}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := cc.OpenStream(ctx, post("a", "/"), false)
		if err == nil {
			go s.Write([]byte("body")) // ends when the connection does
			readResponse(ctx, s)
		}
		select {
		case <-cc.Done():
		case <-ctx.Done():
			t.Fatal("ClientConn did not end at EOF")
		}
		cc.Close()
	})
}

// FuzzHeaderBlock: decoding never panics, validation never panics, and a
// block that decodes re-encodes to one that decodes the same.
func FuzzHeaderBlock(f *testing.F) {
	f.Add(frames(func(fr *http2.Framer, enc func(...Field) []byte) {}), uint8(0))
	var buf bytes.Buffer
	e := hpack.NewEncoder(&buf)
	encodeBlock(e, &buf, append(get("a", "/"), Field{Name: "cookie", Value: "c", Sensitive: true}, Field{Name: "te", Value: "trailers"}))
	f.Add(append([]byte(nil), buf.Bytes()...), uint8(3))
	encodeBlock(e, &buf, []Field{{Name: ":status", Value: "200"}, {Name: "content-length", Value: "12"}, {Name: "cookie", Value: "c", Sensitive: true}})
	f.Add(append([]byte(nil), buf.Bytes()...), uint8(1))
	f.Add([]byte{0x3f, 0xe1, 0x1f, 0x82}, uint8(1)) // table size update
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		d := newHeaderDecoder(4096)
		cut := 0
		if len(data) > 0 {
			cut = int(split) % (len(data) + 1)
		}
		fields, trunc, err := decodeBlock(d, data[:cut], data[cut:])
		if err != nil {
			var ce *ConnError
			if !errors.As(err, &ce) {
				t.Fatalf("error type %T: %v", err, err)
			}
			return
		}
		if trunc {
			if fields != nil {
				t.Fatal("fields of a truncated block")
			}
			return
		}
		if listSize(fields) > 4096 {
			t.Fatalf("list of %d bytes passed the limit", listSize(fields))
		}
		for _, k := range []blockKind{kindRequest, kindResponse, kindTrailers} {
			validateFields(fields, k)
		}
		contentLength(fields)
		status(fields)
		var b bytes.Buffer
		encodeBlock(hpack.NewEncoder(&b), &b, fields)
		again, trunc, err := decodeBlock(newHeaderDecoder(1<<20), b.Bytes())
		if err != nil || trunc || !reflect.DeepEqual(fields, again) {
			t.Fatalf("round trip: %v %v\n%v\n%v", err, trunc, fields, again)
		}
	})
}
