package flow

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// Charset inference follows mitmproxy's infer_content_encoding
// (mitmproxy/net/http/headers.py) and get_text/set_text (mitmproxy/http.py).

func TestText(t *testing.T) {
	gz, _ := EncodeContent("gzip", []byte("caf\xc3\xa9"))
	longHTML := "<html><head>" + strings.Repeat("<script>var x = 1;</script>", 100) +
		`<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-15"></head><body>` + "\xa4</body></html>"
	tests := []struct {
		name        string
		contentType string
		extra       Headers
		body        string
		wantCharset string
		want        string
		wantErr     bool
	}{
		{"no content-type: latin-1", "", nil, "caf\xe9", "latin-1", "café", false},
		{"text/plain without charset: latin-1", "text/plain", nil, "caf\xe9 \x80", "latin-1", "café \u0080", false},
		{"charset param", "text/plain; charset=utf-8", nil, "caf\xc3\xa9", "utf-8", "café", false},
		{"charset param quoted and upper-case", `text/plain; Charset="UTF-8"`, nil, "caf\xc3\xa9", "utf-8", "café", false},
		{"charset param wins over type", "application/json; charset=iso-8859-1", nil, "\"\xe9\"", "iso-8859-1", `"é"`, false},
		{"windows-1252", "text/plain; charset=windows-1252", nil, "\x80", "windows-1252", "€", false},
		{"json: utf-8", "application/json", nil, "{\"a\":\"\xc3\xa9\"}", "utf-8", `{"a":"é"}`, false},
		{"json: invalid utf-8", "application/json", nil, "\xff", "utf-8", "", true},
		{"html: meta charset", "text/html", nil, `<meta charset="iso-8859-15">` + "\xa4", "iso-8859-15", `<meta charset="iso-8859-15">€`, false},
		{"html: meta charset anywhere in the body", "text/html", nil, longHTML, "iso-8859-15", strings.Replace(longHTML, "\xa4", "€", 1), false},
		{"html: default utf-8", "text/html", nil, "caf\xc3\xa9", "utf-8", "café", false},
		{"xml: declaration", "application/xml", nil, `<?xml version="1.0" encoding="ISO-8859-1"?><a>` + "\xe9</a>", "iso-8859-1", `<?xml version="1.0" encoding="ISO-8859-1"?><a>é</a>`, false},
		{"xml: declaration after whitespace", "text/xml", nil, "\n<?XML version='1.0' encoding='windows-1252'?>\x80", "windows-1252", "\n<?XML version='1.0' encoding='windows-1252'?>€", false},
		{"xml: default utf-8", "image/svg+xml", nil, "<svg>\xc3\xa9</svg>", "utf-8", "<svg>é</svg>", false},
		{"javascript: utf-8", "application/javascript", nil, "'\xc3\xa9'", "utf-8", "'é'", false},
		{"ecmascript: utf-8", "text/ecmascript", nil, "'\xc3\xa9'", "utf-8", "'é'", false},
		{"css: @charset", "text/css", nil, `@charset "iso-8859-15";` + "\xa4", "iso-8859-15", `@charset "iso-8859-15";€`, false},
		{"css: @charset must come first", "text/css", nil, ` @charset "iso-8859-15";` + "\xc3\xa9", "utf-8", ` @charset "iso-8859-15";é`, false},
		{"css: default utf-8", "text/css", nil, "\xc3\xa9", "utf-8", "é", false},
		{"gb2312 upgraded to gb18030", "text/html; charset=gb2312", nil, "\xc4\xe3\xba\xc3\x81\x30\x81\x30", "gb18030", "你好\u0080", false},
		{"gbk upgraded to gb18030", "text/plain; charset=GBK", nil, "\xc4\xe3\xba\xc3", "gb18030", "你好", false},
		{"shift_jis", "text/plain; charset=shift_jis", nil, "\x93\xfa\x96\x7b", "shift_jis", "日本", false},
		// A BOM wins over everything; utf-8-sig strips it, the explicit-endian
		// UTF-16/32 codecs keep it as U+FEFF.
		{"utf-8 BOM", "text/plain; charset=iso-8859-1", nil, "\xef\xbb\xbfcaf\xc3\xa9", "utf-8-sig", "café", false},
		{"utf-16le BOM", "", nil, "\xff\xfeh\x00i\x00", "utf-16le", "\ufeffhi", false},
		{"utf-16be BOM", "application/json", nil, "\xfe\xff\x00h\x00i", "utf-16be", "\ufeffhi", false},
		{"utf-32le BOM", "", nil, "\xff\xfe\x00\x00h\x00\x00\x00", "utf-32le", "\ufeffh", false},
		{"utf-32be BOM", "", nil, "\x00\x00\xfe\xff\x00\x00\x00h", "utf-32be", "\ufeffh", false},
		{"utf-16 without BOM from the header", "text/plain; charset=utf-16", nil, "h\x00i\x00", "utf-16", "hi", false},
		{"unknown charset", "text/plain; charset=x-no-such-charset", nil, "abc", "x-no-such-charset", "", true},
		{"content-encoding removed first", "text/plain; charset=utf-8", NewHeaders("Content-Encoding", "gzip"), string(gz), "utf-8", "café", false},
		{"empty body", "text/plain", nil, "", "latin-1", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Message{Headers: tt.extra.Clone(), RawContent: []byte(tt.body)}
			if tt.contentType != "" {
				m.Headers.Add("Content-Type", tt.contentType)
			}
			if got := m.Charset(); got != tt.wantCharset {
				t.Errorf("Charset = %q, want %q", got, tt.wantCharset)
			}
			got, err := m.Text()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Text err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Text = %q, want %q", got, tt.want)
			}
		})
	}

	m := &Message{}
	if _, err := m.Text(); !errors.Is(err, ErrContentMissing) {
		t.Errorf("Text of missing content: %v", err)
	}
}

