// Package cut is mitmproxy's cut addon: the cut and cut.save commands take
// values out of flows by attribute path ("request.host",
// "response.header[content-type]", "client_conn.peername.port") and
// return them as a table, or save them to a file (the value itself for one
// flow and one cut, CSV otherwise).
//
// The paths are mitmproxy's attribute names. A value is returned as text,
// except bodies (content, raw_content), which stay bytes; booleans are
// "true" or "false", a missing value is "". A path that names nothing is
// "", as in mitmproxy.
package cut

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/pyrepr"
)

// Cut is the addon.
type Cut struct {
	ctx *addon.Context
}

var _ addon.LoadHook = (*Cut)(nil)

// New returns the addon.
func New() *Cut { return &Cut{} }

// Name is mitmproxy's addon name.
func (c *Cut) Name() string { return "cut" }

// Load registers cut and cut.save.
func (c *Cut) Load(l *addon.Loader) {
	c.ctx = l.Context()
	params := []command.Param{{Name: "flows", Type: command.Flows}, {Name: "cuts", Type: command.CutSpec}}
	l.AddCommand(command.Command{Name: "cut", Params: params, Returns: command.Data,
		Help: "Cut data from a set of flows. Cut specifications are attribute paths\nfrom the base of the flow object, with a few conveniences - \"port\"\nand \"host\" retrieve parts of an address tuple, \".header[key]\"\nretrieves a header value. Return values converted to strings or\nbytes: SSL certificates are converted to PEM format, bools are \"true\"\nor \"false\", \"bytes\" are preserved, and all other values are\nconverted to strings.",
		Run:  func(a command.Args) (any, error) { return Table(a.Flows(0), a.Strs(1)) }})
	l.AddCommand(command.Command{Name: "cut.save", Params: append(params, command.Param{Name: "path", Type: command.Path}),
		Help: "Save cuts to file. If there are multiple flows or cuts, the format\nis UTF-8 encoded CSV. If there is exactly one row and one column,\nthe data is written to file as-is, with raw bytes preserved. If the\npath is prefixed with a \"+\", values are appended if there is an\nexisting file.",
		Run:  func(a command.Args) (any, error) { return nil, c.Save(a.Flows(0), a.Strs(1), a.Str(2)) }})
}

