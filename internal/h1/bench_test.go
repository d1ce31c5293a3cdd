package h1

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

// browserRequest is what Firefox sends for a page load through a proxy.
const browserRequest = "GET https://www.example.com/articles/2024/index.html?utm_source=feed HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Connection: keep-alive\r\n" +
	"Cookie: session=7f9a3c2e1b0d4e8f; theme=dark; _ga=GA1.2.1234567890.1700000000\r\n" +
	"Upgrade-Insecure-Requests: 1\r\n" +
	"Sec-Fetch-Dest: document\r\n" +
	"Sec-Fetch-Mode: navigate\r\n" +
	"Sec-Fetch-Site: none\r\n" +
	"Sec-Fetch-User: ?1\r\n" +
	"Priority: u=0, i\r\n" +
	"\r\n"

const serverResponse = "HTTP/1.1 200 OK\r\n" +
	"Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n" +
	"Content-Type: text/html; charset=UTF-8\r\n" +
	"Content-Length: 1256\r\n" +
	"Connection: keep-alive\r\n" +
	"Cache-Control: max-age=604800\r\n" +
	"Content-Encoding: gzip\r\n" +
	"Etag: \"3147526947+gzip\"\r\n" +
	"Expires: Tue, 21 Nov 2023 22:13:20 GMT\r\n" +
	"Last-Modified: Thu, 17 Oct 2019 07:18:26 GMT\r\n" +
	"Server: ECAcc (nyd/D184)\r\n" +
	"Vary: Accept-Encoding\r\n" +
	"X-Cache: HIT\r\n" +
	"\r\n"

func BenchmarkReadRequestHead(b *testing.B) {
	r := bytes.NewReader([]byte(browserRequest))
	br := bufio.NewReader(r)
	b.SetBytes(int64(len(browserRequest)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset([]byte(browserRequest))
		br.Reset(r)
		if _, err := ReadRequestHead(br, DefaultMaxHeaderBytes); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadResponseHead(b *testing.B) {
	r := bytes.NewReader([]byte(serverResponse))
	br := bufio.NewReader(r)
	b.SetBytes(int64(len(serverResponse)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset([]byte(serverResponse))
		br.Reset(r)
		if _, err := ReadResponseHead(br, DefaultMaxHeaderBytes); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteRequestHead(b *testing.B) {
	h, err := ReadRequestHead(bufio.NewReader(bytes.NewReader([]byte(browserRequest))), DefaultMaxHeaderBytes)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(io.Discard)
	b.SetBytes(int64(len(browserRequest)))
	b.ReportAllocs()
	for b.Loop() {
		WriteRequestHead(w, h.Method, h.Target, h.Proto, h.Headers)
		w.Flush()
	}
}

func BenchmarkChunkedReader(b *testing.B) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	chunk := bytes.Repeat([]byte("x"), 8192)
	for range 16 {
		WriteChunk(w, chunk)
	}
	WriteLastChunk(w, flow.Headers(nil))
	w.Flush()
	data := buf.Bytes()
	r := bytes.NewReader(data)
	br := bufio.NewReader(r)
	b.SetBytes(16 * 8192)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(data)
		br.Reset(r)
		if _, err := io.Copy(io.Discard, NewChunkedReader(br)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResponseHeadChecks is what the proxy does with every response
// head besides reading it: validate_inbound_headers' checks, then the
// body's framing.
func BenchmarkResponseHeadChecks(b *testing.B) {
	rh, err := ReadResponseHead(bufio.NewReader(bytes.NewReader([]byte(serverResponse))), DefaultMaxHeaderBytes)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateResponse(rh.Proto, rh.Status, rh.Headers); err != nil {
			b.Fatal(err)
		}
		if f, err := ResponseFraming("GET", rh.Status, rh.Headers); err != nil || f.Length != 1256 {
			b.Fatal(f, err)
		}
	}
}
