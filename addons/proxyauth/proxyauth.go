// Package proxyauth is mitmproxy's proxyauth addon (--proxyauth): it makes
// clients authenticate with HTTP Basic credentials before the proxy serves
// them.
//
// The option takes "user:pass" (one user), "any" (any credentials, useful
// to see them in flows), or "@path" (an htpasswd file with bcrypt, {SHA} or
// APR1 entries). mitmproxy's "ldap[s]:..." specs are refused: mitmgo has no
// LDAP client.
//
// In regular and upstream mode the proxy asks with 407 and a
// Proxy-Authenticate challenge and reads Proxy-Authorization; in socks5
// mode the SOCKS5 handshake carries the user name and password (the
// socks5_auth hook); in the other modes it acts as the server, with 401,
// WWW-Authenticate and Authorization. The credentials header is removed before the request goes
// on, and the user and password are stored in the flow's metadata under
// "proxyauth". A client connection whose CONNECT authenticated stays
// authenticated for the requests inside its tunnel, until it closes.
package proxyauth

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/spec"
)

// OptionName is the option that configures authentication.
const OptionName = "proxyauth"

// Realm is the realm of the Basic challenge.
const Realm = "mitmproxy"

// MetadataKey is the flow metadata key that holds [user, password] of an
// authenticated flow.
const MetadataKey = "proxyauth"

var (
	_ addon.LoadHook               = (*ProxyAuth)(nil)
	_ addon.ConfigureHook          = (*ProxyAuth)(nil)
	_ addon.HTTPConnectHook        = (*ProxyAuth)(nil)
	_ addon.RequestHeadersHook     = (*ProxyAuth)(nil)
	_ addon.ClientDisconnectedHook = (*ProxyAuth)(nil)
	_ addon.Socks5AuthHook         = (*ProxyAuth)(nil)
)

// validator checks a user name and password.
type validator interface {
	valid(user, password string) bool
}

type acceptAll struct{}

func (acceptAll) valid(string, string) bool { return true }

type singleUser struct{ user, password string }

func (s singleUser) valid(user, password string) bool {
	u := subtle.ConstantTimeCompare([]byte(user), []byte(s.user))
	p := subtle.ConstantTimeCompare([]byte(password), []byte(s.password))
	return u&p == 1
}

type htpasswdValidator struct{ h *Htpasswd }

func (v htpasswdValidator) valid(user, password string) bool { return v.h.Check(user, password) }

// ProxyAuth is the addon. It is safe for concurrent use.
type ProxyAuth struct {
	ctx       *addon.Context
	opt       addon.Opt[*string] // OptionName, declared in Load
	validator atomic.Pointer[validator]

	mu sync.Mutex
	// authenticated maps the ids of client connections that passed a
	// CONNECT to their credentials.
	authenticated map[string][2]string
}

// New returns the addon, off until the option is set.
func New() *ProxyAuth { return &ProxyAuth{authenticated: map[string][2]string{}} }

// Load declares proxyauth.
func (p *ProxyAuth) Load(l *addon.Loader) {
	p.ctx = l.Context()
	p.opt = addon.Declare[*string](l, OptionName, nil,
		`Require proxy authentication. Format: "username:pass", "any" to accept any user/pass combination, "@path" to use an Apache htpasswd file, or "ldap[s]:url_server_ldap[:port]:dn_auth:password:dn_subtree[?search_filter_key=...]" for LDAP authentication.`)
}

// optString is an optional string option's value, "" when unset.
func optString(o addon.Opt[*string]) string {
	if p := o.Get(); p != nil {
		return *p
	}
	return ""
}

// Configure builds the validator; a bad spec or an unreadable or malformed
// htpasswd file is refused and the active validator kept.
func (p *ProxyAuth) Configure(updated map[string]bool) error {
	if !updated[OptionName] || p.ctx == nil {
		return nil
	}
	v, err := parseSpec(optString(p.opt))
	if err != nil {
		return fmt.Errorf("%s: %w", OptionName, err)
	}
	if v == nil {
		p.validator.Store(nil)
	} else {
		p.validator.Store(&v)
	}
	return nil
}

// Enabled reports whether authentication is required (block_global lets
// public clients in when it is).
func (p *ProxyAuth) Enabled() bool { return p.validator.Load() != nil }

func parseSpec(auth string) (validator, error) {
	switch {
	case auth == "":
		return nil, nil
	case auth == "any":
		return acceptAll{}, nil
	case strings.HasPrefix(auth, "@"):
		path := spec.ExpandUser(auth[1:])
		h, err := LoadHtpasswd(path)
		if err != nil {
			return nil, fmt.Errorf("Could not open htpasswd file: %s: %w", path, err)
		}
		return htpasswdValidator{h}, nil
	case strings.HasPrefix(auth, "ldap"):
		return nil, errors.New("LDAP authentication is not supported by mitmgo")
	case strings.Contains(auth, ":"):
		parts := strings.Split(auth, ":")
		if len(parts) != 2 {
			return nil, errors.New("Invalid single-user auth specification.")
		}
		return singleUser{parts[0], parts[1]}, nil
	}
	return nil, errors.New("Invalid proxyauth specification.")
}

// HTTPConnect authenticates a CONNECT; on success the client connection
// stays authenticated for the requests in its tunnel.
func (p *ProxyAuth) HTTPConnect(f *flow.HTTPFlow) {
	v := p.validator.Load()
	if v == nil {
		return
	}
	if creds, ok := p.authenticate(f, *v); ok && f.ClientConn != nil {
		p.mu.Lock()
		p.authenticated[f.ClientConn.ID] = creds
		p.mu.Unlock()
	}
}

