package script

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"unicode/utf8"

	"github.com/mitmgo/mitmgo/tnetstring"
)

// The pipe's fast encoding: Python's marshal format.
//
// Decoding a tnetstring in pure Python costs about a microsecond for every
// ten bytes of a flow's state; marshal.loads, in C, is more than ten times
// faster, and marshal.dumps likewise for replies. So the hot messages carry
// marshal data:
//
//   - a message from mitmgo is a tnetstring bytes item ("<n>:<marshal>,")
//     holding the marshalled dict (other messages are tnetstring dicts, as
//     before; the child tells them apart by the tag);
//   - the parts of a flow in a hook call (rq, rs, ws, cc, sc, f, ...) are
//     marshal data too (a tnetstring, which starts with a digit, when a
//     value cannot be marshalled); the child decodes them with
//     tnetstring.loads_part; a WebSocket part holding large messages is
//     written in line instead (pyInline);
//   - large bytes values (bigBytes and more) are not copied into the
//     frame: it is written in pieces (framePieces, writePieces);
//   - the child's replies to hook calls and stream chunks come back the
//     same way, as a bytes item holding marshal.dumps(msg, 2).
//
// Only marshal's plain codes are written (version 2: no references, no
// interning), which every Python 3 reads; the decoder takes what
// marshal.dumps(x, 2) writes for the values a reply holds.

// errNotMarshal says a value has no marshal form here; the caller falls back
// to a tnetstring.
var errNotMarshal = errors.New("no marshal encoding")

// encodePart encodes v for the child: marshal, or a tnetstring when v holds
// something marshal cannot carry here (an invalid UTF-8 str, a bytes key).
func encodePart(v any) ([]byte, error) {
	b, err := appendPy(make([]byte, 0, 512), v, 0)
	if err == nil {
		return b, nil
	}
	return tnetstring.Marshal(v)
}

// bigBytes is the size from which a bytes value in a message to the child
// is written to the pipe from where it lies (a body, a WebSocket message)
// instead of being copied into the frame: a copy of a large value costs
// more than the system call's extra iovec, and each copy is a large
// allocation for the garbage collector.
const bigBytes = 8 << 10

// pyPieces is marshal data in pieces, to be concatenated in order: a
// message part whose large bodies stay where they are (pyw.bytes). As a
// value it is a bytes item, as a []byte holding the joined pieces is.
type pyPieces [][]byte

func (p pyPieces) size() int {
	n := 0
	for _, b := range p {
		n += len(b)
	}
	return n
}

func (p pyPieces) join() []byte {
	out := make([]byte, 0, p.size())
	for _, b := range p {
		out = append(out, b...)
	}
	return out
}

// pyInline is marshal data in pieces (as pyPieces) that stands for its
// value in the message, not for a bytes item holding it: a part the child
// would decode anyway, whose large bodies it then copies once instead of
// twice (out of the message, then out of the part).
type pyInline pyPieces

// frameMsg encodes a message for the pipe: a tnetstring bytes item holding
// its marshal form, or the tnetstring dict itself as a fallback.
func frameMsg(msg *tnetstring.Dict) ([]byte, error) {
	p, _, err := framePieces(msg, nil)
	if err != nil {
		return nil, err
	}
	if len(p) == 1 {
		return p[0], nil
	}
	return p.join(), nil
}

