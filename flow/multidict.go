package flow

import (
	"net/url"
	"strings"
)

// Pair is one key and value of a MultiDict.
type Pair struct {
	Key   string
	Value string
}

// MultiDict is an ordered, case-sensitive list of key/value pairs: the shape of
// query strings, cookies and forms in mitmproxy.
type MultiDict []Pair

// Get returns the first value of key.
func (d MultiDict) Get(key string) (string, bool) {
	for _, p := range d {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// GetAll returns every value of key.
func (d MultiDict) GetAll(key string) []string {
	var out []string
	for _, p := range d {
		if p.Key == key {
			out = append(out, p.Value)
		}
	}
	return out
}

// Set replaces all values of key with value, keeping the first position.
func (d *MultiDict) Set(key, value string) {
	out := (*d)[:0:0]
	done := false
	for _, p := range *d {
		if p.Key != key {
			out = append(out, p)
		} else if !done {
			out = append(out, Pair{key, value})
			done = true
		}
	}
	if !done {
		out = append(out, Pair{key, value})
	}
	*d = out
}

// Del removes every value of key.
func (d *MultiDict) Del(key string) {
	out := (*d)[:0:0]
	for _, p := range *d {
		if p.Key != key {
			out = append(out, p)
		}
	}
	*d = out
}

// URLEncode renders the pairs as application/x-www-form-urlencoded.
func (d MultiDict) URLEncode() string {
	var sb strings.Builder
	for i, p := range d {
		if i > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(url.QueryEscape(p.Key))
		sb.WriteByte('=')
		sb.WriteString(url.QueryEscape(p.Value))
	}
	return sb.String()
}

func parseURLEncoded(s string) MultiDict {
	var out MultiDict
	for _, part := range strings.Split(s, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		out = append(out, Pair{k, v})
	}
	return out
}
