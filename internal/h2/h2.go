// Package h2 is mitmgo's HTTP/2 wire layer (RFC 9113) for both sides of an
// intercepting proxy: ServerConn serves a client that talks HTTP/2 to the
// proxy, ClientConn talks HTTP/2 to an upstream server. It only reads and
// writes HTTP/2 — header blocks, DATA, trailers, resets — and knows nothing
// of flows or addons.
//
// Framing and HPACK come from golang.org/x/net/http2 (Framer) and
// golang.org/x/net/http2/hpack; the connection logic is our own because
// net/http's and x/net's client and server canonicalise and reorder header
// fields and hide frames, while a proxy must forward a header block as it
// travelled (RFC 7541 §6.2.3 even requires an intermediary to keep
// never-indexed fields never-indexed).
//
// Design, in brief:
//   - One read loop per connection decodes frames and never blocks on the
//     network writer: the frames it must send (SETTINGS ACK, PING ACK,
//     WINDOW_UPDATE, RST_STREAM, GOAWAY) go to a control queue drained by
//     whoever holds the writer next, or by a small control goroutine. Two
//     peers that both stop reading while writing therefore cannot deadlock.
//   - All writes go through one mutex-guarded bufio.Writer which is flushed
//     only when no other writer is waiting, so concurrent streams share
//     syscalls.
//   - Receive flow control: connection-level credit is returned as DATA
//     arrives; stream-level credit only as the application reads. Memory is
//     bounded by the per-stream windows, and one stream whose reader stalls
//     never holds up the others.
//   - Send flow control honours the peer's stream and connection windows and
//     its SETTINGS_INITIAL_WINDOW_SIZE changes.
//
// Error messages follow mitmproxy 12 (mitmproxy/proxy/layers/http/_http2.py)
// so that flow errors read the same.
package h2

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/net/http2"
)

// Field is one header field as it travelled: pseudo-header fields first,
// order and duplicates kept, names as sent.
type Field struct {
	Name, Value string
	// Sensitive marks a field HPACK must never index (RFC 7541 §6.2.3). It
	// is set on received fields that came never-indexed, and an intermediary
	// must send them on the same way.
	Sensitive bool
}

// Settings configures one connection. Zero fields take the defaults below.
type Settings struct {
	// MaxConcurrentStreams is how many streams the peer may open at once
	// (server side; SETTINGS_MAX_CONCURRENT_STREAMS). Default 100.
	MaxConcurrentStreams uint32
	// InitialWindowSize is the per-stream receive window we advertise
	// (SETTINGS_INITIAL_WINDOW_SIZE). It bounds what one stream buffers when
	// its reader is slow. Default DefaultInitialWindowSize; at least 65,535,
	// because a peer may send that much before it has seen our SETTINGS
	// (RFC 9113 §6.9.2).
	InitialWindowSize uint32
	// MaxFrameSize is the largest frame payload we accept
	// (SETTINGS_MAX_FRAME_SIZE), 16 KiB to 16 MiB-1. Default 16 KiB.
	MaxFrameSize uint32
	// MaxHeaderListSize bounds a received header block, counted as RFC 9113
	// §6.5.2 does (name + value + 32 per field). Default 256 KiB.
	MaxHeaderListSize uint32
	// PingInterval: after this long without receiving a frame, send a PING;
	// close the connection if neither the answer nor any other frame arrives
	// within another interval. 0 disables it. mitmproxy's
	// http2_ping_keepalive (DefaultPingInterval) applies it to connections
	// to servers only.
	PingInterval time.Duration
}

// Defaults for Settings.
const (
	DefaultMaxConcurrentStreams = 100
	// DefaultInitialWindowSize: one stream's throughput is about
	// window/RTT (BenchmarkWindowRTT at 20 ms: 64 KiB ≈ 2.7 MB/s, 1 MiB ≈
	// 30 MB/s, 4 MiB ≈ 130 MB/s), and a connection buffers at most
	// MaxConcurrentStreams windows for readers that do not read: 1 MiB
	// balances the two. (mitmproxy advertises 2^31-1, i.e. no bound.)
	DefaultInitialWindowSize = 1 << 20
	// DefaultMaxFrameSize: larger frames measured no faster on loopback
	// (BenchmarkBulk) and make streams wait longer behind each other.
	DefaultMaxFrameSize      = 16 << 10
	DefaultMaxHeaderListSize = 256 << 10
	// DefaultPingInterval is mitmproxy's http2_ping_keepalive default.
	DefaultPingInterval = 58 * time.Second
)

const (
	minMaxFrameSize = 1 << 14
	maxMaxFrameSize = 1<<24 - 1
	maxWindow       = 1<<31 - 1
	initialWindow   = 65535 // RFC 9113 §6.9.2, before SETTINGS
)

