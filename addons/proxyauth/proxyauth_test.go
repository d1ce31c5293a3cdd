package proxyauth

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

func setup(t *testing.T, auth any) (*addon.Manager, *ProxyAuth) {
	t.Helper()
	m := addon.NewManager()
	pa := New()
	if err := m.Add(pa); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Update(map[string]any{OptionName: auth}); err != nil {
		t.Fatal(err)
	}
	return m, pa
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

var client = flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular")

func newFlow(t *testing.T, c *flow.Client, method, url string, headers ...string) *flow.HTTPFlow {
	t.Helper()
	f := flow.NewHTTPFlow(c, nil)
	req, err := flow.NewRequest(method, url, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Headers = flow.NewHeaders(headers...)
	f.Request = req
	return f
}

func TestConfigure(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	malformed := write("malformed", "no colon here\n")
	emptyUser := write("emptyuser", ":{SHA}x\n")
	unsupported := write("unsupported", "bob:plaintext\n")
	crypt := write("crypt", "bob:abJnggxhB/yWI\n")
	tests := []struct {
		spec    any
		enabled bool
		wantErr string
	}{
		{nil, false, ""},
		{"", false, ""},
		{"any", true, ""},
		{"user:pass", true, ""},
		{"@testdata/htpasswd", true, ""},
		{"user", false, "proxyauth: Invalid proxyauth specification."},
		{"a:b:c", false, "proxyauth: Invalid single-user auth specification."},
		{"@" + dir + "/nonexistent", false, "proxyauth: Could not open htpasswd file: " + dir + "/nonexistent"},
		{"@" + malformed, false, "Malformed htpasswd line"},
		{"@" + emptyUser, false, "Malformed htpasswd line"},
		{"@" + unsupported, false, `Unsupported htpasswd format for user "bob"`},
		{"@" + crypt, false, "Unsupported htpasswd format"},
		{"ldap:localhost:cn=default,dc=cdhdt,dc=com:password:ou=application,dc=cdhdt,dc=com", false, "LDAP authentication is not supported"},
	}
	for _, tt := range tests {
		m, pa := setup(t, nil)
		err := m.Options().Update(map[string]any{OptionName: tt.spec})
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "proxyauth: ") {
				t.Errorf("%v: error %v, want %q", tt.spec, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tt.spec, err)
			continue
		}
		if pa.Enabled() != tt.enabled {
			t.Errorf("%v: enabled = %v", tt.spec, pa.Enabled())
		}
	}
}

func TestBadConfigKeepsActiveValidator(t *testing.T) {
	m, pa := setup(t, "user:pass")
	if err := m.Options().Update(map[string]any{OptionName: "@/nonexistent/file"}); err == nil {
		t.Fatal("missing htpasswd accepted")
	}
	if got := m.Options().String(OptionName); got != "user:pass" {
		t.Errorf("option = %q, not rolled back", got)
	}
	f := newFlow(t, client, "GET", "http://example.com/", "Proxy-Authorization", basic("user", "pass"))
	pa.RequestHeaders(f)
	if f.Response != nil {
		t.Fatal("the old credentials no longer work")
	}
}

func TestHtpasswd(t *testing.T) {
	h, err := LoadHtpasswd("testdata/htpasswd")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, pass string
		want       bool
	}{
		{"bcrypt-2y", "bcrypt-pass", true},
		{"bcrypt-2y", "wrong", false},
		{"bcrypt-2b", "pässwörd", true},
		{"bcrypt-2b", "passwort", false},
		{"bcrypt-2a", "two-a", true},
		{"sha", "sha-pass", true},
		{"sha", "sha-pas", false},
		{"apr1", "password", true},
		{"apr1", "Password", false},
		{"apr1-extra", "secret", true},
		{"spaced", "sha-pass", true},
		{"nobody", "sha-pass", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := h.Check(tt.user, tt.pass); got != tt.want {
			t.Errorf("Check(%q, %q) = %v, want %v", tt.user, tt.pass, got, tt.want)
		}
	}
	// Later lines win, as in a dict.
	h, err = ParseHtpasswd("u:{SHA}x\r\nu:{SHA}xO2etOilyqtV8o1RvvnmkeBx7QI=\r\n")
	if err != nil || !h.Check("u", "sha-pass") {
		t.Errorf("duplicate users: %v", err)
	}
}

func TestAPR1(t *testing.T) {
	// Vectors from `openssl passwd -apr1 -salt SALT PASSWORD`.
	tests := []struct{ password, salt, want string }{
		{"password", "saltsalt", "$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/"},
		{"secret", "abc", "$apr1$abc$PZF73YJz5hJ9yyI.7OP.R."},
		{"", "x", "$apr1$x$tMwYqBfQwi3FYAr0aJc8M/"},
		{"a-very-long-password-longer-than-16-bytes-for-sure", "12345678", "$apr1$12345678$CWQdYiZLEphKnEbwtko4Y1"},
		{"pässwörd", "Zz./Zz./", "$apr1$Zz./Zz./$lVvilrvzEUTB8C2lKhvQ0."},
		{"x", "", "$apr1$$jYtXyIcDHukcQfHjblNhq/"},
		{"password", "saltsaltEXTRA", "$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/"},
	}
	for _, tt := range tests {
		if got := APR1(tt.password, tt.salt); got != tt.want {
			t.Errorf("APR1(%q, %q) = %q, want %q", tt.password, tt.salt, got, tt.want)
		}
	}
	h, err := ParseHtpasswd("u:$apr1$$jYtXyIcDHukcQfHjblNhq/\nbad:$apr1$nodollar")
	if err != nil || !h.Check("u", "x") || h.Check("bad", "x") {
		t.Errorf("empty salt / malformed hash: %v", err)
	}
}

func TestParseBasicAuth(t *testing.T) {
	tests := []struct {
		in         string
		user, pass string
		ok         bool
	}{
		{basic("user", "pass"), "user", "pass", true},
		{"basic dXNlcjpwYXNz", "user", "pass", true},
		{"BASIC dXNlcjpwYXNz", "user", "pass", true},
		{"  Basic   dXNlcjpwYXNz  ", "user", "pass", true},
		{"Basic dXNl!!cjpwYXNz", "user", "pass", true},
		{"Basic dXNlcjpwYXM=garbage", "user", "pas", true},
		{"Basic dXNlcjpwYXM", "", "", false},
		{"Basic dXNlcjpwYQ=", "", "", false},
		{"Digest dXNlcjpwYXNz", "", "", false},
		{"Basic", "", "", false},
		{"Basic a b", "", "", false},
		{"", "", "", false},
		{basic("user", "pa:ss"), "", "", false},
		{basic("user", ""), "user", "", true},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("u\xff:p")), "u\ufffd", "p", true},
	}
	for _, tt := range tests {
		user, pass, ok := parseBasicAuth(tt.in)
		if user != tt.user || pass != tt.pass || ok != tt.ok {
			t.Errorf("parseBasicAuth(%q) = %q, %q, %v; want %q, %q, %v", tt.in, user, pass, ok, tt.user, tt.pass, tt.ok)
		}
	}
}

