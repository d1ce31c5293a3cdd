package tnetstring

import (
	"bytes"
	"math"
	"math/big"
)

// AsInt converts a decoded numeric value to int64. It accepts int64,
// *big.Int (when it fits), float64 (truncated toward zero, when finite and
// in range) and the Go integer types; ok is false for anything else.
func AsInt(v any) (n int64, ok bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case int:
		return int64(v), true
	case int32:
		return int64(v), true
	case uint32:
		return int64(v), true
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), true
		}
	case float64:
		if !math.IsNaN(v) && v >= -9.223372036854775e18 && v <= 9.223372036854775e18 {
			return int64(v), true
		}
	case *big.Int:
		if v != nil && v.IsInt64() {
			return v.Int64(), true
		}
	}
	return 0, false
}

// AsFloat converts a decoded numeric value to float64. It accepts float64,
// int64, *big.Int and the Go integer types; ok is false for anything else.
func AsFloat(v any) (f float64, ok bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	case int:
		return float64(v), true
	case float32:
		return float64(v), true
	case int32:
		return float64(v), true
	case *big.Int:
		if v != nil {
			f, _ := new(big.Float).SetInt(v).Float64()
			return f, true
		}
	}
	return 0, false
}

// Clone returns a deep copy of a value made of the types this package
// decodes (nil, bool, int64, *big.Int, float64, []byte, string, []any,
// *Dict). Other values are returned as they are.
func Clone(v any) any {
	switch v := v.(type) {
	case []byte:
		if v == nil {
			return []byte(nil)
		}
		return append([]byte{}, v...)
	case []any:
		if v == nil {
			return []any(nil)
		}
		c := make([]any, len(v))
		for i, x := range v {
			c[i] = Clone(x)
		}
		return c
	case *Dict:
		return v.Clone()
	case *big.Int:
		if v == nil {
			return v
		}
		return new(big.Int).Set(v)
	}
	return v
}

// Equal reports whether a and b are the same tnetstring value: same types,
// same contents, dict entries in the same order with the same key kinds.
// NaN equals NaN, so that a decoded value equals its re-decoded encoding.
func Equal(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case bool:
		bb, ok := b.(bool)
		return ok && a == bb
	case int64:
		bb, ok := b.(int64)
		return ok && a == bb
	case *big.Int:
		bb, ok := b.(*big.Int)
		return ok && a.Cmp(bb) == 0
	case float64:
		bb, ok := b.(float64)
		if !ok {
			return false
		}
		if math.IsNaN(a) {
			return math.IsNaN(bb)
		}
		return a == bb && math.Signbit(a) == math.Signbit(bb)
	case []byte:
		bb, ok := b.([]byte)
		return ok && bytes.Equal(a, bb)
	case string:
		bb, ok := b.(string)
		return ok && a == bb
	case []any:
		bb, ok := b.([]any)
		if !ok || len(a) != len(bb) {
			return false
		}
		for i := range a {
			if !Equal(a[i], bb[i]) {
				return false
			}
		}
		return true
	case *Dict:
		bb, ok := b.(*Dict)
		if !ok || a.Len() != bb.Len() {
			return false
		}
		if a == nil || bb == nil {
			return a.Len() == 0 && bb.Len() == 0
		}
		for i := range a.Entries {
			ea, eb := a.Entries[i], bb.Entries[i]
			if ea.Key != eb.Key || ea.BytesKey != eb.BytesKey || !Equal(ea.Value, eb.Value) {
				return false
			}
		}
		return true
	}
	return false
}
