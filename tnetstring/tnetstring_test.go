package tnetstring

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
)

func dictOf(kv ...any) *Dict {
	d := NewDict()
	for i := 0; i < len(kv); i += 2 {
		d.Set(kv[i].(string), kv[i+1])
	}
	return d
}

func TestRoundTripTable(t *testing.T) {
	big1, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	tests := []struct {
		enc string
		val any
	}{
		// mitmproxy's examples
		{"0:~", nil},
		{"4:true!", true},
		{"5:false!", false},
		{"5:12345#", int64(12345)},
		{"0:,", []byte{}},
		{"0:;", ""},
		{"24:5:12345#5:67890#5:xxxxx,]", []any{int64(12345), int64(67890), []byte("xxxxx")}},
		// more of each tag
		{"2:-7#", int64(-7)},
		{"1:0#", int64(0)},
		{"30:123456789012345678901234567890#", big1},
		{"11:hello world,", []byte("hello world")},
		{"6:h\xc3\xa9llo;", "héllo"},
		{"3:0.0^", 0.0},
		{"4:-0.0^", math.Copysign(0, -1)},
		{"17:1690281721.845797^", 1690281721.845797},
		{"5:1e+16^", 1e16},
		{"18:1000000000000000.0^", 1e15},
		{"7:1.5e-05^", 1.5e-05},
		{"6:0.0001^", 0.0001},
		{"3:inf^", math.Inf(1)},
		{"4:-inf^", math.Inf(-1)},
		{"0:]", []any{}},
		{"0:}", NewDict()},
		// dicts are written in reverse insertion order
		{"16:1:b;1:2#1:a;1:1#}", dictOf("a", int64(1), "b", int64(2))},
		{"20:0:;0:~3:key,5:value;}", &Dict{Entries: []Entry{{Key: "key", BytesKey: true, Value: "value"}, {Key: "", Value: nil}}}},
		{"24:4:list;13:0:]4:true!0:}]}", dictOf("list", []any{[]any{}, true, NewDict()})},
	}
	for _, tt := range tests {
		got, rest, err := Unmarshal([]byte(tt.enc))
		if err != nil {
			t.Errorf("Unmarshal(%q): %v", tt.enc, err)
			continue
		}
		if len(rest) != 0 {
			t.Errorf("Unmarshal(%q): rest %q", tt.enc, rest)
		}
		if !Equal(got, tt.val) {
			t.Errorf("Unmarshal(%q) = %#v, want %#v", tt.enc, got, tt.val)
		}
		enc, err := Marshal(tt.val)
		if err != nil {
			t.Errorf("Marshal(%#v): %v", tt.val, err)
			continue
		}
		if string(enc) != tt.enc {
			t.Errorf("Marshal(%#v) = %q, want %q", tt.val, enc, tt.enc)
		}
	}
}

func TestNaN(t *testing.T) {
	v, _, err := Unmarshal([]byte("3:nan^"))
	if err != nil || !math.IsNaN(v.(float64)) {
		t.Fatalf("got %v, %v", v, err)
	}
	b, _ := Marshal(math.NaN())
	if string(b) != "3:nan^" {
		t.Fatalf("got %q", b)
	}
}

