package spec

import (
	"fmt"
	"os"
	"strings"
)

// Replacement is the last part of a modify_body or modify_headers spec:
// either text with Python backslash escapes, or "@path", a file whose
// contents are the replacement. The file is read each time it is needed,
// as mitmproxy does, so it can be edited while the proxy runs.
type Replacement struct {
	// Path is the file to read ("~" expanded), or "" for literal text.
	Path string
	// Value is the unescaped text when Path is "".
	Value []byte
}

// ParseReplacement parses the replacement part of a spec, as mitmproxy's
// ModifySpec: "@path" must name a readable file now, and literal text must
// have valid escapes.
func ParseReplacement(s string) (Replacement, error) {
	if p, ok := strings.CutPrefix(s, "@"); ok {
		r := Replacement{Path: ExpandUser(p)}
		if _, err := r.Read(); err != nil {
			return Replacement{}, fmt.Errorf("Invalid file path: %s (%w)", p, err)
		}
		return r, nil
	}
	v, err := EscapeDecode(s)
	if err != nil {
		return Replacement{}, err
	}
	return Replacement{Value: []byte(v)}, nil
}

// IsFile reports whether the replacement comes from a file.
func (r Replacement) IsFile() bool { return r.Path != "" }

// Read returns the replacement bytes, reading the file if there is one.
func (r Replacement) Read() ([]byte, error) {
	if r.Path == "" {
		return r.Value, nil
	}
	return os.ReadFile(r.Path)
}
