// Package stickycookie is mitmproxy's stickycookie addon (--stickycookie
// FILTER): a cookie jar shared by all clients. Cookies set by any response
// are remembered per (domain, port, path); requests that match the filter
// get the remembered cookies of their host, port and path as their Cookie
// header, replacing the one they sent.
//
// This keeps a session alive across clients, for instance when a script or
// a replayed request should use the login of a browser.
package stickycookie

import (
	"fmt"
	"sync"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/filter"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/cookies"
)

// OptionName is the option that holds the filter.
const OptionName = "stickycookie"

var (
	_ addon.LoadHook      = (*StickyCookie)(nil)
	_ addon.ConfigureHook = (*StickyCookie)(nil)
	_ addon.RequestHook   = (*StickyCookie)(nil)
	_ addon.ResponseHook  = (*StickyCookie)(nil)
)

// origin is a jar key: the cookie's domain (its Domain attribute, or the
// request host), the request port and the cookie's path.
type origin struct {
	domain string
	port   int
	path   string
}

// jarCookies holds one origin's cookies in the order they were first set.
type jarCookies struct {
	names  []string
	values map[string]string
	// bare names the cookies set without "=": mitmproxy stores their value
	// None and sends them back as the bare name.
	bare map[string]bool
}

func (c *jarCookies) set(name, value string, bare bool) {
	if _, ok := c.values[name]; !ok {
		c.names = append(c.names, name)
	}
	c.values[name] = value
	if bare {
		c.bare[name] = true
	} else {
		delete(c.bare, name)
	}
}

func (c *jarCookies) del(name string) {
	if _, ok := c.values[name]; !ok {
		return
	}
	delete(c.values, name)
	delete(c.bare, name)
	for i, n := range c.names {
		if n == name {
			c.names = append(c.names[:i], c.names[i+1:]...)
			break
		}
	}
}

// StickyCookie is the cookie jar. It is safe for concurrent use.
type StickyCookie struct {
	ctx *addon.Context
	opt addon.Opt[*string] // OptionName, declared in Load
	flt filter.Optional
	// now is the clock for cookie expiry.
	now func() time.Time

	mu      sync.Mutex
	origins []origin // in insertion order, as mitmproxy's dict
	jar     map[origin]*jarCookies
}

// New returns the addon, off until the option is set.
func New() *StickyCookie {
	return &StickyCookie{now: time.Now, jar: map[origin]*jarCookies{}}
}

// Load declares stickycookie.
func (s *StickyCookie) Load(l *addon.Loader) {
	s.ctx = l.Context()
	s.opt = addon.Declare[*string](l, OptionName, nil, "Set sticky cookie filter. Matched against requests.")
}

// optString is an optional string option's value, "" when unset.
func optString(o addon.Opt[*string]) string {
	if p := o.Get(); p != nil {
		return *p
	}
	return ""
}

// Configure parses the filter; an invalid one is refused and the active
// one kept.
func (s *StickyCookie) Configure(updated map[string]bool) error {
	if !updated[OptionName] || s.ctx == nil {
		return nil
	}
	if err := s.flt.Set(optString(s.opt)); err != nil {
		return fmt.Errorf("%s: %w", OptionName, err)
	}
	return nil
}

// Response stores the cookies the response sets (or deletes expired ones),
// for every flow while the addon is on: only requests are filtered.
func (s *StickyCookie) Response(f *flow.HTTPFlow) {
	if s.flt.Get() == nil || f.Response == nil || f.Request == nil {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range f.Response.Cookies() {
		key := origin{domain: f.Request.Host, port: f.Request.Port, path: "/"}
		// A flag-style Domain or Path (no "=") reads as "": mitmproxy
		// fails on its None there.
		if d, ok := c.Attr("domain"); ok {
			key.domain = d.Value
		}
		if p, ok := c.Attr("path"); ok {
			key.path = p.Value
		}
		if !hostMatches(f.Request.Host, key.domain) {
			continue
		}
		if c.Expired(now) {
			if jc := s.jar[key]; jc != nil {
				jc.del(c.Name)
				if len(jc.names) == 0 {
					s.remove(key)
				}
			}
			continue
		}
		jc := s.jar[key]
		if jc == nil {
			jc = &jarCookies{values: map[string]string{}, bare: map[string]bool{}}
			s.jar[key] = jc
			s.origins = append(s.origins, key)
		}
		jc.set(c.Name, c.Value, c.Flag)
	}
}

func (s *StickyCookie) remove(key origin) {
	delete(s.jar, key)
	for i, o := range s.origins {
		if o == key {
			s.origins = append(s.origins[:i], s.origins[i+1:]...)
			return
		}
	}
}

// Request replaces the Cookie header of matching requests with the jar's
// cookies for their host, port and path, and marks the flow with the
// metadata key "stickycookie".
func (s *StickyCookie) Request(f *flow.HTTPFlow) {
	flt := s.flt.Get()
	if flt == nil || f.Request == nil || !flt.Match(f) {
		return
	}
	var pairs []cookies.Pair
	s.mu.Lock()
	for _, key := range s.origins {
		if hostMatches(f.Request.Host, key.domain) && f.Request.Port == key.port && hasPrefix(f.Request.Path, key.path) {
			jc := s.jar[key]
			for _, name := range jc.names {
				pairs = append(pairs, cookies.Pair{Name: name, Value: jc.values[name], Flag: jc.bare[name]})
			}
		}
	}
	s.mu.Unlock()
	if len(pairs) > 0 {
		f.Metadata.Set("stickycookie", true)
		f.Request.Headers.Set("cookie", cookies.FormatCookieHeader(pairs))
	}
}

func hasPrefix(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }

// KeepsFlows is false: it keeps cookie values parsed out of headers, not the flows (see addon.FlowKeeper).
func (s *StickyCookie) KeepsFlows() bool { return false }
