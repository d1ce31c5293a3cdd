package command

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/emoji"
	"github.com/mitmgo/mitmgo/internal/pyrepr"
)

type kind uint8

const (
	kNone kind = iota
	kStr
	kInt
	kBool
	kBytes
	kPath
	kCmd
	kArg
	kStrs
	kCutSpec
	kData
	kFlow
	kFlows
	kMarker
	kChoice
	kUnknown
)

// Type is the type of a command's argument or result, as mitmproxy's
// mitmproxy.types. It says how the text of an argument is parsed (Execute,
// CallStrings) and which Go value the command receives:
//
//	Str, Path, Cmd, Arg, Marker, Choice, Unknown   string
//	Int                                           int
//	Bool                                          bool
//	Bytes                                         []byte
//	Strs, CutSpec                                 []string
//	Data                                          [][]any (string or []byte cells)
//	Flow                                          flow.Any
//	Flows                                         []flow.Any
//
// The zero Type means "no value" (a command that returns nothing).
type Type struct {
	k kind
	// choices names the command that lists a Choice's values.
	choices string
}

// The types of mitmproxy's commands.
var (
	Str     = Type{k: kStr}
	Int     = Type{k: kInt}
	Bool    = Type{k: kBool}
	Bytes   = Type{k: kBytes}
	Path    = Type{k: kPath}
	Cmd     = Type{k: kCmd}
	Arg     = Type{k: kArg}
	Strs    = Type{k: kStrs}
	CutSpec = Type{k: kCutSpec}
	Data    = Type{k: kData}
	Flow    = Type{k: kFlow}
	Flows   = Type{k: kFlows}
	Marker  = Type{k: kMarker}
	Unknown = Type{k: kUnknown}
	// None is the zero Type: no result.
	None = Type{}
)

// Choice is a string that must be one of the values the command named by
// optionsCommand returns (mitmproxy's types.Choice("flow.set.options")).
func Choice(optionsCommand string) Type { return Type{k: kChoice, choices: optionsCommand} }

// ChoicesCommand is the command that lists a Choice's values ("" for other
// types).
func (t Type) ChoicesCommand() string { return t.choices }

// IsNone reports whether t is the zero Type.
func (t Type) IsNone() bool { return t.k == kNone }

var displays = [...]string{
	kNone: "", kStr: "str", kInt: "int", kBool: "bool", kBytes: "bytes", kPath: "path", kCmd: "cmd", kArg: "arg",
	kStrs: "str[]", kCutSpec: "cut[]", kData: "data[][]", kFlow: "flow", kFlows: "flow[]", kMarker: "marker",
	kChoice: "choice", kUnknown: "unknown",
}

// String is mitmproxy's display name of the type: "flow[]", "str", "cut[]".
func (t Type) String() string { return displays[t.k] }

// TypeByName returns the type whose display name is name ("flow[]",
// "str"...); a Choice is "choice:<options command>". A script host uses it
// to declare the commands of scripts.
func TypeByName(name string) (Type, bool) {
	if cmd, ok := strings.CutPrefix(name, "choice:"); ok && cmd != "" {
		return Choice(cmd), true
	}
	for k, d := range displays {
		if d == name && kind(k) != kChoice && kind(k) != kNone {
			return Type{k: kind(k)}, true
		}
	}
	return Type{}, false
}

// CutPrefixes are the attribute paths a cut[] argument is completed with
// (mitmproxy's _CutSpecType.valid_prefixes).
var CutPrefixes = []string{
	"request.method", "request.scheme", "request.host", "request.http_version", "request.port", "request.path",
	"request.url", "request.text", "request.content", "request.raw_content", "request.timestamp_start",
	"request.timestamp_end", "request.header[",
	"response.status_code", "response.reason", "response.text", "response.content", "response.timestamp_start",
	"response.timestamp_end", "response.raw_content", "response.header[",
	"client_conn.peername.port", "client_conn.peername.host", "client_conn.tls_version", "client_conn.sni",
	"client_conn.tls_established",
	"server_conn.address.port", "server_conn.address.host", "server_conn.ip_address.host", "server_conn.tls_version",
	"server_conn.sni", "server_conn.tls_established",
}

// FlowSpecPrefixes are what a flow or flow[] argument is completed with.
var FlowSpecPrefixes = []string{
	"@all", "@focus", "@shown", "@hidden", "@marked", "@unmarked",
	"~q", "~s", "~a", "~hq", "~hs", "~b", "~bq", "~bs", "~t", "~d", "~m", "~u", "~c",
}