func TestPythonFloatRepr(t *testing.T) {
	// Expected values are Python 3's repr().
	tests := map[float64]string{
		1.0:                    "1.0",
		0.1:                    "0.1",
		100.0:                  "100.0",
		123456789.0:            "123456789.0",
		1e22:                   "1e+22",
		1.7976931348623157e308: "1.7976931348623157e+308",
		5e-324:                 "5e-324",
		0.00001234:             "1.234e-05",
		0.001234:               "0.001234",
		-2.5:                   "-2.5",
		9999999999999998.0:     "9999999999999998.0",
		1693314200.3218079:     "1693314200.3218079",
		1e100:                  "1e+100",
		123e-10:                "1.23e-08",
	}
	for f, want := range tests {
		if got := string(AppendFloat(nil, f)); got != want {
			t.Errorf("AppendFloat(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestIntBoundaries(t *testing.T) {
	for _, s := range []string{"9223372036854775807", "-9223372036854775808"} {
		v, _, err := Unmarshal([]byte(itoa(len(s)) + ":" + s + "#"))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := v.(int64); !ok {
			t.Errorf("%s decoded as %T", s, v)
		}
	}
	s := "9223372036854775808"
	v, _, err := Unmarshal([]byte(itoa(len(s)) + ":" + s + "#"))
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := v.(*big.Int); !ok || b.String() != s {
		t.Errorf("%s decoded as %#v", s, v)
	}
	// Python's int() is lenient about signs and surrounding whitespace.
	v, _, err = Unmarshal([]byte("4: +5 #"))
	if err != nil || v != int64(5) {
		t.Errorf("got %v, %v", v, err)
	}
}

func itoa(n int) string {
	b, _ := Marshal(int64(n))
	s := string(b)
	return s[strings.IndexByte(s, ':')+1 : len(s)-1]
}

func TestErrors(t *testing.T) {
	tests := []struct {
		in, msg string
	}{
		{"", "unexpected end of data"},
		{"5", "unexpected end of data in length prefix"},
		{"x:", "expected a length prefix"},
		{"1234567890123:", "length prefix longer than 12 digits"},
		{"5:abc,", "runs past the end"},
		{"3:abc", "runs past the end"},
		{"3:abc?", "unknown type tag"},
		{"3:abc#", "invalid integer literal"},
		{"3:1.x^", "invalid float literal"},
		{"4:0x10^", "invalid float literal"},
		{"4:True!", "invalid boolean literal"},
		{"1:x~", "null item with a non-empty payload"},
		{"2:\xff\xfe;", "not valid UTF-8"},
		{"8:1:1#1:2#}", "dict key must be bytes or str, not int"},
		{"4:1:a,}", "has no value"},
		{"6:5:abc,]", "does not fit"},
	}
	for _, tt := range tests {
		_, _, err := Unmarshal([]byte(tt.in))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Unmarshal(%q) error = %v, want a *SyntaxError", tt.in, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "tnetstring: at byte ") {
			t.Errorf("Unmarshal(%q) error = %q, want it to mention %q", tt.in, err, tt.msg)
		}
	}
	// Offsets point at the problem.
	_, _, err := Unmarshal([]byte("10:1:a,3:abc?}"))
	if err == nil || !strings.Contains(err.Error(), "at byte 12:") {
		t.Errorf("got %v", err)
	}
}

func TestDepthLimit(t *testing.T) {
	var v any = []any{}
	for range MaxDepth + 5 {
		v = []any{v}
	}
	if _, err := Marshal(v); err == nil {
		t.Error("Marshal accepted a too deeply nested value")
	}
	enc := "0:]"
	for range MaxDepth + 5 {
		enc = itoa(len(enc)) + ":" + enc + "]"
	}
	if _, _, err := Unmarshal([]byte(enc)); err == nil || !strings.Contains(err.Error(), "nesting") {
		t.Errorf("Unmarshal of deep nesting: %v", err)
	}
	if _, err := NewDecoder(strings.NewReader(enc)).Decode(); err == nil || !strings.Contains(err.Error(), "nesting") {
		t.Errorf("Decode of deep nesting: %v", err)
	}
}

func TestDuplicateKeys(t *testing.T) {
	// In file order: a=1, b=2, a=3. Python keeps a's first position with
	// the last value: {a: 3, b: 2} in file order, i.e. insertion order b, a.
	v, _, err := Unmarshal([]byte("24:1:a;1:1#1:b;1:2#1:a;1:3#}"))
	if err != nil {
		t.Fatal(err)
	}
	d := v.(*Dict)
	if d.Len() != 2 || d.Int("a") != 3 || d.Int("b") != 2 || d.Entries[0].Key != "b" {
		t.Errorf("got %#v", d.Entries)
	}
}

func TestMarshalErrors(t *testing.T) {
	for _, v := range []any{"\xff", map[string]any{}, struct{}{}, []any{1, make(chan int)}, dictOf("k", "\xfe")} {
		dst := []byte("prefix")
		out, err := AppendValue(dst, v)
		if err == nil {
			t.Errorf("AppendValue(%#v) succeeded", v)
		}
		if string(out) != "prefix" {
			t.Errorf("AppendValue(%#v) left %q", v, out)
		}
	}
}

func TestMarshalGoTypes(t *testing.T) {
	v := []any{int(1), int32(2), uint64(3), float32(0.5), []string{"a"}, [][]byte{[]byte("b")}, *dictOf("x", nil)}
	b, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := "42:1:1#1:2#1:3#3:0.5^4:1:a;]4:1:b,]7:1:x;0:~}]"
	if string(b) != want {
		t.Errorf("got %q, want %q", b, want)
	}
}

func TestLongContainerPrefix(t *testing.T) {
	// Containers whose length prefix is longer or shorter than the space
	// reserved for it.
	for _, n := range []int{0, 1, 9, 10, 99, 100, 9999, 10000, 123456, 2000000} {
		v := []any{bytes.Repeat([]byte("a"), n), dictOf("k", []any{bytes.Repeat([]byte("b"), n)})}
		b, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, rest, err := Unmarshal(b)
		if err != nil || len(rest) != 0 || !Equal(got, v) {
			t.Fatalf("n=%d: round trip failed: %v", n, err)
		}
	}
}

func TestDecoderStream(t *testing.T) {
	items := []any{dictOf("a", int64(1)), []byte("x"), nil, "s", []any{1.5}}
	var buf bytes.Buffer
	var offsets []int64
	for _, it := range items {
		offsets = append(offsets, int64(buf.Len()))
		b, err := Marshal(it)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
	}
	dec := NewDecoder(&buf)
	for i, want := range items {
		got, err := dec.Decode()
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		if dec.Offset() != offsets[i] {
			t.Errorf("item %d: Offset = %d, want %d", i, dec.Offset(), offsets[i])
		}
		if !Equal(got, want) && !(i == 4 && Equal(got, []any{1.5})) {
			t.Errorf("item %d = %#v, want %#v", i, got, want)
		}
	}
	if _, err := dec.Decode(); err != io.EOF {
		t.Errorf("at end: %v, want io.EOF", err)
	}
}

func TestDecoderTruncated(t *testing.T) {
	full, _ := Marshal(dictOf("a", []byte("hello world")))
	for n := 1; n < len(full); n++ {
		dec := NewDecoder(bytes.NewReader(full[:n]))
		_, err := dec.Decode()
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("truncated at %d: %v", n, err)
		}
	}
	// A garbage prefix claiming a huge payload must not allocate it.
	dec := NewDecoder(strings.NewReader("999999999999:abc"))
	if _, err := dec.Decode(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("huge prefix: %v", err)
	}
	dec = NewDecoder(strings.NewReader("9999999999999:abc"))
	if _, err := dec.Decode(); err == nil || !strings.Contains(err.Error(), "longer than 12 digits") {
		t.Errorf("13-digit prefix: %v", err)
	}
}

func TestDecoderErrorOffsets(t *testing.T) {
	a, _ := Marshal(dictOf("x", int64(1)))
	in := string(a) + "10:1:a,3:abc?}"
	dec := NewDecoder(strings.NewReader(in))
	if _, err := dec.Decode(); err != nil {
		t.Fatal(err)
	}
	_, err := dec.Decode()
	want := len(a) + 12
	if err == nil || !strings.Contains(err.Error(), "at byte "+itoa(want)+":") {
		t.Errorf("got %v, want offset %d", err, want)
	}
	if dec.Offset() != int64(len(a)) {
		t.Errorf("Offset = %d", dec.Offset())
	}
}

func TestDictMethods(t *testing.T) {
	var nilDict *Dict
	if nilDict.Len() != 0 || nilDict.Has("x") || nilDict.Str("x") != "" || nilDict.Dict("x") != nil {
		t.Error("nil dict misbehaves")
	}
	nilDict.Set("x", 1)
	nilDict.Delete("x")

	d := NewDict()
	d.Set("s", "str")
	d.Set("b", []byte("bytes"))
	d.Set("i", int64(7))
	d.Set("f", 2.5)
	d.Set("t", true)
	d.Set("n", nil)
	d.Set("l", []any{int64(1)})
	d.Set("d", dictOf("x", int64(1)))
	d.Entries = append(d.Entries, Entry{Key: "bk", BytesKey: true, Value: "v"})
	if d.Str("s") != "str" || d.Str("b") != "bytes" || d.Str("i") != "" {
		t.Error("Str")
	}
	if string(d.Bytes("b")) != "bytes" || string(d.Bytes("s")) != "str" || d.Bytes("i") != nil {
		t.Error("Bytes")
	}
	if d.Int("i") != 7 || d.Int("f") != 2 || d.Int("s") != 0 {
		t.Error("Int")
	}
	if d.Float("f") != 2.5 || d.Float("i") != 7 || d.Float("s") != 0 {
		t.Error("Float")
	}
	if !d.Bool("t") || d.Bool("i") || !d.IsNull("n") || d.IsNull("missing") || d.IsNull("i") {
		t.Error("Bool/IsNull")
	}
	if len(d.List("l")) != 1 || d.List("d") != nil || d.Dict("d").Int("x") != 1 || d.Dict("l") != nil {
		t.Error("List/Dict")
	}
	if d.Str("bk") != "v" {
		t.Error("bytes key lookup")
	}
	d.Set("s", "new")
	if d.Entries[0].Value != "new" {
		t.Error("Set must replace in place")
	}
	d.Delete("s")
	if d.Has("s") || d.Len() != 8 || d.Entries[0].Key != "b" {
		t.Error("Delete")
	}
	c := d.Clone()
	c.Dict("d").Set("x", int64(2))
	c.Bytes("b")[0] = 'X'
	if d.Dict("d").Int("x") != 1 || d.Str("b") != "bytes" {
		t.Error("Clone is not deep")
	}
}

// realisticFlow builds a state dict shaped like a mitmproxy HTTP flow.
func realisticFlow() *Dict {
	conn := func(server bool) *Dict {
		c := NewDict()
		c.Set("peername", []any{"127.0.0.1", int64(50566)})
		c.Set("sockname", []any{"127.0.0.1", int64(8080)})
		c.Set("id", "eab20223-fc4f-4cd4-aa49-eb9ab6a8572e")
		c.Set("transport_protocol", "tcp")
		c.Set("error", nil)
		c.Set("tls", true)
		c.Set("certificate_list", []any{})
		c.Set("alpn", []byte("http/1.1"))
		c.Set("alpn_offers", []any{[]byte("h2"), []byte("http/1.1")})
		c.Set("cipher", "TLS_AES_256_GCM_SHA384")
		c.Set("cipher_list", []any{})
		c.Set("tls_version", "TLSv1.3")
		c.Set("sni", "example.com")
		c.Set("timestamp_start", 1731596382.1900728)
		c.Set("timestamp_end", 1731596382.2320333)
		c.Set("timestamp_tls_setup", 1731596382.2000728)
		if server {
			c.Set("address", []any{"example.com", int64(443)})
			c.Set("timestamp_tcp_setup", 1731596382.2034934)
			c.Set("via", nil)
		} else {
			c.Set("mitmcert", nil)
			c.Set("proxy_mode", "regular")
		}
		return c
	}
	hdrs := func(n int) []any {
		l := []any{}
		for i := range n {
			l = append(l, []any{[]byte("X-Header-" + itoa(i)), []byte("some header value of moderate length")})
		}
		return l
	}
	req := NewDict()
	req.Set("http_version", []byte("HTTP/1.1"))
	req.Set("headers", hdrs(8))
	req.Set("content", []byte{})
	req.Set("trailers", nil)
	req.Set("timestamp_start", 1731596382.2106874)
	req.Set("timestamp_end", 1731596382.2201993)
	req.Set("host", "example.com")
	req.Set("port", int64(443))
	req.Set("method", []byte("GET"))
	req.Set("scheme", []byte("https"))
	req.Set("authority", []byte(""))
	req.Set("path", []byte("/index.html?q=1"))
	resp := NewDict()
	resp.Set("http_version", []byte("HTTP/1.1"))
	resp.Set("headers", hdrs(10))
	resp.Set("content", bytes.Repeat([]byte("<p>hello</p>"), 100))
	resp.Set("trailers", nil)
	resp.Set("timestamp_start", 1731596382.2251546)
	resp.Set("timestamp_end", 1731596382.2281084)
	resp.Set("status_code", int64(200))
	resp.Set("reason", []byte("OK"))
	f := NewDict()
	f.Set("version", int64(21))
	f.Set("type", "http")
	f.Set("id", "0e171f85-e943-4bfa-9f94-b8b1de31748b")
	f.Set("error", nil)
	f.Set("client_conn", conn(false))
	f.Set("server_conn", conn(true))
	f.Set("intercepted", false)
	f.Set("is_replay", nil)
	f.Set("marked", "")
	f.Set("metadata", NewDict())
	f.Set("comment", "")
	f.Set("timestamp_created", 1731596382.2114494)
	f.Set("backup", nil)
	f.Set("request", req)
	f.Set("response", resp)
	f.Set("websocket", nil)
	return f
}

func TestRealisticFlowRoundTrip(t *testing.T) {
	f := realisticFlow()
	b, err := Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte(itoa(len(b)-len(itoa(len(b)))-2)+":9:websocket;0:~8:response;")) {
		t.Errorf("unexpected start %q", b[:40])
	}
	got, rest, err := Unmarshal(b)
	if err != nil || len(rest) != 0 {
		t.Fatal(err)
	}
	if !Equal(got, f) {
		t.Error("round trip differs")
	}
	b2, _ := Marshal(got)
	if !bytes.Equal(b, b2) {
		t.Error("re-encoding differs")
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{"0:~", "4:true!", "5:12345#", "24:5:12345#5:67890#5:xxxxx,]",
		"16:1:b;1:2#1:a;1:1#}", "17:1690281721.845797^", "3:nan^", "30:123456789012345678901234567890#",
		"24:1:a;1:1#1:b;1:2#1:a;1:3#}", "9:3:key,0:~}"} {
		f.Add([]byte(s))
	}
	b, _ := Marshal(realisticFlow())
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, _, err := Unmarshal(data)
		dv, derr := NewDecoder(bytes.NewReader(data)).Decode()
		if (err == nil) != (derr == nil) && derr != io.EOF {
			t.Fatalf("Unmarshal err %v, Decoder err %v", err, derr)
		}
		if err != nil {
			return
		}
		if !Equal(v, dv) {
			t.Fatalf("Unmarshal and Decoder disagree")
		}
		enc, err := Marshal(v)
		if err != nil {
			t.Fatalf("Marshal of decoded value: %v", err)
		}
		v2, rest, err := Unmarshal(enc)
		if err != nil || len(rest) != 0 {
			t.Fatalf("re-decode: %v", err)
		}
		if !Equal(v, v2) {
			t.Fatalf("round trip not stable: %#v vs %#v", v, v2)
		}
		enc2, _ := Marshal(v2)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable")
		}
	})
}

