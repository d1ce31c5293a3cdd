package tnetstring

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"unicode/utf8"
)

// Marshal returns the tnetstring encoding of v. See AppendValue for the
// accepted types.
func Marshal(v any) ([]byte, error) {
	return AppendValue(nil, v)
}

// AppendValue appends the tnetstring encoding of v to dst.
//
// Accepted types: nil, bool, int, int64, int32, uint32, uint64, *big.Int,
// float64, float32, []byte (tag ','), string (tag ';', must be valid UTF-8),
// []any, []string, [][]byte, *Dict and Dict. Dict entries are written in
// reverse order, as mitmproxy does. On error, the returned slice is dst
// truncated to its original length.
func AppendValue(dst []byte, v any) ([]byte, error) {
	n := len(dst)
	out, err := appendValue(dst, v, 0)
	if err != nil {
		return dst[:n], err
	}
	return out, nil
}

// MarshalError reports a value that cannot be encoded.
type MarshalError struct {
	Msg string
}

func (e *MarshalError) Error() string { return "tnetstring: cannot encode: " + e.Msg }

func appendLeaf(dst []byte, payload []byte, tag byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(payload)), 10)
	dst = append(dst, ':')
	dst = append(dst, payload...)
	return append(dst, tag)
}

func appendStringLeaf(dst []byte, payload string, tag byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(payload)), 10)
	dst = append(dst, ':')
	dst = append(dst, payload...)
	return append(dst, tag)
}

func appendString(dst []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return dst, &MarshalError{Msg: fmt.Sprintf("string %.40q is not valid UTF-8 (use []byte for binary data)", s)}
	}
	return appendStringLeaf(dst, s, ';'), nil
}

// reserve is the room left for a container's length prefix ("NNNN:") before
// its payload is written; the payload is moved if the real prefix differs.
const reserve = 5

func beginContainer(dst []byte) ([]byte, int) {
	start := len(dst)
	return append(dst, "\x00\x00\x00\x00\x00"...), start
}

func endContainer(dst []byte, start int, tag byte) []byte {
	payload := len(dst) - start - reserve
	var num [24]byte
	prefix := strconv.AppendInt(num[:0], int64(payload), 10)
	prefix = append(prefix, ':')
	if d := len(prefix) - reserve; d > 0 {
		// Grow and move the payload right.
		for range d {
			dst = append(dst, 0)
		}
		copy(dst[start+len(prefix):], dst[start+reserve:start+reserve+payload])
	} else if d < 0 {
		copy(dst[start+len(prefix):], dst[start+reserve:])
		dst = dst[:len(dst)+d]
	}
	copy(dst[start:], prefix)
	return append(dst, tag)
}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return dst, &MarshalError{Msg: fmt.Sprintf("nesting deeper than %d levels", MaxDepth)}
	}
	switch v := v.(type) {
	case nil:
		return append(dst, "0:~"...), nil
	case bool:
		if v {
			return append(dst, "4:true!"...), nil
		}
		return append(dst, "5:false!"...), nil
	case int64:
		return appendInt(dst, v), nil
	case int:
		return appendInt(dst, int64(v)), nil
	case int32:
		return appendInt(dst, int64(v)), nil
	case uint32:
		return appendInt(dst, int64(v)), nil
	case uint64:
		var num [24]byte
		return appendLeaf(dst, strconv.AppendUint(num[:0], v, 10), '#'), nil
	case *big.Int:
		if v == nil {
			return append(dst, "0:~"...), nil
		}
		return appendLeaf(dst, v.Append(nil, 10), '#'), nil
	case float64:
		return appendFloat(dst, v), nil
	case float32:
		return appendFloat(dst, float64(v)), nil
	case []byte:
		return appendLeaf(dst, v, ','), nil
	case string:
		return appendString(dst, v)
	case []any:
		dst, start := beginContainer(dst)
		var err error
		for _, x := range v {
			if dst, err = appendValue(dst, x, depth+1); err != nil {
				return dst, err
			}
		}
		return endContainer(dst, start, ']'), nil
	case []string:
		dst, start := beginContainer(dst)
		var err error
		for _, x := range v {
			if dst, err = appendString(dst, x); err != nil {
				return dst, err
			}
		}
		return endContainer(dst, start, ']'), nil
	case [][]byte:
		dst, start := beginContainer(dst)
		for _, x := range v {
			dst = appendLeaf(dst, x, ',')
		}
		return endContainer(dst, start, ']'), nil
	case *Dict:
		if v == nil {
			return append(dst, "0:~"...), nil
		}
		return appendDict(dst, v, depth)
	case Dict:
		return appendDict(dst, &v, depth)
	}
	return dst, &MarshalError{Msg: fmt.Sprintf("unsupported type %T", v)}
}