// ResolveCommand is the command that turns a flow specification into flows
// ("@all", "@focus", a filter expression); the view registers it.
const ResolveCommand = "view.flows.resolve"

// valueError is mitmproxy's ValueError from a type's parse: its text
// becomes the command's error.
type valueError string

func (e valueError) Error() string { return string(e) }

// Parse converts the text of an argument to the type's Go value.
func (t Type) Parse(r *Registry, s string) (any, error) {
	switch t.k {
	case kStr:
		return unescapeStr(s), nil
	case kBytes:
		return unescapeBytes(s), nil
	case kInt:
		return parsePyInt(s)
	case kBool:
		switch s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, valueError("Booleans are 'true' or 'false', got " + s)
	case kPath:
		return expandUser(s), nil
	case kCmd:
		if _, ok := r.Get(s); !ok {
			return nil, valueError("Unknown command: " + s)
		}
		return s, nil
	case kArg, kUnknown:
		return s, nil
	case kStrs:
		parts := strings.Split(s, ",")
		for i, p := range parts {
			parts[i] = strings.TrimSpace(p)
		}
		return parts, nil
	case kCutSpec:
		return strings.Split(s, ","), nil
	case kData:
		return nil, valueError("data cannot be passed as argument")
	case kFlow, kFlows:
		v, err := r.CallStrings(ResolveCommand, []string{s})
		if err != nil {
			return nil, valueError(err.Error())
		}
		flows, _ := v.([]flow.Any)
		if t.k == kFlows {
			return flows, nil
		}
		if len(flows) != 1 {
			return nil, valueError(fmt.Sprintf("Command requires one flow, specification matched %d.", len(flows)))
		}
		return flows[0], nil
	case kChoice:
		opts, err := r.choices(t.choices)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(opts, s) {
			return nil, valueError("Invalid choice.")
		}
		return s, nil
	case kMarker:
		switch {
		case s == "true":
			return emoji.Default, nil
		case s == "false":
			return "", nil
		case emoji.IsMarker(s):
			return s, nil
		}
		return nil, valueError("Invalid choice.")
	}
	return nil, valueError("Unsupported argument type: " + t.String())
}

// Valid reports whether v is a value of the type (mitmproxy's is_valid),
// the check on what a command returns and on native arguments.
func (t Type) Valid(r *Registry, v any) bool {
	switch t.k {
	case kStr, kPath, kArg:
		_, ok := v.(string)
		return ok
	case kCmd:
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, ok = r.Get(s)
		return ok
	case kInt:
		_, ok := v.(int)
		return ok
	case kBool:
		_, ok := v.(bool)
		return ok
	case kBytes:
		_, ok := v.([]byte)
		return ok
	case kStrs:
		_, ok := v.([]string)
		return ok
	case kCutSpec:
		parts, ok := v.([]string)
		if !ok {
			return false
		}
		for _, p := range parts {
			p = strings.TrimSpace(p)
			if !slices.ContainsFunc(CutPrefixes, func(pre string) bool { return strings.HasPrefix(p, pre) }) {
				return false
			}
		}
		return true
	case kData:
		rows, ok := v.([][]any)
		if !ok {
			return false
		}
		for _, row := range rows {
			for _, c := range row {
				switch c.(type) {
				case string, []byte:
				default:
					return false
				}
			}
		}
		return true
	case kFlow:
		f, ok := v.(flow.Any)
		return ok && f != nil
	case kFlows:
		_, ok := v.([]flow.Any)
		return ok
	case kChoice:
		s, ok := v.(string)
		if !ok {
			return false
		}
		opts, err := r.choices(t.choices)
		return err == nil && slices.Contains(opts, s)
	case kMarker:
		s, ok := v.(string)
		return ok && (s == "true" || s == "false" || emoji.IsMarker(s))
	}
	return false
}

// Complete lists completions for the text s of an argument, as mitmproxy's
// completion (the console's command line uses it).
func (t Type) Complete(r *Registry, s string) []string {
	switch t.k {
	case kBool:
		return []string{"false", "true"}
	case kCmd:
		return r.Names()
	case kCutSpec:
		spec := strings.Split(s, ",")
		out := make([]string, 0, len(CutPrefixes))
		for _, p := range CutPrefixes {
			spec[len(spec)-1] = p
			out = append(out, strings.Join(spec, ","))
		}
		return out
	case kFlow, kFlows:
		return slices.Clone(FlowSpecPrefixes)
	case kChoice:
		opts, _ := r.choices(t.choices)
		return opts
	case kMarker:
		return append([]string{"true", "false"}, emoji.Names()...)
	case kPath:
		return completePath(s)
	}
	return nil
}