func TestDecodeBase64Lenient(t *testing.T) {
	// Expectations from CPython 3.11's binascii.a2b_base64.
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"dXNlcjpwYXNz", "user:pass", true},
		{"dXNlcjpwYXNz\n", "user:pass", true},
		{"dX Nl cjp wYXNz", "user:pass", true},
		{"dXNlcjpwYXM", "", false},
		{"dXNlcjpwYXM=", "user:pas", true},
		{"dXNlcjpwYXM=garbage", "user:pas", true},
		{"dXNl!!cjpwYXNz", "user:pass", true},
		{"dXNlcjpwYQ", "", false},
		{"dXNlcjpwYQ==", "user:pa", true},
		{"dXNlcjpwYQ=", "", false},
		{"=dXNl", "use", true},
		{"dXNl=cjpw", "user:p", true},
		{"", "", true},
	}
	for _, tt := range tests {
		got, ok := decodeBase64Lenient(tt.in)
		if ok != tt.ok || (ok && string(got) != tt.want) {
			t.Errorf("decode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// The golden files are mitmproxy 8.1.1's make_auth_required_response,
// assembled as HTTP/1.
func TestAuthRequiredResponse(t *testing.T) {
	for _, tt := range []struct {
		isProxy bool
		golden  string
	}{{true, "testdata/auth_required_407.golden"}, {false, "testdata/auth_required_401.golden"}} {
		want, err := os.ReadFile(tt.golden)
		if err != nil {
			t.Fatal(err)
		}
		r := AuthRequiredResponse(tt.isProxy)
		got := r.StatusLine() + "\r\n" + r.Headers.String() + "\r\n" + string(r.RawContent)
		if got != string(want) {
			t.Errorf("isProxy=%v:\n%q\nwant\n%q", tt.isProxy, got, want)
		}
	}
}

func TestRequestHeaders(t *testing.T) {
	reverse := flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50001}, flow.Address{Host: "127.0.0.1", Port: 8080}, "reverse:http://example.com")
	upstream := flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50002}, flow.Address{Host: "127.0.0.1", Port: 8080}, "upstream:http://proxy:3128")
	tests := []struct {
		name       string
		auth       string
		client     *flow.Client
		headers    []string
		wantStatus int // 0: authenticated
		wantCreds  []any
		wantLeft   flow.Headers
	}{
		{"no credentials", "user:pass", client, nil, 407, nil, nil},
		{"wrong password", "user:pass", client, []string{"Proxy-Authorization", basic("user", "nope")}, 407, nil, nil},
		{"wrong header", "user:pass", client, []string{"Authorization", basic("user", "pass")}, 407, nil, nil},
		{"valid", "user:pass", client, []string{"Accept", "*/*", "Proxy-Authorization", basic("user", "pass"), "X", "y"}, 0,
			[]any{"user", "pass"}, flow.NewHeaders("Accept", "*/*", "X", "y")},
		{"any", "any", client, []string{"Proxy-Authorization", basic("who", "ever")}, 0, []any{"who", "ever"}, flow.Headers{}},
		{"any still needs credentials", "any", client, nil, 407, nil, nil},
		{"htpasswd", "@testdata/htpasswd", client, []string{"Proxy-Authorization", basic("apr1", "password")}, 0, []any{"apr1", "password"}, flow.Headers{}},
		{"htpasswd wrong", "@testdata/htpasswd", client, []string{"Proxy-Authorization", basic("apr1", "Password")}, 407, nil, nil},
		{"upstream mode is a proxy", "user:pass", upstream, []string{"Proxy-Authorization", basic("user", "pass")}, 0, []any{"user", "pass"}, flow.Headers{}},
		{"reverse mode asks with 401", "user:pass", reverse, []string{"Proxy-Authorization", basic("user", "pass")}, 401, nil, nil},
		{"reverse mode reads Authorization", "user:pass", reverse, []string{"Authorization", basic("user", "pass")}, 0, []any{"user", "pass"}, flow.Headers{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, pa := setup(t, tt.auth)
			f := newFlow(t, tt.client, "GET", "http://example.com/", tt.headers...)
			pa.RequestHeaders(f)
			if tt.wantStatus != 0 {
				if f.Response == nil || f.Response.StatusCode != tt.wantStatus {
					t.Fatalf("response %+v, want %d", f.Response, tt.wantStatus)
				}
				if _, ok := f.Metadata.Get(MetadataKey); ok {
					t.Error("metadata set on a failed authentication")
				}
				return
			}
			if f.Response != nil {
				t.Fatalf("got a %d response", f.Response.StatusCode)
			}
			if got, _ := f.Metadata.Get(MetadataKey); !reflect.DeepEqual(got, tt.wantCreds) {
				t.Errorf("metadata = %v, want %v", got, tt.wantCreds)
			}
			if f.Request.Headers.String() != tt.wantLeft.String() {
				t.Errorf("headers left:\n%s\nwant:\n%s", f.Request.Headers, tt.wantLeft)
			}
		})
	}
}

