package flow

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

var sampleBodies = map[string][]byte{
	"empty":  {},
	"short":  []byte("hello"),
	"binary": {0, 1, 2, 0xff, 0xfe, 0x80, '\r', '\n'},
	"large":  bytes.Repeat([]byte("mitmproxy rebuilt in Go. "), 10000),
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, enc := range []string{"gzip", "x-gzip", "deflate", "br", "zstd", "identity", "", "GZIP", " br "} {
		for name, body := range sampleBodies {
			encoded, err := EncodeContent(enc, body)
			if err != nil {
				t.Fatalf("EncodeContent(%q, %s): %v", enc, name, err)
			}
			decoded, err := DecodeContent(enc, encoded)
			if err != nil {
				t.Fatalf("DecodeContent(%q, %s): %v", enc, name, err)
			}
			if !bytes.Equal(decoded, body) {
				t.Errorf("%q %s: round trip changed the body", enc, name)
			}
			if name == "large" && enc != "identity" && enc != "" && len(encoded) >= len(body)/10 {
				t.Errorf("%q: large body compressed to %d of %d bytes", enc, len(encoded), len(body))
			}
		}
	}
}

// Bodies compressed by other implementations (as servers send them) must
// decode; deflate comes both zlib-wrapped (RFC 9110) and raw (common).
func TestDecodeForeignEncodings(t *testing.T) {
	want := []byte("The quick brown fox jumps over the lazy dog")
	compress := map[string]func() []byte{
		"gzip": func() []byte {
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			w.Write(want)
			w.Close()
			return b.Bytes()
		},
		"deflate-zlib": func() []byte {
			var b bytes.Buffer
			w := zlib.NewWriter(&b)
			w.Write(want)
			w.Close()
			return b.Bytes()
		},
		"deflate-raw": func() []byte {
			var b bytes.Buffer
			w, _ := flate.NewWriter(&b, flate.BestCompression)
			w.Write(want)
			w.Close()
			return b.Bytes()
		},
		"br": func() []byte {
			var b bytes.Buffer
			w := brotli.NewWriterLevel(&b, brotli.BestCompression)
			w.Write(want)
			w.Close()
			return b.Bytes()
		},
		"zstd": func() []byte {
			e, _ := zstd.NewWriter(nil)
			return e.EncodeAll(want, nil)
		},
	}
	for name, fn := range compress {
		enc, _, _ := strings.Cut(name, "-")
		got, err := DecodeContent(enc, fn())
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: got %q", name, got)
		}
	}
}

func TestDecodeInvalid(t *testing.T) {
	garbage := []byte("this is not compressed at all")
	for _, enc := range []string{"gzip", "deflate", "br", "zstd"} {
		if _, err := DecodeContent(enc, garbage); err == nil {
			t.Errorf("DecodeContent(%q, garbage) succeeded", enc)
		}
	}
	// A truncated stream is an error, not a short body.
	full, _ := EncodeContent("gzip", bytes.Repeat([]byte("abc"), 1000))
	if _, err := DecodeContent("gzip", full[:len(full)/2]); err == nil {
		t.Errorf("truncated gzip decoded")
	}
	for _, enc := range []string{"compress", "gzip, br", "utf-8", "chunked"} {
		if _, err := DecodeContent(enc, []byte("x")); err == nil {
			t.Errorf("DecodeContent(%q) succeeded", enc)
		}
		if _, err := EncodeContent(enc, []byte("x")); err == nil {
			t.Errorf("EncodeContent(%q) succeeded", enc)
		}
	}
}

// mitmproxy's decoders map an empty body to an empty body for every
// encoding (mitmproxy/net/encoding.py).
func TestDecodeEmpty(t *testing.T) {
	for _, enc := range []string{"gzip", "deflate", "br", "zstd", "identity"} {
		got, err := DecodeContent(enc, []byte{})
		if err != nil || len(got) != 0 {
			t.Errorf("DecodeContent(%q, empty) = %q, %v", enc, got, err)
		}
	}
}

func TestIsSupportedEncoding(t *testing.T) {
	for enc, want := range map[string]bool{
		"": true, "gzip": true, "GZip": true, "x-gzip": true, "deflate": true, "br": true,
		"zstd": true, "identity": true, " br ": true, "compress": false, "gzip, br": false, "bzip2": false,
	} {
		if got := IsSupportedEncoding(enc); got != want {
			t.Errorf("IsSupportedEncoding(%q) = %v, want %v", enc, got, want)
		}
	}
}