// framePieces is frameMsg in pieces: the message's large bytes values
// (top-level ones, and those inside its pyPieces parts) are pieces of
// their own, referenced rather than copied, for one writev. The frame is
// built in scratch when it has room; buf is the buffer used.
func framePieces(msg *tnetstring.Dict, scratch []byte) (pyPieces, []byte, error) {
	// Room for the "<n>:" prefix, moved into place at the end.
	const room = 8
	size := 1024
	for _, e := range msg.Entries {
		// The parts of a hook call, a body: the bulk of a message.
		var ps [][]byte
		switch v := e.Value.(type) {
		case []byte:
			ps = [][]byte{v} // does not escape
		case pyPieces:
			ps = v
		case pyInline:
			ps = v
		}
		for _, b := range ps {
			if len(b) < bigBytes {
				size += len(b) + len(e.Key) + 10
			}
		}
	}
	var out pyPieces
	var b, buf []byte
	var err error
	if cap(scratch) >= size {
		b = scratch[:room]
	} else {
		b = make([]byte, room, size)
	}
	buf = b
	// add appends x, or for a large x ends the current piece and adds x
	// as one.
	add := func(x []byte) {
		if len(x) < bigBytes {
			b = append(b, x...)
			return
		}
		out = append(out, b[:len(b):len(b)], x)
		b = b[len(b):]
	}
	b = append(b, mDict)
	for i := range msg.Entries {
		e := &msg.Entries[i]
		if e.BytesKey {
			err = errNotMarshal
			break
		}
		if b, err = appendPyStr(b, e.Key); err != nil {
			break
		}
		switch v := e.Value.(type) {
		case []byte:
			b = appendU32(append(b, mBytes), len(v))
			add(v)
		case pyPieces:
			b = appendU32(append(b, mBytes), v.size())
			for _, x := range v {
				add(x)
			}
		case pyInline:
			for _, x := range v {
				add(x)
			}
		default:
			b, err = appendPy(b, v, 1)
		}
		if err != nil {
			break
		}
	}
	if err != nil {
		// The scratch buffer goes back to the caller's pool all the same.
		pv, err := plainValue(msg)
		if err != nil {
			return nil, b[:0], err
		}
		t, err := tnetstring.Marshal(pv)
		return pyPieces{t}, b[:0], err
	}
	b = append(b, mNull)
	out = append(out, b)
	n := out.size() - room
	var num [24]byte
	p := strconv.AppendInt(num[:0], int64(n), 10)
	p = append(p, ':')
	if first := out[0]; len(p) <= room {
		copy(first[room-len(p):], p)
		out[0] = first[room-len(p):]
	} else {
		// A payload of 10 MB or more: a new first piece.
		out[0] = append(p, first[room:]...)
	}
	last := len(out) - 1
	out[last] = append(out[last], ',')
	return out, buf, nil
}

// plainValue is v with its pyPieces joined and its pyInline parts decoded,
// for the tnetstring encoder. An inline part that does not decode (this
// package wrote it, so a bug) is an error, not a value silently dropped.
func plainValue(v any) (any, error) {
	switch x := v.(type) {
	case pyPieces:
		return x.join(), nil
	case pyInline:
		d, err := decodePy(pyPieces(x).join())
		if err != nil {
			return nil, fmt.Errorf("an inline part: %w", err)
		}
		return d, nil
	case *tnetstring.Dict:
		// The fallback is rare (a value marshal cannot carry): copies are
		// fine here.
		if x == nil {
			return x, nil
		}
		out := &tnetstring.Dict{Entries: make([]tnetstring.Entry, len(x.Entries))}
		for i, e := range x.Entries {
			pv, err := plainValue(e.Value)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", e.Key, err)
			}
			e.Value = pv
			out.Entries[i] = e
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			pv, err := plainValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = pv
		}
		return out, nil
	}
	return v, nil
}

const (
	mNull      = '0'
	mNone      = 'N'
	mFalse     = 'F'
	mTrue      = 'T'
	mInt       = 'i'
	mLong      = 'l'
	mFloat     = 'g'
	mBytes     = 's'
	mUnicode   = 'u'
	mList      = '['
	mDict      = '{'
	mTuple     = '('
	mSmallTup  = ')'
	mSet       = '<'
	mFrozenSet = '>'
	// Version 3 and later (not written by marshal.dumps(x, 2), accepted
	// all the same).
	mASCII        = 'a'
	mASCIIIntern  = 'A'
	mShortASCII   = 'z'
	mShortASCIIIn = 'Z'
	mInterned     = 't'
	mRef          = 'r'
	mFlagRef      = 0x80
)

