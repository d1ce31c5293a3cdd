// Package export turns HTTP flows into text that reproduces them, as
// mitmproxy's export addon: a curl or HTTPie command line, or the raw
// HTTP/1 request and response. The output matches mitmproxy's byte for
// byte (shell quoting, which headers are dropped, --compressed, ...).
//
// Bodies are exported decoded: the Content-Encoding is removed (a body that
// does not decode is exported as it is) and Content-Length follows. The
// commands drop Content-Length, and Host when it only repeats the target
// host; curl turns Accept-Encoding into --compressed.
//
// The functions return what mitmproxy's formatters return: commands as
// text, raw exports as bytes. Text() renders any format the way
// mitmproxy's "export" command shows it.
package export

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

// Errors, with mitmproxy's messages.
var (
	ErrNoRequest           = errors.New("Can't export flow with no request.")
	ErrNoResponse          = errors.New("Can't export flow with no response.")
	ErrNoRequestOrResponse = errors.New("Can't export flow with no request or response.")
	ErrRequestContent      = errors.New("Request content missing.")
	ErrResponseContent     = errors.New("Response content missing.")
	ErrNotUnicode          = errors.New("Request content must be valid unicode")
)

// Options changes what the exports produce.
type Options struct {
	// PreserveOriginalIP makes curl connect to the IP address the flow's
	// server had (--resolve), when it differs from the host name
	// (mitmproxy's export_preserve_original_ip).
	PreserveOriginalIP bool
}

// Curl is Options{}.Curl.
func Curl(f *flow.HTTPFlow) (string, error) { return Options{}.Curl(f) }

// HTTPie is Options{}.HTTPie.
func HTTPie(f *flow.HTTPFlow) (string, error) { return Options{}.HTTPie(f) }

// Raw is Options{}.Raw.
func Raw(f *flow.HTTPFlow) ([]byte, error) { return Options{}.Raw(f) }

// RawRequest is Options{}.RawRequest.
func RawRequest(f *flow.HTTPFlow) ([]byte, error) { return Options{}.RawRequest(f) }

// RawResponse is Options{}.RawResponse.
func RawResponse(f *flow.HTTPFlow) ([]byte, error) { return Options{}.RawResponse(f) }

// formats maps mitmproxy's format names to the formatters.
var formats = map[string]func(Options, *flow.HTTPFlow) ([]byte, error){
	"curl":         func(o Options, f *flow.HTTPFlow) ([]byte, error) { s, err := o.Curl(f); return []byte(s), err },
	"httpie":       func(o Options, f *flow.HTTPFlow) ([]byte, error) { s, err := o.HTTPie(f); return []byte(s), err },
	"raw":          Options.Raw,
	"raw_request":  Options.RawRequest,
	"raw_response": Options.RawResponse,
}

// Formats lists the format names, sorted (export.formats).
func Formats() []string {
	out := make([]string, 0, len(formats))
	for name := range formats {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Bytes runs the named format and returns its output as mitmproxy's
// export.file writes it.
func (o Options) Bytes(format string, f *flow.HTTPFlow) ([]byte, error) {
	fn, ok := formats[format]
	if !ok {
		return nil, fmt.Errorf("No such export format: %s", format)
	}
	return fn(o, f)
}

// Text runs the named format and returns it as mitmproxy's "export"
// command does: bytes that are not UTF-8 appear as \xNN escapes.
func (o Options) Text(format string, f *flow.HTTPFlow) (string, error) {
	b, err := o.Bytes(format, f)
	if err != nil {
		return "", err
	}
	return backslashReplace(b), nil
}

// backslashReplace is bytes.decode("utf8", "backslashreplace").
func backslashReplace(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&sb, `\x%02x`, b[0])
		} else {
			sb.Write(b[:size])
		}
		b = b[size:]
	}
	return sb.String()
}

// cleanRequest is a copy of the flow's request with its body decoded.
func cleanRequest(f *flow.HTTPFlow) (*flow.Request, error) {
	if f == nil || f.Request == nil {
		return nil, ErrNoRequest
	}
	r := f.Request.Clone()
	decodeLoose(&r.Message)
	return r, nil
}

func cleanResponse(f *flow.HTTPFlow) (*flow.Response, error) {
	if f == nil || f.Response == nil {
		return nil, ErrNoResponse
	}
	r := f.Response.Clone()
	decodeLoose(&r.Message)
	return r, nil
}