func TestContent(t *testing.T) {
	gz, _ := EncodeContent("gzip", []byte("payload"))
	tests := []struct {
		name    string
		headers Headers
		raw     []byte
		want    []byte
		wantErr bool
		orRaw   []byte
	}{
		{"missing", nil, nil, nil, true, nil},
		{"empty", nil, []byte{}, []byte{}, false, []byte{}},
		{"plain", nil, []byte("x"), []byte("x"), false, []byte("x")},
		{"gzip", NewHeaders("Content-Encoding", "gzip"), gz, []byte("payload"), false, []byte("payload")},
		{"gzip upper-case", NewHeaders("content-encoding", "GZIP"), gz, []byte("payload"), false, []byte("payload")},
		{"identity", NewHeaders("Content-Encoding", "identity"), []byte("x"), []byte("x"), false, []byte("x")},
		{"empty gzip", NewHeaders("Content-Encoding", "gzip"), []byte{}, []byte{}, false, []byte{}},
		// Invalid data: strict errors, non-strict gives the raw bytes.
		{"bad gzip", NewHeaders("Content-Encoding", "gzip"), []byte("nope"), nil, true, []byte("nope")},
		{"unknown encoding", NewHeaders("Content-Encoding", "rot13"), []byte("x"), nil, true, []byte("x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Message{Headers: tt.headers, RawContent: tt.raw}
			got, err := m.Content()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Content err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !bytes.Equal(got, tt.want) {
				t.Errorf("Content = %q, want %q", got, tt.want)
			}
			if tt.raw == nil && !errors.Is(err, ErrContentMissing) {
				t.Errorf("missing content: err = %v, want ErrContentMissing", err)
			}
			if got := m.ContentOrRaw(); !bytes.Equal(got, tt.orRaw) || (got == nil) != (tt.orRaw == nil) {
				t.Errorf("ContentOrRaw = %q, want %q", got, tt.orRaw)
			}
		})
	}
}

func TestSetContent(t *testing.T) {
	tests := []struct {
		name        string
		headers     Headers
		content     []byte
		wantHeaders Headers
		wantDecoded string
	}{
		{
			name:        "sets Content-Length",
			headers:     NewHeaders("Content-Type", "text/plain"),
			content:     []byte("hello"),
			wantHeaders: NewHeaders("Content-Type", "text/plain", "content-length", "5"),
			wantDecoded: "hello",
		},
		{
			name:        "updates Content-Length in place",
			headers:     NewHeaders("Content-Length", "100", "X", "y"),
			content:     []byte("hi"),
			wantHeaders: NewHeaders("Content-Length", "2", "X", "y"),
			wantDecoded: "hi",
		},
		{
			name:        "empty body gives 0",
			headers:     NewHeaders("Content-Length", "100"),
			content:     []byte{},
			wantHeaders: NewHeaders("Content-Length", "0"),
			wantDecoded: "",
		},
		{
			name:        "Transfer-Encoding: Content-Length untouched",
			headers:     NewHeaders("Transfer-Encoding", "chunked"),
			content:     []byte("hello"),
			wantHeaders: NewHeaders("Transfer-Encoding", "chunked"),
			wantDecoded: "hello",
		},
		{
			name:        "Transfer-Encoding: stale Content-Length left alone",
			headers:     NewHeaders("transfer-encoding", "chunked", "Content-Length", "3"),
			content:     []byte("hello"),
			wantHeaders: NewHeaders("transfer-encoding", "chunked", "Content-Length", "3"),
			wantDecoded: "hello",
		},
		{
			name:        "invalid encoding is dropped",
			headers:     NewHeaders("Content-Encoding", "rot13", "A", "b"),
			content:     []byte("hello"),
			wantHeaders: NewHeaders("A", "b", "content-length", "5"),
			wantDecoded: "hello",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Message{Headers: tt.headers.Clone()}
			m.SetContent(tt.content)
			if m.Headers.String() != tt.wantHeaders.String() {
				t.Errorf("headers = %q, want %q", m.Headers, tt.wantHeaders)
			}
			if got, err := m.Content(); err != nil || string(got) != tt.wantDecoded {
				t.Errorf("Content = %q, %v", got, err)
			}
		})
	}

	// nil marks the content missing and leaves the headers alone.
	m := &Message{Headers: NewHeaders("Content-Length", "5"), RawContent: []byte("hello")}
	m.SetContent(nil)
	if m.RawContent != nil || m.Headers.Get("content-length") != "5" {
		t.Errorf("SetContent(nil): raw %q, headers %q", m.RawContent, m.Headers)
	}
}