// Table cuts every flow: one row per flow, one cell (string or []byte)
// per cut.
func Table(flows []flow.Any, cuts []string) ([][]any, error) {
	rows := make([][]any, 0, len(flows))
	for _, f := range flows {
		row := make([]any, 0, len(cuts))
		for _, spec := range cuts {
			v, err := Extract(spec, f)
			if err != nil {
				return nil, err
			}
			row = append(row, v)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// Save writes cuts to path: one flow and one cut as the value itself,
// anything else as CSV. A leading "+" appends.
func (c *Cut) Save(flows []flow.Any, cuts []string, path string) error {
	appendMode := false
	if p, ok := strings.CutPrefix(path, "+"); ok {
		path, appendMode = expandUser(p), true
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendMode {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	var out []byte
	single := len(cuts) == 1 && len(flows) == 1
	if single {
		v, err := Extract(cuts[0], flows[0])
		if err != nil {
			return err
		}
		if appendMode {
			if st, err := os.Stat(path); err == nil && st.Size() > 0 {
				out = append(out, '\n')
			}
		}
		out = append(out, asBytes(v)...)
	} else {
		var sb strings.Builder
		for _, f := range flows {
			cells := make([]string, len(cuts))
			for i, spec := range cuts {
				v, err := Extract(spec, f)
				if err != nil {
					return err
				}
				cells[i] = asStr(v)
			}
			writeCSVRow(&sb, cells)
		}
		out = []byte(sb.String())
	}
	file, err := os.OpenFile(path, flags, 0o644)
	if err == nil {
		_, err = file.Write(out)
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		// mitmproxy logs a failed write rather than failing the command.
		c.ctx.Log.Error(err.Error())
		return nil
	}
	if single {
		c.ctx.Log.Log(nil, addon.LevelAlert, "Saved single cut.")
	} else {
		c.ctx.Log.Log(nil, addon.LevelAlert, fmt.Sprintf("Saved %d cuts over %d flows as CSV.", len(cuts), len(flows)))
	}
	return nil
}

func asBytes(v any) []byte {
	if b, ok := v.([]byte); ok {
		return b
	}
	return []byte(v.(string))
}

// asStr is mitmproxy's extract_str: bytes as their Python repr.
func asStr(v any) string {
	if b, ok := v.([]byte); ok {
		return pyrepr.Bytes(b)
	}
	return v.(string)
}

// writeCSVRow writes a row as Python's csv module does by default: fields
// quoted when they hold a comma, a quote or a line break, rows ending in
// \r\n.
func writeCSVRow(sb *strings.Builder, cells []string) {
	for i, c := range cells {
		if i > 0 {
			sb.WriteByte(',')
		}
		if strings.ContainsAny(c, ",\"\r\n") || len(cells) == 1 && c == "" {
			sb.WriteString(`"` + strings.ReplaceAll(c, `"`, `""`) + `"`)
		} else {
			sb.WriteString(c)
		}
	}
	sb.WriteString("\r\n")
}

func expandUser(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return home + p[1:]
		}
	}
	return p
}

// Extract returns one cut of a flow: a string, or []byte for bodies.
func Extract(spec string, f flow.Any) (any, error) {
	parts := strings.Split(spec, ".")
	for _, p := range parts {
		if strings.HasPrefix(p, "_") {
			return nil, command.Errorf("Can't access internal attribute %s", p)
		}
	}
	last := parts[len(parts)-1]
	if strings.HasPrefix(last, "header[") {
		if !strings.HasSuffix(last, "]") {
			return nil, command.Errorf("Invalid header spec: %s", last)
		}
		name := strings.TrimSpace(last[len("header[") : len(last)-1])
		if m := message(f, parts[:len(parts)-1]); m != nil {
			return m.Headers.Get(name), nil
		}
		return "", nil
	}
	return value(f, parts), nil
}

// message is the request or response the path leads to.
func message(f flow.Any, path []string) *flow.Message {
	hf, ok := f.(*flow.HTTPFlow)
	if !ok || len(path) != 1 {
		return nil
	}
	switch path[0] {
	case "request":
		if hf.Request != nil {
			return &hf.Request.Message
		}
	case "response":
		if hf.Response != nil {
			return &hf.Response.Message
		}
	}
	return nil
}

// value follows an attribute path; what it does not know is "".
func value(f flow.Any, path []string) any {
	b := f.Base()
	switch path[0] {
	case "id":
		return b.ID
	case "type":
		return f.Type()
	case "marked":
		return b.Marked()
	case "comment":
		return b.Comment()
	case "is_replay":
		return b.IsReplay
	case "intercepted":
		return pyBool(b.IsIntercepted())
	case "live":
		return pyBool(b.IsLive())
	case "killable":
		return pyBool(b.Killable())
	case "modified":
		return pyBool(f.Modified())
	case "timestamp_created":
		return pyFloat(b.TimestampCreated)
	case "error":
		if b.Error == nil {
			return ""
		}
		if len(path) == 1 || path[1] == "msg" {
			return b.Error.Msg
		}
		if path[1] == "timestamp" {
			return pyFloat(b.Error.Timestamp)
		}
		return ""
	case "client_conn":
		if b.ClientConn == nil {
			return ""
		}
		c := b.ClientConn
		return connValue(path[1:], c.ID, &c.TLSInfo, c.TimestampStart, c.TimestampEnd(),
			map[string]flow.Address{"peername": c.Peername, "sockname": c.Sockname})
	case "server_conn":
		if b.ServerConn == nil {
			return ""
		}
		s := b.ServerConn
		return connValue(path[1:], s.ID, &s.TLSInfo, s.TimestampStart, s.TimestampEnd(),
			map[string]flow.Address{"address": s.Address, "peername": s.Peername, "ip_address": s.Peername, "sockname": s.Sockname})
	case "request", "response":
		hf, ok := f.(*flow.HTTPFlow)
		if !ok {
			return ""
		}
		if path[0] == "request" && hf.Request != nil {
			return requestValue(hf.Request, path[1:])
		}
		if path[0] == "response" && hf.Response != nil {
			return responseValue(hf.Response, path[1:])
		}
	}
	return ""
}

func messageValue(m *flow.Message, attr string) (any, bool) {
	switch attr {
	case "http_version":
		return m.HTTPVersion, true
	case "raw_content":
		if m.RawContent == nil {
			return "", true
		}
		return m.RawContent, true
	case "content":
		c, err := m.Content()
		if err != nil || c == nil {
			return "", true
		}
		return c, true
	case "text":
		t, err := m.Text()
		if err != nil {
			return "", true
		}
		return t, true
	case "timestamp_start":
		return pyFloat(m.TimestampStart), true
	case "timestamp_end":
		return pyFloat(m.TimestampEnd), true
	}
	return nil, false
}

func requestValue(r *flow.Request, path []string) any {
	if len(path) != 1 {
		return ""
	}
	if v, ok := messageValue(&r.Message, path[0]); ok {
		return v
	}
	switch path[0] {
	case "method":
		return r.Method
	case "scheme":
		return r.Scheme
	case "host":
		return r.Host
	case "port":
		return pyInt(r.Port)
	case "path":
		return r.Path
	case "url":
		return r.URL()
	case "pretty_url":
		return r.PrettyURL()
	case "pretty_host":
		return r.PrettyHost()
	case "authority":
		return r.Authority
	case "host_header":
		return r.HostHeader()
	}
	return ""
}

func responseValue(r *flow.Response, path []string) any {
	if len(path) != 1 {
		return ""
	}
	if v, ok := messageValue(&r.Message, path[0]); ok {
		return v
	}
	switch path[0] {
	case "status_code":
		return pyInt(r.StatusCode)
	case "reason":
		return r.Reason
	}
	return ""
}

func connValue(path []string, id string, t *flow.TLSInfo, start, end float64, addrs map[string]flow.Address) any {
	if len(path) == 0 {
		return ""
	}
	if a, ok := addrs[path[0]]; ok {
		switch {
		case len(path) == 1:
			if a.IsZero() {
				return ""
			}
			return "(" + pyrepr.Str(a.Host) + ", " + strconv.Itoa(a.Port) + ")"
		case path[1] == "host":
			return a.Host
		case path[1] == "port":
			return strconv.Itoa(a.Port)
		}
		return ""
	}
	if len(path) != 1 {
		return ""
	}
	switch path[0] {
	case "id":
		return id
	case "tls_version":
		return t.TLSVersion
	case "sni":
		return t.SNI
	case "alpn":
		if t.ALPN == "" {
			return ""
		}
		return []byte(t.ALPN)
	case "cipher":
		return t.Cipher
	case "tls", "tls_established":
		if path[0] == "tls" {
			return pyBool(t.TLS)
		}
		return pyBool(t.TLSEstablished())
	case "timestamp_start":
		return pyFloat(start)
	case "timestamp_end":
		if end == 0 {
			return ""
		}
		return pyFloat(end)
	}
	return ""
}

func pyBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// pyFloat formats a float as mitmproxy's cut does, str(value or ""):
// Python's shortest repr, with an exponent only below 1e-4 or from 1e16 on,
// and "" for zero.
func pyFloat(v float64) string {
	if v == 0 {
		return ""
	}
	exp := strconv.FormatFloat(v, 'e', -1, 64)
	if e, _ := strconv.Atoi(exp[strings.IndexByte(exp, 'e')+1:]); e < -4 || e >= 16 {
		return exp
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// pyInt is str(value or ""): "" for zero.
func pyInt(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}
