// Package flow is mitmgo's flow model: HTTP flows with their requests and
// responses, header multidicts, decoded content views, the connections they
// travelled over, and conversion to and from mitmproxy's state dict (the
// format of flow files and of the Python script host's pipe).
//
// The package does no I/O. Its semantics follow mitmproxy's flow API so that
// Go addons and Python scripts see the same thing.
package flow

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/mitmgo/mitmgo/tnetstring"
)

// KilledMessage is the error message of a killed flow.
const KilledMessage = "Connection killed."

// ErrNotKillable is returned by Kill on a flow that is not live or was killed
// already.
var ErrNotKillable = errors.New("flow is not killable")

// Error is a failure that ended a flow (a broken upstream, a protocol error, a
// kill), as opposed to an HTTP error response.
type Error struct {
	Msg       string
	Timestamp float64
}

// NewError returns an Error stamped now.
func NewError(msg string) *Error { return &Error{Msg: msg, Timestamp: nowSeconds()} }

func (e *Error) Error() string { return e.Msg }

// Flow holds what every flow type shares.
type Flow struct {
	ID         string
	Error      *Error
	ClientConn *Client
	ServerConn *Server
	// Intercepted is true while the flow is paused.
	Intercepted bool
	// IsReplay is "", "request" (client replay) or "response" (server replay).
	IsReplay string
	// Marked is "" when unmarked; mitmproxy's default marker is ":default:".
	Marked string
	// Metadata is free-form data that addons attach; values must be
	// serialisable (nil, bool, int64, float64, string, []byte, []any,
	// map-like *Dict values of package tnetstring).
	Metadata         Metadata
	Comment          string
	TimestampCreated float64
	// Live is true while the flow belongs to an active connection.
	Live bool

	mu      sync.Mutex
	resumed chan struct{}
}

// Metadata is a flow's free-form metadata, kept in insertion order.
type Metadata struct {
	Keys   []string
	Values map[string]any
}

// Get returns the value stored under key.
func (m *Metadata) Get(key string) (any, bool) {
	v, ok := m.Values[key]
	return v, ok
}

// Set stores value under key.
func (m *Metadata) Set(key string, value any) {
	if m.Values == nil {
		m.Values = map[string]any{}
	}
	if _, ok := m.Values[key]; !ok {
		m.Keys = append(m.Keys, key)
	}
	m.Values[key] = value
}

// Len is the number of keys.
func (m *Metadata) Len() int { return len(m.Keys) }

// clone copies the metadata deeply: values of the serialisable types
// ([]byte, []any, *tnetstring.Dict) are copied, not shared.
func (m Metadata) clone() Metadata {
	c := Metadata{Keys: append([]string(nil), m.Keys...)}
	if m.Values != nil {
		c.Values = make(map[string]any, len(m.Values))
		for k, v := range m.Values {
			c.Values[k] = tnetstring.Clone(v)
		}
	}
	return c
}

func newFlow(client *Client, server *Server, live bool) Flow {
	return Flow{ID: NewID(), ClientConn: client, ServerConn: server, TimestampCreated: nowSeconds(), Live: live}
}

// Killable reports whether Kill may be called: the flow is live and not
// killed already.
func (f *Flow) Killable() bool {
	return f.Live && !(f.Error != nil && f.Error.Msg == KilledMessage)
}

// Kill marks the flow as killed: the proxy drops its connection at the next
// step. It is a no-op returning ErrNotKillable on flows that are not live.
func (f *Flow) Kill() error {
	if !f.Killable() {
		return ErrNotKillable
	}
	// Everything is set before Resume releases a waiter in WaitForResume:
	// the flow's goroutine reads these right after, and closing the channel
	// is what orders the writes before its reads (Kill is typically called
	// from another goroutine while the flow is intercepted).
	f.Error = NewError(KilledMessage)
	f.Live = false
	f.Resume()
	return nil
}

// Killed reports whether the flow was killed.
func (f *Flow) Killed() bool { return f.Error != nil && f.Error.Msg == KilledMessage }

// Intercept pauses the flow: the proxy waits at the next step until Resume
// (or Kill) is called.
func (f *Flow) Intercept() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Intercepted {
		return
	}
	f.Intercepted = true
	f.resumed = make(chan struct{})
}

// Resume continues an intercepted flow.
func (f *Flow) Resume() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.Intercepted {
		return
	}
	f.Intercepted = false
	if f.resumed != nil {
		close(f.resumed)
		f.resumed = nil
	}
}

