package h1

import (
	"bufio"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

// validateCase is one message for ValidateHeaders, ValidateRequest and
// ValidateResponse: hint is whether the refusal names
// validate_inbound_headers (it does when turning the option off lets the
// message through).
type validateCase struct {
	name    string
	headers flow.Headers
	wantErr bool
	hint    bool
}

func checkValidate(t *testing.T, tt validateCase, err error) {
	t.Helper()
	if (err != nil) != tt.wantErr {
		t.Fatalf("error %v, want one: %v", err, tt.wantErr)
	}
	if err == nil {
		return
	}
	if !isProtocolError(err) {
		t.Errorf("error %T, want *ProtocolError", err)
	}
	if got := strings.Contains(err.Error(), "validate_inbound_headers"); got != tt.hint {
		t.Errorf("error %q: names validate_inbound_headers: %v, want %v", err, got, tt.hint)
	}
}

// validateHeadersCases are TestValidateHeaders' messages.
var validateHeadersCases = []validateCase{
	{"none", nil, false, false},
	{"content-length", flow.NewHeaders("Content-Length", "3"), false, false},
	{"repeated equal content-length", flow.NewHeaders("Content-Length", "3", "content-length", "3"), false, false},
	{"chunked", flow.NewHeaders("Transfer-Encoding", "chunked"), false, false},
	{"gzip, chunked", flow.NewHeaders("Transfer-Encoding", "gzip, chunked"), false, false},
	{"identity", flow.NewHeaders("Transfer-Encoding", "identity"), false, false},
	{"both", flow.NewHeaders("transfer-encoding", "chunked", "CONTENT-LENGTH", "3"), true, true},
	{"both, length first", flow.NewHeaders("Content-Length", "0", "Transfer-Encoding", "gzip, chunked"), true, true},
	{"two Transfer-Encoding fields", flow.NewHeaders("Transfer-Encoding", "chunked", "Transfer-Encoding", "chunked"), true, true},
	{"gzip and chunked fields", flow.NewHeaders("Transfer-Encoding", "gzip", "transfer-encoding", "chunked"), true, true},
	// Refused by the framing functions too: no hint, the option
	// would not let them through.
	{"xchunked", flow.NewHeaders("Transfer-Encoding", "xchunked"), true, false},
	{"identity, chunked", flow.NewHeaders("Transfer-Encoding", "identity, chunked"), true, false},
	{"content-length list", flow.NewHeaders("Content-Length", "5, 5"), true, false},
	{"conflicting content-length", flow.NewHeaders("Content-Length", "5", "Content-Length", "6"), true, false},
	{"negative content-length", flow.NewHeaders("Content-Length", "-1"), true, false},
	// ASCII case only: these are other fields.
	{"long s is not an s", flow.NewHeaders("Tran\u017ffer-Encoding", "chunked", "Content-Length", "1"), false, false},
}

func TestValidateHeaders(t *testing.T) {
	for _, tt := range validateHeadersCases {
		t.Run(tt.name, func(t *testing.T) { checkValidate(t, tt, ValidateHeaders(tt.headers)) })
	}
}

func TestValidateRequest(t *testing.T) {
	te := flow.NewHeaders("Transfer-Encoding", "chunked")
	for _, tt := range []struct {
		proto string
		validateCase
	}{
		{"HTTP/1.1", validateCase{"chunked", te, false, false}},
		{"HTTP/1.1", validateCase{"content-length", flow.NewHeaders("Content-Length", "1"), false, false}},
		{"HTTP/1.0", validateCase{"HTTP/1.0 with content-length", flow.NewHeaders("Content-Length", "1"), false, false}},
		// RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has
		// faulty framing.
		{"HTTP/1.0", validateCase{"HTTP/1.0 chunked", te, true, true}},
		{"HTTP/1.1", validateCase{"gzip", flow.NewHeaders("Transfer-Encoding", "gzip"), true, false}},
		{"HTTP/1.1", validateCase{"identity", flow.NewHeaders("Transfer-Encoding", "identity"), true, false}},
		{"HTTP/1.1", validateCase{"both", flow.NewHeaders("Transfer-Encoding", "chunked", "Content-Length", "1"), true, true}},
	} {
		t.Run(tt.name, func(t *testing.T) { checkValidate(t, tt.validateCase, ValidateRequest(tt.proto, tt.headers)) })
	}
}

func TestValidateResponse(t *testing.T) {
	te := flow.NewHeaders("Transfer-Encoding", "chunked")
	for _, tt := range []struct {
		proto  string
		status int
		validateCase
	}{
		{"HTTP/1.1", 200, validateCase{"chunked", te, false, false}},
		{"HTTP/1.1", 200, validateCase{"identity: until close", flow.NewHeaders("Transfer-Encoding", "identity"), false, false}},
		{"HTTP/1.1", 304, validateCase{"304 chunked", te, false, false}},
		{"HTTP/1.0", 200, validateCase{"HTTP/1.0 chunked", te, true, true}},
		{"HTTP/1.1", 204, validateCase{"204 chunked", te, true, true}},
		{"HTTP/1.1", 100, validateCase{"100 chunked", te, true, true}},
		{"HTTP/1.1", 304, validateCase{"304 with a bad content-length", flow.NewHeaders("Content-Length", "x"), true, false}},
		{"HTTP/1.1", 200, validateCase{"chunked, identity", flow.NewHeaders("Transfer-Encoding", "chunked, identity"), true, false}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkValidate(t, tt.validateCase, ValidateResponse(tt.proto, tt.status, tt.headers))
		})
	}
}

