// Package emoji holds the flow markers mitmproxy accepts (its
// mitmproxy.utils.emoji table): GitHub's emoji names such as ":+1:", the
// default marker ":default:", and the single letters and digits. The names
// and characters (markers.txt, one "name<TAB>character" a line) are the
// data of that table, which mitmproxy generates from GitHub's emoji list.
package emoji

import (
	_ "embed"
	"sort"
	"strings"
	"sync"
)

//go:embed markers.txt
var markersTxt string

var table = sync.OnceValues(func() (map[string]string, []string) {
	m := map[string]string{}
	var names []string
	for line := range strings.Lines(markersTxt) {
		name, char, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		if !ok {
			continue
		}
		m[name] = char
		names = append(names, name)
	}
	sort.Strings(names)
	return m, names
})

// Default is the marker flow.mark.toggle and "true" set.
const Default = ":default:"

// Lookup returns the character shown for a marker name.
func Lookup(name string) (string, bool) {
	m, _ := table()
	c, ok := m[name]
	return c, ok
}

// IsMarker reports whether name is a marker mitmproxy accepts.
func IsMarker(name string) bool {
	_, ok := Lookup(name)
	return ok
}

// Names lists the marker names, sorted.
func Names() []string {
	_, n := table()
	return append([]string(nil), n...)
}
