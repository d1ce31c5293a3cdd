package websocket

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/internal/pyoracle"
)

var update = flag.Bool("update", false, "rewrite testdata/frames.golden's out: lines")

// goldenCase is one case of testdata/frames.golden.
type goldenCase struct {
	name string
	role Role
	ext  string
	in   []byte
	out  []string
}

func parseGolden(t *testing.T, text string) (header string, cases []*goldenCase) {
	t.Helper()
	blocks := strings.Split(text, "\n== ")
	header = blocks[0]
	for _, b := range blocks[1:] {
		lines := strings.Split(strings.TrimRight(b, "\n"), "\n")
		c := &goldenCase{name: lines[0]}
		inOut := false
		for _, l := range lines[1:] {
			switch {
			case inOut:
				c.out = append(c.out, l)
			case strings.HasPrefix(l, "role: "):
				c.role = map[string]Role{"client": Client, "server": Server}[strings.TrimPrefix(l, "role: ")]
			case strings.HasPrefix(l, "ext: "):
				c.ext = strings.TrimPrefix(l, "ext: ")
			case strings.HasPrefix(l, "in: "):
				c.in = append(c.in, unhex(t, strings.TrimPrefix(l, "in: "))...)
			case l == "out:":
				inOut = true
			default:
				t.Fatalf("case %q: unexpected line %q", c.name, l)
			}
		}
		cases = append(cases, c)
	}
	return header, cases
}

// readAll runs a Reader over in and describes every event, and the error
// that ended it.
func readAll(t testing.TB, in io.Reader, role Role, ext string) []string {
	d, _, err := ParseExtensions(ext)
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(bufio.NewReader(in), role, d)
	var out []string
	for {
		ev, err := r.Next()
		if err != nil {
			out = append(out, "error: "+err.Error())
			return out
		}
		out = append(out, ev.String())
	}
}

