package flow

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// maxDecodedSize bounds what a decoder may produce, so a small "zip bomb"
// body cannot exhaust memory when an addon asks for decoded content.
const maxDecodedSize = 1 << 30

// SupportedEncodings are the Content-Encoding values mitmgo can decode and
// encode, as mitmproxy supports them.
var SupportedEncodings = []string{"gzip", "deflate", "br", "zstd", "identity"}

// IsSupportedEncoding reports whether enc (case-insensitive, trimmed) is one of
// SupportedEncodings or empty.
func IsSupportedEncoding(enc string) bool {
	switch normEncoding(enc) {
	case "", "identity", "gzip", "x-gzip", "deflate", "br", "zstd":
		return true
	}
	return false
}

func normEncoding(enc string) string {
	return strings.ToLower(strings.TrimSpace(enc))
}

// DecodeContent removes the content-encoding enc from data.
func DecodeContent(enc string, data []byte) ([]byte, error) {
	var r io.Reader
	if len(data) == 0 && IsSupportedEncoding(enc) {
		// mitmproxy's decoders all map an empty body to an empty body (a
		// HEAD response or a 304 carries the encoding header but no data);
		// brotli and zstd would otherwise report a truncated stream.
		return []byte{}, nil
	}
	switch normEncoding(enc) {
	case "", "identity", "none":
		return data, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("invalid gzip body: %w", err)
		}
		defer zr.Close()
		r = zr
	case "deflate":
		// "deflate" is zlib-wrapped by the RFC, but many servers send raw
		// deflate; accept both, as browsers and mitmproxy do.
		if zr, err := zlib.NewReader(bytes.NewReader(data)); err == nil {
			out, err := readBounded(zr)
			zr.Close()
			if err == nil {
				return out, nil
			}
		}
		fr := flate.NewReader(bytes.NewReader(data))
		defer fr.Close()
		r = fr
	case "br":
		r = brotli.NewReader(bytes.NewReader(data))
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxDecodedSize))
		if err != nil {
			return nil, fmt.Errorf("invalid zstd body: %w", err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("unsupported content-encoding %q", enc)
	}
	out, err := readBounded(r)
	if err != nil {
		return nil, fmt.Errorf("invalid %s body: %w", normEncoding(enc), err)
	}
	return out, nil
}

func readBounded(r io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, maxDecodedSize+1))
	if err != nil {
		return nil, err
	}
	if n > maxDecodedSize {
		return nil, fmt.Errorf("decoded body larger than %d bytes", maxDecodedSize)
	}
	return buf.Bytes(), nil
}

// EncodeContent applies the content-encoding enc to data.
func EncodeContent(enc string, data []byte) ([]byte, error) {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch normEncoding(enc) {
	case "", "identity", "none":
		return data, nil
	case "gzip", "x-gzip":
		// mitmproxy re-encodes with fast settings: an addon that rewrites a
		// body should not pay for maximum compression.
		w, _ = gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	case "deflate":
		w, _ = zlib.NewWriterLevel(&buf, zlib.BestSpeed)
	case "br":
		w = brotli.NewWriterLevel(&buf, 1)
	case "zstd":
		zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		w = zw
	default:
		return nil, fmt.Errorf("unsupported content-encoding %q", enc)
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
