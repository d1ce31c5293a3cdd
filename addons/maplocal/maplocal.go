// Package maplocal is mitmproxy's map_local addon (--map-local): rules of
// the form "[/flow-filter]/url-regex/file-or-directory-path" answer matching
// requests from local files instead of the server.
//
// A rule whose path is a file serves that file for every matching URL. A
// rule whose path is a directory serves the part of the URL after the match
// (or the regex's first group) from inside the directory, trying
// "<suffix>", "<suffix>/index.html" and the same with unusual characters
// replaced by "_", as mitmproxy does; a URL that matches but names no
// existing file gets an empty 404. The first rule that finds a file wins.
//
// Files are served only from inside the mapped directory: a suffix with a
// ".." component or an absolute path yields no candidates (the request then
// goes upstream, as in mitmproxy), and files are opened through os.Root, so
// a symbolic link inside the directory cannot lead out of it either.
package maplocal

import (
	"fmt"
	"io"
	"mime"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/pyre"
	"github.com/mitmgo/mitmgo/internal/spec"
)

// OptionName is the option that holds the rules.
const OptionName = "map_local"

var (
	_ addon.LoadHook      = (*MapLocal)(nil)
	_ addon.ConfigureHook = (*MapLocal)(nil)
	_ addon.RequestHook   = (*MapLocal)(nil)
)

// MapLocal answers requests from local files. It is safe for concurrent
// use; Configure swaps the whole rule set at once.
type MapLocal struct {
	// ServerHeader is the Server header of the responses it makes
	// (mitmproxy sends its own name and version).
	ServerHeader string

	ctx   *addon.Context
	rules spec.Rules[rule] // OptionName, declared in Load
}

type rule struct {
	spec spec.Spec
	re   *regexp.Regexp
	// local is the mapped file or directory: absolute, symlinks resolved.
	local string
}

// New returns the addon with no rules.
func New() *MapLocal { return &MapLocal{ServerHeader: "mitmgo"} }

// Load declares map_local.
func (m *MapLocal) Load(l *addon.Loader) {
	m.ctx = l.Context()
	m.rules.Declare(l, OptionName,
		`Map remote resources to a local file using a pattern of the form "[/flow-filter]/url-regex/file-or-directory-path", where the separator can be any character.`,
		parseRule)
}

// Configure parses every rule; one bad rule (bad filter or regex, a path
// that does not exist) rejects the whole new value and leaves the active
// rules untouched.
func (m *MapLocal) Configure(updated map[string]bool) error { return m.rules.Configure(updated) }

func parseRule(option string) (rule, error) {
	s, err := spec.Parse(option)
	if err != nil {
		return rule{}, err
	}
	re, err := pyre.Compile(s.Subject, false)
	if err != nil {
		return rule{}, fmt.Errorf("Invalid regular expression %q (%w)", s.Subject, err)
	}
	local, err := filepath.Abs(spec.ExpandUser(s.Replacement))
	if err == nil {
		local, err = filepath.EvalSymlinks(local)
	}
	if err == nil {
		_, err = os.Stat(local)
	}
	if err != nil {
		return rule{}, fmt.Errorf("Invalid file path: %s (%w)", s.Replacement, err)
	}
	return rule{spec: s, re: re, local: local}, nil
}

// candidate is a file that may answer a request: rel inside the directory
// root, or root itself when rel is "".
type candidate struct {
	root, rel string
}

func (c candidate) String() string {
	if c.rel == "" {
		return c.root
	}
	return filepath.Join(c.root, c.rel)
}

// Request answers live, unanswered requests that a rule maps to a file.
func (m *MapLocal) Request(f *flow.HTTPFlow) {
	rules := m.rules.Active()
	if len(rules) == 0 || f.Response != nil || f.Error != nil || !f.IsLive() || f.Request == nil {
		return
	}
	url := f.Request.PrettyURL()
	var all []candidate
	for i := range rules {
		r := &rules[i]
		if !r.spec.Matches(f) {
			continue
		}
		match := r.re.FindStringSubmatchIndex(url)
		if match == nil {
			continue
		}
		var candidates []candidate
		if isRegularFile(r.local) {
			candidates = []candidate{{root: r.local}}
		} else {
			for _, rel := range fileCandidates(url, r.re, match) {
				candidates = append(candidates, candidate{root: r.local, rel: rel})
			}
		}
		all = append(all, candidates...)
		for _, c := range candidates {
			contents, found, err := read(c)
			if !found {
				continue
			}
			if err != nil {
				m.ctx.Logger().Warn(fmt.Sprintf("Could not read file: %v", err))
				break
			}
			h := flow.Headers{}
			if m.ServerHeader != "" {
				h.Add("Server", m.ServerHeader)
			}
			if t := guessType(c.String()); t != "" {
				h.Add("Content-Type", t)
			}
			f.Response = flow.NewResponse(200, contents, h)
			return
		}
	}
	if len(all) > 0 {
		f.Response = flow.NewResponse(404, nil, nil)
		names := make([]string, len(all))
		for i, c := range all {
			names[i] = c.String()
		}
		m.ctx.Logger().Info("None of the local file candidates exist: " + strings.Join(names, ", "))
	}
}