func TestSetText(t *testing.T) {
	tests := []struct {
		name        string
		contentType string // "-" for none
		text        string
		wantBody    string
		wantCT      string // "-" for none
	}{
		{"latin-1 default", "text/plain", "café", "caf\xe9", "text/plain"},
		{"no content-type, latin-1 fits", "-", "café", "caf\xe9", "-"},
		{"latin-1 does not fit: utf-8 and charset added", "text/plain", "5 €", "5 \xe2\x82\xac", "text/plain; charset=utf-8"},
		{"no content-type, utf-8 fallback", "-", "€", "\xe2\x82\xac", "text/plain; charset=utf-8"},
		{"not a type/subtype", "nonsense", "€", "\xe2\x82\xac", "text/plain; charset=utf-8"},
		{"charset replaced in place", "text/plain; charset=iso-8859-1; format=flowed", "€", "\xe2\x82\xac", "text/plain; charset=utf-8; format=flowed"},
		{"type lower-cased, params kept", "TEXT/Plain; Foo=Bar", "€", "\xe2\x82\xac", "text/plain; Foo=Bar; charset=utf-8"},
		{"unknown charset falls back", "text/plain; charset=x-nope", "abc", "abc", "text/plain; charset=utf-8"},
		{"html: utf-8", "text/html", "€", "\xe2\x82\xac", "text/html"},
		{"json: utf-8", "application/json", `"€"`, "\"\xe2\x82\xac\"", "application/json"},
		{"charset param honoured", "text/plain; charset=windows-1252", "€", "\x80", "text/plain; charset=windows-1252"},
		{"gb2312 encodes as gb18030", "text/plain; charset=gb2312", "你好", "\xc4\xe3\xba\xc3", "text/plain; charset=gb2312"},
		{"shift_jis", "text/html; charset=Shift_JIS", "日本", "\x93\xfa\x96\x7b", "text/html; charset=Shift_JIS"},
		{"utf-16 adds a BOM", "text/plain; charset=utf-16", "hi", "\xff\xfeh\x00i\x00", "text/plain; charset=utf-16"},
		{"utf-16be", "text/plain; charset=utf-16be", "hi", "\x00h\x00i", "text/plain; charset=utf-16be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Message{Headers: NewHeaders("Content-Length", "999")}
			if tt.contentType != "-" {
				m.Headers.Add("Content-Type", tt.contentType)
			}
			m.SetText(tt.text)
			if string(m.RawContent) != tt.wantBody {
				t.Errorf("body = %q, want %q", m.RawContent, tt.wantBody)
			}
			gotCT, ok := m.Headers.Lookup("content-type")
			if !ok {
				gotCT = "-"
			}
			if gotCT != tt.wantCT {
				t.Errorf("Content-Type = %q, want %q", gotCT, tt.wantCT)
			}
			if got := m.Headers.Get("content-length"); got != strconv.Itoa(len(tt.wantBody)) {
				t.Errorf("Content-Length = %q, want %d", got, len(tt.wantBody))
			}
			// What was set reads back (the BOM of utf-16 is consumed).
			if got, err := m.Text(); err != nil || strings.TrimPrefix(got, "\ufeff") != tt.text {
				t.Errorf("Text after SetText = %q, %v", got, err)
			}
		})
	}

	// The body is re-encoded with the message's Content-Encoding.
	m := &Message{Headers: NewHeaders("Content-Type", "text/plain; charset=utf-8", "Content-Encoding", "gzip")}
	m.SetText("héllo")
	if !bytes.HasPrefix(m.RawContent, []byte{0x1f, 0x8b}) {
		t.Errorf("SetText did not gzip the body: %q", m.RawContent)
	}
	if got, err := m.Text(); err != nil || got != "héllo" {
		t.Errorf("Text = %q, %v", got, err)
	}
}

func TestJSON(t *testing.T) {
	m := &Message{Headers: NewHeaders("Content-Encoding", "gzip")}
	m.SetContent([]byte(`{"a": [1, 2]}`))
	var v struct{ A []int }
	if err := m.JSON(&v); err != nil || len(v.A) != 2 {
		t.Errorf("JSON = %+v, %v", v, err)
	}
	if err := (&Message{}).JSON(&v); !errors.Is(err, ErrContentMissing) {
		t.Errorf("JSON of missing content: %v", err)
	}
	if err := (&Message{RawContent: []byte("{")}).JSON(&v); err == nil {
		t.Errorf("JSON of invalid content succeeded")
	}
}

func TestHTTPVersionPredicates(t *testing.T) {
	for _, tt := range []struct {
		v            string
		h10, h11, h2 bool
	}{
		{"HTTP/1.0", true, false, false},
		{"HTTP/1.1", false, true, false},
		{"HTTP/2.0", false, false, true},
		{"HTTP/3", false, false, false},
	} {
		m := &Message{HTTPVersion: tt.v}
		if m.IsHTTP10() != tt.h10 || m.IsHTTP11() != tt.h11 || m.IsHTTP2() != tt.h2 {
			t.Errorf("%s: got %v %v %v", tt.v, m.IsHTTP10(), m.IsHTTP11(), m.IsHTTP2())
		}
	}
}
