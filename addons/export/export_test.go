package export

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

// scenario is one entry of testdata/scenarios.json; testdata/mitmproxy811.py
// turns the same entries into the golden files with mitmproxy 8.1.1.
type scenario struct {
	Name           string            `json:"name"`
	PreserveIP     bool              `json:"preserve_ip"`
	ServerPeername []any             `json:"server_peername"`
	Request        message           `json:"request"`
	Response       *message          `json:"response"`
	WebSocket      [][2]any          `json:"websocket"`
	Current        map[string]string `json:"current"`
}

type message struct {
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
	Encode      string      `json:"encode"`
}

func headers(pairs [][2]string) flow.Headers {
	h := flow.Headers{}
	for _, p := range pairs {
		h.Add(p[0], p[1])
	}
	return h
}

func (m *message) build(t *testing.T) flow.Message {
	t.Helper()
	msg := flow.Message{HTTPVersion: m.HTTPVersion, Headers: headers(m.Headers)}
	if msg.HTTPVersion == "" {
		msg.HTTPVersion = "HTTP/1.1"
	}
	if m.Trailers != nil {
		msg.Trailers = headers(m.Trailers)
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
	if m.Encode != "" {
		// As the generator does: the body is encoded with the declared
		// Content-Encoding, and Content-Length follows.
		msg.Headers.Set("content-encoding", m.Encode)
		msg.SetContent(msg.RawContent)
	}
	return msg
}

func (s *scenario) flow(t *testing.T) *flow.HTTPFlow {
	t.Helper()
	server := flow.NewServer(flow.Address{Host: "example.com", Port: 80})
	if s.ServerPeername != nil {
		server.Peername = flow.Address{Host: s.ServerPeername[0].(string), Port: int(s.ServerPeername[1].(float64))}
	}
	f := flow.NewHTTPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular"), server)
	r := s.Request
	f.Request = &flow.Request{Message: r.build(t), Method: r.Method, Scheme: r.Scheme, Host: r.Host, Port: r.Port, Authority: r.Authority, Path: r.Path}
	if p := s.Response; p != nil {
		f.Response = &flow.Response{Message: p.build(t), StatusCode: p.StatusCode, Reason: p.Reason}
	}
	if s.WebSocket != nil {
		f.WebSocket = &flow.WebSocketData{}
		for _, m := range s.WebSocket {
			f.WebSocket.Messages = append(f.WebSocket.Messages, &flow.WebSocketMessage{Type: flow.WebSocketText, FromClient: m[0].(bool), Content: []byte(m[1].(string))})
		}
	}
	return f
}

func loadScenarios(t *testing.T) []scenario {
	t.Helper()
	b, err := os.ReadFile("testdata/scenarios.json")
	if err != nil {
		t.Fatal(err)
	}
	var out []scenario
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGolden compares every format of every scenario with what mitmproxy
// 8.1.1 produced (testdata/golden), or, where current mitmproxy differs,
// with the current output recorded in the scenario.
func TestGolden(t *testing.T) {
	for _, s := range loadScenarios(t) {
		for _, format := range Formats() {
			t.Run(s.Name+"."+format, func(t *testing.T) {
				opts := Options{PreserveOriginalIP: s.PreserveIP}
				f := s.flow(t)
				got, err := opts.Bytes(format, f)
				if want, ok := s.Current[format]; ok {
					if err != nil || string(got) != want {
						t.Fatalf("got %q, %v\nwant (current mitmproxy) %q", got, err, want)
					}
					return
				}
				golden := filepath.Join("testdata", "golden", s.Name+"."+format)
				if wantErr, rerr := os.ReadFile(golden + ".err"); rerr == nil {
					if err == nil || err.Error() != strings.TrimSpace(string(wantErr)) {
						t.Fatalf("got %q, %v; want error %q", got, err, wantErr)
					}
					return
				}
				want, rerr := os.ReadFile(golden)
				if rerr != nil {
					t.Fatal(rerr)
				}
				if err != nil || string(got) != string(want) {
					t.Fatalf("got %q, %v\nwant %q", got, err, want)
				}
			})
		}
	}
}

func TestFlowUnchanged(t *testing.T) {
	for _, s := range loadScenarios(t) {
		f := s.flow(t)
		before := f.Request.Clone()
		var beforeResp *flow.Response
		if f.Response != nil {
			beforeResp = f.Response.Clone()
		}
		for _, format := range Formats() {
			_, _ = Options{PreserveOriginalIP: true}.Bytes(format, f)
		}
		if !reflect.DeepEqual(f.Request, before) || !reflect.DeepEqual(f.Response, beforeResp) {
			t.Errorf("%s: exporting changed the flow", s.Name)
		}
	}
}

func TestErrors(t *testing.T) {
	if _, err := Curl(nil); !errors.Is(err, ErrNoRequest) {
		t.Errorf("Curl(nil) = %v", err)
	}
	if _, err := Raw(&flow.HTTPFlow{}); !errors.Is(err, ErrNoRequestOrResponse) {
		t.Errorf("Raw(empty) = %v", err)
	}
	f := &flow.HTTPFlow{Request: &flow.Request{Message: flow.Message{HTTPVersion: "HTTP/1.1"}, Method: "GET", Scheme: "http", Host: "h", Port: 80, Path: "/"}}
	if _, err := RawRequest(f); !errors.Is(err, ErrRequestContent) {
		t.Errorf("RawRequest(missing content) = %v", err)
	}
	if _, err := Raw(f); !errors.Is(err, ErrNoRequestOrResponse) {
		t.Errorf("Raw(missing content) = %v", err)
	}
	f.Request.RawContent = []byte("x")
	f.Request.Trailers = flow.NewHeaders("a", "b")
	if _, err := RawRequest(f); err == nil || !strings.Contains(err.Error(), "requires transfer-encoding: chunked") {
		t.Errorf("trailers without chunking: %v", err)
	}
	if _, err := (Options{}).Text("nope", f); err == nil || err.Error() != "No such export format: nope" {
		t.Errorf("unknown format: %v", err)
	}
	if got := Formats(); !reflect.DeepEqual(got, []string{"curl", "httpie", "raw", "raw_request", "raw_response"}) {
		t.Errorf("Formats() = %v", got)
	}
}

func TestText(t *testing.T) {
	f := &flow.HTTPFlow{Request: &flow.Request{
		Message: flow.Message{HTTPVersion: "HTTP/1.1", Headers: flow.NewHeaders("X", "\xff\xfeé"), RawContent: []byte{}},
		Method:  "GET", Scheme: "http", Host: "h", Port: 80, Path: "/"}}
	got, err := Options{}.Text("raw_request", f)
	if err != nil {
		t.Fatal(err)
	}
	if want := "GET / HTTP/1.1\r\nX: \\xff\\xfeé\r\ncontent-length: 0\r\n\r\n"; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	b, _ := Options{}.Bytes("raw_request", f)
	if !strings.Contains(string(b), "\xff\xfe") {
		t.Errorf("Bytes = %q, want the raw bytes", b)
	}
}

func TestShellQuote(t *testing.T) {
	// Expectations from Python's shlex.quote.
	tests := []struct{ in, want string }{
		{"", "''"},
		{"abc", "abc"},
		{"a_b-c.d/e:f,g=h+i@j%k", "a_b-c.d/e:f,g=h+i@j%k"},
		{"a b", "'a b'"},
		{"it's", `'it'"'"'s'`},
		{"$HOME", "'$HOME'"},
		{"é", "'é'"},
		{"a\nb", "'a\nb'"},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestAddon(t *testing.T) {
	m := addon.NewManager()
	e := New()
	if err := m.Add(e); err != nil {
		t.Fatal(err)
	}
	var s scenario
	for _, sc := range loadScenarios(t) {
		if sc.Name == "preserve_ip" {
			s = sc
		}
	}
	f := s.flow(t)
	got, err := e.Export("curl", f)
	if err != nil || got != "curl https://example.com/" {
		t.Errorf("without the option: %q, %v", got, err)
	}
	if err := m.Options().Set(OptionName + "=true"); err != nil {
		t.Fatal(err)
	}
	got, err = e.Export("curl", f)
	if err != nil || got != "curl --resolve 'example.com:443:[93.184.216.34]' https://example.com/" {
		t.Errorf("with the option: %q, %v", got, err)
	}
	path := filepath.Join(t.TempDir(), "out.sh")
	if err := e.File("curl", f, path); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != got {
		t.Errorf("file = %q", b)
	}
	if err := e.File("nope", f, path); err == nil {
		t.Error("unknown format written")
	}
}
