package filter

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/mitmgo/mitmgo/internal/pyrepr"
)

// ~meta matches "key: value" lines rendered with Python's str() of each
// value, so these helpers reproduce str() and repr() for the values flow
// metadata can hold (what the flow state dict carries, plus plain Go maps
// and slices that Go addons may store).

// orderedDict is the read side of tnetstring.Dict (and any similar ordered
// map): it keeps insertion order, as a Python dict does.
type orderedDict interface {
	Keys() []string
	Get(key string) (any, bool)
}

// writePyValueStr writes str(v).
func writePyValueStr(sb *strings.Builder, v any) {
	switch x := v.(type) {
	case string:
		sb.WriteString(x)
	default:
		writePyRepr(sb, v, 0)
	}
}

// maxReprDepth stops runaway recursion on self-referencing containers.
const maxReprDepth = 64

// writePyRepr writes repr(v).
func writePyRepr(sb *strings.Builder, v any, depth int) {
	if depth > maxReprDepth {
		sb.WriteString("...")
		return
	}
	switch x := v.(type) {
	case nil:
		sb.WriteString("None")
	case bool:
		if x {
			sb.WriteString("True")
		} else {
			sb.WriteString("False")
		}
	case int:
		sb.WriteString(strconv.Itoa(x))
	case int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		fmt.Fprintf(sb, "%d", x)
	case *big.Int:
		if x == nil {
			sb.WriteString("None")
		} else {
			sb.WriteString(x.String())
		}
	case float64:
		sb.WriteString(pyFloat(x))
	case float32:
		sb.WriteString(pyFloat(float64(x)))
	case string:
		pyrepr.WriteStr(sb, x)
	case []byte:
		pyrepr.WriteBytes(sb, x)
	case []any:
		sb.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				sb.WriteString(", ")
			}
			writePyRepr(sb, e, depth+1)
		}
		sb.WriteByte(']')
	case []string:
		sb.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				sb.WriteString(", ")
			}
			pyrepr.WriteStr(sb, e)
		}
		sb.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		sb.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				sb.WriteString(", ")
			}
			pyrepr.WriteStr(sb, k)
			sb.WriteString(": ")
			writePyRepr(sb, x[k], depth+1)
		}
		sb.WriteByte('}')
	case orderedDict:
		if isNilPointer(x) {
			sb.WriteString("None")
			return
		}
		sb.WriteByte('{')
		for i, k := range x.Keys() {
			if i > 0 {
				sb.WriteString(", ")
			}
			pyrepr.WriteStr(sb, k)
			sb.WriteString(": ")
			val, _ := x.Get(k)
			writePyRepr(sb, val, depth+1)
		}
		sb.WriteByte('}')
	case fmt.Stringer:
		if isNilPointer(x) {
			sb.WriteString("None")
			return
		}
		sb.WriteString(x.String())
	default:
		fmt.Fprint(sb, v)
	}
}

// isNilPointer reports a typed nil inside an interface, for the interface
// cases above (a nil *Dict still satisfies orderedDict).
func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// pyFloat formats f as Python's repr(float): the shortest digits that round
// trip, in positional form for exponents -4..15 and scientific otherwise.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // [-]d[.ddd]e±XX
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	mant, expText, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expText)
	digits := strings.Replace(mant, ".", "", 1)
	if exp >= -4 && exp < 16 {
		var out string
		switch {
		case exp < 0:
			out = "0." + strings.Repeat("0", -exp-1) + digits
		case exp+1 >= len(digits):
			out = digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
		default:
			out = digits[:exp+1] + "." + digits[exp+1:]
		}
		return sign + out
	}
	m := digits[:1]
	if len(digits) > 1 {
		m += "." + digits[1:]
	}
	es := "+"
	if exp < 0 {
		es, exp = "-", -exp
	}
	e := strconv.Itoa(exp)
	if len(e) < 2 {
		e = "0" + e
	}
	return sign + m + "e" + es + e
}
