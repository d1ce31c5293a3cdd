package flow

import (
	"reflect"
	"strings"
	"testing"
)

// treq is mitmproxy's test request (mitmproxy/test/tutils.py treq): an
// origin-form GET for http://address:22/path.
func treq() *Request {
	return &Request{
		Message: Message{
			HTTPVersion: "HTTP/1.1",
			Headers:     NewHeaders("header", "qvalue", "content-length", "7"),
			RawContent:  []byte("content"),
		},
		Method: "GET", Scheme: "http", Host: "address", Port: 22, Path: "/path",
	}
}

func TestRequestURL(t *testing.T) {
	tests := []struct {
		name   string
		modify func(r *Request)
		want   string
	}{
		{"treq", func(r *Request) {}, "http://address:22/path"},
		{"https non-default port", func(r *Request) { r.Scheme = "https" }, "https://address:22/path"},
		{"http default port dropped", func(r *Request) { r.Port = 80 }, "http://address/path"},
		{"https default port dropped", func(r *Request) { r.Scheme, r.Port = "https", 443 }, "https://address/path"},
		{"http on 443 keeps it", func(r *Request) { r.Port = 443 }, "http://address:443/path"},
		{"IPv6 literal bracketed", func(r *Request) { r.Host, r.Port = "::1", 8080 }, "http://[::1]:8080/path"},
		{"IPv6 literal on default port", func(r *Request) { r.Host, r.Port = "2001:db8::1", 80 }, "http://[2001:db8::1]/path"},
		{"query kept", func(r *Request) { r.Path = "/a?b=c&d" }, "http://address:22/a?b=c&d"},
		// mitmproxy's url.unparse leaves out the asterisk-form target.
		{"OPTIONS *", func(r *Request) { r.Method, r.Path = "OPTIONS", "*" }, "http://address:22"},
		// Authority-form: host:port (mitmproxy: f"{host}:{port}").
		{"CONNECT", func(r *Request) { r.Method, r.Authority, r.Path = "CONNECT", "address:22", "" }, "address:22"},
		{"CONNECT without authority", func(r *Request) { r.Method, r.Path = "CONNECT", "" }, "address:22"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := treq()
			tt.modify(r)
			if got := r.URL(); got != tt.want {
				t.Errorf("URL = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRequestSetURL(t *testing.T) {
	tests := []struct {
		url                string
		scheme, host, path string
		port               int
	}{
		{"https://otheraddress:42/foo", "https", "otheraddress", "/foo", 42},
		{"http://example.com", "http", "example.com", "/", 80},
		{"https://example.com", "https", "example.com", "/", 443},
		// The path always starts with "/", even before a query.
		{"http://example.com?x=1", "http", "example.com", "/?x=1", 80},
		// Scheme and host are lower-cased (Python's urlparse().hostname);
		// userinfo is dropped; the path and query keep their escaping.
		{"HTTP://user:pw@Example.COM:8080/a%2Fb?q=a+b", "http", "example.com", "/a%2Fb?q=a+b", 8080},
		{"https://[::1]:8443/x", "https", "::1", "/x", 8443},
		{"http://127.0.0.1:0/", "http", "127.0.0.1", "/", 0},
		{"http://example.com/?", "http", "example.com", "/?", 80},
	}
	for _, tt := range tests {
		r := treq()
		if err := r.SetURL(tt.url); err != nil {
			t.Errorf("SetURL(%q): %v", tt.url, err)
			continue
		}
		if r.Scheme != tt.scheme || r.Host != tt.host || r.Port != tt.port || r.Path != tt.path {
			t.Errorf("SetURL(%q) = %s %s %d %s, want %s %s %d %s", tt.url,
				r.Scheme, r.Host, r.Port, r.Path, tt.scheme, tt.host, tt.port, tt.path)
		}
	}
	for _, bad := range []string{"", "not-a-url", "/relative", "http://:80/", "http://example.com:99999/", "http://example.com:-1/", "http://exa mple.com/", "http://[::1/"} {
		r := treq()
		if err := r.SetURL(bad); err == nil {
			t.Errorf("SetURL(%q) succeeded: %s", bad, r.URL())
		} else if r.URL() != "http://address:22/path" {
			t.Errorf("failed SetURL(%q) changed the request to %s", bad, r.URL())
		}
	}
	// The Host header and authority follow, as with the host setter.
	r := treq()
	r.Headers.Insert(0, "Host", "address:22")
	r.Authority = "address:22"
	if err := r.SetURL("https://new.example:8443/x"); err != nil {
		t.Fatal(err)
	}
	if r.Headers[0] != (Field{"Host", "new.example:8443"}) || r.Authority != "new.example:8443" {
		t.Errorf("after SetURL: Host %q, authority %q", r.Headers.Get("host"), r.Authority)
	}
}

func TestRequestSetHostPort(t *testing.T) {
	// Without a Host header or authority, only the target changes.
	r := treq()
	r.SetHost("example.com")
	if r.Host != "example.com" || r.Headers.Has("host") || r.Authority != "" {
		t.Errorf("SetHost without Host header: host %q, headers %q, authority %q", r.Host, r.Headers, r.Authority)
	}

	// mitmproxy (HEAD) _update_host_and_authority: both get hostport(scheme,
	// host, port), in place.
	r = treq()
	r.Headers.Insert(0, "HOST", "foo")
	r.Authority = "foo"
	r.SetHost("example.org")
	if r.Headers[0] != (Field{"HOST", "example.org:22"}) || r.Authority != "example.org:22" {
		t.Errorf("SetHost: Host %q, authority %q", r.Headers[0], r.Authority)
	}
	r.SetPort(80)
	if r.Headers.Get("host") != "example.org" || r.Authority != "example.org" || r.Port != 80 {
		t.Errorf("SetPort(80): Host %q, authority %q", r.Headers.Get("host"), r.Authority)
	}
	r.Scheme = "https"
	r.SetPort(443)
	if r.Headers.Get("host") != "example.org" || r.URL() != "https://example.org/path" {
		t.Errorf("SetPort(443) on https: Host %q, URL %q", r.Headers.Get("host"), r.URL())
	}
	r.SetHost("::1")
	if r.Headers.Get("host") != "[::1]" || r.URL() != "https://[::1]/path" {
		t.Errorf("IPv6 host: Host %q, URL %q", r.Headers.Get("host"), r.URL())
	}

}

// A CONNECT authority always carries the port, whatever the scheme.
func TestRequestConnectAuthority(t *testing.T) {
	c := &Request{Message: Message{HTTPVersion: "HTTP/1.1"}, Method: "CONNECT", Host: "example.com", Port: 443, Authority: "example.com:443"}
	c.SetPort(8443)
	if c.Authority != "example.com:8443" || c.URL() != "example.com:8443" || c.FirstLineFormat() != "authority" {
		t.Errorf("CONNECT SetPort: authority %q url %q", c.Authority, c.URL())
	}
	c.Scheme = "http"
	c.SetPort(80)
	if c.Authority != "example.com:80" {
		t.Errorf("CONNECT authority dropped the port: %q", c.Authority)
	}
}

func TestFirstLineFormat(t *testing.T) {
	r := treq()
	if r.FirstLineFormat() != "relative" {
		t.Errorf("origin-form: %q", r.FirstLineFormat())
	}
	r.Authority = "example.com"
	if r.FirstLineFormat() != "absolute" {
		t.Errorf("absolute-form: %q", r.FirstLineFormat())
	}
	r.Method = "CONNECT"
	if r.FirstLineFormat() != "authority" {
		t.Errorf("authority-form: %q", r.FirstLineFormat())
	}
}

func TestHostHeader(t *testing.T) {
	tests := []struct {
		name      string
		version   string
		headers   Headers
		authority string
		want      string
	}{
		{"h1 without Host", "HTTP/1.1", nil, "", ""},
		// HTTP/1: the Host header only, even for absolute-form requests.
		{"h1 absolute-form without Host", "HTTP/1.1", nil, "authority.example.com", ""},
		{"h1 Host wins over authority", "HTTP/1.1", NewHeaders("host", "header.example.com"), "authority.example.com", "header.example.com"},
		{"h1.0", "HTTP/1.0", NewHeaders("Host", "h"), "", "h"},
		// HTTP/2 and 3: the authority, else the Host header.
		{"h2 authority", "HTTP/2.0", NewHeaders("host", "header.example.com"), "authority.example.com", "authority.example.com"},
		{"h2 Host fallback", "HTTP/2.0", NewHeaders("host", "header.example.com"), "", "header.example.com"},
		{"h3 authority", "HTTP/3", nil, "authority.example.com", "authority.example.com"},
		{"h2 nothing", "HTTP/2.0", nil, "", ""},
	}
	for _, tt := range tests {
		r := &Request{Message: Message{HTTPVersion: tt.version, Headers: tt.headers}, Method: "GET", Scheme: "http", Host: "address", Port: 22, Path: "/", Authority: tt.authority}
		if got := r.HostHeader(); got != tt.want {
			t.Errorf("%s: HostHeader = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestPrettyHostAndURL(t *testing.T) {
	tests := []struct {
		name       string
		modify     func(r *Request)
		wantHost   string
		wantPretty string
	}{
		{"no Host header", func(r *Request) {}, "address", "http://address:22/path"},
		{"Host with port", func(r *Request) { r.Headers.Set("host", "other:22") }, "other", "http://other:22/path"},
		{"Host with other port", func(r *Request) { r.Headers.Set("Host", "foo.com:8080") }, "foo.com", "http://foo.com:8080/path"},
		// Without a port in the Host header, the scheme's default is used
		// (not request.port): mitmproxy's pretty_url.
		{"Host without port", func(r *Request) { r.Headers.Set("Host", "foo.com") }, "foo.com", "http://foo.com/path"},
		{"https Host without port", func(r *Request) { r.Scheme = "https"; r.Headers.Set("Host", "foo.com") }, "foo.com", "https://foo.com/path"},
		{"IPv6 Host", func(r *Request) { r.Headers.Set("Host", "[::1]:8080") }, "::1", "http://[::1]:8080/path"},
		{"IPv6 Host without port", func(r *Request) { r.Headers.Set("Host", "[::1]") }, "::1", "http://[::1]/path"},
		{"invalid IDNA kept", func(r *Request) { r.Headers.Set("Host", ".disqus.com") }, ".disqus.com", "http://.disqus.com/path"},
		{"OPTIONS *", func(r *Request) { r.Method, r.Path = "OPTIONS", "*" }, "address", "http://address:22"},
		{"OPTIONS * with Host", func(r *Request) { r.Method, r.Path = "OPTIONS", "*"; r.Headers.Set("Host", "h:22") }, "h", "http://h:22"},
		{"CONNECT", func(r *Request) { r.Method, r.Authority = "CONNECT", "example:44" }, "address", "example:44"},
		{"h2 authority", func(r *Request) {
			r.HTTPVersion, r.Authority = "HTTP/2.0", "h2.example"
			r.Headers.Set("Host", "ignored")
		}, "h2.example", "http://h2.example/path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := treq()
			tt.modify(r)
			if got := r.PrettyHost(); got != tt.wantHost {
				t.Errorf("PrettyHost = %q, want %q", got, tt.wantHost)
			}
			if got := r.PrettyURL(); got != tt.wantPretty {
				t.Errorf("PrettyURL = %q, want %q", got, tt.wantPretty)
			}
		})
	}
	// pretty_url never changes url.
	r := treq()
	r.Headers.Set("Host", "foo.com:22")
	if r.URL() != "http://address:22/path" {
		t.Errorf("URL changed by the Host header: %s", r.URL())
	}
}

func TestQuery(t *testing.T) {
	r := treq()
	if q := r.Query(); len(q) != 0 {
		t.Errorf("no query: %q", q)
	}
	if err := r.SetURL("http://localhost:80/foo?bar=42"); err != nil {
		t.Fatal(err)
	}
	if got := r.Query(); !reflect.DeepEqual(got, MultiDict{{"bar", "42"}}) {
		t.Errorf("Query = %q", got)
	}
	// parse_qsl(keep_blank_values=True): blank values kept, "+" and %20
	// are spaces, invalid escapes left as they are.
	r.Path = "/p?a=1&a=2&b=&c&d=x+y%20z&e=%zz&&"
	want := MultiDict{{"a", "1"}, {"a", "2"}, {"b", ""}, {"c", ""}, {"d", "x y z"}, {"e", "%zz"}}
	if got := r.Query(); !reflect.DeepEqual(got, want) {
		t.Errorf("Query = %q, want %q", got, want)
	}
	if v, ok := r.Query().Get("a"); !ok || v != "1" {
		t.Errorf("Get(a) = %q %v", v, ok)
	}
	if got := r.Query().GetAll("a"); !reflect.DeepEqual(got, []string{"1", "2"}) {
		t.Errorf("GetAll(a) = %q", got)
	}

	r.Path = "/path"
	r.SetQuery(MultiDict{{"foo", "a b&c"}, {"x", "é"}})
	if r.Path != "/path?foo=a+b%26c&x=%C3%A9" {
		t.Errorf("SetQuery: path %q", r.Path)
	}
	q := r.Query()
	q.Set("foo", "bar")
	q.Del("x")
	r.SetQuery(q)
	if r.Path != "/path?foo=bar" {
		t.Errorf("SetQuery after edit: path %q", r.Path)
	}
	r.SetQuery(nil)
	if r.Path != "/path" {
		t.Errorf("SetQuery(nil): path %q", r.Path)
	}
	if r.PathOnly() != "/path" {
		t.Errorf("PathOnly = %q", r.PathOnly())
	}
}

func TestMultiDict(t *testing.T) {
	d := MultiDict{{"a", "1"}, {"b", "2"}, {"a", "3"}}
	d.Set("a", "x")
	if !reflect.DeepEqual(d, MultiDict{{"a", "x"}, {"b", "2"}}) {
		t.Errorf("Set = %q", d)
	}
	d.Set("c", "y")
	if !reflect.DeepEqual(d, MultiDict{{"a", "x"}, {"b", "2"}, {"c", "y"}}) {
		t.Errorf("Set new = %q", d)
	}
	// Case-sensitive, unlike headers.
	if _, ok := d.Get("A"); ok {
		t.Errorf("MultiDict lookup is case-insensitive")
	}
	d.Del("b")
	if !reflect.DeepEqual(d, MultiDict{{"a", "x"}, {"c", "y"}}) {
		t.Errorf("Del = %q", d)
	}
	if got := (MultiDict{{"k y", "v&w=z"}, {"e", ""}}).URLEncode(); got != "k+y=v%26w%3Dz&e=" {
		t.Errorf("URLEncode = %q", got)
	}
}

func TestRequestCookies(t *testing.T) {
	tests := []struct {
		name    string
		headers Headers
		want    MultiDict
	}{
		{"none", nil, nil},
		{"single", NewHeaders("cookie", "cookiename=cookievalue"), MultiDict{{"cookiename", "cookievalue"}}},
		{"double", NewHeaders("Cookie", "cookiename=cookievalue;othercookiename=othercookievalue"),
			MultiDict{{"cookiename", "cookievalue"}, {"othercookiename", "othercookievalue"}}},
		{"equal sign in value", NewHeaders("Cookie", "cookiename=coo=kievalue;othercookiename=othercookievalue"),
			MultiDict{{"cookiename", "coo=kievalue"}, {"othercookiename", "othercookievalue"}}},
		{"several headers, flag", NewHeaders("cookie", "a=1; b=2", "X", "y", "Cookie", "c=3;d"),
			MultiDict{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", ""}}},
	}
	for _, tt := range tests {
		r := treq()
		r.Headers = tt.headers
		if got := r.Cookies(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Cookies = %q, want %q", tt.name, got, tt.want)
		}
	}

	r := treq()
	r.Headers = NewHeaders("Cookie", "cookiename=cookievalue", "A", "b", "cookie", "second=1")
	c := r.Cookies()
	c.Set("cookiename", "foo")
	r.SetCookies(c)
	if got := r.Headers; !reflect.DeepEqual(got, NewHeaders("Cookie", "cookiename=foo; second=1", "A", "b")) {
		t.Errorf("SetCookies = %q", got)
	}
	r.SetCookies(MultiDict{{"one", "uno"}, {"two", "due"}})
	if v, _ := r.Cookies().Get("one"); v != "uno" {
		t.Errorf("one = %q", v)
	}
	if v, _ := r.Cookies().Get("two"); v != "due" {
		t.Errorf("two = %q", v)
	}
	r.SetCookies(nil)
	if r.Headers.Has("cookie") {
		t.Errorf("SetCookies(nil) kept the header: %q", r.Headers)
	}
}

func TestURLEncodedForm(t *testing.T) {
	r := treq()
	r.RawContent = []byte("foobar=baz")
	if f := r.URLEncodedForm(); len(f) != 0 {
		t.Errorf("form without Content-Type: %q", f)
	}
	r.Headers.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if f := r.URLEncodedForm(); !reflect.DeepEqual(f, MultiDict{{"foobar", "baz"}}) {
		t.Errorf("form = %q", f)
	}
	r.RawContent = []byte("\xff")
	if f := r.URLEncodedForm(); len(f) != 1 {
		t.Errorf("form of garbage = %q", f)
	}

	r = treq()
	r.RawContent = []byte("\xec\xed")
	r.SetURLEncodedForm(MultiDict{{"foo", "bar"}, {"rab", "oof oof"}})
	if r.Headers.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q", r.Headers.Get("Content-Type"))
	}
	if string(r.RawContent) != "foo=bar&rab=oof+oof" || r.Headers.Get("content-length") != "19" {
		t.Errorf("form body %q, Content-Length %q", r.RawContent, r.Headers.Get("content-length"))
	}
	if f := r.URLEncodedForm(); !reflect.DeepEqual(f, MultiDict{{"foo", "bar"}, {"rab", "oof oof"}}) {
		t.Errorf("form read back = %q", f)
	}
}

func TestAnticacheAnticompConstrain(t *testing.T) {
	r := treq()
	r.Headers.Set("If-Modified-Since", "foo")
	r.Headers.Set("If-None-Match", "bar")
	r.Anticache()
	if r.Headers.Has("if-modified-since") || r.Headers.Has("if-none-match") {
		t.Errorf("Anticache left %q", r.Headers)
	}
	r.Headers.Set("Accept-Encoding", "foobar")
	r.Anticomp()
	if r.Headers.Get("accept-encoding") != "identity" {
		t.Errorf("Anticomp: %q", r.Headers.Get("accept-encoding"))
	}

	r = treq()
	before := r.Headers.String()
	r.ConstrainEncoding()
	if r.Headers.String() != before {
		t.Errorf("ConstrainEncoding without Accept-Encoding changed the headers")
	}
	r.Headers.Set("Accept-Encoding", "identity, gzip;q=0.8, foo, br")
	r.ConstrainEncoding()
	ae := r.Headers.Get("Accept-Encoding")
	if strings.Contains(ae, "foo") || !strings.Contains(ae, "gzip") || !strings.Contains(ae, "br") {
		t.Errorf("ConstrainEncoding = %q", ae)
	}
	r.Headers.SetAll("accept-encoding", []string{"gzip", "oink"})
	r.ConstrainEncoding()
	if ae := r.Headers.Get("accept-encoding"); strings.Contains(ae, "oink") {
		t.Errorf("ConstrainEncoding (two headers) = %q", ae)
	}
}

func TestNewRequest(t *testing.T) {
	r, err := NewRequest("GET", "https://example.com/", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "GET" || r.Scheme != "https" || r.Host != "example.com" || r.Port != 443 || r.Path != "/" ||
		r.HTTPVersion != "HTTP/1.1" || r.Authority != "" || r.FirstLineFormat() != "relative" {
		t.Errorf("NewRequest = %+v", r)
	}
	// Request.make assigns content, which sets Content-Length even when empty.
	if !reflect.DeepEqual(r.Headers, NewHeaders("content-length", "0")) || r.RawContent == nil || len(r.RawContent) != 0 {
		t.Errorf("headers %q, content %q", r.Headers, r.RawContent)
	}
	if r.TimestampStart == 0 || r.TimestampEnd != r.TimestampStart {
		t.Errorf("timestamps %v %v", r.TimestampStart, r.TimestampEnd)
	}

	hdrs := NewHeaders("Foo", "bar")
	r, err = NewRequest("post", "http://example.com:8080/x?y=1", []byte("content"), hdrs)
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "POST" || r.Port != 8080 || r.Path != "/x?y=1" || string(r.RawContent) != "content" {
		t.Errorf("NewRequest = %+v", r)
	}
	if !reflect.DeepEqual(r.Headers, NewHeaders("Foo", "bar", "content-length", "7")) {
		t.Errorf("headers %q", r.Headers)
	}
	if len(hdrs) != 1 {
		t.Errorf("NewRequest modified the caller's headers: %q", hdrs)
	}
	if _, err := NewRequest("GET", "not-a-url", nil, nil); err == nil {
		t.Errorf("NewRequest with a bad URL succeeded")
	}
}

func TestNewResponse(t *testing.T) {
	r := NewResponse(200, nil, nil)
	if r.HTTPVersion != "HTTP/1.1" || r.StatusCode != 200 || r.Reason != "OK" || r.RawContent == nil || len(r.RawContent) != 0 {
		t.Errorf("NewResponse(200) = %+v", r)
	}
	if !reflect.DeepEqual(r.Headers, NewHeaders("content-length", "0")) {
		t.Errorf("headers %q", r.Headers)
	}
	if r.StatusLine() != "HTTP/1.1 200 OK" {
		t.Errorf("StatusLine = %q", r.StatusLine())
	}
	hdrs := NewHeaders("Content-Type", "text/plain")
	r = NewResponse(404, []byte("nope"), hdrs)
	if r.Reason != "Not Found" || !reflect.DeepEqual(r.Headers, NewHeaders("Content-Type", "text/plain", "content-length", "4")) {
		t.Errorf("NewResponse(404) = %q %q", r.Reason, r.Headers)
	}
	hdrs[0].Value = "changed"
	if r.Headers.Get("content-type") != "text/plain" {
		t.Errorf("NewResponse aliases the caller's headers")
	}
	// Reason phrases come from mitmproxy's status table
	// (mitmproxy/net/http/status_codes.py), "" for unknown codes.
	for code, want := range map[int]string{
		201: "Created", 204: "No Content", 302: "Found", 403: "Forbidden", 407: "Proxy Authentication Required",
		408: "Request Time-out", 413: "Payload Too Large", 414: "Request-URI Too Long",
		416: "Requested Range not satisfiable", 418: "I'm a teapot", 444: "No Response",
		502: "Bad Gateway", 504: "Gateway Time-out", 505: "HTTP Version not supported", 799: "",
	} {
		if got := NewResponse(code, nil, nil).Reason; got != want {
			t.Errorf("reason for %d = %q, want %q", code, got, want)
		}
	}
}

func TestResponseCookies(t *testing.T) {
	r := NewResponse(200, nil, NewHeaders(
		"Set-Cookie", "a=b; Path=/; HttpOnly; Max-Age=10",
		"X", "y",
		"set-cookie", "c=d",
		"Set-Cookie", "e=f=g; Expires=Wed, 21 Oct 2015 07:28:00 GMT;Secure",
	))
	want := []ResponseCookie{
		{Name: "a", Value: "b", Attrs: []CookieAttr{{Name: "Path", Value: "/"}, {Name: "HttpOnly", Flag: true}, {Name: "Max-Age", Value: "10"}}},
		{Name: "c", Value: "d"},
		{Name: "e", Value: "f=g", Attrs: []CookieAttr{{Name: "Expires", Value: "Wed, 21 Oct 2015 07:28:00 GMT"}, {Name: "Secure", Flag: true}}},
	}
	if got := r.Cookies(); !reflect.DeepEqual(got, want) {
		t.Errorf("Cookies =\n%+v\nwant\n%+v", got, want)
	}
	if got := NewResponse(200, nil, nil).Cookies(); got != nil {
		t.Errorf("no cookies: %+v", got)
	}
}

func TestRequestResponseClone(t *testing.T) {
	r := treq()
	r.Trailers = Headers{}
	c := r.Clone()
	c.Headers.Set("header", "changed")
	c.RawContent[0] = 'X'
	c.Trailers.Add("T", "1")
	if r.Headers.Get("header") != "qvalue" || string(r.RawContent) != "content" || len(r.Trailers) != 0 {
		t.Errorf("Clone shares storage with the original")
	}
	if r.Clone().Trailers == nil {
		t.Errorf("Clone turned empty trailers into none")
	}
	var nilReq *Request
	if nilReq.Clone() != nil {
		t.Errorf("nil Clone")
	}
	resp := NewResponse(200, []byte("x"), nil)
	rc := resp.Clone()
	rc.RawContent[0] = 'y'
	if string(resp.RawContent) != "x" {
		t.Errorf("Response Clone shares content")
	}
	var nilResp *Response
	if nilResp.Clone() != nil {
		t.Errorf("nil Response Clone")
	}
}