func TestConnectAuthenticatesTheConnection(t *testing.T) {
	_, pa := setup(t, "user:pass")
	c := flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50003}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular")

	// A CONNECT without credentials is refused, and does not authenticate.
	connect := newFlow(t, c, "CONNECT", "http://example.com:443/")
	pa.HTTPConnect(connect)
	if connect.Response == nil || connect.Response.StatusCode != 407 {
		t.Fatalf("CONNECT response %+v", connect.Response)
	}
	inner := newFlow(t, c, "GET", "https://example.com/")
	pa.RequestHeaders(inner)
	if inner.Response == nil || inner.Response.StatusCode != 407 {
		t.Fatal("request in an unauthenticated tunnel let through")
	}

	// The client retries with credentials: the tunnel's requests pass.
	connect = newFlow(t, c, "CONNECT", "http://example.com:443/", "Proxy-Authorization", basic("user", "pass"))
	pa.HTTPConnect(connect)
	if connect.Response != nil || connect.Request.Headers.Has("proxy-authorization") {
		t.Fatalf("CONNECT: response %+v, headers %s", connect.Response, connect.Request.Headers)
	}
	for i := 0; i < 2; i++ {
		inner = newFlow(t, c, "GET", "https://example.com/")
		pa.RequestHeaders(inner)
		if inner.Response != nil {
			t.Fatal("request in an authenticated tunnel refused")
		}
		if got, _ := inner.Metadata.Get(MetadataKey); !reflect.DeepEqual(got, []any{"user", "pass"}) {
			t.Errorf("metadata = %v", got)
		}
	}

	// Another connection is not authenticated.
	other := newFlow(t, client, "GET", "https://example.com/")
	pa.RequestHeaders(other)
	if other.Response == nil {
		t.Fatal("another connection shares the authentication")
	}

	// Once the connection closes it is forgotten.
	pa.ClientDisconnected(c)
	inner = newFlow(t, c, "GET", "https://example.com/")
	pa.RequestHeaders(inner)
	if inner.Response == nil {
		t.Fatal("closed connection still authenticated")
	}
}

