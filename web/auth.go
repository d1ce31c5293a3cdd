package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// randomHex is n random bytes in hex (Python's secrets.token_hex).
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return hex.EncodeToString(b)
}

// argonHash is a parsed argon2 hash in the PHC string format that
// argon2-cffi (mitmproxy's hasher) writes:
// $argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>.
type argonHash struct {
	variant      string
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parseArgon2(s string) (*argonHash, error) {
	bad := errors.New("`web_password` starts with `$`, but it's not a valid argon2 hash.")
	parts := strings.Split(s, "$")
	// "", variant, v=19, params, salt, hash
	if len(parts) != 6 || parts[0] != "" {
		return nil, bad
	}
	h := &argonHash{variant: parts[1]}
	switch h.variant {
	case "argon2id", "argon2i":
	case "argon2d":
		return nil, errors.New("`web_password`: argon2d hashes are not supported; use argon2id")
	default:
		return nil, bad
	}
	if parts[2] != "v=19" {
		return nil, bad
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return nil, bad
		}
		switch k {
		case "m":
			h.memory = uint32(n)
		case "t":
			h.time = uint32(n)
		case "p":
			if n == 0 || n > 255 {
				return nil, bad
			}
			h.threads = uint8(n)
		default:
			return nil, bad
		}
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return nil, bad
	}
	if h.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.key) == 0 {
		return nil, bad
	}
	if h.memory == 0 || h.time == 0 || h.threads == 0 {
		return nil, bad
	}
	return h, nil
}

func (h *argonHash) verify(password string) bool {
	var key []byte
	n := uint32(len(h.key))
	if h.variant == "argon2id" {
		key = argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, n)
	} else {
		key = argon2.Key([]byte(password), h.salt, h.time, h.memory, h.threads, n)
	}
	return subtle.ConstantTimeCompare(key, h.key) == 1
}

// hashArgon2id makes a PHC argon2id hash (tests, and users who want one).
func hashArgon2id(password string, salt []byte) string {
	const t, m, p = 1, 8 * 1024, 1
	key := argon2.IDKey([]byte(password), salt, t, m, p, 32)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// auth is the web server's access check, as mitmproxy 11+'s: a password
// (web_password, plain or argon2) or the random token printed at start-up,
// given once as ?token= or Authorization: Bearer, then an auth cookie.
type auth struct {
	secret []byte
	// password is the plain password or token; hash, when set, replaces it.
	password string
	hash     *argonHash
	port     int
}

func (a *auth) cookieName() string { return "mitmproxy-auth-" + strconv.Itoa(a.port) }

// cookieValue is the auth cookie's value: a MAC, under a key made at
// start-up, of its name, so that only this server can have issued it.
func (a *auth) cookieValue() string {
	m := hmac.New(sha256.New, a.secret)
	m.Write([]byte(a.cookieName()))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (a *auth) validPassword(p string) bool {
	if p == "" {
		return false
	}
	if a.hash != nil {
		return a.hash.verify(p)
	}
	return subtle.ConstantTimeCompare([]byte(p), []byte(a.password)) == 1
}

const xsrfCookie = "_mitmproxy_xsrf"

// check reports whether the request may go on; when not, it has answered
// 403: bare, or, for the page itself (GET or POST /, which a browser
// opens), with the login form (loginPage) as mitmproxy's IndexHandler
// answers. It sets the auth and XSRF cookies as needed.
//
// The XSRF check of a request that changes something comes before its
// password is looked at, as tornado checks it before any handler runs: a
// login form posted from another site (without the XSRF cookie's value)
// logs nobody in.
func (s *Server) check(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	a, webHost := s.auth, s.host
	s.mu.Unlock()
	deny := func() bool { w.WriteHeader(http.StatusForbidden); return false }
	if a == nil || !hostAllowed(r.Host, webHost) || !originAllowed(r) {
		return deny()
	}
	xsrf := ""
	if c, err := r.Cookie(xsrfCookie); err == nil {
		xsrf = c.Value
	}
	safe := r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions
	page := r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodPost)
	if page && r.Method == http.MethodPost {
		// The login form has two short fields; a client that has not
		// logged in gets no more of the server's memory than that.
		r.Body = http.MaxBytesReader(nil, r.Body, 4<<10)
	}
	if !safe {
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
			return deny()
		}
		given := r.Header.Get("X-XSRFToken")
		if given == "" {
			given = r.Header.Get("X-CSRFToken")
		}
		if given == "" && page {
			given = r.PostFormValue("_xsrf")
		}
		if xsrf == "" || given == "" || subtle.ConstantTimeCompare([]byte(given), []byte(xsrf)) != 1 {
			return deny()
		}
	}
	if c, err := r.Cookie(a.cookieName()); err != nil || !hmac.Equal([]byte(c.Value), []byte(a.cookieValue())) {
		password := ""
		if scheme, params, _ := strings.Cut(r.Header.Get("Authorization"), " "); scheme == "Bearer" {
			password = params
		}
		if password == "" {
			password = r.URL.Query().Get("token")
		}
		if password == "" && page && r.Method == http.MethodPost {
			password = r.PostFormValue("token") // the login form
		}
		if !a.validPassword(password) {
			if !page {
				return deny()
			}
			if xsrf == "" {
				xsrf = setXSRFCookie(w)
			}
			loginPage(w, password != "", xsrf)
			return false
		}
		http.SetCookie(w, &http.Cookie{Name: a.cookieName(), Value: a.cookieValue(), Path: "/",
			MaxAge: 400 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	}
	if safe && xsrf == "" {
		setXSRFCookie(w)
	}
	return true
}

// setXSRFCookie gives the browser a new XSRF token and returns it.
func setXSRFCookie(w http.ResponseWriter) string {
	v := randomHex(16)
	http.SetCookie(w, &http.Cookie{Name: xsrfCookie, Value: v, Path: "/", SameSite: http.SameSiteStrictMode})
	return v
}

// loginPage answers 403 with a form for the password or the token printed
// at start-up, as mitmproxy's login.html: it posts them to / with the XSRF
// token, and says when the password given was wrong. It tells nothing
// else: no flows, options or version. Its style is inline, which the
// Content-Security-Policy allows (style-src 'unsafe-inline'); it has no
// script.
func loginPage(w http.ResponseWriter, invalid bool, xsrf string) {
	heading := `<h1>403 Authentication Required</h1>`
	if invalid {
		heading = `<h1 class="invalid">403 Invalid Password</h1>`
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusForbidden)
	_, _ = io.WriteString(w, `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mitmproxy</title>
<style>
body { font-family: sans-serif; display: flex; flex-direction: column; align-items: center; }
input { font-family: monospace; }
.invalid { color: darkred; }
</style>
</head>
<body>
`+heading+`
<p>To access mitmproxy, please enter the password or authentication token printed in the console.</p>
<form method="POST" action="./">
<label><input type="password" name="token" size="32" autocomplete="current-password" autofocus></label>
<input type="hidden" name="_xsrf" value="`+html.EscapeString(xsrf)+`">
<input type="submit" value="Log in">
</form>
</body>
</html>
`)
}

// hostAllowed is the check against DNS rebinding: a page on another name
// that resolves to this server must not reach it, so the Host header must
// be an IP address, localhost, or the name web_host gives.
func hostAllowed(hostport, webHost string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if host == "" {
		return false
	}
	if net.ParseIP(host) != nil || strings.EqualFold(host, "localhost") {
		return true
	}
	return strings.EqualFold(host, strings.Trim(webHost, "[]"))
}

// originAllowed: a request a browser sends from a page of another origin
// (its Origin header) is refused.
func originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}
