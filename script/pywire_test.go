package script

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// decodePart decodes a part of a hook call as the child does
// (tnetstring.loads_part): a tnetstring starts with a digit.
func decodePart(b []byte) (any, error) {
	if len(b) > 0 && b[0] >= '0' && b[0] <= '9' {
		v, _, err := tnetstring.Unmarshal(b)
		return v, err
	}
	return decodePy(b)
}

func wireSamples() []any {
	d := tnetstring.NewDict()
	d.Set("a", int64(1))
	d.Set("neg", int64(-5))
	d.Set("i32max", int64(math.MaxInt32))
	d.Set("i32min", int64(math.MinInt32))
	d.Set("big", int64(1)<<40)
	d.Set("bigneg", -(int64(1) << 52))
	d.Set("max", int64(math.MaxInt64))
	d.Set("min", int64(math.MinInt64))
	huge, _ := new(big.Int).SetString("-123456789012345678901234567890", 10)
	d.Set("huge", huge)
	d.Set("f", 1.5)
	d.Set("fz", 0.0)
	d.Set("inf", math.Inf(-1))
	d.Set("s", "héllo")
	d.Set("b", []byte{0, 1, 0xff})
	d.Set("eb", []byte{})
	d.Set("n", nil)
	d.Set("t", true)
	d.Set("fa", false)
	inner := tnetstring.NewDict()
	inner.Set("x", []any{[]any{[]byte("k"), []byte("v")}, "s", int64(3)})
	d.Set("d", inner)
	d.Set("l", []any{})
	return []any{d, []any{int64(1), "a"}, "", int64(0)}
}

// TestPyWireRoundTrip: what appendPy writes, decodePy reads back as the
// tnetstring decoder would have.
func TestPyWireRoundTrip(t *testing.T) {
	for _, v := range wireSamples() {
		b, err := appendPy(nil, v, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodePy(b)
		if err != nil {
			t.Fatal(err)
		}
		tb, _ := tnetstring.Marshal(v)
		want, _, _ := tnetstring.Unmarshal(tb)
		if !reflect.DeepEqual(norm(got), norm(want)) {
			t.Errorf("round trip:\n got %#v\nwant %#v", got, want)
		}
	}
	// What marshal cannot carry here falls back to a tnetstring.
	d := tnetstring.NewDict()
	d.Set("bad", "\xff")
	if _, err := appendPy(nil, d, 0); err == nil {
		t.Error("an invalid UTF-8 str was marshalled")
	}
	if _, err := encodePart(d); err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Errorf("encodePart of an invalid str: %v, want tnetstring's error", err)
	}
	bk := &tnetstring.Dict{Entries: []tnetstring.Entry{{Key: "k", BytesKey: true, Value: int64(1)}}}
	if b, err := encodePart(bk); err != nil || b[0] < '0' || b[0] > '9' {
		t.Errorf("encodePart of a bytes key gave %q, %v", b, err)
	}
}

func norm(v any) any {
	switch x := v.(type) {
	case *big.Int:
		if x.IsInt64() {
			return x.Int64()
		}
		return x.String()
	case *tnetstring.Dict:
		out := &tnetstring.Dict{}
		for _, e := range x.Entries {
			out.Entries = append(out.Entries, tnetstring.Entry{Key: e.Key, BytesKey: e.BytesKey, Value: norm(e.Value)})
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = norm(e)
		}
		return out
	case []byte:
		return string(x) + "\x00bytes"
	}
	return v
}

