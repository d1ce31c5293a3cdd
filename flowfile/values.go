package flowfile

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/mitmgo/mitmgo/tnetstring"
)

// Helpers that give Go the bits of Python's behaviour the migration code
// relies on: truthiness, str/bytes conversions, uuid4.

func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case int64:
		return v != 0
	case *big.Int:
		return v.Sign() != 0
	case float64:
		return v != 0
	case []byte:
		return len(v) > 0
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case *tnetstring.Dict:
		return v.Len() > 0
	}
	return true
}

// backslashReplace decodes b as UTF-8 the way Python's
// b.decode("utf-8", "backslashreplace") does: invalid bytes become \xNN.
func backslashReplace(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			fmt.Fprintf(&sb, `\x%02x`, b[0])
		} else {
			sb.Write(b[:n])
		}
		b = b[n:]
	}
	return sb.String()
}

// asStr converts a str-typed value that an old file may hold as bytes.
func asStr(v any) any {
	if b, ok := v.([]byte); ok {
		return backslashReplace(b)
	}
	return v
}

// asBytes converts a bytes-typed value that may be held as str.
func asBytes(v any) any {
	if s, ok := v.(string); ok {
		return []byte(s)
	}
	return v
}

// asFloat converts ints to floats, as mitmproxy's dataclass fields do.
func asFloat(v any) any {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case *big.Int:
		f, _ := tnetstring.AsFloat(n)
		return f
	}
	return v
}

// asInt converts floats to ints, as mitmproxy's dataclass fields do.
func asInt(v any) any {
	if f, ok := v.(float64); ok {
		if n, ok := tnetstring.AsInt(f); ok {
			return n
		}
	}
	return v
}

func newUUID4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// pyRepr formats a version value the way Python's str() of an int or a
// tuple would, for error messages.
func pyRepr(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case int64:
		return fmt.Sprint(v)
	case *big.Int:
		return v.String()
	case float64:
		return string(tnetstring.AppendFloat(nil, v))
	case string:
		return "'" + v + "'"
	case []byte:
		return "b'" + string(v) + "'"
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = pyRepr(x)
		}
		if len(parts) == 1 {
			return "(" + parts[0] + ",)"
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprint(v)
}

// dict returns d[key] as a dict, or nil.
func dict(d *tnetstring.Dict, key string) *tnetstring.Dict {
	return d.Dict(key)
}

// rename moves d[from] to d[to] (as Python's d[to] = d.pop(from)).
func rename(d *tnetstring.Dict, from, to string) {
	if d == nil {
		return
	}
	v, _ := d.Pop(from)
	d.Set(to, v)
}

// get returns d[key] or nil.
func get(d *tnetstring.Dict, key string) any {
	v, _ := d.Get(key)
	return v
}