// fileCandidates lists, in order of preference, the paths inside the
// mapped directory that may answer url, as mitmproxy's file_candidates: the
// regex's first group if it has groups, else the rest of the URL after the
// match without query string and surrounding slashes; percent-decoded; then
// with index.html; then both with characters outside [0-9a-zA-Z-_.=(),/]
// replaced by "_". A suffix that would leave the directory gives none.
func fileCandidates(url string, re *regexp.Regexp, match []int) []string {
	var suffix string
	if re.NumSubexp() > 0 {
		if match[2] >= 0 {
			suffix = url[match[2]:match[3]]
		}
	} else {
		suffix = url[match[1]:]
		suffix, _, _ = strings.Cut(suffix, "?")
		suffix = strings.Trim(suffix, "/")
	}
	if suffix == "" {
		return []string{"index.html"}
	}
	decoded := unquote(suffix)
	names := []string{decoded, decoded + "/index.html"}
	if escaped := escapeName(decoded); escaped != decoded {
		names = append(names, escaped, escaped+"/index.html")
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		rel, ok := safeRel(n)
		if !ok {
			return nil
		}
		out = append(out, rel)
	}
	return out
}

// safeRel turns an untrusted slash-separated path into one that stays inside
// its directory, following werkzeug's safe_join over pathlib's parts (which
// mitmproxy uses): empty and "." components vanish, and an absolute path or
// any ".." component makes the whole path unusable.
func safeRel(untrusted string) (string, bool) {
	if strings.HasPrefix(untrusted, "/") {
		return "", false
	}
	var parts []string
	for _, p := range strings.Split(untrusted, "/") {
		switch p {
		case "", ".":
			continue
		case "..":
			return "", false
		}
		parts = append(parts, p)
	}
	rel := strings.Join(parts, "/")
	if rel == "" {
		rel = "."
	}
	// Belt and braces: the result must be a local path for os.Root too.
	if !filepath.IsLocal(rel) && rel != "." {
		return "", false
	}
	return rel, true
}

// escapeName replaces every character outside [0-9a-zA-Z-_.=(),/] with "_".
func escapeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z',
			strings.ContainsRune("-_.=(),/", r):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// unquote is Python's urllib.parse.unquote: %XX escapes become bytes, read
// as UTF-8 with each invalid byte replaced by U+FFFD; other text, and
// malformed escapes, stay as they are.
func unquote(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var raw []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			raw = append(raw, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		raw = append(raw, s[i])
	}
	var b strings.Builder
	for len(raw) > 0 {
		r, size := utf8.DecodeRune(raw)
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.Write(raw[:size])
		}
		raw = raw[size:]
	}
	return b.String()
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

func isRegularFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// read returns the candidate's contents. found is false when the candidate
// is not a regular file (missing, a directory, outside the root); err is
// set when it is one but could not be read.
func read(c candidate) (contents []byte, found bool, err error) {
	if c.rel == "" {
		if !isRegularFile(c.root) {
			return nil, false, nil
		}
		contents, err = os.ReadFile(c.root)
		return contents, true, err
	}
	root, err := os.OpenRoot(c.root)
	if err != nil {
		return nil, false, nil
	}
	defer root.Close()
	// Stat before opening: opening a FIFO would block.
	rel := filepath.FromSlash(c.rel)
	if fi, err := root.Stat(rel); err != nil || !fi.Mode().IsRegular() {
		return nil, false, nil
	}
	file, err := root.Open(rel)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", c, err)
	}
	defer file.Close()
	if fi, err := file.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, false, nil
	}
	contents, err = io.ReadAll(file)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", c, err)
	}
	return contents, true, nil
}

// Python's mimetypes strips these before looking up the type: a .gz file is
// "the type of what is inside, gzip-encoded".
var (
	suffixMap    = map[string]string{".svgz": ".svg.gz", ".tgz": ".tar.gz", ".taz": ".tar.gz", ".tz": ".tar.gz", ".tbz2": ".tar.bz2", ".txz": ".tar.xz"}
	encodingsMap = map[string]bool{".gz": true, ".Z": true, ".bz2": true, ".xz": true, ".br": true}
)

// guessType is mimetypes.guess_type(path)[0]: the media type for the file
// name's extension, without parameters, or "".
func guessType(p string) string {
	base, ext := splitExt(p)
	for {
		s, ok := suffixMap[ext]
		if !ok {
			break
		}
		base, ext = splitExt(base + s)
	}
	if encodingsMap[ext] {
		base, ext = splitExt(base)
	}
	if ext == "" {
		return ""
	}
	t := mime.TypeByExtension(ext)
	if t == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(t)
	if err != nil {
		return ""
	}
	return mt
}

// splitExt is posixpath.splitext: leading dots of the file name do not
// start an extension.
func splitExt(p string) (string, string) {
	name := path.Base(p)
	if strings.HasSuffix(p, "/") {
		return p, ""
	}
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || strings.Trim(name[:i], ".") == "" {
		return p, ""
	}
	cut := len(p) - (len(name) - i)
	return p[:cut], p[cut:]
}

// KeepsFlows is false: it answers requests from files and keeps nothing (see addon.FlowKeeper).
func (m *MapLocal) KeepsFlows() bool { return false }