func completePath(start string) []string {
	if start == "" {
		start = "./"
	}
	path := expandUser(start)
	var files []string
	prefix := start
	// What is typed is a name, not a pattern: "a[1]" is completed as
	// the directory a[1], not as a1.
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		files, _ = filepath.Glob(filepath.Join(globEscape(path), "*"))
	} else {
		files, _ = filepath.Glob(globEscape(path) + "*")
		prefix = filepath.Dir(start)
		if !strings.Contains(start, "/") {
			prefix = ""
		}
	}
	if prefix == "" {
		prefix = "./"
	}
	var out []string
	for _, f := range files {
		d := filepath.Join(prefix, filepath.Base(f))
		if prefix == "./" {
			d = "./" + filepath.Base(f)
		}
		if st, err := os.Stat(f); err == nil && st.IsDir() {
			d += "/"
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		out = []string{start}
	}
	slices.Sort(out)
	return out
}

// globEscape escapes the characters filepath.Match takes as a pattern.
func globEscape(s string) string {
	if !strings.ContainsAny(s, `*?[\`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// expandUser is Python's os.path.expanduser for "~" and "~/...".
func expandUser(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return home + p[1:]
		}
	}
	return p
}

// parsePyInt parses as Python's int(s): surrounding whitespace, a sign,
// and underscores between digits are allowed.
func parsePyInt(s string) (int, error) {
	bad := valueError("invalid literal for int() with base 10: " + pyrepr.Str(s))
	t := strings.TrimSpace(s)
	sign := ""
	if t != "" && (t[0] == '+' || t[0] == '-') {
		sign, t = t[:1], t[1:]
	}
	if t == "" || t[0] == '_' || t[len(t)-1] == '_' || strings.Contains(t, "__") {
		return 0, bad
	}
	digits := strings.ReplaceAll(t, "_", "")
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, bad
		}
	}
	n, err := strconv.Atoi(sign + digits)
	if err != nil {
		return 0, bad
	}
	return n, nil
}

// unescapeStr replaces Python's escape sequences in s (mitmproxy's str
// type: \n, \t, \\, \', \", \a \b \f \r \v, \ooo, \xhh, \uhhhh,
// \Uhhhhhhhh). A sequence that is not valid stays as written.
func unescapeStr(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '\\' || i+1 >= len(s) {
			sb.WriteByte(s[i])
			i++
			continue
		}
		r, n := escape(s[i+1:], true)
		if n == 0 {
			sb.WriteByte('\\')
			i++
			continue
		}
		sb.WriteRune(r)
		i += 1 + n
	}
	return sb.String()
}

// unescapeBytes is mitmproxy's escaped_str_to_bytes: the text's UTF-8 with
// escape sequences (\xhh, \n, ...) turned into their bytes.
func unescapeBytes(s string) []byte {
	var out []byte
	for i := 0; i < len(s); {
		if s[i] != '\\' || i+1 >= len(s) {
			out = append(out, s[i])
			i++
			continue
		}
		r, n := escape(s[i+1:], false)
		if n == 0 {
			out = append(out, '\\')
			i++
			continue
		}
		out = append(out, byte(r))
		i += 1 + n
	}
	return out
}

// escape decodes the escape sequence at the start of s (after the
// backslash) and returns the value and the bytes it used; 0 when s does not
// start a valid sequence. unicode allows \u and \U.
func escape(s string, unicode bool) (rune, int) {
	simple := map[byte]rune{'\\': '\\', '\'': '\'', '"': '"', 'a': 7, 'b': 8, 'f': 12, 'n': '\n', 'r': '\r', 't': '\t', 'v': 11}
	if r, ok := simple[s[0]]; ok {
		return r, 1
	}
	hex := func(n int) (rune, int) {
		if len(s) < 1+n {
			return 0, 0
		}
		v, err := strconv.ParseUint(s[1:1+n], 16, 32)
		if err != nil || !utf8.ValidRune(rune(v)) {
			return 0, 0
		}
		return rune(v), 1 + n
	}
	switch s[0] {
	case 'x':
		return hex(2)
	case 'u':
		if unicode {
			return hex(4)
		}
	case 'U':
		if unicode {
			return hex(8)
		}
	}
	if s[0] >= '0' && s[0] <= '7' {
		n := 1
		for n < 3 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			n++
		}
		v, _ := strconv.ParseUint(s[:n], 8, 32)
		if !unicode {
			v &= 0xff
		}
		return rune(v), n
	}
	return 0, 0
}