func appendDict(dst []byte, d *Dict, depth int) ([]byte, error) {
	dst, start := beginContainer(dst)
	var err error
	for i := len(d.Entries) - 1; i >= 0; i-- {
		e := &d.Entries[i]
		if e.BytesKey {
			dst = appendStringLeaf(dst, e.Key, ',')
		} else if dst, err = appendString(dst, e.Key); err != nil {
			return dst, err
		}
		if dst, err = appendValue(dst, e.Value, depth+1); err != nil {
			return dst, err
		}
	}
	return endContainer(dst, start, '}'), nil
}

func appendInt(dst []byte, n int64) []byte {
	var num [24]byte
	return appendLeaf(dst, strconv.AppendInt(num[:0], n, 10), '#')
}

func appendFloat(dst []byte, f float64) []byte {
	var num [32]byte
	return appendLeaf(dst, AppendFloat(num[:0], f), '^')
}

// AppendFloat appends f formatted as Python's repr(float) does: the
// shortest string that round-trips, in positional notation with at least
// one digit after the point ("1690281721.845797", "0.0", "100.0") when the
// decimal exponent is in [-4, 16), else in scientific notation with a
// signed exponent of at least two digits ("1e+16", "1.5e-05"); "inf",
// "-inf" and "nan" for the special values.
func AppendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "nan"...)
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-4 && a < 1e16) {
		// Positional notation: Go's shortest 'f' formatting has the same
		// digits; Python adds ".0" to integral values.
		n := len(dst)
		dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
		for _, c := range dst[n:] {
			if c == '.' {
				return dst
			}
		}
		return append(dst, ".0"...)
	}
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	// s is [-]d[.ddd]e±XX
	if s[0] == '-' {
		dst = append(dst, '-')
		s = s[1:]
	}
	epos := 0
	for epos < len(s) && s[epos] != 'e' {
		epos++
	}
	mant := s[:epos]
	exp, _ := strconv.Atoi(string(s[epos+1:]))
	var digits [24]byte
	nd := 0
	for _, c := range mant {
		if c != '.' {
			digits[nd] = c
			nd++
		}
	}
	ds := digits[:nd]
	decpt := exp + 1
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			dst = append(dst, "0."...)
			for range -decpt {
				dst = append(dst, '0')
			}
			dst = append(dst, ds...)
		case decpt >= nd:
			dst = append(dst, ds...)
			for range decpt - nd {
				dst = append(dst, '0')
			}
			dst = append(dst, ".0"...)
		default:
			dst = append(dst, ds[:decpt]...)
			dst = append(dst, '.')
			dst = append(dst, ds[decpt:]...)
		}
		return dst
	}
	dst = append(dst, ds[0])
	if nd > 1 {
		dst = append(dst, '.')
		dst = append(dst, ds[1:]...)
	}
	dst = append(dst, 'e')
	if exp < 0 {
		dst = append(dst, '-')
		exp = -exp
	} else {
		dst = append(dst, '+')
	}
	if exp < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(exp), 10)
}