func TestPlainRequestsAuthenticateEachTime(t *testing.T) {
	// As in mitmproxy, only a CONNECT authenticates a connection: a plain
	// request's credentials count for that request.
	_, pa := setup(t, "user:pass")
	c := flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50004}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular")
	f := newFlow(t, c, "GET", "http://example.com/", "Proxy-Authorization", basic("user", "pass"))
	pa.RequestHeaders(f)
	if f.Response != nil {
		t.Fatal("valid request refused")
	}
	f = newFlow(t, c, "GET", "http://example.com/")
	pa.RequestHeaders(f)
	if f.Response == nil || f.Response.StatusCode != 407 {
		t.Fatal("request without credentials let through")
	}
}

func TestReplayAndOff(t *testing.T) {
	_, pa := setup(t, "user:pass")
	f := newFlow(t, client, "GET", "http://example.com/")
	f.IsReplay = "request"
	pa.RequestHeaders(f)
	if f.Response != nil {
		t.Error("replayed request asked to authenticate")
	}
	_, pa = setup(t, nil)
	f = newFlow(t, client, "GET", "http://example.com/", "Proxy-Authorization", basic("user", "pass"))
	pa.RequestHeaders(f)
	pa.HTTPConnect(f)
	if f.Response != nil || !f.Request.Headers.Has("proxy-authorization") {
		t.Error("disabled addon touched the flow")
	}
}

func FuzzParseBasicAuth(f *testing.F) {
	for _, s := range []string{basic("u", "p"), "Basic ====", "Basic a=b=c", "basic \xff\xfe", "Basic dXNlcjpwYXM="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parseBasicAuth(s)
	})
}

func FuzzParseHtpasswd(f *testing.F) {
	b, err := os.ReadFile("testdata/htpasswd")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b), "apr1", "password")
	f.Add("u:$apr1$", "u", "")
	f.Add("u:$2y$", "u", "x")
	f.Fuzz(func(t *testing.T, content, user, pass string) {
		h, err := ParseHtpasswd(content)
		if err != nil {
			return
		}
		h.Check(user, pass)
	})
}

// TestSocks5Auth: socks5_auth accepts what the validator accepts, and an
// accepted SOCKS5 client's requests need no credentials of their own.
func TestSocks5Auth(t *testing.T) {
	m, pa := setup(t, "user:pass")
	c := flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50010}, flow.Address{Host: "127.0.0.1", Port: 1080}, "socks5")
	for _, tc := range []struct {
		user, password string
		valid          bool
	}{
		{"user", "wrong", false},
		{"", "", false},
		{"user", "pass", true},
	} {
		d := &addon.Socks5AuthData{Client: c, Username: tc.user, Password: tc.password}
		m.Socks5Auth(d)
		if d.Valid != tc.valid {
			t.Errorf("%s:%s: valid = %v", tc.user, tc.password, d.Valid)
		}
	}
	f := newFlow(t, c, "GET", "http://example.com/")
	pa.RequestHeaders(f)
	if f.Response != nil {
		t.Fatalf("request from an authenticated SOCKS5 client refused: %d", f.Response.StatusCode)
	}
	if got, _ := f.Metadata.Get(MetadataKey); !reflect.DeepEqual(got, []any{"user", "pass"}) {
		t.Errorf("metadata = %v", got)
	}
	pa.ClientDisconnected(c)

	// Off: nothing is accepted (the proxy asks only when proxyauth is set).
	m, _ = setup(t, nil)
	d := &addon.Socks5AuthData{Client: c, Username: "user", Password: "pass"}
	m.Socks5Auth(d)
	if d.Valid {
		t.Error("accepted with proxyauth off")
	}
}
