package cut_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/cut"
	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
)

func sample(t *testing.T) *flow.HTTPFlow {
	t.Helper()
	req, err := flow.NewRequest("POST", "https://example.com:8443/a?b=1", []byte("body"), flow.NewHeaders("Content-Type", "text/plain"))
	if err != nil {
		t.Fatal(err)
	}
	client := flow.NewClient(flow.Address{Host: "10.0.0.1", Port: 5555}, flow.Address{Host: "10.0.0.2", Port: 8080}, "regular")
	client.SNI, client.TLSVersion, client.TimestampTLSSetup = "example.com", "TLSv1.3", 1
	server := flow.NewServer(flow.Address{Host: "example.com", Port: 8443})
	server.Peername = flow.Address{Host: "93.184.216.34", Port: 8443}
	f := flow.NewHTTPFlow(client, server)
	f.Request = req
	f.Request.TimestampStart = 1700000000.25
	f.Response = flow.NewResponse(201, []byte{0xff, 'o', 'k'}, flow.NewHeaders("X-Thing", "yes"))
	f.SetMarked(":default:")
	return f
}

func TestExtract(t *testing.T) {
	f := sample(t)
	for _, tc := range []struct {
		spec string
		want any
		err  string
	}{
		{"request.method", "POST", ""},
		{"request.scheme", "https", ""},
		{"request.host", "example.com", ""},
		{"request.port", "8443", ""},
		{"request.path", "/a?b=1", ""},
		{"request.url", "https://example.com:8443/a?b=1", ""},
		{"request.http_version", "HTTP/1.1", ""},
		{"request.text", "body", ""},
		{"request.content", []byte("body"), ""},
		{"request.timestamp_start", "1700000000.25", ""},
		{"request.header[content-type]", "text/plain", ""},
		{"request.header[ missing ]", "", ""},
		{"response.status_code", "201", ""},
		{"response.reason", "Created", ""},
		{"response.raw_content", []byte{0xff, 'o', 'k'}, ""},
		{"response.header[X-Thing]", "yes", ""},
		{"client_conn.peername.host", "10.0.0.1", ""},
		{"client_conn.peername.port", "5555", ""},
		{"client_conn.peername", "('10.0.0.1', 5555)", ""},
		{"client_conn.sni", "example.com", ""},
		{"client_conn.tls_version", "TLSv1.3", ""},
		{"client_conn.tls_established", "true", ""},
		{"server_conn.address.host", "example.com", ""},
		{"server_conn.address.port", "8443", ""},
		{"server_conn.ip_address.host", "93.184.216.34", ""},
		{"server_conn.tls_established", "false", ""},
		{"marked", ":default:", ""},
		{"request.no_such_thing", "", ""},
		{"nothing", "", ""},
		{"request._private", nil, "Can't access internal attribute _private"},
		{"response.header[x", nil, "Invalid header spec: header[x"},
	} {
		got, err := cut.Extract(tc.spec, f)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s = %#v (%v), want %#v", tc.spec, got, err, tc.want)
		}
	}
	tf := flow.NewTCPFlow(nil, nil)
	if v, _ := cut.Extract("request.host", tf); v != "" {
		t.Errorf("a TCP flow's request.host: %q", v)
	}
}

func TestCutCommands(t *testing.T) {
	f, g := sample(t), sample(t)
	g.Request.Path = `/with,comma"quote`
	m := addon.NewManager()
	if err := m.Add(cut.New(), resolver{[]flow.Any{f, g}}); err != nil {
		t.Fatal(err)
	}
	v, err := m.Commands().Execute("cut @all request.path,response.content")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{{"/a?b=1", []byte{0xff, 'o', 'k'}}, {`/with,comma"quote`, []byte{0xff, 'o', 'k'}}}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("cut: %#v", v)
	}
	dir := t.TempDir()
	csv := filepath.Join(dir, "out.csv")
	if _, err := m.Commands().Execute("cut.save @all request.path,response.content " + csv); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(csv)
	if want := "/a?b=1,b'\\xffok'\r\n\"/with,comma\"\"quote\",b'\\xffok'\r\n"; string(got) != want {
		t.Errorf("CSV %q, want %q", got, want)
	}
	// One flow, one cut: the value itself; "+" appends after a newline.
	one := filepath.Join(dir, "one")
	if _, err := m.Commands().Call("cut.save", []flow.Any{f}, []string{"response.content"}, one); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Commands().Call("cut.save", []flow.Any{f}, []string{"request.host"}, "+"+one); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(one); string(got) != "\xffok\nexample.com" {
		t.Errorf("single cuts %q", got)
	}
	if _, err := m.Commands().Execute("cut @all request._x"); err == nil || !strings.Contains(err.Error(), "internal attribute") {
		t.Errorf("an internal attribute: %v", err)
	}
}

type resolver struct{ flows []flow.Any }

func (r resolver) Name() string { return "resolver" }
func (r resolver) Load(l *addon.Loader) {
	l.AddCommand(command.Command{Name: command.ResolveCommand, Params: []command.Param{{Name: "spec", Type: command.Str}}, Returns: command.Flows,
		Run: func(command.Args) (any, error) { return r.flows, nil }})
}