// WaitForResume blocks while the flow is intercepted, until Resume, Kill or
// the context ends.
func (f *Flow) WaitForResume(ctx context.Context) error {
	f.mu.Lock()
	ch := f.resumed
	f.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// HTTPFlow is one HTTP request and its response, or the error that ended it.
// A WebSocket connection lives on in the flow of its handshake.
type HTTPFlow struct {
	Flow
	Request  *Request
	Response *Response
	// WebSocket is set once the connection has switched to WebSocket.
	WebSocket *WebSocketData
}

// NewHTTPFlow returns a live flow for a request from client to server.
func NewHTTPFlow(client *Client, server *Server) *HTTPFlow {
	return &HTTPFlow{Flow: newFlow(client, server, true)}
}

// Type is "http".
func (f *HTTPFlow) Type() string { return "http" }

// TimestampStart is the request's start time.
func (f *HTTPFlow) TimestampStart() float64 {
	if f.Request != nil {
		return f.Request.TimestampStart
	}
	return f.TimestampCreated
}

// Copy returns a deep copy with a new id that is not live, as mitmproxy's
// flow.copy() (which goes through the state dict): nothing reachable from
// the copy is shared with f.
func (f *HTTPFlow) Copy() *HTTPFlow {
	c := &HTTPFlow{
		Flow: Flow{
			ID: NewID(), Error: cloneError(f.Error), ClientConn: cloneClient(f.ClientConn), ServerConn: cloneServer(f.ServerConn),
			Intercepted: f.Intercepted, IsReplay: f.IsReplay, Marked: f.Marked,
			Metadata: f.Metadata.clone(), Comment: f.Comment, TimestampCreated: f.TimestampCreated,
		},
		Request:  f.Request.Clone(),
		Response: f.Response.Clone(),
	}
	if f.WebSocket != nil {
		ws := *f.WebSocket
		ws.Messages = append([]*WebSocketMessage(nil), f.WebSocket.Messages...)
		for i, m := range ws.Messages {
			mc := *m
			mc.Content = cloneBytes(m.Content)
			ws.Messages[i] = &mc
		}
		if f.WebSocket.ClosedByClient != nil {
			b := *f.WebSocket.ClosedByClient
			ws.ClosedByClient = &b
		}
		c.WebSocket = &ws
	}
	return c
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func cloneTLSInfo(t TLSInfo) TLSInfo {
	if t.CertificateList != nil {
		certs := make([][]byte, len(t.CertificateList))
		for i, c := range t.CertificateList {
			certs[i] = cloneBytes(c)
		}
		t.CertificateList = certs
	}
	t.ALPNOffers = slices.Clone(t.ALPNOffers)
	t.CipherList = slices.Clone(t.CipherList)
	return t
}

func cloneError(e *Error) *Error {
	if e == nil {
		return nil
	}
	c := *e
	return &c
}

func cloneClient(c *Client) *Client {
	if c == nil {
		return nil
	}
	cc := *c
	cc.TLSInfo = cloneTLSInfo(c.TLSInfo)
	cc.MitmCert = cloneBytes(c.MitmCert)
	return &cc
}

func cloneServer(s *Server) *Server {
	if s == nil {
		return nil
	}
	sc := *s
	sc.TLSInfo = cloneTLSInfo(s.TLSInfo)
	if s.Via != nil {
		via := *s.Via
		sc.Via = &via
	}
	return &sc
}

// WebSocket message types, as in RFC 6455 opcodes.
const (
	WebSocketText   = 1
	WebSocketBinary = 2
)

// WebSocketData is the WebSocket part of an HTTPFlow.
type WebSocketData struct {
	Messages []*WebSocketMessage
	// ClosedByClient is nil while open or when unknown.
	ClosedByClient *bool
	CloseCode      int
	CloseReason    string
	TimestampEnd   float64
}

// WebSocketMessage is one reassembled WebSocket message.
type WebSocketMessage struct {
	// Type is WebSocketText or WebSocketBinary.
	Type       int
	FromClient bool
	Content    []byte
	Timestamp  float64
	Dropped    bool
	Injected   bool
}

// IsText reports a text message.
func (m *WebSocketMessage) IsText() bool { return m.Type == WebSocketText }

// Drop stops the message from being forwarded.
func (m *WebSocketMessage) Drop() { m.Dropped = true }

// TCPMessage is one chunk of a raw TCP stream, as read.
type TCPMessage struct {
	FromClient bool
	Content    []byte
	Timestamp  float64
}

// TCPFlow is a raw TCP (or TLS-decrypted) stream that is not HTTP.
type TCPFlow struct {
	Flow
	Messages []*TCPMessage
}

// NewTCPFlow returns a live TCP flow.
func NewTCPFlow(client *Client, server *Server) *TCPFlow {
	return &TCPFlow{Flow: newFlow(client, server, true)}
}

// Type is "tcp".
func (f *TCPFlow) Type() string { return "tcp" }