// RequestHeaders authenticates a request, unless its connection already
// authenticated with a CONNECT or the flow is a replay.
func (p *ProxyAuth) RequestHeaders(f *flow.HTTPFlow) {
	v := p.validator.Load()
	if v == nil || f.Request == nil {
		return
	}
	if f.ClientConn != nil {
		p.mu.Lock()
		creds, ok := p.authenticated[f.ClientConn.ID]
		p.mu.Unlock()
		if ok {
			f.Metadata.Set(MetadataKey, []any{creds[0], creds[1]})
			return
		}
	}
	if f.IsReplay != "" {
		return
	}
	p.authenticate(f, *v)
}

// Socks5Auth checks the user name and password a SOCKS5 client sent
// (socks5 mode asks for them when proxyauth is set); valid ones
// authenticate the client connection for the flows in it, as a CONNECT's.
func (p *ProxyAuth) Socks5Auth(d *addon.Socks5AuthData) {
	v := p.validator.Load()
	if v == nil || !(*v).valid(d.Username, d.Password) {
		return
	}
	d.Valid = true
	if d.Client != nil {
		p.mu.Lock()
		p.authenticated[d.Client.ID] = [2]string{d.Username, d.Password}
		p.mu.Unlock()
	}
}

// ClientDisconnected forgets the connection.
func (p *ProxyAuth) ClientDisconnected(c *flow.Client) {
	p.mu.Lock()
	delete(p.authenticated, c.ID)
	p.mu.Unlock()
}

// authenticate checks the flow's credentials. Valid ones are recorded in
// the metadata and their header removed; otherwise the flow gets the
// "authentication required" response.
func (p *ProxyAuth) authenticate(f *flow.HTTPFlow, v validator) ([2]string, bool) {
	isProxy := isHTTPProxy(f)
	header := authHeader(isProxy)
	if user, password, ok := parseBasicAuth(f.Request.Headers.Get(header)); ok && v.valid(user, password) {
		f.Metadata.Set(MetadataKey, []any{user, password})
		f.Request.Headers.Del(header)
		return [2]string{user, password}, true
	}
	f.Response = AuthRequiredResponse(isProxy)
	return [2]string{}, false
}

// isHTTPProxy reports whether mitmgo acts as a proxy for this flow (regular
// and upstream mode) rather than as the server.
func isHTTPProxy(f *flow.HTTPFlow) bool {
	mode := ""
	if f.ClientConn != nil {
		mode = f.ClientConn.ProxyMode
	}
	switch spec.ModeName(mode) {
	case "regular", "upstream":
		return true
	}
	return false
}

func authHeader(isProxy bool) string {
	if isProxy {
		return "Proxy-Authorization"
	}
	return "Authorization"
}

// AuthRequiredResponse is the response that asks for credentials: 407 with
// Proxy-Authenticate when acting as a proxy, else 401 with
// WWW-Authenticate, and a small HTML body, as mitmproxy's.
func AuthRequiredResponse(isProxy bool) *flow.Response {
	status, header := http.StatusUnauthorized, "WWW-Authenticate"
	if isProxy {
		status, header = http.StatusProxyAuthRequired, "Proxy-Authenticate"
	}
	title := strconv.Itoa(status) + " " + http.StatusText(status)
	body := "<html><head><title>" + title + "</title></head><body><h1>" + title + "</h1></body></html>"
	return flow.NewResponse(status, []byte(body), flow.NewHeaders(header, `Basic realm="`+Realm+`"`))
}

// parseBasicAuth reads "Basic <base64 user:password>" as mitmproxy's
// parse_http_basic_auth: the scheme is case-insensitive, the base64 is
// decoded leniently (as Python's binascii), and the decoded text must hold
// exactly one colon.
func parseBasicAuth(value string) (user, password string, ok bool) {
	fields := strings.Fields(value)
	if len(fields) != 2 || !strings.EqualFold(fields[0], "basic") {
		return "", "", false
	}
	raw, ok := decodeBase64Lenient(fields[1])
	if !ok {
		return "", "", false
	}
	parts := strings.Split(toValidUTF8(raw), ":")
	if len(parts) != 2 {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// decodeBase64Lenient is binascii.a2b_base64 in its default, non-strict
// mode: characters outside the alphabet are skipped, a complete padding
// ends the input, and an unfinished quad is an error.
func decodeBase64Lenient(s string) ([]byte, bool) {
	var out []byte
	quad, pads := 0, 0
	var left byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '=' {
			if quad >= 2 {
				pads++
				if quad+pads >= 4 {
					return out, true
				}
			}
			continue
		}
		v, ok := b64value(c)
		if !ok {
			continue
		}
		pads = 0
		switch quad {
		case 0:
			left, quad = v, 1
		case 1:
			out = append(out, left<<2|v>>4)
			left, quad = v&0x0f, 2
		case 2:
			out = append(out, left<<4|v>>2)
			left, quad = v&0x03, 3
		case 3:
			out = append(out, left<<6|v)
			quad = 0
		}
	}
	return out, quad == 0
}

func b64value(c byte) (byte, bool) {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A', true
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26, true
	case c >= '0' && c <= '9':
		return c - '0' + 52, true
	case c == '+':
		return 62, true
	case c == '/':
		return 63, true
	}
	return 0, false
}

// toValidUTF8 decodes as Python's bytes.decode("utf8", "replace").
func toValidUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			sb.WriteRune(utf8.RuneError)
		} else {
			sb.Write(b[:size])
		}
		b = b[size:]
	}
	return sb.String()
}

// KeepsFlows is false: it checks credentials and keeps nothing of the flow (see addon.FlowKeeper).
func (p *ProxyAuth) KeepsFlows() bool { return false }
