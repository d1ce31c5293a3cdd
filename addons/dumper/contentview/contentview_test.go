package contentview

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

func httpInput(ct string, body []byte) Input {
	m := &flow.Message{HTTPVersion: "HTTP/1.1", Headers: flow.NewHeaders("Content-Type", ct), RawContent: body}
	return ForHTTP(m, nil)
}

func TestAutoChoice(t *testing.T) {
	req := &flow.Request{Message: flow.Message{Headers: flow.Headers{}, RawContent: []byte{}}, Method: "GET", Path: "/p?a=1&a=2&b="}
	tests := []struct {
		name     string
		in       Input
		view     string
		wantView string
		want     string
	}{
		{"json by content type", httpInput("application/json", []byte(`{"a":[1]}`)), "auto", "JSON", "{\n    \"a\": [\n        1\n    ]\n}"},
		{"json suffix", httpInput("application/vnd.api+json; charset=utf-8", []byte(`[]`)), "auto", "JSON", "[]"},
		{"invalid json falls back to raw", httpInput("application/json", []byte("{nope\x00")), "auto", "Raw", "{nope."},
		{"form", httpInput("application/x-www-form-urlencoded", []byte("a=1&b=%FF+x")), "auto", "URL-encoded", "a: '1'\nb: \\xff x\n"},
		{"html", httpInput("text/html", []byte("<p>x</p>")), "auto", "XML/HTML", "<p>x</p>\n"},
		{"xml sniffed", httpInput("text/plain", []byte(" \n<a><b/></a>")), "auto", "XML/HTML", "<a>\n  <b/>\n</a>\n"},
		{"binary", ForData([]byte{0, 1, 2, 3, 'a'}), "auto", "Hex Dump", "0000:   00 01 02 03  61                                      ....a"},
		{"text", ForData([]byte("plain\ttext\x1b")), "auto", "Raw", "plain\ttext."},
		{"empty", ForData(nil), "auto", "Raw", ""},
		{"explicit hex stream", ForData([]byte("hi")), "hex stream", "Hex Stream", "6869"},
		{"explicit raw, any case", httpInput("application/json", []byte(`{"a":1}`)), "RAW", "Raw", `{"a":1}`},
		{"unknown name is auto", httpInput("application/json", []byte(`1`)), "css", "JSON", "1"},
		{"query", Input{Data: []byte{}, Meta: Metadata{Request: req}}, "auto", "Query", "a:\n- '1'\n- '2'\nb: ''\n"},
		{"missing", Input{Missing: true}, "auto", "", "Content is missing."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Prettify(tt.in, tt.view)
			if res.ViewName != tt.wantView || res.Text != tt.want {
				t.Errorf("got view %q text %q, want view %q text %q", res.ViewName, res.Text, tt.wantView, tt.want)
			}
		})
	}
}

func TestForHTTPDecodes(t *testing.T) {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(`{"x": 1}`))
	w.Close()
	m := &flow.Message{Headers: flow.NewHeaders("Content-Type", "application/json", "Content-Encoding", "gzip"), RawContent: gz.Bytes()}
	in := ForHTTP(m, nil)
	if string(in.Data) != `{"x": 1}` || in.Description != "[decoded gzip]" {
		t.Errorf("got %q %q", in.Data, in.Description)
	}
	m.RawContent = []byte("not gzip")
	in = ForHTTP(m, nil)
	if string(in.Data) != "not gzip" || in.Description != "[cannot decode]" {
		t.Errorf("got %q %q", in.Data, in.Description)
	}
	if ParseContentType("Text/HTML ; charset=x") != "text/html " || ParseContentType("nonsense") != "" {
		t.Error("ParseContentType")
	}
}

func TestHighlightKeepsText(t *testing.T) {
	for _, c := range []struct {
		text   string
		syntax Syntax
	}{
		{"{\n    \"a\": [1, true, \"x\\\"y\"],\n    \"b\": null\n}", SyntaxYAML},
		{"a:\n- '1'\nb: two words\n", SyntaxYAML},
		{"<a href=\"x\">t</a><!-- c -->", SyntaxXML},
		{"oops", SyntaxError},
	} {
		var sb strings.Builder
		for _, ch := range Highlight(c.text, c.syntax) {
			sb.WriteString(ch.Text)
		}
		if sb.String() != c.text {
			t.Errorf("Highlight(%q) lost text: %q", c.text, sb.String())
		}
	}
	chunks := Highlight(`"k": 1`, SyntaxYAML)
	if chunks[0].Tag != "name" || chunks[len(chunks)-1].Tag != "number" {
		t.Errorf("tags: %+v", chunks)
	}
}

func FuzzPrettify(f *testing.F) {
	f.Add("application/json", []byte(`{"a": [1, 2.5e3, "x"]}`))
	f.Add("text/html", []byte(`<p a='1'>x<br></p><!-- y`))
	f.Add("application/x-www-form-urlencoded", []byte("a=%zz&b=+&&c"))
	f.Add("", []byte{0, 1, 2, 0xff})
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		for _, view := range []string{"auto", "json", "xml/html", "url-encoded", "hex dump", "raw"} {
			res := Prettify(httpInput(ct, body), view)
			for i := 0; i < len(res.Text); i++ {
				if c := res.Text[i]; (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f {
					t.Fatalf("view %s left control byte %#x in %q", view, c, res.Text)
				}
			}
			var sb strings.Builder
			for _, ch := range Highlight(res.Text, res.Syntax) {
				sb.WriteString(ch.Text)
			}
			if sb.String() != res.Text {
				t.Fatalf("Highlight lost text for %q", res.Text)
			}
		}
	})
}