func appendU32(dst []byte, n int) []byte {
	return binary.LittleEndian.AppendUint32(dst, uint32(n))
}

func appendPyInt(dst []byte, n int64) []byte {
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		return binary.LittleEndian.AppendUint32(append(dst, mInt), uint32(int32(n)))
	}
	return appendPyLong(dst, new(big.Int).SetInt64(n))
}

// appendPyLong writes an int of any size: its magnitude in 15-bit digits,
// least significant first, the count's sign the number's.
func appendPyLong(dst []byte, n *big.Int) []byte {
	mag := new(big.Int).Abs(n)
	var digits []uint16
	mask := big.NewInt(0x7fff)
	d := new(big.Int)
	for mag.Sign() > 0 {
		digits = append(digits, uint16(d.And(mag, mask).Uint64()))
		mag.Rsh(mag, 15)
	}
	cnt := len(digits)
	if n.Sign() < 0 {
		cnt = -cnt
	}
	dst = binary.LittleEndian.AppendUint32(append(dst, mLong), uint32(int32(cnt)))
	for _, x := range digits {
		dst = binary.LittleEndian.AppendUint16(dst, x)
	}
	return dst
}

func appendPyBytes(dst []byte, b []byte) []byte {
	dst = appendU32(append(dst, mBytes), len(b))
	return append(dst, b...)
}

func appendPyStr(dst []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return dst, errNotMarshal
	}
	dst = appendU32(append(dst, mUnicode), len(s))
	return append(dst, s...), nil
}