func BenchmarkMarshalFlow(b *testing.B) {
	f := realisticFlow()
	enc, _ := Marshal(f)
	buf := make([]byte, 0, 2*len(enc))
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendValue(buf[:0], f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalFlow(b *testing.B) {
	enc, _ := Marshal(realisticFlow())
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Unmarshal(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecoderFlows(b *testing.B) {
	enc, _ := Marshal(realisticFlow())
	stream := bytes.Repeat(enc, 1000)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		dec := NewDecoder(bytes.NewReader(stream))
		for {
			if _, err := dec.Decode(); err != nil {
				if err == io.EOF {
					break
				}
				b.Fatal(err)
			}
		}
	}
}

func TestPythonFloatReprRandom(t *testing.T) {
	// The positional fast path must agree with the general formatting.
	r := uint64(1)
	for range 30000 {
		r ^= r << 13
		r ^= r >> 7
		r ^= r << 17
		f := math.Float64frombits(r)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		for _, g := range []float64{f, math.Mod(f, 1e17), float64(int64(r>>20)) / 1e6, float64(r>>11) / (1 << 53) * 1e-3} {
			got := string(AppendFloat(nil, g))
			want := slowRepr(g)
			if got != want {
				t.Fatalf("AppendFloat(%v) = %q, want %q", g, got, want)
			}
		}
	}
}

// slowRepr is Python's repr(float) by its definition, from the shortest
// digits in scientific form.
func slowRepr(f float64) string {
	s := strconv.FormatFloat(f, 'e', -1, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, expS, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expS)
	digits := strings.Replace(mant, ".", "", 1)
	decpt := exp + 1
	var out string
	switch {
	case decpt > -4 && decpt <= 16 && decpt <= 0:
		out = "0." + strings.Repeat("0", -decpt) + digits
	case decpt > -4 && decpt <= 16 && decpt >= len(digits):
		out = digits + strings.Repeat("0", decpt-len(digits)) + ".0"
	case decpt > -4 && decpt <= 16:
		out = digits[:decpt] + "." + digits[decpt:]
	default:
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		sign := "+"
		if exp < 0 {
			sign = "-"
			exp = -exp
		}
		out = fmt.Sprintf("%se%s%02d", m, sign, exp)
	}
	if neg {
		out = "-" + out
	}
	return out
}

func TestInternKeys(t *testing.T) {
	worst := 0
	for _, slot := range keyTable.slots {
		worst = max(worst, len(slot))
		for _, k := range slot {
			if got := internKey([]byte(k)); got != k {
				t.Errorf("internKey(%q) = %q", k, got)
			}
		}
	}
	if worst > 3 {
		t.Errorf("a slot holds %d keys", worst)
	}
	if internKey([]byte("not-a-known-key")) != "not-a-known-key" || internKey(nil) != "" {
		t.Error("unknown keys")
	}
	if n := testing.AllocsPerRun(100, func() { internKey([]byte("timestamp_start")) }); n != 0 {
		t.Errorf("internKey allocates %v times", n)
	}
}
