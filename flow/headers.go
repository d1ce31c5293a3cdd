package flow

import (
	"strings"
	"unicode/utf8"
)

// Field is one header line as it appeared on the wire: the name keeps its
// original spelling and the value its original bytes.
type Field struct {
	Name  string
	Value string
}

// Headers is mitmproxy's header multidict: an ordered list of fields that keeps
// duplicates and the original case of every name, with case-insensitive
// lookup. Go strings hold arbitrary bytes, so names and values are the wire
// bytes unchanged.
//
// The zero value is an empty header list ready to use.
type Headers []Field

// NewHeaders builds Headers from alternating name and value strings.
func NewHeaders(kv ...string) Headers {
	h := make(Headers, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		h = append(h, Field{kv[i], kv[i+1]})
	}
	return h
}

// Get returns every value of name joined with ", " (mitmproxy's h[name]), and
// "" when the header is absent.
func (h Headers) Get(name string) string {
	v, _ := h.Lookup(name)
	return v
}

// Lookup is Get that also reports whether the header is present.
func (h Headers) Lookup(name string) (string, bool) {
	var joined string
	found := false
	for _, f := range h {
		if nameEqual(f.Name, name) {
			if found {
				joined += ", " + f.Value
			} else {
				joined = f.Value
				found = true
			}
		}
	}
	return joined, found
}

// Has reports whether a header named name is present.
func (h Headers) Has(name string) bool {
	for _, f := range h {
		if nameEqual(f.Name, name) {
			return true
		}
	}
	return false
}

// GetAll returns the values of name without folding them (use it for
// Set-Cookie and Cookie).
func (h Headers) GetAll(name string) []string {
	var out []string
	for _, f := range h {
		if nameEqual(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// Set replaces every value of name with value. The first occurrence keeps its
// position and spelling and later ones are removed; an absent name is
// appended.
func (h *Headers) Set(name, value string) {
	h.SetAll(name, []string{value})
}

// SetAll replaces the values of name with values, keeping the positions of
// existing fields as far as they go; extra values are appended and surplus
// fields removed. An empty values removes the header.
func (h *Headers) SetAll(name string, values []string) {
	if *h == nil && len(values) == 0 {
		return // nil (say, no trailers) stays nil
	}
	// A new slice, sized once: growing it field by field cost five
	// allocations per Set on a browser-sized header list.
	out := make(Headers, 0, len(*h)+len(values))
	i := 0
	for _, f := range *h {
		if !nameEqual(f.Name, name) {
			out = append(out, f)
			continue
		}
		if i < len(values) {
			out = append(out, Field{f.Name, values[i]})
			i++
		}
	}
	for ; i < len(values); i++ {
		out = append(out, Field{name, values[i]})
	}
	*h = out
}

// Add appends a field, keeping any existing ones.
func (h *Headers) Add(name, value string) {
	*h = append(*h, Field{name, value})
}

// Insert puts a field at index (clamped to the list bounds).
func (h *Headers) Insert(index int, name, value string) {
	if index < 0 {
		index = 0
	}
	if index > len(*h) {
		index = len(*h)
	}
	*h = append(*h, Field{})
	copy((*h)[index+1:], (*h)[index:])
	(*h)[index] = Field{name, value}
}

// Del removes every field named name.
func (h *Headers) Del(name string) {
	out := (*h)[:0]
	for _, f := range *h {
		if !nameEqual(f.Name, name) {
			out = append(out, f)
		}
	}
	// Clear the tail so removed strings can be collected.
	for i := len(out); i < len(*h); i++ {
		(*h)[i] = Field{}
	}
	*h = out
}

// Keys returns each distinct name once, in the spelling of its first
// occurrence.
func (h Headers) Keys() []string {
	var out []string
	for _, f := range h {
		dup := false
		for _, k := range out {
			if nameEqual(k, f.Name) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, f.Name)
		}
	}
	return out
}

// Len counts distinct names, as len() of mitmproxy's Headers does.
func (h Headers) Len() int { return len(h.Keys()) }

// Clone returns a copy that shares no storage with h. A nil h stays nil and
// an empty one stays empty: for trailers the difference is "none" versus
// "present but empty", which the state dict keeps (null versus []).
func (h Headers) Clone() Headers {
	if h == nil {
		return nil
	}
	return append(make(Headers, 0, len(h)), h...)
}

// Bytes renders the fields as "Name: value\r\n" lines, the form the ~h filter
// matches against.
func (h Headers) Bytes() []byte {
	n := 0
	for _, f := range h {
		n += len(f.Name) + len(f.Value) + 4
	}
	b := make([]byte, 0, n)
	for _, f := range h {
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	return b
}

// String is Bytes as a string.
func (h Headers) String() string { return string(h.Bytes()) }

// nameEqual is strings.EqualFold for header names, quicker for the usual
// ones (ASCII, most of them different from the start): every lookup of a
// header compares the name asked for with every field's, a few dozen
// comparisons per proxied request, and EqualFold's call and rune loop were
// the proxy's costliest function. Anything non-ASCII is left to EqualFold,
// which folds "K" (U+212A) to "k" and "ſ" (U+017F) to "s", as Python's
// lower() does for mitmproxy.
func nameEqual(a, b string) bool {
	if len(a) != len(b) {
		// Names of different lengths can be equal only through
		// characters of different UTF-8 lengths: not when their first
		// characters are ASCII and differ.
		if len(a) > 0 && len(b) > 0 && a[0] < utf8.RuneSelf && b[0] < utf8.RuneSelf && lowerASCII(a[0]) != lowerASCII(b[0]) {
			return false
		}
		return strings.EqualFold(a, b)
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if ca >= utf8.RuneSelf || cb >= utf8.RuneSelf {
			// From the start: i may be inside a character whose first
			// bytes were equal.
			return strings.EqualFold(a, b)
		}
		if lowerASCII(ca) != lowerASCII(cb) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