// decodeLoose is mitmproxy's decode(strict=False): the Content-Encoding
// header goes, the body is decoded if it can be, and Content-Length is set
// from the result unless Transfer-Encoding is present.
func decodeLoose(m *flow.Message) {
	content := m.ContentOrRaw()
	m.Headers.Del("content-encoding")
	if content != nil {
		m.SetRawContent(content)
	}
}

// popHeaders drops the headers that the commands make redundant.
func popHeaders(r *flow.Request) {
	r.Headers.Del("content-length")
	if r.Headers.Get("host") == r.Host {
		r.Headers.Del("host")
	}
	if r.Headers.Get(":authority") == r.Host {
		r.Headers.Del(":authority")
	}
}

// contentForConsole renders the body as a shell word: the text (decoded
// with the charset mitmproxy infers), with control characters written as
// \xNN and, if there are any, wrapped in "$(printf ...)" so that the shell
// turns them back into bytes.
func contentForConsole(r *flow.Request) (string, error) {
	text, err := r.Text()
	if err != nil || text == "" {
		return "", ErrNotUnicode
	}
	var sb strings.Builder
	escaped := false
	for _, c := range text {
		if c < 32 {
			fmt.Fprintf(&sb, `\x%02x`, c)
			escaped = true
			continue
		}
		sb.WriteRune(c)
	}
	if escaped {
		return `"$(printf ` + shellQuote(sb.String()) + `)"`, nil
	}
	return shellQuote(sb.String()), nil
}

// shellQuote is Python's shlex.quote.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_@%+=:,./-", c) >= 0) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

func joinQuoted(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

// Curl renders the request as a curl command line.
func (o Options) Curl(f *flow.HTTPFlow) (string, error) {
	r, err := cleanRequest(f)
	if err != nil {
		return "", err
	}
	popHeaders(r)
	args := []string{"curl"}
	if o.PreserveOriginalIP && f.ServerConn != nil && !f.ServerConn.Peername.IsZero() {
		if addr := f.ServerConn.Peername.Host; r.PrettyHost() != addr {
			args = append(args, "--resolve", r.PrettyHost()+":"+strconv.Itoa(r.Port)+":["+addr+"]")
		}
	}
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, "accept-encoding") {
			args = append(args, "--compressed")
		} else {
			args = append(args, "-H", h.Name+": "+h.Value)
		}
	}
	method := strings.ToUpper(r.Method)
	if method != "GET" {
		if len(r.RawContent) == 0 {
			// curl sends no Content-Length without a body, and some
			// servers want one on a POST.
			args = append(args, "-H", "content-length: 0")
		}
		args = append(args, "-X", method)
	}
	args = append(args, r.PrettyURL())
	cmd := joinQuoted(args)
	if len(r.RawContent) > 0 {
		data, err := contentForConsole(r)
		if err != nil {
			return "", err
		}
		cmd += " -d " + data
	}
	return cmd, nil
}

// HTTPie renders the request as an HTTPie command line.
func (o Options) HTTPie(f *flow.HTTPFlow) (string, error) {
	r, err := cleanRequest(f)
	if err != nil {
		return "", err
	}
	popHeaders(r)
	args := []string{"http", strings.ToUpper(r.Method), r.PrettyURL()}
	for _, h := range r.Headers {
		args = append(args, h.Name+": "+h.Value)
	}
	cmd := joinQuoted(args)
	if len(r.RawContent) > 0 {
		data, err := contentForConsole(r)
		if err != nil {
			return "", err
		}
		cmd += " <<< " + data
	}
	return cmd, nil
}

