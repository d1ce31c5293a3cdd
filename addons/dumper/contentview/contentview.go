// Package contentview pretty-prints message bodies the way mitmproxy's
// content views do (mitmproxy.contentviews): a registry of views, each with
// a render priority, and an "auto" choice that picks the view with the
// highest priority for the data and its content type.
//
// The views here are JSON, URL-encoded forms, query strings, XML/HTML, raw
// text, hex dump and hex stream. The other names mitmproxy accepts (CSS,
// JavaScript, images, gRPC, Protobuf, MsgPack, ...) are known, so that
// configuration naming them stays valid, but fall back to the automatic
// choice (see Supported).
package contentview

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/human"
)

// Syntax names the highlighting that suits a view's output, as mitmproxy's
// SyntaxHighlight.
type Syntax string

// Syntax values.
const (
	SyntaxNone  Syntax = "none"
	SyntaxYAML  Syntax = "yaml"
	SyntaxXML   Syntax = "xml"
	SyntaxError Syntax = "error"
)

// Metadata is what a view may know about the data besides the bytes.
type Metadata struct {
	// ContentType is "type/subtype" from the Content-Type header, lower-cased,
	// or "" when there is none.
	ContentType string
	// Message is the HTTP message the data is the body of, if any.
	Message *flow.Message
	// Request is set when the data is an HTTP request body.
	Request *flow.Request
}

// View is one content view.
type View interface {
	// Name is the view's display name, e.g. "JSON"; its lower-cased form is
	// what the dumper_default_contentview option takes.
	Name() string
	// Prettify renders data; an error means the data is not of this kind.
	Prettify(data []byte, md *Metadata) (string, error)
	// RenderPriority ranks the view for data; the highest wins in "auto".
	RenderPriority(data []byte, md *Metadata) float64
	// Syntax is the highlighting that suits the output.
	Syntax() Syntax
}

// views in mitmproxy's registration order: among equal priorities, the first
// registered wins.
var views = []View{
	jsonView{}, queryView{}, rawView{}, urlencodedView{}, xmlView{}, hexDumpView{}, hexStreamView{},
}

// known lists every view name mitmproxy 12 registers, lower-cased.
var known = []string{
	"css", "dns", "graphql", "grpc", "hex dump", "hex stream", "http/3 frames", "image",
	"javascript", "json", "mqtt", "msgpack", "multipart form", "protobuf", "query", "raw",
	"socket.io", "url-encoded", "wbxml", "xml/html",
}

// Names lists the values dumper_default_contentview accepts: "auto" and
// every view name mitmproxy knows, sorted as mitmproxy lists them.
func Names() []string { return append([]string{"auto"}, known...) }

// Supported reports whether name ("auto" or a view name, any case) is
// rendered by a view of this package; other names fall back to "auto".
func Supported(name string) bool {
	return strings.EqualFold(name, "auto") || lookup(name) != nil
}

func lookup(name string) View { return lookupIn(views, name) }

func lookupIn(all []View, name string) View {
	for _, v := range all {
		if strings.EqualFold(v.Name(), name) {
			return v
		}
	}
	return nil
}

// Input is the data to render and what is known about it.
type Input struct {
	// Data is the decoded body; nil with Missing set when there is none.
	Data    []byte
	Missing bool
	// Description notes a content encoding: "[decoded gzip]" or
	// "[cannot decode]".
	Description string
	Meta        Metadata
}

// ForHTTP prepares an HTTP message body: its content with the
// Content-Encoding removed (the raw bytes when that fails). req is the
// request itself when m is a request's message.
func ForHTTP(m *flow.Message, req *flow.Request) Input {
	in := Input{Meta: Metadata{Message: m, Request: req}}
	if ct := m.Headers.Get("content-type"); ct != "" {
		in.Meta.ContentType = ParseContentType(ct)
	}
	if m.RawContent == nil {
		in.Missing = true
		return in
	}
	c, err := m.Content()
	switch {
	case errors.Is(err, flow.ErrContentMissing):
		in.Missing = true
	case err != nil:
		in.Data = m.RawContent
		in.Description = "[cannot decode]"
	default:
		in.Data = c
		if !bytes.Equal(c, m.RawContent) {
			in.Description = "[decoded " + m.Headers.Get("content-encoding") + "]"
		}
	}
	return in
}

// ForData prepares a WebSocket or TCP message's content.
func ForData(b []byte) Input { return Input{Data: b} }

// ParseContentType returns "type/subtype" of a Content-Type value,
// lower-cased, or "" when it has no "/" (mitmproxy's parse_content_type).
func ParseContentType(ct string) string {
	main, _, _ := strings.Cut(ct, ";")
	typ, sub, ok := strings.Cut(main, "/")
	if !ok {
		return ""
	}
	return strings.ToLower(typ) + "/" + strings.ToLower(sub)
}

// Result is a rendered body.
type Result struct {
	Text        string
	Syntax      Syntax
	ViewName    string
	Description string
}

// Choose returns the view that renders data: the one named viewName, or for
// "auto" (and unknown names) the one with the highest render priority.
func Choose(data []byte, md *Metadata, viewName string) View {
	return chooseFrom(views, data, md, viewName)
}

func chooseFrom(all []View, data []byte, md *Metadata, viewName string) View {
	if !strings.EqualFold(viewName, "auto") {
		if v := lookupIn(all, viewName); v != nil {
			return v
		}
	}
	var best View
	bestPrio := 0.0
	for _, v := range all {
		p := v.RenderPriority(data, md)
		if best == nil || p > bestPrio {
			best, bestPrio = v, p
		}
	}
	return best
}

// Prettify renders in with the named view (mitmproxy's prettify_message). An
// automatically chosen view that fails falls back to raw; a view the user
// chose shows why it failed. Control characters in the result are escaped.
func Prettify(in Input, viewName string) Result { return PrettifyWith(in, viewName, nil) }

// PrettifyWith is Prettify with more views (those scripts add), registered
// after this package's: among equal priorities, this package's win.
func PrettifyWith(in Input, viewName string, extra []View) Result {
	if in.Missing {
		return Result{Text: "Content is missing.", Syntax: SyntaxError}
	}
	all := views
	if len(extra) > 0 {
		all = append(append(make([]View, 0, len(views)+len(extra)), views...), extra...)
	}
	md := &in.Meta
	v := chooseFrom(all, in.Data, md, viewName)
	text, err := v.Prettify(in.Data, md)
	res := Result{Text: text, Syntax: v.Syntax(), ViewName: v.Name(), Description: in.Description}
	if err != nil {
		auto := strings.EqualFold(viewName, "auto") || lookupIn(all, viewName) == nil
		if auto {
			raw := rawView{}
			text, _ = raw.Prettify(in.Data, md)
			res = Result{Text: text, Syntax: raw.Syntax(), ViewName: raw.Name(),
				Description: fmt.Sprintf("%s[failed to parse as %s]", in.Description, v.Name())}
		} else {
			res = Result{Text: fmt.Sprintf("Couldn't parse as %s:\n%v\n", v.Name(), err),
				Syntax: SyntaxError, ViewName: v.Name(), Description: in.Description}
		}
	}
	res.Text = human.EscapeControl(res.Text, true)
	return res
}

// rawView shows the bytes as UTF-8 text.
type rawView struct{}

func (rawView) Name() string   { return "Raw" }
func (rawView) Syntax() Syntax { return SyntaxNone }
func (rawView) Prettify(data []byte, _ *Metadata) (string, error) {
	return human.DecodeBackslash(data), nil
}
func (rawView) RenderPriority([]byte, *Metadata) float64 { return 0.1 }
