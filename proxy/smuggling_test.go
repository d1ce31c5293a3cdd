package proxy_test

import (
	"bufio"
	"html"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// Issue 18, items 5 and 6: framing that parsers along a chain could read
// differently (RFC 9112 §6, §11.2) is refused, a malformed chunked body is
// answered (400 from the client, 502 from the server) with its reason, and
// what the proxy does forward reaches the other side byte for byte as the
// tables say.

// smuggleRow is one message through the proxy.
type smuggleRow struct {
	name string
	// lenient turns validate_inbound_headers off; stream makes an addon
	// stream the bodies (forwarded as they arrive, not buffered).
	lenient, stream bool
	// in is what the client (request table) or the origin (response table)
	// sends; {O} stands for the origin's address.
	in string
	// status is the one the client gets, 0 for none (the connection
	// closes without an answer); -1 (response table): the client gets a
	// prefix of out, maybe none of it, and never a complete message.
	status int
	// reason is in the error page and in the flow's error, when there is
	// one (for refusals of a head there is no flow).
	reason string
	// out is what reaches the other side, byte for byte: the origin
	// (request table, "" for nothing: no connection at all) or the client
	// (response table, checked when the status is not an error).
	out string
	// bodyErr (request table): the refusal is of the body, so the flow
	// has begun and its error must give the reason too.
	bodyErr bool
}

// post is a request with the given header lines (each ending in CRLF) and
// body, sent by the client; fwd is the same request as the proxy forwards
// it.
func post(headers, body string) string {
	return "POST http://{O}/ HTTP/1.1\r\nHost: {O}\r\n" + headers + "Connection: close\r\n\r\n" + body
}

func fwd(headers, body string) string {
	return "POST / HTTP/1.1\r\nHost: {O}\r\n" + headers + "Connection: close\r\n\r\n" + body
}

const (
	chunkedHello = "5\r\nhello\r\n0\r\n\r\n"
	teChunked    = "Transfer-Encoding: chunked\r\n"
)

func TestSmugglingRequests(t *testing.T) {
	for _, row := range smuggleRequestRows() {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			runSmuggleRequest(t, row)
		})
	}
}

func TestSmugglingResponses(t *testing.T) {
	for _, row := range smuggleResponseRows() {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			runSmuggleResponse(t, row)
		})
	}
}