// RawRequest renders the request as HTTP/1 bytes.
func (o Options) RawRequest(f *flow.HTTPFlow) ([]byte, error) {
	r, err := cleanRequest(f)
	if err != nil {
		return nil, err
	}
	if r.RawContent == nil {
		return nil, ErrRequestContent
	}
	var b bytes.Buffer
	switch {
	case strings.EqualFold(r.Method, "CONNECT"):
		b.WriteString(r.Method + " " + r.Authority + " " + r.HTTPVersion)
	case r.Authority != "":
		b.WriteString(r.Method + " " + r.Scheme + "://" + r.Authority + r.Path + " " + r.HTTPVersion)
	default:
		b.WriteString(r.Method + " " + r.Path + " " + r.HTTPVersion)
	}
	b.WriteString("\r\n")
	if err := writeMessage(&b, &r.Message); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// RawResponse renders the response as HTTP/1 bytes.
func (o Options) RawResponse(f *flow.HTTPFlow) ([]byte, error) {
	r, err := cleanResponse(f)
	if err != nil {
		return nil, err
	}
	if r.RawContent == nil {
		return nil, ErrResponseContent
	}
	var b bytes.Buffer
	b.WriteString(r.HTTPVersion + " " + strconv.Itoa(r.StatusCode) + " " + r.Reason + "\r\n")
	if err := writeMessage(&b, &r.Message); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeMessage writes headers, the blank line and the body, chunked when
// the message says so (with its trailers).
func writeMessage(b *bytes.Buffer, m *flow.Message) error {
	b.Write(m.Headers.Bytes())
	b.WriteString("\r\n")
	if strings.Contains(strings.ToLower(m.Headers.Get("transfer-encoding")), "chunked") {
		if len(m.RawContent) > 0 {
			fmt.Fprintf(b, "%x\r\n", len(m.RawContent))
			b.Write(m.RawContent)
			b.WriteString("\r\n")
		}
		b.WriteString("0\r\n")
		b.Write(m.Trailers.Bytes())
		b.WriteString("\r\n")
		return nil
	}
	if len(m.Trailers) > 0 {
		return errors.New("Sending HTTP/1.1 trailer headers requires transfer-encoding: chunked")
	}
	b.Write(m.RawContent)
	return nil
}

// Raw renders the request and the response (and a WebSocket's messages),
// separated by a blank line, or whichever of the two has content.
func (o Options) Raw(f *flow.HTTPFlow) ([]byte, error) {
	if f == nil {
		return nil, ErrNoRequestOrResponse
	}
	reqOK := f.Request != nil && f.Request.RawContent != nil
	respOK := f.Response != nil && f.Response.RawContent != nil
	switch {
	case reqOK && respOK:
		req, err := o.RawRequest(f)
		if err != nil {
			return nil, err
		}
		resp, err := o.RawResponse(f)
		if err != nil {
			return nil, err
		}
		parts := [][]byte{req, resp}
		if f.WebSocket != nil {
			parts = append(parts, formatWebSocket(f.WebSocket))
		}
		return bytes.Join(parts, []byte("\r\n\r\n")), nil
	case reqOK:
		return o.RawRequest(f)
	case respOK:
		return o.RawResponse(f)
	}
	return nil, ErrNoRequestOrResponse
}

func formatWebSocket(ws *flow.WebSocketData) []byte {
	lines := make([][]byte, len(ws.Messages))
	for i, m := range ws.Messages {
		dir := "[INCOMING] "
		if m.FromClient {
			dir = "[OUTGOING] "
		}
		lines[i] = append([]byte(dir), m.Content...)
	}
	return bytes.Join(lines, []byte("\n"))
}

// Export is the export addon: it declares export_preserve_original_ip and
// runs the formats with it.
type Export struct {
	ctx          *addon.Context
	preserveAddr addon.Opt[bool]
}

var _ addon.LoadHook = (*Export)(nil)

// New returns the addon.
func New() *Export { return &Export{} }

// OptionName is the option that sets Options.PreserveOriginalIP.
const OptionName = "export_preserve_original_ip"

// Load declares export_preserve_original_ip.
func (e *Export) Load(l *addon.Loader) {
	e.ctx = l.Context()
	e.preserveAddr = addon.Declare(l, OptionName, false,
		"When exporting a request as an external command, make an effort to connect to the same IP as in the original request. This helps with reproducibility in cases where the behaviour depends on the particular host we are connecting to. Currently this only affects curl exports.")
	e.addCommands(l)
}

// Options returns the export options the current option values give.
func (e *Export) Options() Options {
	return Options{PreserveOriginalIP: e.preserveAddr.Get()}
}

// Export returns the flow in the named format as text (the "export"
// command).
func (e *Export) Export(format string, f *flow.HTTPFlow) (string, error) {
	return e.Options().Text(format, f)
}

// File writes the flow in the named format to path (export.file).
func (e *Export) File(format string, f *flow.HTTPFlow, path string) error {
	b, err := e.Options().Bytes(format, f)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
