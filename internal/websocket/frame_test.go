package websocket

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadHeader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Header
		err  string // a *ProtocolError's reason, or "EOF", "unexpected EOF"
	}{
		{name: "text", in: "81 05", want: Header{Fin: true, Opcode: OpText, Length: 5}},
		{name: "masked", in: "81 85 37fa213d", want: Header{Fin: true, Opcode: OpText, Masked: true, Mask: [4]byte{0x37, 0xfa, 0x21, 0x3d}, Length: 5}},
		{name: "continuation", in: "00 03", want: Header{Opcode: OpContinuation, Length: 3}},
		{name: "rsv bits", in: "f2 00", want: Header{Fin: true, RSV1: true, RSV2: true, RSV3: true, Opcode: OpBinary}},
		{name: "16-bit length", in: "82 7e 0100", want: Header{Fin: true, Opcode: OpBinary, Length: 256}},
		{name: "64-bit length", in: "82 7f 0000000000010000", want: Header{Fin: true, Opcode: OpBinary, Length: 65536}},
		{name: "ping 125", in: "89 7d", want: Header{Fin: true, Opcode: OpPing, Length: 125}},
		{name: "empty", in: "", err: "EOF"},
		{name: "one byte", in: "81", err: "unexpected EOF"},
		{name: "cut length", in: "82 7e 01", err: "unexpected EOF"},
		{name: "cut mask", in: "82 85 0102", err: "unexpected EOF"},
		{name: "reserved opcode", in: "83 00", err: "Invalid opcode 0x3"},
		{name: "reserved control opcode", in: "8b 00", err: "Invalid opcode 0xb"},
		{name: "fragmented ping", in: "09 00", err: "Invalid attempt to fragment control frame"},
		{name: "long close", in: "88 7e 0080", err: "Control frame with payload len > 125"},
		{name: "non-minimal 16", in: "82 7e 007d", err: "Payload length used 2 bytes when 1 would have sufficed"},
		{name: "non-minimal 64", in: "82 7f 000000000000ffff", err: "Payload length used 8 bytes when 2 would have sufficed"},
		{name: "msb", in: "82 7f 8000000000000000", err: "8-byte payload length with non-zero MSB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ReadHeader(bytes.NewReader(unhex(t, tt.in)))
			if tt.err != "" {
				var pe *ProtocolError
				switch {
				case errors.As(err, &pe):
					if pe.Reason != tt.err || pe.Code != CloseProtocolError {
						t.Fatalf("error %v, want %q", err, tt.err)
					}
				case err == nil || err.Error() != tt.err:
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h != tt.want {
				t.Fatalf("got %+v, want %+v", h, tt.want)
			}
			if got := AppendHeader(nil, h); !bytes.Equal(got, unhex(t, tt.in)) {
				t.Fatalf("AppendHeader: %x, want %s", got, tt.in)
			}
		})
	}
}

func TestAppendHeaderLengths(t *testing.T) {
	for _, n := range []int64{0, 1, 125, 126, 127, 0xffff, 0x10000, 1 << 40} {
		h := Header{Fin: true, Opcode: OpBinary, Length: n, Masked: true, Mask: [4]byte{1, 2, 3, 4}}
		b := AppendHeader(nil, h)
		got, err := ReadHeader(bytes.NewReader(b))
		if err != nil || got != h {
			t.Fatalf("length %d: %x read back as %+v, %v", n, b, got, err)
		}
	}
}

func TestMaskBytes(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	payload := make([]byte, 1000)
	for i := range payload {
		payload[i] = byte(i * 31)
	}
	want := make([]byte, len(payload))
	for i := range payload {
		want[i] = payload[i] ^ key[i%4]
	}
	// Masked in one go, and in pieces of every size from every offset.
	for step := 1; step <= 17; step++ {
		got := bytes.Clone(payload)
		pos := 0
		for pos < len(got) {
			end := min(pos+step, len(got))
			if p := MaskBytes(key, pos, got[pos:end]); p != end {
				t.Fatalf("MaskBytes returned %d, want %d", p, end)
			}
			pos = end
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("step %d: masked wrong", step)
		}
	}
	// RFC 6455 section 5.7: a masked "Hello".
	b := []byte("Hello")
	MaskBytes(key, 0, b)
	if hex.EncodeToString(b) != "7f9f4d5158" {
		t.Fatalf("masked Hello: %x", b)
	}
}

func TestOpcodeNames(t *testing.T) {
	if OpText.pyRepr() != "<Opcode.TEXT: 1>" || OpPong.String() != "PONG" || Opcode(3).String() != "0x3" {
		t.Fatal(OpText.pyRepr(), OpPong, Opcode(3))
	}
	if !OpClose.IsControl() || OpBinary.IsControl() {
		t.Fatal("IsControl")
	}
}

func TestCloseCodeName(t *testing.T) {
	for code, want := range map[int]string{1000: "NORMAL_CLOSURE", 1006: "ABNORMAL_CLOSURE", 0: "UNKNOWN_ERROR=0", 4000: "UNKNOWN_ERROR=4000"} {
		if got := CloseCodeName(code); got != want {
			t.Errorf("%d: %s, want %s", code, got, want)
		}
	}
}

// oneByteReader hands out its input a byte at a time, as a slow network
// would.
type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}

// BenchmarkMask: unmasking a 64 KiB payload in place, and masking it while
// copying it into a frame (what the proxy does to every message from a
// client).
func BenchmarkMask(b *testing.B) {
	payload := make([]byte, 64<<10)
	key := [4]byte{1, 2, 3, 4}
	b.Run("InPlace", func(b *testing.B) {
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			MaskBytes(key, 0, payload)
		}
	})
	b.Run("AppendFrame", func(b *testing.B) {
		b.SetBytes(int64(len(payload)))
		buf := make([]byte, 0, len(payload)+MaxHeaderSize)
		for b.Loop() {
			buf = AppendFrame(buf[:0], Header{Fin: true, Opcode: OpBinary, Masked: true, Mask: key}, payload)
		}
	})
}