// appendPy appends v in marshal's format: the Go types the tnetstring
// package encodes, as the same Python types.
func appendPy(dst []byte, v any, depth int) ([]byte, error) {
	if depth > tnetstring.MaxDepth {
		return dst, errNotMarshal
	}
	var err error
	switch x := v.(type) {
	case nil:
		return append(dst, mNone), nil
	case bool:
		if x {
			return append(dst, mTrue), nil
		}
		return append(dst, mFalse), nil
	case int64:
		return appendPyInt(dst, x), nil
	case int:
		return appendPyInt(dst, int64(x)), nil
	case int32:
		return appendPyInt(dst, int64(x)), nil
	case uint32:
		return appendPyInt(dst, int64(x)), nil
	case uint64:
		if x > math.MaxInt64 {
			return appendPyLong(dst, new(big.Int).SetUint64(x)), nil
		}
		return appendPyInt(dst, int64(x)), nil
	case *big.Int:
		if x == nil {
			return dst, errNotMarshal
		}
		return appendPyLong(dst, x), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(dst, mFloat), math.Float64bits(x)), nil
	case float32:
		return binary.LittleEndian.AppendUint64(append(dst, mFloat), math.Float64bits(float64(x))), nil
	case []byte:
		return appendPyBytes(dst, x), nil
	case pyPieces:
		dst = appendU32(append(dst, mBytes), x.size())
		for _, b := range x {
			dst = append(dst, b...)
		}
		return dst, nil
	case pyInline:
		for _, b := range x {
			dst = append(dst, b...)
		}
		return dst, nil
	case string:
		return appendPyStr(dst, x)
	case []any:
		dst = appendU32(append(dst, mList), len(x))
		for _, e := range x {
			if dst, err = appendPy(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case []string:
		dst = appendU32(append(dst, mList), len(x))
		for _, e := range x {
			if dst, err = appendPyStr(dst, e); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case [][]byte:
		dst = appendU32(append(dst, mList), len(x))
		for _, e := range x {
			dst = appendPyBytes(dst, e)
		}
		return dst, nil
	case *tnetstring.Dict:
		if x == nil {
			return dst, errNotMarshal
		}
		return appendPyDict(dst, x, depth)
	case tnetstring.Dict:
		return appendPyDict(dst, &x, depth)
	}
	return dst, errNotMarshal
}

func appendPyDict(dst []byte, d *tnetstring.Dict, depth int) ([]byte, error) {
	dst = append(dst, mDict)
	var err error
	for i := range d.Entries {
		e := &d.Entries[i]
		if e.BytesKey {
			// tnetstring sends these as bytes, which the child turns into
			// str with surrogateescape: leave that to it.
			return dst, errNotMarshal
		}
		if dst, err = appendPyStr(dst, e.Key); err != nil {
			return dst, err
		}
		if dst, err = appendPy(dst, e.Value, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, mNull), nil
}

// decodePy decodes one marshal value (what marshal.dumps(x, 2) writes, and
// the later versions' codes) into the Go types the tnetstring decoder
// returns: nil, bool, int64 or *big.Int, float64, []byte, string, []any
// (lists, tuples, sets) and *tnetstring.Dict. []byte values share data.
func decodePy(data []byte) (any, error) {
	d := pyDecoder{data: data}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.pos != len(data) {
		return nil, fmt.Errorf("marshal data: %d bytes after the value", len(data)-d.pos)
	}
	return v, nil
}

type pyDecoder struct {
	data []byte
	pos  int
	refs []any
}

var errPyShort = errors.New("marshal data: truncated")

func (d *pyDecoder) u32() (int, error) {
	if len(d.data)-d.pos < 4 {
		return 0, errPyShort
	}
	n := binary.LittleEndian.Uint32(d.data[d.pos:])
	d.pos += 4
	return int(int32(n)), nil
}

func (d *pyDecoder) take(n int) ([]byte, error) {
	if n < 0 || len(d.data)-d.pos < n {
		return nil, errPyShort
	}
	b := d.data[d.pos : d.pos+n : d.pos+n]
	d.pos += n
	return b, nil
}

func (d *pyDecoder) value(depth int) (any, error) {
	if depth > tnetstring.MaxDepth {
		return nil, errors.New("marshal data: nested too deeply")
	}
	if d.pos >= len(d.data) {
		return nil, errPyShort
	}
	code := d.data[d.pos]
	d.pos++
	flag := code&mFlagRef != 0
	code &^= mFlagRef
	slot := -1
	if flag {
		// A value later ones may refer to: reserve its slot now, as
		// marshal does (containers refer to themselves before they end).
		slot = len(d.refs)
		d.refs = append(d.refs, nil)
	}
	v, err := d.body(code, depth)
	if err != nil {
		return nil, err
	}
	if slot >= 0 {
		d.refs[slot] = v
	}
	return v, nil
}

func (d *pyDecoder) body(code byte, depth int) (any, error) {
	switch code {
	case mNone:
		return nil, nil
	case mTrue:
		return true, nil
	case mFalse:
		return false, nil
	case mInt:
		n, err := d.u32()
		return int64(n), err
	case mLong:
		cnt, err := d.u32()
		if err != nil {
			return nil, err
		}
		neg := cnt < 0
		if neg {
			cnt = -cnt
		}
		b, err := d.take(2 * cnt)
		if err != nil {
			return nil, err
		}
		n := new(big.Int)
		for i := cnt - 1; i >= 0; i-- {
			n.Lsh(n, 15)
			n.Or(n, big.NewInt(int64(binary.LittleEndian.Uint16(b[2*i:]))))
		}
		if neg {
			n.Neg(n)
		}
		if n.IsInt64() {
			return n.Int64(), nil
		}
		return n, nil
	case mFloat:
		b, err := d.take(8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
	case mBytes:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		return d.take(n)
	case mUnicode, mInterned, mASCII, mASCIIIntern, mShortASCII, mShortASCIIIn:
		var n int
		var err error
		if code == mShortASCII || code == mShortASCIIIn {
			if d.pos >= len(d.data) {
				return nil, errPyShort
			}
			n = int(d.data[d.pos])
			d.pos++
		} else if n, err = d.u32(); err != nil {
			return nil, err
		}
		b, err := d.take(n)
		if err != nil {
			return nil, err
		}
		if v, ok := knownStr(b); ok {
			return v, nil
		}
		return pyText(b), nil
	case mList, mTuple, mSet, mFrozenSet, mSmallTup:
		var n int
		var err error
		if code == mSmallTup {
			if d.pos >= len(d.data) {
				return nil, errPyShort
			}
			n = int(d.data[d.pos])
			d.pos++
		} else if n, err = d.u32(); err != nil {
			return nil, err
		}
		if n < 0 || n > len(d.data)-d.pos {
			return nil, errPyShort
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case mDict:
		out := tnetstring.NewDict()
		for {
			if d.pos >= len(d.data) {
				return nil, errPyShort
			}
			if d.data[d.pos] == mNull {
				d.pos++
				return out, nil
			}
			k, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			e := tnetstring.Entry{Value: v}
			switch kk := k.(type) {
			case string:
				e.Key = kk
			case []byte:
				e.Key, e.BytesKey = string(kk), true
			default:
				// What the tnetstring encoder did with other keys: str(k).
				e.Key = pyStrOf(kk)
			}
			out.Entries = append(out.Entries, e)
		}
	case mRef:
		i, err := d.u32()
		if err != nil {
			return nil, err
		}
		if i < 0 || i >= len(d.refs) {
			return nil, errors.New("marshal data: bad reference")
		}
		return d.refs[i], nil
	}
	return nil, fmt.Errorf("marshal data: unsupported type code %q", code)
}

// knownStr returns the keys and values the child's replies repeat in
// every message as constants, which cost no allocation (a string made from
// b, in an interface, costs two).
func knownStr(b []byte) (any, bool) {
	switch string(b) {
	case "cmd":
		return "cmd", true
	case "ret":
		return "ret", true
	case "id":
		return "id", true
	case "changes":
		return "changes", true
	case "request":
		return "request", true
	case "response":
		return "response", true
	case "headers":
		return "headers", true
	case "content":
		return "content", true
	case "trailers":
		return "trailers", true
	case "stream":
		return "stream", true
	case "status_code":
		return "status_code", true
	case "reason":
		return "reason", true
	case "websocket":
		return "websocket", true
	case "messages":
		return "messages", true
	case "actions":
		return "actions", true
	case "server":
		return "server", true
	case "client":
		return "client", true
	case "metadata":
		return "metadata", true
	case "req":
		return "req", true
	case "rid":
		return "rid", true
	case "op":
		return "op", true
	case "call":
		return "call", true
	case "part":
		return "part", true
	case "data":
		return "data", true
	case "err":
		return "err", true
	case "log":
		return "log", true
	case "level":
		return "level", true
	case "msg":
		return "msg", true
	case "script":
		return "script", true
	case "body":
		return "body", true
	case "rq":
		return "rq", true
	case "rs":
		return "rs", true
	case "fid":
		return "fid", true
	}
	return nil, false
}

// pyText is a str as the tnetstring decoder returns it: a string, or, for
// a str with surrogate escapes (undecodable bytes, which marshal writes
// with surrogatepass), the original bytes, as the child's tnetstring
// encoder sends them.
func pyText(b []byte) any {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		// U+DC80..U+DCFF, surrogatepass-encoded: ED B2..B3 80..BF.
		if i+2 < len(b) && b[i] == 0xED && b[i+1]&0xFE == 0xB2 && b[i+2]&0xC0 == 0x80 {
			out = append(out, byte(0x80|(b[i+1]&1)<<6|b[i+2]&0x3F))
			i += 3
			continue
		}
		out = append(out, b[i])
		i++
	}
	return out
}

// pyStrOf is Python's str() of a non-str dict key.
func pyStrOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case *big.Int:
		return x.String()
	case float64:
		return string(tnetstring.AppendFloat(nil, x))
	}
	return fmt.Sprint(v)
}