func (s Settings) withDefaults() Settings {
	if s.MaxConcurrentStreams == 0 {
		s.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	if s.InitialWindowSize == 0 {
		s.InitialWindowSize = DefaultInitialWindowSize
	}
	s.InitialWindowSize = max(min(s.InitialWindowSize, maxWindow), initialWindow)
	if s.MaxFrameSize == 0 {
		s.MaxFrameSize = DefaultMaxFrameSize
	}
	s.MaxFrameSize = max(min(s.MaxFrameSize, maxMaxFrameSize), minMaxFrameSize)
	if s.MaxHeaderListSize == 0 {
		s.MaxHeaderListSize = DefaultMaxHeaderListSize
	}
	if s.PingInterval < 0 {
		s.PingInterval = 0
	}
	return s
}

// connWindow is the connection-level receive window. Credit is returned on
// receipt, so it only has to cover what is in flight on the wire, not what
// streams buffer; a few stream windows' worth keeps a fast link busy.
func (s Settings) connWindow() uint32 {
	return uint32(min(4*uint64(s.InitialWindowSize), maxWindow))
}

// codeName names an error code as mitmproxy does (h2's ErrorCodes enum
// names; a code outside it as its decimal value).
func codeName(c http2.ErrCode) string {
	if c <= http2.ErrCodeHTTP11Required {
		return c.String()
	}
	return strconv.FormatUint(uint64(c), 10)
}

// StreamError ends one stream: a RST_STREAM we received (Remote) or sent,
// or a malformed message we detected (Reason says what; we reset the
// stream with Code).
type StreamError struct {
	StreamID uint32
	Code     http2.ErrCode
	Remote   bool
	Reason   string
}

func (e *StreamError) Error() string {
	switch {
	case e.Remote:
		// mitmproxy words every received RST_STREAM this way, also on
		// connections to servers.
		return "stream reset by client (" + codeName(e.Code) + ")"
	case e.Reason != "":
		return "HTTP/2 protocol error: " + e.Reason
	default:
		return "stream reset (" + codeName(e.Code) + ")"
	}
}

// GoAwayError is a GOAWAY frame, received (Remote) or sent. A stream above
// LastStreamID was never processed by the peer and can be retried on another
// connection (see Retryable).
type GoAwayError struct {
	Code         http2.ErrCode
	LastStreamID uint32
	Debug        string
	Remote       bool
}

func (e *GoAwayError) Error() string {
	if !e.Remote {
		return fmt.Sprintf("HTTP/2 connection shutting down: GOAWAY sent (%s, last stream %d)", codeName(e.Code), e.LastStreamID)
	}
	// mitmproxy prints h2's ConnectionTerminated event, whose repr shows
	// the code as a number (IntEnum under Python ≥ 3.11) and at most 20
	// bytes of debug data in hex.
	data := "None"
	if e.Debug != "" {
		d := e.Debug
		if len(d) > 20 {
			d = d[:20]
		}
		data = hex.EncodeToString([]byte(d))
	}
	return fmt.Sprintf("HTTP/2 connection closed: <ConnectionTerminated error_code:%d, last_stream_id:%d, additional_data:%s>",
		uint32(e.Code), e.LastStreamID, data)
}

// ConnError is a connection-level protocol violation by the peer. We sent
// GOAWAY with Code and Reason as debug data, then closed the connection.
type ConnError struct {
	Code   http2.ErrCode
	Reason string
}

func (e *ConnError) Error() string { return "HTTP/2 protocol error: " + e.Reason }

func connErr(code http2.ErrCode, format string, args ...any) *ConnError {
	return &ConnError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

var (
	// ErrClosed: the connection was closed on our side (Close, Shutdown
	// done, or the context passed to Serve ended).
	ErrClosed = errors.New("h2: connection closed")
	// ErrPeerClosed: the peer closed the connection without GOAWAY while
	// streams were in flight (mitmproxy's wording).
	ErrPeerClosed = errors.New("peer closed connection")
	// ErrPingTimeout: a keepalive PING went unanswered.
	ErrPingTimeout = errors.New("h2: keepalive PING not answered")
	// ErrStreamClosed: writing to a stream whose sending half has ended.
	ErrStreamClosed = errors.New("h2: stream closed for writing")
	// ErrHeaderListTooLarge: a header block exceeds the peer's
	// SETTINGS_MAX_HEADER_LIST_SIZE; it was not sent.
	ErrHeaderListTooLarge = errors.New("h2: header list larger than the peer's SETTINGS_MAX_HEADER_LIST_SIZE")
	// ErrStreamIDsExhausted: the connection has used all client stream IDs.
	ErrStreamIDsExhausted = errors.New("h2: stream IDs exhausted")
)

// Retryable reports whether err means that a request was certainly not
// processed by the server, so it may be sent again on another connection: a
// GOAWAY whose last stream ID is below the stream's (or an OpenStream after
// GOAWAY), or a RST_STREAM with REFUSED_STREAM (RFC 9113 §8.7).
func Retryable(err error) bool {
	var g *GoAwayError
	if errors.As(err, &g) {
		return true
	}
	var s *StreamError
	return errors.As(err, &s) && s.Remote && s.Code == http2.ErrCodeRefusedStream
}