// smuggleRequestRows is the request table: what the client sends, what the
// origin gets.
func smuggleRequestRows() []smuggleRow {
	return []smuggleRow{
		// Baselines.
		{name: "Content-Length", in: post("Content-Length: 5\r\n", "hello"), status: 200, out: fwd("Content-Length: 5\r\n", "hello")},
		{name: "chunked", in: post(teChunked, chunkedHello), status: 200, out: fwd(teChunked, chunkedHello)},
		{name: "chunked, re-encoded as one chunk", in: post(teChunked, "2;ext=1\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n"), status: 200, out: fwd(teChunked, chunkedHello)},
		{name: "chunked with trailers", in: post(teChunked, "5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"), status: 200, out: fwd(teChunked, "5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n")},
		{name: "gzip, chunked", in: post("Transfer-Encoding: gzip, chunked\r\n", chunkedHello), status: 200, out: fwd("Transfer-Encoding: gzip, chunked\r\n", chunkedHello)},
		{name: "no body", in: post("", ""), status: 200, out: fwd("", "")},

		// Content-Length and Transfer-Encoding together.
		{name: "CL then TE", in: post("Content-Length: 3\r\n"+teChunked, chunkedHello), status: 400, reason: "both a Transfer-Encoding and a Content-Length header"},
		{name: "TE then CL", in: post(teChunked+"Content-Length: 3\r\n", chunkedHello), status: 400, reason: "both a Transfer-Encoding and a Content-Length header"},
		{name: "CL and TE identity", in: post("Content-Length: 5\r\nTransfer-Encoding: identity\r\n", "hello"), status: 400, reason: "both a Transfer-Encoding and a Content-Length header"},
		// Lenient: framed by Transfer-Encoding and forwarded with both,
		// as mitmproxy does.
		{name: "CL and TE, lenient", lenient: true, in: post("Content-Length: 3\r\n"+teChunked, chunkedHello), status: 200, out: fwd("Content-Length: 3\r\n"+teChunked, chunkedHello)},

		// Obfuscated Transfer-Encoding.
		{name: "TE xchunked", in: post("Transfer-Encoding: xchunked\r\n", chunkedHello), status: 400, reason: `unsupported Transfer-Encoding "xchunked"`},
		{name: "TE xchunked, lenient", lenient: true, in: post("Transfer-Encoding: xchunked\r\n", chunkedHello), status: 400, reason: `unsupported Transfer-Encoding "xchunked"`},
		{name: "TE with leading spaces", in: post("Transfer-Encoding:   chunked\r\n", chunkedHello), status: 200, out: fwd(teChunked, chunkedHello)},
		{name: "TE with tabs around", in: post("Transfer-Encoding:\tchunked\t\r\n", chunkedHello), status: 200, out: fwd(teChunked, chunkedHello)},
		{name: "TE chunked with a trailing comma", in: post("Transfer-Encoding: chunked ,\r\n", chunkedHello), status: 400, reason: `unsupported Transfer-Encoding "chunked ,"`},
		{name: "TE upper case", in: post("TRANSFER-ENCODING: CHUNKED\r\n", chunkedHello), status: 200, out: fwd("TRANSFER-ENCODING: CHUNKED\r\n", chunkedHello)},
		{name: "TE mixed case", in: post("transfer-Encoding: cHuNkEd\r\n", chunkedHello), status: 200, out: fwd("transfer-Encoding: cHuNkEd\r\n", chunkedHello)},
		{name: "TE space before the colon", in: post("Transfer-Encoding : chunked\r\n", chunkedHello), status: 400, reason: `invalid header name "Transfer-Encoding "`},
		// Lenient: another field, as in mitmproxy; no body.
		{name: "TE space before the colon, lenient", lenient: true, in: post("Transfer-Encoding : chunked\r\n", ""), status: 200, out: fwd("Transfer-Encoding : chunked\r\n", "")},
		{name: "TE identity, chunked", in: post("Transfer-Encoding: identity, chunked\r\n", chunkedHello), status: 400, reason: `unsupported Transfer-Encoding "identity, chunked"`},
		{name: "TE identity, chunked, lenient", lenient: true, in: post("Transfer-Encoding: identity, chunked\r\n", chunkedHello), status: 400, reason: `unsupported Transfer-Encoding "identity, chunked"`},
		{name: "TE chunked twice in one field", in: post("Transfer-Encoding: chunked, chunked\r\n", chunkedHello), status: 400, reason: "unsupported Transfer-Encoding"},
		{name: "two TE fields", in: post(teChunked+teChunked, chunkedHello), status: 400, reason: "received 2 Transfer-Encoding headers"},
		{name: "two TE fields, lenient", lenient: true, in: post(teChunked+teChunked, chunkedHello), status: 400, reason: `unsupported Transfer-Encoding "chunked, chunked"`},
		{name: "TE identity then TE chunked", in: post("Transfer-Encoding: identity\r\n"+teChunked, chunkedHello), status: 400, reason: "received 2 Transfer-Encoding headers"},
		{name: "TE gzip then TE chunked", in: post("Transfer-Encoding: gzip\r\n"+teChunked, chunkedHello), status: 400, reason: "received 2 Transfer-Encoding headers"},
		{name: "TE gzip then TE chunked, lenient", lenient: true, in: post("Transfer-Encoding: gzip\r\n"+teChunked, chunkedHello), status: 200, out: fwd("Transfer-Encoding: gzip\r\n"+teChunked, chunkedHello)},
		{name: "TE identity", in: post("Transfer-Encoding: identity\r\n", ""), status: 400, reason: "does not end in chunked"},
		{name: "TE gzip", in: post("Transfer-Encoding: gzip\r\n", ""), status: 400, reason: "does not end in chunked"},
		{name: "TE chunked, gzip", in: post("Transfer-Encoding: chunked, gzip\r\n", ""), status: 400, reason: "unsupported Transfer-Encoding"},
		{name: "empty TE", in: post("Transfer-Encoding: \r\n", ""), status: 400, reason: "unsupported Transfer-Encoding"},
		{name: "TE with a vertical tab", in: post("Transfer-Encoding: chunked\v\r\n", chunkedHello), status: 400, reason: "unsupported Transfer-Encoding"},
		{name: "TE with the Kelvin sign", in: post("Transfer-Encoding: chun\u212aed\r\n", chunkedHello), status: 400, reason: "unsupported Transfer-Encoding"},
		{name: "TE name with a long s", in: post("Tran\u017ffer-Encoding: chunked\r\nContent-Length: 5\r\n", "hello"), status: 400, reason: "invalid header name"},
		// Lenient: not Transfer-Encoding (ASCII case only), so framed
		// by Content-Length, and the body must go out as it came.
		{name: "TE name with a long s, lenient", lenient: true, in: post("Tran\u017ffer-Encoding: chunked\r\nContent-Length: 5\r\n", "hello"), status: 200,
			out: fwd("Tran\u017ffer-Encoding: chunked\r\nContent-Length: 5\r\n", "hello")},
		{name: "TE in HTTP/1.0", in: strings.Replace(post(teChunked, chunkedHello), "HTTP/1.1", "HTTP/1.0", 1), status: 400, reason: "in an HTTP/1.0 request"},
		{name: "TE in HTTP/1.0, lenient", lenient: true, in: strings.Replace(post(teChunked, chunkedHello), "HTTP/1.1", "HTTP/1.0", 1), status: 200,
			out: strings.Replace(fwd(teChunked, chunkedHello), "HTTP/1.1", "HTTP/1.0", 1)},

		// obs-fold: unfolded with one space, as RFC 9112 §5.2 asks of a
		// proxy, so the next hop reads what the proxy read.
		{name: "obs-fold TE value", in: post("Transfer-Encoding:\r\n chunked\r\n", chunkedHello), status: 200, out: fwd(teChunked, chunkedHello)},
		{name: "obs-fold TE list", in: post("Transfer-Encoding: gzip,\r\n\tchunked\r\n", chunkedHello), status: 200, out: fwd("Transfer-Encoding: gzip, chunked\r\n", chunkedHello)},
		{name: "obs-fold hiding a TE line", in: post("X-Foo: bar\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "hello"), status: 200,
			out: fwd("X-Foo: bar Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "hello")},
		{name: "obs-fold first", in: "POST http://{O}/ HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: {O}\r\nConnection: close\r\n\r\n" + chunkedHello, status: 400, reason: "invalid header continuation line"},

		// Content-Length.
		{name: "CL list of equal values", in: post("Content-Length: 5, 5\r\n", "hello"), status: 400, reason: `invalid Content-Length "5, 5"`},
		{name: "CL list of equal values, lenient", lenient: true, in: post("Content-Length: 5, 5\r\n", "hello"), status: 400, reason: `invalid Content-Length "5, 5"`},
		{name: "CL list of differing values", in: post("Content-Length: 5, 6\r\n", "hello"), status: 400, reason: `invalid Content-Length "5, 6"`},
		{name: "CL fields differing", in: post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello"), status: 400, reason: "conflicting Content-Length headers"},
		// RFC 9110 §8.6; mitmproxy 8.1.1 accepts them too.
		{name: "CL fields equal", in: post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"), status: 200, out: fwd("Content-Length: 5\r\nContent-Length: 5\r\n", "hello")},
		{name: "CL +5", in: post("Content-Length: +5\r\n", "hello"), status: 400, reason: `invalid Content-Length "+5"`},
		{name: "CL -1", in: post("Content-Length: -1\r\n", "hello"), status: 400, reason: `invalid Content-Length "-1"`},
		{name: "CL 0x5", in: post("Content-Length: 0x5\r\n", "hello"), status: 400, reason: `invalid Content-Length "0x5"`},
		{name: "CL with a leading zero", in: post("Content-Length: 05\r\n", "hello"), status: 400, reason: `invalid Content-Length "05"`},
		{name: "CL huge", in: post("Content-Length: 99999999999999999999\r\n", "hello"), status: 400, reason: "(too large)"},
		{name: "CL with a space inside", in: post("Content-Length: 5 5\r\n", "hello"), status: 400, reason: `invalid Content-Length "5 5"`},
		{name: "CL with spaces around", in: post("Content-Length:  5 \t\r\n", "hello"), status: 200, out: fwd("Content-Length: 5\r\n", "hello")},

		// NUL and bare CR in the head: refused, validated or not.
		{name: "NUL in a value", in: post("X: a\x00b\r\nContent-Length: 5\r\n", "hello"), status: 400, reason: "invalid character (CR or NUL)"},
		{name: "NUL in a name, lenient", lenient: true, in: post("X\x00: y\r\n", ""), status: 400, reason: "invalid character (CR or NUL)"},
		{name: "bare CR before a TE", in: post("X: a\rTransfer-Encoding: chunked\r\nContent-Length: 5\r\n", "hello"), status: 400, reason: "invalid character (CR or NUL)"},
		{name: "bare CR after chunked", in: post("Transfer-Encoding: chunked\r\r\n", chunkedHello), status: 400, reason: "invalid character (CR or NUL)"},
		{name: "bare CR, lenient", lenient: true, in: post("X: a\rb\r\n", ""), status: 400, reason: "invalid character (CR or NUL)"},

		// Bare LF line endings: read, forwarded with CRLF.
		{name: "bare LF head", in: "POST http://{O}/ HTTP/1.1\nHost: {O}\nContent-Length: 5\nConnection: close\n\nhello", status: 200, out: fwd("Content-Length: 5\r\n", "hello")},
		{name: "bare LF in a chunked body", in: post(teChunked, "5\nhello\n0\n\n"), status: 200, out: fwd(teChunked, chunkedHello)},
		{name: "mixed line endings", in: "POST http://{O}/ HTTP/1.1\r\nHost: {O}\nTransfer-Encoding: chunked\r\nConnection: close\n\r\n" + chunkedHello, status: 200, out: fwd(teChunked, chunkedHello)},

		// Item 5: malformed chunked bodies are answered 400 with their
		// reason; nothing reaches the origin (the body is read first).
		{name: "chunk size too large", in: post(teChunked, "ffffffffffffffffff\r\nhello\r\n0\r\n\r\n"), status: 400, bodyErr: true, reason: `chunk size "ffffffffffffffffff" too large`},
		{name: "chunk size 0x5", in: post(teChunked, "0x5\r\nhello\r\n0\r\n\r\n"), status: 400, bodyErr: true, reason: `invalid chunk size "0x5"`},
		{name: "chunk size -5", in: post(teChunked, "-5\r\nhello\r\n0\r\n\r\n"), status: 400, bodyErr: true, reason: `invalid chunk size "-5"`},
		{name: "chunk size with a bare CR", in: post(teChunked, "5\r;x\r\nhello\r\n0\r\n\r\n"), status: 400, bodyErr: true, reason: "invalid character (CR or NUL) in chunk size line"},
		{name: "chunk data longer than its size", in: post(teChunked, "3\r\nhello\r\n0\r\n\r\n"), status: 400, bodyErr: true, reason: "chunk data longer than its size (3 bytes)"},
		{name: "no CRLF after chunk data", in: post(teChunked, "5\r\nhello0\r\n\r\n"), status: 400, bodyErr: true, reason: "chunk data longer than its size (5 bytes)"},
		{name: "bad trailer", in: post(teChunked, "5\r\nhello\r\n0\r\nBad Trailer\r\n\r\n"), status: 400, bodyErr: true, reason: `invalid trailer section: invalid header line "Bad Trailer"`},
		{name: "bad trailer name, lenient", lenient: true, in: post(teChunked, "5\r\nhello\r\n0\r\nBad Name: x\r\n\r\n"), status: 400, bodyErr: true, reason: `invalid trailer section: invalid header name "Bad Name"`},
		// Cut short: a disconnect, not a protocol error.
		{name: "chunked body cut short", in: post(teChunked, "5\r\nhel"), status: 0, bodyErr: true, reason: "client disconnected"},
		// Streamed: the head has gone to the origin when the body turns
		// out malformed; the client still gets its 400, the origin a
		// connection closed before the body ends.
		{name: "streamed, chunk size 0x5", stream: true, in: post(teChunked, "0x5\r\nhello\r\n0\r\n\r\n"), status: 400, bodyErr: true, reason: `invalid chunk size "0x5"`,
			out: fwd(teChunked, "")},
		{name: "streamed, chunk size too large", stream: true, in: post(teChunked, "ffffffffffffffffff\r\n"), status: 400, bodyErr: true, reason: "too large",
			out: fwd(teChunked, "")},
	}
}

// smuggleResponseRows is the response table: what the origin sends, what
// the client gets.
func smuggleResponseRows() []smuggleRow {
	const (
		okCL      = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
		okChunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
	)
	return []smuggleRow{
		// Baselines.
		{name: "Content-Length", in: okCL, status: 200, out: okCL},
		{name: "chunked", in: okChunked, status: 200, out: okChunked},
		{name: "chunked, re-encoded", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;x\r\no\r\n1\r\nk\r\n0\r\n\r\n", status: 200, out: okChunked},
		{name: "until close", in: "HTTP/1.1 200 OK\r\n\r\nuntil close", status: 200, out: "HTTP/1.1 200 OK\r\n\r\nuntil close"},

		// Content-Length and Transfer-Encoding together.
		{name: "CL and TE", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", status: 502, reason: "both a Transfer-Encoding and a Content-Length header"},
		{name: "CL and TE, lenient", lenient: true, in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", status: 200,
			out: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},

		// Transfer-Encoding: 502 where mitmproxy does not know the
		// codings, never read until close.
		{name: "TE chunked and TE identity", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n2\r\nok\r\n0\r\n\r\n", status: 502, reason: "received 2 Transfer-Encoding headers"},
		{name: "TE chunked and TE identity, lenient", lenient: true, in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n2\r\nok\r\n0\r\n\r\n", status: 502, reason: `unsupported Transfer-Encoding "chunked, identity"`},
		{name: "TE chunked, identity", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n2\r\nok\r\n0\r\n\r\n", status: 502, reason: `unsupported Transfer-Encoding "chunked, identity"`},
		{name: "TE xchunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", status: 502, reason: `unsupported Transfer-Encoding "xchunked"`},
		{name: "TE xchunked, lenient", lenient: true, in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", status: 502, reason: `unsupported Transfer-Encoding "xchunked"`},
		{name: "TE chunked with a trailing comma", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,\r\n\r\n2\r\nok\r\n0\r\n\r\n", status: 502, reason: "unsupported Transfer-Encoding"},
		{name: "TE with tabs and case", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding:\t Chunked \t\r\n\r\n2\r\nok\r\n0\r\n\r\n", status: 200, out: "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
		{name: "TE identity: until close", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nuntil close", status: 200, out: "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nuntil close"},
		{name: "TE gzip: until close", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nuntil close", status: 200, out: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nuntil close"},
		{name: "TE chunked, gzip", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nuntil close", status: 502, reason: "unsupported Transfer-Encoding"},
		{name: "TE in HTTP/1.0", in: "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", status: 502, reason: "in an HTTP/1.0 response"},
		{name: "TE in a 204", in: "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n", status: 502, reason: "in a 204 response"},
		{name: "TE in a 204, lenient", lenient: true, in: "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n", status: 204, out: "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n"},

		// Content-Length.
		{name: "CL list of equal values", in: "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok", status: 502, reason: `invalid Content-Length "2, 2"`},
		{name: "CL fields differing", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", status: 502, reason: "conflicting Content-Length headers"},
		{name: "CL fields equal", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", status: 200, out: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"},
		{name: "CL +2", in: "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok", status: 502, reason: `invalid Content-Length "+2"`},
		{name: "CL -1", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok", status: 502, reason: `invalid Content-Length "-1"`},
		{name: "CL 0x2", in: "HTTP/1.1 200 OK\r\nContent-Length: 0x2\r\n\r\nok", status: 502, reason: `invalid Content-Length "0x2"`},
		{name: "CL huge", in: "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nok", status: 502, reason: "(too large)"},
		{name: "CL invalid in a 304", in: "HTTP/1.1 304 Not Modified\r\nContent-Length: x\r\n\r\n", status: 502, reason: `invalid Content-Length "x"`},
		{name: "CL invalid in a 304, lenient", lenient: true, in: "HTTP/1.1 304 Not Modified\r\nContent-Length: x\r\n\r\n", status: 304, out: "HTTP/1.1 304 Not Modified\r\nContent-Length: x\r\n\r\n"},

		// The head's characters and line endings.
		{name: "NUL in a value", in: "HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 2\r\n\r\nok", status: 502, reason: "invalid character (CR or NUL)"},
		{name: "bare CR in a value", in: "HTTP/1.1 200 OK\r\nX: a\rContent-Length: 0\r\nContent-Length: 2\r\n\r\nok", status: 502, reason: "invalid character (CR or NUL)"},
		{name: "obs-fold", in: "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 2\r\n\r\nok", status: 200, out: "HTTP/1.1 200 OK\r\nX: a b\r\nContent-Length: 2\r\n\r\nok"},
		{name: "bare LF", in: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", status: 200, out: okCL},

		// Item 5 for responses: a malformed chunked body is a 502 with
		// its reason, not a disconnect.
		{name: "chunk size 0x2", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\nok\r\n0\r\n\r\n", status: 502, reason: `invalid chunk size "0x2"`},
		{name: "chunk size too large", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", status: 502, reason: "too large"},
		{name: "chunk data longer than its size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nok\r\n0\r\n\r\n", status: 502, reason: "chunk data longer than its size (1 bytes)"},
		{name: "bad trailer", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nBad Trailer\r\n\r\n", status: 502, reason: "invalid trailer section"},
		{name: "chunked body cut short", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\no", status: 502, reason: "disconnected"},
		// Streamed: the head may have gone to the client, which then sees
		// the connection close before the body ends (no last chunk).
		{name: "streamed, chunk size 0x2", stream: true, in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\nok\r\n0\r\n\r\n", status: -1, reason: `invalid chunk size "0x2"`,
			out: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"},
	}
}

// smuggleAddon records flow errors and, when stream is set, streams the
// bodies.
type smuggleAddon struct {
	stream bool
	mu     sync.Mutex
	errors []string
}

func (a *smuggleAddon) RequestHeaders(f *flow.HTTPFlow) {
	if a.stream {
		f.Request.Stream = true
	}
}

func (a *smuggleAddon) ResponseHeaders(f *flow.HTTPFlow) {
	if a.stream {
		f.Response.Stream = true
	}
}

func (a *smuggleAddon) Error(f *flow.HTTPFlow) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errors = append(a.errors, f.Error.Msg)
}

func (a *smuggleAddon) errorMsgs() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.errors...)
}

// startSmuggleProxy starts a proxy for row with its addon.
func startSmuggleProxy(t *testing.T, row smuggleRow) (string, *smuggleAddon) {
	t.Helper()
	a := &smuggleAddon{stream: row.stream}
	var sets []string
	if row.lenient {
		sets = append(sets, "validate_inbound_headers=false")
	}
	return startProxyAddons(t, []any{a}, sets...), a
}

// smuggleOrigin records what it receives. After a request (read with the
// simple framing of testutil.ReadRequest) it sends answer and half-closes,
// then reads until the proxy closes; done counts the connections handled
// so.
func smuggleOrigin(t *testing.T, answer string) (*testutil.RawOrigin, *atomic.Int32) {
	done := new(atomic.Int32)
	o := testutil.StartRawOrigin(t, func(c net.Conn, r *bufio.Reader) {
		defer done.Add(1)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := testutil.ReadRequest(r); err == nil {
			io.WriteString(c, answer)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
		}
		_, _ = io.Copy(io.Discard, r)
	})
	return o, done
}

// smuggleClient sends raw to the proxy, half-closes, and returns all it
// gets until the proxy closes, and the status of the first line (0 for
// none).
func smuggleClient(t *testing.T, addr, raw string) (string, int) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	// Read one response, whole, or what comes until the proxy closes. The
	// client must not half-close to end the exchange: a client that shuts
	// its side while the server makes it wait is a client gone, as in
	// mitmproxy, and on a loaded machine the wait can pass watchDelay.
	var got strings.Builder
	if resp, err := http.ReadResponse(bufio.NewReader(io.TeeReader(c, &got)), nil); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	out := got.String()
	status := 0
	if line, _, ok := strings.Cut(string(out), "\r\n"); ok && len(line) >= 12 && strings.HasPrefix(line, "HTTP/1.") {
		status, _ = strconv.Atoi(line[9:12])
	}
	return string(out), status
}

// checkReason checks the reason of a refusal: in the error page, and in
// the flow's error when the flow got that far (needFlow: it must have).
func checkReason(t *testing.T, row smuggleRow, got string, a *smuggleAddon, needFlow bool) {
	t.Helper()
	if row.reason == "" {
		if errs := a.errorMsgs(); len(errs) > 0 {
			t.Errorf("flow error %q", errs)
		}
		return
	}
	if row.status >= 400 {
		if _, page, _ := strings.Cut(got, "\r\n\r\n"); !strings.Contains(html.UnescapeString(page), row.reason) {
			t.Errorf("error page does not give the reason %q:\n%s", row.reason, got)
		}
	}
	errs := a.errorMsgs()
	if needFlow {
		testutil.Eventually(t, 5*time.Second, func() bool { errs = a.errorMsgs(); return len(errs) > 0 }, "no flow error, want one with %q", row.reason)
	}
	if len(errs) == 0 {
		return
	}
	if !strings.Contains(errs[0], row.reason) {
		t.Errorf("flow error %q, want the reason %q", errs, row.reason)
	}
	if !strings.Contains(row.reason, "disconnected") && strings.Contains(errs[0], "disconnected") {
		t.Errorf("flow error %q calls a malformed message a disconnect", errs[0])
	}
}

func runSmuggleRequest(t *testing.T, row smuggleRow) {
	addr, a := startSmuggleProxy(t, row)
	const answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	origin, done := smuggleOrigin(t, answer)
	o := origin.Addr
	got, status := smuggleClient(t, addr, strings.ReplaceAll(row.in, "{O}", o))
	if status != row.status {
		t.Errorf("client got status %d, want %d:\n%q", status, row.status, got)
	}
	if row.status == 200 && got != answer {
		t.Errorf("client got\n%q\nwant\n%q", got, answer)
	}
	checkReason(t, row, got, a, row.bodyErr)
	if row.out == "" {
		if n := origin.Conns(); n != 0 {
			t.Errorf("the origin got %d connections, want none; it got %q", n, origin.Received(0))
		}
		return
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return done.Load() == 1 }, "the origin's connection did not end")
	if want, rcv := strings.ReplaceAll(row.out, "{O}", o), string(origin.Received(0)); rcv != want {
		t.Errorf("origin got\n%q\nwant\n%q", rcv, want)
	}
	if n := origin.Conns(); n != 1 {
		t.Errorf("the origin got %d connections, want 1", n)
	}
}

func runSmuggleResponse(t *testing.T, row smuggleRow) {
	addr, a := startSmuggleProxy(t, row)
	origin, done := smuggleOrigin(t, row.in)
	o := origin.Addr
	got, status := smuggleClient(t, addr, "GET http://"+o+"/ HTTP/1.1\r\nHost: "+o+"\r\nConnection: close\r\n\r\n")
	switch {
	case row.status == -1:
		if !strings.HasPrefix(row.out, got) {
			t.Errorf("client got\n%q\nwant a prefix of\n%q", got, row.out)
		}
	case status != row.status:
		t.Errorf("client got status %d, want %d:\n%q", status, row.status, got)
	case row.status < 400 && got != row.out:
		t.Errorf("client got\n%q\nwant\n%q", got, row.out)
	}
	checkReason(t, row, got, a, true)
	testutil.Eventually(t, 5*time.Second, func() bool { return done.Load() == 1 }, "the origin's connection did not end")
	if want, rcv := "GET / HTTP/1.1\r\nHost: "+o+"\r\nConnection: close\r\n\r\n", string(origin.Received(0)); rcv != want {
		t.Errorf("origin got\n%q\nwant\n%q", rcv, want)
	}
}