// TestPyWireAgainstPython checks both directions against python3's own
// marshal: what mitmgo writes decodes in Python to what the tnetstring
// decoder makes of the tnetstring form, and what marshal.dumps(x, 2)
// writes decodes here to what the host's tnetstring encoder would have
// sent (surrogate escapes, tuples, non-str keys included).
func TestPyWireAgainstPython(t *testing.T) {
	needPython(t)
	dir := t.TempDir()
	var goMarshal, goTnet [][]byte
	for _, v := range wireSamples() {
		b, _ := appendPy(nil, v, 0)
		tb, _ := tnetstring.Marshal(v)
		goMarshal = append(goMarshal, b)
		goTnet = append(goTnet, tb)
	}
	var in bytes.Buffer
	for i := range goMarshal {
		b, _ := tnetstring.AppendValue(nil, goMarshal[i])
		in.Write(b)
		b, _ = tnetstring.AppendValue(nil, goTnet[i])
		in.Write(b)
	}
	if err := os.WriteFile(filepath.Join(dir, "in"), in.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	prog := `
import sys, marshal, json
sys.path.insert(0, sys.argv[1])
from mitmproxy._mitmgo import tnetstring as T
data = open(sys.argv[2] + "/in", "rb").read()
pos = 0
ok = []
while pos < len(data):
    m, pos = T.parse(data, pos)
    tn, pos = T.parse(data, pos)
    ok.append(T.loads_part(m) == T.loads_part(tn) == T.loads(tn))
samples = [
    {"cmd": "ret", "id": 7, "changes": {"response": {"headers": [[b"a", b"b"]], "reason": "caf\u00e9", "status_code": 2**40,
     "x": -2**70, "y": 1.25, "z": None, "t": True, "f": False}}},
    {"s": "bad \udc80\udcff bytes", "tup": (1, "x"), 3: "int key", 1.5: "float key", b"bk": 1, None: 2, True: 3},
    [b"", "", 0, -1, 2**31, -2**31 - 1],
]
out = open(sys.argv[2] + "/out", "wb")
for s in samples:
    out.write(T.dumps(T.dumps_reply(s)[1]))
    out.write(T.dumps(s))
print(json.dumps(ok))
`
	py := filepath.Join(dir, "p.py")
	if err := os.WriteFile(py, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("python3", py, "py", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	var ok []bool
	if err := json.Unmarshal(out, &ok); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for i, v := range ok {
		if !v {
			t.Errorf("sample %d: Python decodes mitmgo's marshal data differently from its tnetstring", i)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; len(data) > 0; n++ {
		mv, rest, err := tnetstring.Unmarshal(data)
		if err != nil {
			t.Fatal(err)
		}
		tv, rest, err := tnetstring.Unmarshal(rest)
		if err != nil {
			t.Fatal(err)
		}
		data = rest
		got, err := decodePy(mv.([]byte))
		if err != nil {
			t.Fatalf("sample %d: %v", n, err)
		}
		if !reflect.DeepEqual(norm(got), norm(tv)) {
			t.Errorf("sample %d:\nmarshal    %#v\ntnetstring %#v", n, norm(got), norm(tv))
		}
	}
}

// TestHookPartsMarshalled: a hook call's parts travel as marshal data, and
// decode to the flow's state.
func TestHookPartsMarshalled(t *testing.T) {
	a := NewWithConfig(Config{})
	f := newFlow(t, "POST", "http://example.com/p?q=1", 200, "body", "Content-Type", "text/plain")
	f.WebSocket = &flow.WebSocketData{Messages: []*flow.WebSocketMessage{{Type: 2, Content: []byte{1, 2}, Timestamp: 3}}}
	m, err := a.httpMessage("websocket_message", f, 0)
	if err != nil {
		t.Fatal(err)
	}
	st := f.State()
	for _, p := range [][2]string{{"rq", "request"}, {"rs", "response"}, {"ws", "websocket"}, {"cc", "client_conn"}, {"sc", "server_conn"}} {
		b := m.Bytes(p[0])
		if len(b) == 0 || b[0] != mDict {
			t.Errorf("%s is not marshal data: %.20q", p[0], b)
			continue
		}
		got, err := decodePy(b)
		if err != nil {
			t.Fatal(err)
		}
		want := st.Dict(p[1])
		if p[1] == "request" || p[1] == "response" {
			// The envelope adds nothing else for these.
			want.Delete("stream")
		}
		tb, _ := tnetstring.Marshal(want)
		wv, _, _ := tnetstring.Unmarshal(tb)
		if !reflect.DeepEqual(norm(got), norm(wv)) {
			t.Errorf("%s:\n got %v\nwant %v", p[0], norm(got), norm(wv))
		}
	}
	fr, err := frameMsg(m)
	if err != nil {
		t.Fatal(err)
	}
	v, rest, err := tnetstring.Unmarshal(fr)
	if err != nil || len(rest) != 0 {
		t.Fatal(err)
	}
	back, err := decodePy(v.([]byte))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(norm(back), norm(m)) {
		t.Errorf("the frame decodes to %v", back)
	}
}

func FuzzDecodePy(f *testing.F) {
	for _, v := range wireSamples() {
		b, _ := appendPy(nil, v, 0)
		f.Add(b)
	}
	f.Add([]byte("{u\x01\x00\x00\x00a[\x02\x00\x00\x00NT0"))
	f.Add([]byte("r\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decodePy(data)
		if err != nil {
			return
		}
		// What decodes re-encodes (tuples and sets as lists, refs
		// resolved) and decodes the same again.
		b, err := appendPy(nil, v, 0)
		if err != nil {
			return // a bytes key, or text that was not UTF-8
		}
		v2, err := decodePy(b)
		if err != nil {
			t.Fatalf("re-encoded data does not decode: %v", err)
		}
		if !reflect.DeepEqual(norm(v), norm(v2)) {
			t.Fatalf("%#v != %#v", v, v2)
		}
	})
}

// TestPlainValue checks the tnetstring fallback's conversion: pieces
// joined, inline parts decoded, and an inline part that does not decode
// reported (with where it was) instead of becoming nil.
func TestPlainValue(t *testing.T) {
	good := pyInline{{mDict}, appendPyBytes([]byte{mUnicode, 1, 0, 0, 0, 'k'}, []byte("v")), {mNull}}
	bad := pyInline{{mDict, mUnicode, 9}}
	withBad := tnetstring.NewDict()
	withBad.Set("ws", bad)
	for _, tc := range []struct {
		name    string
		in      any
		want    any
		wantErr string
	}{
		{"pieces", pyPieces{[]byte("ab"), []byte("c")}, []byte("abc"), ""},
		{"inline", good, func() any { d := tnetstring.NewDict(); d.Set("k", []byte("v")); return d }(), ""},
		{"list", []any{pyPieces{[]byte("x")}, int64(1)}, []any{[]byte("x"), int64(1)}, ""},
		{"bad inline", bad, nil, "an inline part"},
		{"bad inline in a dict", withBad, nil, "ws: an inline part"},
		{"bad inline in a list", []any{bad}, nil, "an inline part"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := plainValue(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(norm(got), norm(tc.want)) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
	// framePieces falls back to a tnetstring for a bytes key; a broken
	// inline part then fails the frame.
	m := newMsg("hook")
	m.Entries = append(m.Entries, tnetstring.Entry{Key: "k", BytesKey: true, Value: int64(1)})
	m.Set("ws", bad)
	if _, err := frameMsg(m); err == nil {
		t.Error("a message with a broken inline part framed without an error")
	}
}
