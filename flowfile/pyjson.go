package flowfile

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/mitmgo/mitmgo/tnetstring"
)

// A small JSON encoder that writes what Python's json.dumps(obj, indent=N)
// writes, so exported HAR files match mitmproxy's byte for byte: ordered
// objects, ensure_ascii escaping, Python float repr, ints kept as ints.

// jobj is an ordered JSON object.
type jobj []jkv

type jkv struct {
	k string
	v any
}

func (o *jobj) add(k string, v any) { *o = append(*o, jkv{k, v}) }

// pyNum is a Python number: an int or a float.
type pyNum struct {
	f     float64
	i     int64
	isInt bool
}

func pyInt(i int64) pyNum     { return pyNum{i: i, isInt: true} }
func pyFloat(f float64) pyNum { return pyNum{f: f} }

func numOf(v any) (pyNum, bool) {
	switch v := v.(type) {
	case int64:
		return pyInt(v), true
	case float64:
		return pyFloat(v), true
	}
	if f, ok := tnetstring.AsFloat(v); ok {
		return pyFloat(f), true
	}
	return pyNum{}, false
}

func (n pyNum) float() float64 {
	if n.isInt {
		return float64(n.i)
	}
	return n.f
}

func (n pyNum) sub(m pyNum) pyNum {
	if n.isInt && m.isInt {
		return pyInt(n.i - m.i)
	}
	return pyFloat(n.float() - m.float())
}

func (n pyNum) add(m pyNum) pyNum {
	if n.isInt && m.isInt {
		return pyInt(n.i + m.i)
	}
	return pyFloat(n.float() + m.float())
}

func (n pyNum) mul(k int64) pyNum {
	if n.isInt {
		return pyInt(n.i * k)
	}
	return pyFloat(float64(k) * n.f)
}

func (n pyNum) truthy() bool {
	if n.isInt {
		return n.i != 0
	}
	return n.f != 0
}

func (n pyNum) less(m pyNum) bool { return n.float() < m.float() }

type jsonWriter struct {
	buf    []byte
	indent int
}

func (w *jsonWriter) newline(level int) {
	w.buf = append(w.buf, '\n')
	for range level * w.indent {
		w.buf = append(w.buf, ' ')
	}
}

func (w *jsonWriter) value(v any, level int) {
	switch v := v.(type) {
	case nil:
		w.buf = append(w.buf, "null"...)
	case bool:
		if v {
			w.buf = append(w.buf, "true"...)
		} else {
			w.buf = append(w.buf, "false"...)
		}
	case int:
		w.buf = strconv.AppendInt(w.buf, int64(v), 10)
	case int64:
		w.buf = strconv.AppendInt(w.buf, v, 10)
	case float64:
		w.float(v)
	case pyNum:
		if v.isInt {
			w.buf = strconv.AppendInt(w.buf, v.i, 10)
		} else {
			w.float(v.f)
		}
	case string:
		w.str(v)
	case jobj:
		if len(v) == 0 {
			w.buf = append(w.buf, "{}"...)
			return
		}
		w.buf = append(w.buf, '{')
		for i, kv := range v {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.newline(level + 1)
			w.str(kv.k)
			w.buf = append(w.buf, ": "...)
			w.value(kv.v, level+1)
		}
		w.newline(level)
		w.buf = append(w.buf, '}')
	case []any:
		if len(v) == 0 {
			w.buf = append(w.buf, "[]"...)
			return
		}
		w.buf = append(w.buf, '[')
		for i, x := range v {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.newline(level + 1)
			w.value(x, level+1)
		}
		w.newline(level)
		w.buf = append(w.buf, ']')
	default:
		w.buf = append(w.buf, "null"...)
	}
}

func (w *jsonWriter) float(f float64) {
	switch {
	case math.IsNaN(f):
		w.buf = append(w.buf, "NaN"...)
	case math.IsInf(f, 1):
		w.buf = append(w.buf, "Infinity"...)
	case math.IsInf(f, -1):
		w.buf = append(w.buf, "-Infinity"...)
	default:
		w.buf = tnetstring.AppendFloat(w.buf, f)
	}
}

const hexDigits = "0123456789abcdef"

func (w *jsonWriter) u4(r rune) {
	w.buf = append(w.buf, '\\', 'u', hexDigits[r>>12&15], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15])
}

// str writes s with ensure_ascii escaping. Bytes that are not valid UTF-8
// are surrogate escapes and come out as \udcXX.
func (w *jsonWriter) str(s string) {
	w.buf = append(w.buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"':
				w.buf = append(w.buf, '\\', '"')
			case c == '\\':
				w.buf = append(w.buf, '\\', '\\')
			case c == '\n':
				w.buf = append(w.buf, '\\', 'n')
			case c == '\r':
				w.buf = append(w.buf, '\\', 'r')
			case c == '\t':
				w.buf = append(w.buf, '\\', 't')
			case c == '\b':
				w.buf = append(w.buf, '\\', 'b')
			case c == '\f':
				w.buf = append(w.buf, '\\', 'f')
			case c < 0x20 || c == 0x7f:
				w.u4(rune(c))
			default:
				w.buf = append(w.buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			w.u4(0xdc00 | rune(c))
			i++
			continue
		}
		if r >= 0x10000 {
			r -= 0x10000
			w.u4(0xd800 | (r>>10)&0x3ff)
			w.u4(0xdc00 | r&0x3ff)
		} else {
			w.u4(r)
		}
		i += size
	}
	w.buf = append(w.buf, '"')
}