func TestSetContentReencodes(t *testing.T) {
	for _, enc := range []string{"gzip", "deflate", "br", "zstd"} {
		m := &Message{Headers: NewHeaders("Content-Encoding", enc)}
		body := bytes.Repeat([]byte("abcdef"), 500)
		m.SetContent(body)
		if bytes.Equal(m.RawContent, body) {
			t.Errorf("%s: raw content not encoded", enc)
		}
		if got := m.Headers.Get("content-length"); got != strconv.Itoa(len(m.RawContent)) {
			t.Errorf("%s: Content-Length %s for %d raw bytes", enc, got, len(m.RawContent))
		}
		if got, err := m.Content(); err != nil || !bytes.Equal(got, body) {
			t.Errorf("%s: Content after SetContent: %v", enc, err)
		}
	}
}

func TestDecodeEncode(t *testing.T) {
	m := &Message{Headers: NewHeaders("Content-Type", "text/plain")}
	m.SetContent([]byte("hello hello hello hello"))
	if err := m.Encode("gzip"); err != nil {
		t.Fatal(err)
	}
	if m.Headers.Get("content-encoding") != "gzip" || !bytes.HasPrefix(m.RawContent, []byte{0x1f, 0x8b}) {
		t.Fatalf("Encode(gzip): headers %q raw %q", m.Headers, m.RawContent)
	}
	if m.Headers.Get("content-length") != strconv.Itoa(len(m.RawContent)) {
		t.Errorf("Encode: Content-Length %q, raw %d", m.Headers.Get("content-length"), len(m.RawContent))
	}
	// Encode replaces the current encoding.
	if err := m.Encode("br"); err != nil {
		t.Fatal(err)
	}
	if got, err := m.Content(); err != nil || string(got) != "hello hello hello hello" {
		t.Fatalf("after Encode(br): %q, %v", got, err)
	}
	if err := m.Decode(); err != nil {
		t.Fatal(err)
	}
	if m.Headers.Has("content-encoding") || string(m.RawContent) != "hello hello hello hello" || m.Headers.Get("content-length") != "23" {
		t.Errorf("Decode: headers %q raw %q", m.Headers, m.RawContent)
	}

	// An invalid encoding is an error (mitmproxy raises ValueError) and
	// leaves the message as it was.
	before := m.Headers.String()
	if err := m.Encode("rot13"); err == nil {
		t.Errorf("Encode(rot13) succeeded")
	}
	if m.Headers.String() != before || string(m.RawContent) != "hello hello hello hello" {
		t.Errorf("Encode(rot13) changed the message: %q %q", m.Headers, m.RawContent)
	}

	// Decoding invalid data is an error and changes nothing.
	bad := &Message{Headers: NewHeaders("Content-Encoding", "gzip", "Content-Length", "4"), RawContent: []byte("nope")}
	if err := bad.Decode(); err == nil {
		t.Errorf("Decode of bad gzip succeeded")
	}
	if bad.Headers.Get("content-encoding") != "gzip" {
		t.Errorf("failed Decode removed the header")
	}

	// mitmproxy's decode() does nothing for a missing or empty body: a HEAD
	// response keeps its Content-Encoding and Content-Length.
	head := &Message{Headers: NewHeaders("Content-Encoding", "gzip", "Content-Length", "1234"), RawContent: []byte{}}
	if err := head.Decode(); err != nil {
		t.Errorf("Decode(empty): %v", err)
	}
	if head.Headers.Get("content-length") != "1234" || head.Headers.Get("content-encoding") != "gzip" {
		t.Errorf("Decode(empty) changed the headers: %q", head.Headers)
	}
	missing := &Message{Headers: NewHeaders("Content-Encoding", "gzip")}
	if err := missing.Decode(); !errors.Is(err, ErrContentMissing) {
		t.Errorf("Decode(missing) = %v, want ErrContentMissing", err)
	}
}
