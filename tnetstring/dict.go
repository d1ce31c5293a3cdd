// Package tnetstring implements mitmproxy's dialect of tnetstrings, the
// encoding of mitmproxy's flow files (mitmproxy/io/tnetstring.py).
//
// An item is `<length>:<payload><tag>`, where length is the ASCII decimal
// byte length of payload and tag is one byte naming the type:
//
//	,  bytes      []byte
//	;  str        string (UTF-8; mitmproxy's extension)
//	#  int        int64, or *big.Int when it does not fit
//	^  float      float64, written like Python's repr(float)
//	!  bool       bool ("true" or "false")
//	~  null       nil (always "0:~")
//	]  list       []any
//	}  dict       *Dict (alternating key and value items)
//
// mitmproxy builds its output back to front, so a dict's entries appear in
// the file in reverse insertion order. A Dict here holds its entries in
// insertion order (mitmproxy's logical order); Marshal writes them reversed
// and the decoder reverses what it reads, so decoding and re-encoding a file
// written by mitmproxy reproduces it byte for byte.
package tnetstring

// Entry is one key/value pair of a Dict.
type Entry struct {
	Key string
	// BytesKey reports that the key was (or will be) written as bytes
	// (tag ','). Flow files written by Python 2 era mitmproxy (<= 0.17) use
	// bytes keys; later ones use str keys (tag ';').
	BytesKey bool
	Value    any
}

// Dict is an ordered dictionary: Python's dict as mitmproxy uses it.
// Entries are in insertion order. The zero value is an empty dict, and all
// methods are safe on a nil *Dict (they read as empty; Set and Delete on a
// nil Dict do nothing).
type Dict struct {
	Entries []Entry
}

// NewDict returns an empty dict.
func NewDict() *Dict { return &Dict{} }

func (d *Dict) index(key string) int {
	if d == nil {
		return -1
	}
	for i := range d.Entries {
		if d.Entries[i].Key == key {
			return i
		}
	}
	return -1
}

// Get returns the value stored under key (a str or bytes key with that text).
func (d *Dict) Get(key string) (any, bool) {
	if i := d.index(key); i >= 0 {
		return d.Entries[i].Value, true
	}
	return nil, false
}

// Set stores v under key. An existing entry is replaced in place (it keeps
// its position and key kind); otherwise a new entry with a str key is
// appended.
func (d *Dict) Set(key string, v any) {
	if d == nil {
		return
	}
	if i := d.index(key); i >= 0 {
		d.Entries[i].Value = v
		return
	}
	d.Entries = append(d.Entries, Entry{Key: key, Value: v})
}

// Delete removes the entry for key, if any, keeping the order of the rest.
func (d *Dict) Delete(key string) {
	if i := d.index(key); i >= 0 {
		d.Entries = append(d.Entries[:i], d.Entries[i+1:]...)
	}
}

// Pop removes the entry for key and returns its value.
func (d *Dict) Pop(key string) (any, bool) {
	i := d.index(key)
	if i < 0 {
		return nil, false
	}
	v := d.Entries[i].Value
	d.Entries = append(d.Entries[:i], d.Entries[i+1:]...)
	return v, true
}

// Has reports whether key is present.
func (d *Dict) Has(key string) bool { return d.index(key) >= 0 }

// Len returns the number of entries.
func (d *Dict) Len() int {
	if d == nil {
		return 0
	}
	return len(d.Entries)
}

// Keys returns the keys in insertion order.
func (d *Dict) Keys() []string {
	if d == nil {
		return nil
	}
	keys := make([]string, len(d.Entries))
	for i, e := range d.Entries {
		keys[i] = e.Key
	}
	return keys
}

// Str returns the value under key as a string; it accepts string and []byte
// values and returns "" otherwise.
func (d *Dict) Str(key string) string {
	v, _ := d.Get(key)
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}

// Bytes returns the value under key as bytes; it accepts []byte and string
// values and returns nil otherwise.
func (d *Dict) Bytes(key string) []byte {
	v, _ := d.Get(key)
	switch v := v.(type) {
	case []byte:
		return v
	case string:
		return []byte(v)
	}
	return nil
}

// Int returns the value under key as an int64; it accepts int64 and float64
// (truncated) values and returns 0 otherwise.
func (d *Dict) Int(key string) int64 {
	v, _ := d.Get(key)
	n, _ := AsInt(v)
	return n
}

// Float returns the value under key as a float64; it accepts float64 and
// int64 values (mitmproxy accepts ints where floats are expected) and
// returns 0 otherwise.
func (d *Dict) Float(key string) float64 {
	v, _ := d.Get(key)
	f, _ := AsFloat(v)
	return f
}

// Bool returns the value under key if it is a bool, else false.
func (d *Dict) Bool(key string) bool {
	v, _ := d.Get(key)
	b, _ := v.(bool)
	return b
}

// Dict returns the value under key if it is a *Dict, else nil.
func (d *Dict) Dict(key string) *Dict {
	v, _ := d.Get(key)
	sub, _ := v.(*Dict)
	return sub
}

// List returns the value under key if it is a []any, else nil.
func (d *Dict) List(key string) []any {
	v, _ := d.Get(key)
	l, _ := v.([]any)
	return l
}

// IsNull reports whether key is present with a nil value.
func (d *Dict) IsNull(key string) bool {
	v, ok := d.Get(key)
	return ok && v == nil
}

// Clone returns a deep copy of d.
func (d *Dict) Clone() *Dict {
	if d == nil {
		return nil
	}
	c := &Dict{Entries: make([]Entry, len(d.Entries))}
	for i, e := range d.Entries {
		c.Entries[i] = Entry{Key: e.Key, BytesKey: e.BytesKey, Value: Clone(e.Value)}
	}
	return c
}
