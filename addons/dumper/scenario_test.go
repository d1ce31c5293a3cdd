package dumper

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

// scenario is one flow of testdata/scenarios.json. The same file drives
// testdata/mitmproxy811.py, which records what mitmdump 8.1.1 prints for it.
type scenario struct {
	Name     string       `json:"name"`
	About    string       `json:"about"`
	Client   jsonAddr     `json:"client"`
	Server   jsonAddr     `json:"server"`
	IsReplay string       `json:"is_replay"`
	Request  *jsonMessage `json:"request"`
	Response *jsonMessage `json:"response"`
	Error    *string      `json:"error"`
	// Kind is "" for HTTP flows and "tcp" for TCP flows.
	Kind      string         `json:"kind"`
	WebSocket *jsonWebSocket `json:"websocket"`
	TCP       *struct {
		Messages []jsonDataMessage `json:"messages"`
	} `json:"tcp"`
}

type jsonWebSocket struct {
	Messages       []jsonDataMessage `json:"messages"`
	CloseCode      int               `json:"close_code"`
	CloseReason    string            `json:"close_reason"`
	ClosedByClient bool              `json:"closed_by_client"`
}

type jsonDataMessage struct {
	Type       int     `json:"type"`
	FromClient bool    `json:"from_client"`
	Content    *string `json:"content"`
	ContentB64 string  `json:"content_b64"`
}

func (m *jsonDataMessage) content(t testing.TB) []byte {
	if m.ContentB64 != "" {
		b, err := base64.StdEncoding.DecodeString(m.ContentB64)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return []byte(*m.Content)
}

// replay sends the scenario's flow through the hooks a live proxy (or a
// file replay) fires for it.
func (s *scenario) replay(t testing.TB, m *addon.Manager) {
	if s.Kind == "tcp" {
		client := flow.NewClient(flow.Address(s.Client), flow.Address{Host: "127.0.0.1", Port: 8080}, "regular")
		f := flow.NewTCPFlow(client, flow.NewServer(flow.Address(s.Server)))
		for _, msg := range s.TCP.Messages {
			f.Messages = append(f.Messages, &flow.TCPMessage{FromClient: msg.FromClient, Content: msg.content(t), Timestamp: 1})
			m.TCPMessage(f)
		}
		if s.Error != nil {
			f.Error = &flow.Error{Msg: *s.Error, Timestamp: 1}
			m.TCPError(f)
		}
		return
	}
	f := s.flow(t)
	if f.Response != nil {
		m.Response(f)
	} else {
		m.Error(f)
	}
	if w := s.WebSocket; w != nil {
		f.WebSocket = &flow.WebSocketData{}
		for _, msg := range w.Messages {
			f.WebSocket.Messages = append(f.WebSocket.Messages, &flow.WebSocketMessage{
				Type: msg.Type, FromClient: msg.FromClient, Content: msg.content(t), Timestamp: 1})
			m.WebSocketMessage(f)
		}
		f.WebSocket.CloseCode = w.CloseCode
		f.WebSocket.CloseReason = w.CloseReason
		f.WebSocket.ClosedByClient = &w.ClosedByClient
		m.WebSocketEnd(f)
	}
}

type jsonAddr flow.Address

func (a *jsonAddr) UnmarshalJSON(b []byte) error {
	var pair [2]any
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	host, ok1 := pair[0].(string)
	port, ok2 := pair[1].(float64)
	if !ok1 || !ok2 {
		return fmt.Errorf("address %s: want [host, port]", b)
	}
	*a = jsonAddr{Host: host, Port: int(port)}
	return nil
}

type jsonMessage struct {
	Method      string      `json:"method"`
	Scheme      string      `json:"scheme"`
	Host        string      `json:"host"`
	Port        int         `json:"port"`
	Authority   string      `json:"authority"`
	Path        string      `json:"path"`
	HTTPVersion string      `json:"http_version"`
	StatusCode  int         `json:"status_code"`
	Reason      string      `json:"reason"`
	Headers     [][2]string `json:"headers"`
	Trailers    [][2]string `json:"trailers"`
	Content     *string     `json:"content"`
	ContentB64  string      `json:"content_b64"`
}

func (m *jsonMessage) message(t testing.TB) flow.Message {
	msg := flow.Message{HTTPVersion: m.HTTPVersion, Headers: flow.Headers{}, TimestampStart: 1, TimestampEnd: 1}
	for _, h := range m.Headers {
		msg.Headers.Add(h[0], h[1])
	}
	if m.Trailers != nil {
		msg.Trailers = flow.Headers{}
		for _, h := range m.Trailers {
			msg.Trailers.Add(h[0], h[1])
		}
	}
	switch {
	case m.ContentB64 != "":
		b, err := base64.StdEncoding.DecodeString(m.ContentB64)
		if err != nil {
			t.Fatal(err)
		}
		msg.RawContent = b
	case m.Content != nil:
		msg.RawContent = []byte(*m.Content)
	}
	return msg
}

func (s *scenario) flow(t testing.TB) *flow.HTTPFlow {
	client := flow.NewClient(flow.Address(s.Client), flow.Address{Host: "127.0.0.1", Port: 8080}, "regular")
	f := flow.NewHTTPFlow(client, flow.NewServer(flow.Address(s.Server)))
	f.SetLive(false)
	f.IsReplay = s.IsReplay
	r := s.Request
	f.Request = &flow.Request{
		Message: r.message(t), Method: r.Method, Scheme: r.Scheme, Host: r.Host, Port: r.Port,
		Authority: r.Authority, Path: r.Path,
	}
	if p := s.Response; p != nil {
		f.Response = &flow.Response{Message: p.message(t), StatusCode: p.StatusCode, Reason: p.Reason}
	}
	if s.Error != nil {
		f.Error = &flow.Error{Msg: *s.Error, Timestamp: 1}
	}
	return f
}

func loadScenarios(t testing.TB) []scenario {
	data, err := os.ReadFile("testdata/scenarios.json")
	if err != nil {
		t.Fatal(err)
	}
	var out []scenario
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