// TestValidateFramingOnePass: validating and framing in one look at the
// fields (what the proxy does for every message) answers as the two steps
// do, for the validation cases here and for other fields around them.
func TestValidateFramingOnePass(t *testing.T) {
	var sets []flow.Headers
	for _, tests := range [][]validateCase{validateHeadersCases, {
		{"length", flow.NewHeaders("Host", "x", "content-length", "5", "Accept", "*/*"), false, false},
		{"zero", flow.NewHeaders("Content-Length", "0"), false, false},
		{"two equal", flow.NewHeaders("Content-Length", "7", "X", "y", "CONTENT-LENGTH", "7"), false, false},
		{"two differ", flow.NewHeaders("Content-Length", "7", "Content-Length", "8"), true, false},
		{"identity", flow.NewHeaders("Transfer-Encoding", "identity"), true, false},
		{"gzip chunked", flow.NewHeaders("transfer-encoding", "gzip, chunked", "X-Long-Header-Name", "v"), false, false},
		{"none", flow.NewHeaders("Host", "x"), false, false},
	}} {
		for _, tt := range tests {
			sets = append(sets, tt.headers)
		}
	}
	for _, h := range sets {
		checkOnePass(t, h)
	}
}

func TestNormalizeCodings(t *testing.T) {
	for in, want := range map[string]string{
		"chunked":               "chunked",
		"Chunked":               "chunked",
		"GZIP ,\tChunked":       "gzip,chunked",
		" \tchunked\t ":         "chunked",
		"chunked ,":             "chunked,",
		"chun ked":              "chun ked",
		"chun \t ked":           "chun ked",
		"chunked\x00":           "",
		"chunked\x0b":           "",
		"chun\u212aed":          "",
		"gzip , , chunked":      "gzip,,chunked",
		"x-gzip;q=1, chunked":   "x-gzip;q=1,chunked",
		"":                      "",
		"identity , chunked  ,": "identity,chunked,",
	} {
		if got := normalizeCodings(in); got != want {
			t.Errorf("normalizeCodings(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAnyHeaderNames(t *testing.T) {
	const head = "GET / HTTP/1.1\r\nBad Name: x\r\n(odd): y\r\n\r\n"
	if _, err := ReadRequestHead(bufio.NewReader(strings.NewReader(head)), 4096); err == nil || !strings.Contains(err.Error(), "validate_inbound_headers") {
		t.Errorf("strict read: error %v, want one naming validate_inbound_headers", err)
	}
	h, err := ReadRequestHead(bufio.NewReader(strings.NewReader(head)), 4096, AnyHeaderNames)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Headers.Get("Bad Name") + h.Headers.Get("(odd)"); got != "xy" {
		t.Errorf("lenient read: %v", h.Headers)
	}
	for _, bad := range []string{"GET / HTTP/1.1\r\n: empty name\r\n\r\n", "GET / HTTP/1.1\r\nNUL\x00: x\r\n\r\n"} {
		if _, err := ReadRequestHead(bufio.NewReader(strings.NewReader(bad)), 4096, AnyHeaderNames); err == nil {
			t.Errorf("%q: accepted even leniently", bad)
		}
	}
}

// TestIsTokenChar: the tchars of RFC 9110 §5.6.2 and nothing else.
func TestIsTokenChar(t *testing.T) {
	tests := []struct {
		chars string
		want  bool
	}{
		{"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", true},
		{"!#$%&'*+-.^_`|~", true},
		{" \t:\"(),/;<=>?@[\\]{}\x00\r\n\x7f\x80\xff", false},
	}
	n := 0
	for _, tt := range tests {
		for i := 0; i < len(tt.chars); i++ {
			if got := isTokenChar(tt.chars[i]); got != tt.want {
				t.Errorf("isTokenChar(%q) = %v", tt.chars[i], got)
			}
		}
	}
	for c := range 256 {
		if isTokenChar(byte(c)) {
			n++
		}
	}
	if n != 77 {
		t.Errorf("%d token characters, want 77", n)
	}
}

// TestHasSpaceOrControl: the byte loop answers as a check of the runes did,
// for valid and invalid UTF-8 alike.
func TestHasSpaceOrControl(t *testing.T) {
	runes := func(s string) bool {
		return strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f })
	}
	for _, s := range []string{"", "/", "/a b", "/a\tb", "/\x00", "/\x7f", "/\u00a0", "/é", "/\xff\xfe", "/\u2028", "http://x/?q=1#f", "/\x1f", "/\xc2\x85"} {
		if got, want := hasSpaceOrControl(s), runes(s); got != want {
			t.Errorf("hasSpaceOrControl(%q) = %v, want %v", s, got, want)
		}
		if got, want := trimSpaces("  "+s+" "), strings.Trim("  "+s+" ", " "); got != want {
			t.Errorf("trimSpaces(%q) = %q, want %q", "  "+s+" ", got, want)
		}
	}
}
