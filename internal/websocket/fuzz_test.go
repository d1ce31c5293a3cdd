package websocket

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

// FuzzReader reads arbitrary bytes as frames from either side, with and
// without permessage-deflate. It must not panic or allocate what the input
// does not carry; a message's fragments add up to it; and what it reads,
// written again by the peer's Writer, reads back the same, also through a
// small bufio.Reader (headers taken in place, split across its fills) into
// buffers from an Alloc that hands out used ones (dirty, longer, with room
// to spare), as the proxy's pool does.
func FuzzReader(f *testing.F) {
	for _, seed := range []string{
		"818537fa213d7f9f4d5158", "810548656c6c6f", "010348656c80026c6f", "89054865",
		"827e0100", "827f0000000000010000", "880203e8", "8800", "c107f248cdc9c90700",
		"4103f248cd8004c9c90700", "c1070000ffff", "83", "0900", "887e0080", "810441e28228",
		"c10b000500faff48656c6c6f00", "8803 0bb8ff",
	} {
		b := unhex(f, seed)
		for flags := range uint8(4) {
			f.Add(b, flags)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, flags uint8) {
		role := Role(flags & 1)
		var d *Deflate
		if flags&2 != 0 {
			d = &Deflate{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15, ServerNoContextTakeover: flags&4 != 0}
		}
		r := NewReader(bytes.NewReader(data), role, d)
		r.MaxMessageSize = 1 << 20
		var events []Event
		for {
			ev, err := r.Next()
			if err != nil {
				var pe *ProtocolError
				if !errors.As(err, &pe) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrClosed) {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if ev.Fragments != nil {
				sum := 0
				for _, n := range ev.Fragments {
					sum += n
				}
				if sum != len(ev.Payload) {
					t.Fatalf("fragments %v for %d bytes", ev.Fragments, len(ev.Payload))
				}
			}
			events = append(events, ev)
		}
		// Write them again as the peer, and read them back.
		peer := Client
		if role == Client {
			peer = Server
		}
		var b bytes.Buffer
		w := NewWriter(&b, peer, d)
		for _, ev := range events {
			switch ev.Opcode {
			case OpText, OpBinary:
				w.WriteMessage(ev.Opcode, ev.Payload, ev.Fragments)
			case OpPing, OpPong:
				w.WriteControl(ev.Opcode, ev.Payload)
			case OpClose:
				w.WriteClose(ev.CloseCode, ev.CloseReason)
			}
		}
		r = NewReader(bufio.NewReaderSize(&b, 16), role, d)
		r.Alloc = func(n int) []byte {
			used := bytes.Repeat([]byte{0xaa}, n+7)
			return used[:3]
		}
		for i, want := range events {
			got, err := r.Next()
			if err != nil {
				t.Fatalf("event %d (%s) written again: %v", i, want, err)
			}
			if got.Opcode != want.Opcode || !bytes.Equal(got.Payload, want.Payload) || got.CloseCode != want.CloseCode ||
				got.CloseReason != want.CloseReason || (d == nil && fmt.Sprint(got.Fragments) != fmt.Sprint(want.Fragments)) {
				t.Fatalf("event %d: wrote %s, read back %s", i, want, got)
			}
		}
	})
}

// FuzzReadHeader: a header that reads back encodes to the bytes it came
// from (lengths are minimal, nothing is lost).
func FuzzReadHeader(f *testing.F) {
	for _, seed := range []string{"8105", "818537fa213d", "827e0100", "827f0000000000010000", "f200", "09"} {
		f.Add(unhex(f, seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		h, err := ReadHeader(r)
		if err != nil {
			return
		}
		used := data[:len(data)-r.Len()]
		if got := AppendHeader(nil, h); !bytes.Equal(got, used) {
			t.Fatalf("read %x as %+v, which encodes as %x", used, h, got)
		}
	})
}

// FuzzReadHeaderBuffered: from a *bufio.Reader (headers looked at in
// place) ReadHeader gives what it gives from a plain reader, the same
// header or error, and leaves the same bytes unread.
func FuzzReadHeaderBuffered(f *testing.F) {
	for _, seed := range []string{"8105", "818537fa213d", "827e0100", "827f0000000000010000", "f200", "09", "82", "827e01", "8a fe", "817e007d", "827f0000000000000100"} {
		f.Add(unhex(f, seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		plain := &oneByteReader{b: data}
		want, wantErr := ReadHeader(plain)
		// A bufio.Reader over a one-byte reader also meets a header
		// that arrives in pieces.
		for _, src := range []io.Reader{bytes.NewReader(data), &oneByteReader{b: data}} {
			br := bufio.NewReaderSize(src, 16)
			got, err := ReadHeader(br)
			if fmt.Sprint(err) != fmt.Sprint(wantErr) || (err == nil && got != want) {
				t.Fatalf("%x: buffered %+v, %v; plain %+v, %v", data, got, err, want, wantErr)
			}
			rest, _ := io.ReadAll(br)
			if !bytes.Equal(rest, plain.b) {
				t.Fatalf("%x: buffered left %x, plain %x", data, rest, plain.b)
			}
		}
	})
}