func TestGolden(t *testing.T) {
	path := filepath.Join("testdata", "frames.golden")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header, cases := parseGolden(t, string(text))
	var rewritten strings.Builder
	rewritten.WriteString(header)
	for _, c := range cases {
		got := readAll(t, bytes.NewReader(c.in), c.role, c.ext)
		// Whatever the input's pieces, the same events.
		if slow := readAll(t, &oneByteReader{c.in}, c.role, c.ext); fmt.Sprint(slow) != fmt.Sprint(got) {
			t.Errorf("%s: read a byte at a time: %q, at once: %q", c.name, slow, got)
		}
		if !*update && strings.Join(got, "\n") != strings.Join(c.out, "\n") {
			t.Errorf("%s:\n got: %q\nwant: %q", c.name, got, c.out)
		}
		// Rewrite the case as it was, with the new out lines.
		i := strings.Index(string(text), "\n== "+c.name+"\n")
		block := string(text)[i+1:]
		block = block[:strings.Index(block, "\nout:\n")+len("\nout:\n")]
		rewritten.WriteString("\n" + block)
		for _, l := range got {
			rewritten.WriteString(l + "\n")
		}
	}
	if *update {
		if err := os.WriteFile(path, []byte(rewritten.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// oracleEvents describes what a Reader gives in the oracle's terms: a
// protocol error is the close wsproto reports for it, and the end of the
// input ends the list.
func oracleEvents(t testing.TB, in []byte, role Role, ext string) []string {
	d, _, err := ParseExtensions(ext)
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(bytes.NewReader(in), role, d)
	var out []string
	for {
		ev, err := r.Next()
		var pe *ProtocolError
		switch {
		case errors.As(err, &pe):
			return append(out, fmt.Sprintf("CLOSE %d %s", pe.Code, pe.Reason))
		case err != nil:
			return out
		}
		switch ev.Opcode {
		case OpClose:
			return append(out, fmt.Sprintf("CLOSE %d %s", ev.CloseCode, ev.CloseReason))
		default:
			out = append(out, fmt.Sprintf("%s %x", ev.Opcode, ev.Payload))
		}
	}
}

// randomStream makes a few frames, mostly valid, sometimes not, as a
// client (masked) or server would send them.
func randomStream(rng *rand.Rand, masked bool, deflate *Deflate) []byte {
	var out []byte
	var comp *deflater
	if deflate != nil {
		role := Server
		if masked {
			role = Client
		}
		comp = newDeflater(deflate, role)
	}
	inMessage := false
	for range 1 + rng.IntN(6) {
		h := Header{Fin: rng.IntN(3) > 0, Masked: masked, Mask: [4]byte{byte(rng.Uint32()), 1, 2, 3}}
		var payload []byte
		switch k := rng.IntN(20); {
		case k < 6:
			h.Opcode = OpText
			if inMessage {
				h.Opcode = OpContinuation
			}
			payload = randomText(rng)
		case k < 10:
			h.Opcode = OpBinary
			if inMessage {
				h.Opcode = OpContinuation
			}
			payload = make([]byte, rng.IntN(300))
			for i := range payload {
				payload[i] = byte(rng.IntN(4))
			}
		case k < 12:
			h.Opcode, h.Fin = OpPing, true
			payload = []byte("ping")
		case k < 13:
			h.Opcode, h.Fin = OpPong, true
		case k < 15:
			h.Opcode, h.Fin = OpClose, true
			codes := []int{1000, 1001, 1002, 1004, 1005, 1006, 1015, 999, 2999, 3000, 4999, 5000}
			if rng.IntN(5) > 0 {
				code := codes[rng.IntN(len(codes))]
				payload = append([]byte{byte(code >> 8), byte(code)}, randomText(rng)...)
				payload = payload[:min(len(payload), MaxControlPayload)]
			}
			if rng.IntN(10) == 0 {
				payload = []byte{3}
			}
		default:
			// Anything at all.
			h.Opcode = Opcode(rng.IntN(16))
			h.Fin = rng.IntN(2) == 0
			h.RSV1, h.RSV2 = rng.IntN(4) == 0, rng.IntN(8) == 0
			payload = []byte("x")
		}
		if rng.IntN(15) == 0 {
			h.Masked = !h.Masked
		}
		if comp != nil && (h.Opcode == OpText || h.Opcode == OpBinary || h.Opcode == OpContinuation) && rng.IntN(2) == 0 && h.Opcode != OpContinuation {
			// A whole compressed message in one frame.
			c, _ := comp.compress(payload, true)
			payload = bytes.Clone(c)
			h.RSV1, h.Fin = true, true
		}
		if !h.Opcode.IsControl() && h.Opcode.known() {
			inMessage = !h.Fin
		}
		out = AppendFrame(out, h, payload)
	}
	return out
}

func randomText(rng *rand.Rand) []byte {
	pieces := []string{"a", "hello ", "é", "€", "𝄞", "\xff", "\xe2\x82", "\xed\xa0\x80", "\xc0\xaf", " "}
	var b []byte
	for range rng.IntN(8) {
		b = append(b, pieces[rng.IntN(len(pieces)-2)]...)
		if rng.IntN(12) == 0 {
			b = append(b, pieces[5+rng.IntN(4)]...)
		}
	}
	return b
}

// TestAgainstWsproto reads generated frames, valid and not, with a Reader
// and with wsproto, mitmproxy's WebSocket library, and compares the
// messages, control frames and the close code and reason of every
// refusal.
func TestAgainstWsproto(t *testing.T) {
	python := pyoracle.Find(t, "/usr/bin/python3", "wsproto")
	script, err := os.ReadFile(filepath.Join("testdata", "wsproto_oracle.py"))
	if err != nil {
		t.Fatal(err)
	}
	type oracleCase struct {
		Role string `json:"role"`
		Ext  string `json:"ext"`
		Data string `json:"data"`
	}
	var cases []oracleCase
	var inputs [][]byte
	var roles []Role
	rng := rand.New(rand.NewPCG(1, 2))
	exts := []string{"", "permessage-deflate", "permessage-deflate; client_no_context_takeover; server_max_window_bits=10"}
	for i := range 600 {
		role := Role(i % 2)
		ext := exts[i%len(exts)]
		d, _, _ := ParseExtensions(ext)
		in := randomStream(rng, role == Server, d)
		cases = append(cases, oracleCase{Role: role.String(), Ext: ext, Data: fmt.Sprintf("%x", in)})
		inputs = append(inputs, in)
		roles = append(roles, role)
	}
	// And the golden inputs.
	text, _ := os.ReadFile(filepath.Join("testdata", "frames.golden"))
	_, golden := parseGolden(t, string(text))
	for _, c := range golden {
		cases = append(cases, oracleCase{Role: c.role.String(), Ext: c.ext, Data: fmt.Sprintf("%x", c.in)})
		inputs = append(inputs, c.in)
		roles = append(roles, c.role)
	}
	var want [][]string
	pyoracle.Run(t, python, string(script), cases, &want)
	for i, c := range cases {
		got := oracleEvents(t, inputs[i], roles[i], c.Ext)
		w := want[i]
		if fmt.Sprint(got) != fmt.Sprint(w) && !(len(w) == 0 && len(got) == 0) {
			t.Errorf("case %d (%s, %q, %s):\n  mitmgo: %q\n wsproto: %q", i, c.Role, c.Ext, c.Data, got, w)
		}
	}
}

func TestMaxMessageSize(t *testing.T) {
	w := &bytes.Buffer{}
	wr := NewWriter(w, Client, nil)
	wr.WriteMessage(OpBinary, make([]byte, 100), []int{60, 40})
	wr.WriteMessage(OpBinary, make([]byte, 50), nil)
	tests := []struct {
		limit int64
		want  string
	}{
		{0, "[BINARY " + strings.Repeat("00", 100) + " [60 40] BINARY " + strings.Repeat("00", 50) + " [] error: EOF]"},
		{100, "[BINARY " + strings.Repeat("00", 100) + " [60 40] BINARY " + strings.Repeat("00", 50) + " [] error: EOF]"},
		{99, "[error: websocket: message too big (MESSAGE_TOO_BIG)]"},
	}
	for _, tt := range tests {
		r := NewReader(bytes.NewReader(w.Bytes()), Server, nil)
		r.MaxMessageSize = tt.limit
		var got []string
		for {
			ev, err := r.Next()
			if err != nil {
				got = append(got, "error: "+err.Error())
				break
			}
			got = append(got, ev.String())
		}
		if fmt.Sprint(got) != tt.want {
			t.Errorf("limit %d: %s", tt.limit, got)
		}
	}
	// The limit bounds what a compressed message inflates to as well.
	d := &Deflate{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}
	w.Reset()
	NewWriter(w, Client, d).WriteMessage(OpBinary, make([]byte, 1<<20), nil)
	r := NewReader(bytes.NewReader(w.Bytes()), Server, d)
	r.MaxMessageSize = 1 << 16
	if _, err := r.Next(); err == nil || err.(*ProtocolError).Code != CloseMessageTooBig {
		t.Fatalf("a compressed message inflating past the limit: %v (%d bytes on the wire)", err, w.Len())
	}
}

// TestHugeLengthCostsNothing: a header that announces 2^62 bytes, followed
// by nothing, does not make the Reader allocate them.
func TestHugeLengthCostsNothing(t *testing.T) {
	in := AppendHeader(nil, Header{Fin: true, Opcode: OpBinary, Length: 1 << 62})
	r := NewReader(bytes.NewReader(in), Client, nil)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
		t.Fatalf("reading a header of 2^62 bytes allocated %d bytes", n)
	}
}
