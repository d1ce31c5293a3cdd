package serverplayback

import (
	"math"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/mitmgo/mitmgo/flow"
)

// refreshHeaders are the date headers Refresh moves forward.
var refreshHeaders = []string{"date", "expires", "last-modified"}

// Refresh is mitmproxy's Response.refresh: it moves the response's Date,
// Expires and Last-Modified headers and its cookies' Expires attributes
// forward by the time that has passed since the response was recorded
// (now minus its timestamp_start), so that a replayed response looks as
// fresh as it was when it was recorded.
func Refresh(r *flow.Response, now time.Time) {
	delta := float64(now.UnixNano())/1e9 - r.TimestampStart
	for _, name := range refreshHeaders {
		v, ok := r.Headers.Lookup(name)
		if !ok {
			continue
		}
		if t, ok := parseDate(v); ok {
			r.Headers.Set(name, formatDate(t, delta))
		}
	}
	cookies := r.Headers.GetAll("set-cookie")
	if len(cookies) == 0 {
		return
	}
	for i, c := range cookies {
		cookies[i] = refreshSetCookie(c, delta)
	}
	r.Headers.SetAll("set-cookie", cookies)
}

// parseDate accepts the date forms Python's email.utils.parsedate_tz
// accepts in practice: RFC 1123 / 5322 (with or without weekday), RFC 850
// and asctime.
func parseDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if t, err := http.ParseTime(v); err == nil {
		return t, true
	}
	if t, err := mail.ParseDate(v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// formatDate is email.utils.formatdate(t + delta, usegmt=True).
func formatDate(t time.Time, delta float64) string {
	secs := float64(t.Unix()) + delta
	return time.Unix(int64(math.Floor(secs)), 0).UTC().Format(http.TimeFormat)
}

// refreshSetCookie moves a Set-Cookie header's Expires attribute forward
// by delta seconds. An Expires that does not parse is dropped, and a
// cookie without a name or value is left as it is, as mitmproxy's
// refresh_set_cookie_header does. Everything else is kept byte for byte.
func refreshSetCookie(c string, delta float64) string {
	parts := strings.Split(c, ";")
	name, value, ok := strings.Cut(parts[0], "=")
	if !ok || strings.TrimSpace(name) == "" || strings.TrimSpace(value) == "" {
		return c
	}
	out := parts[:1]
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "expires") {
			out = append(out, p)
			continue
		}
		t, ok := parseDate(v)
		if !ok {
			continue
		}
		lead := p[:len(p)-len(strings.TrimLeft(p, " \t"))]
		out = append(out, lead+strings.TrimSpace(k)+"="+formatDate(t, delta))
	}
	return strings.Join(out, ";")
}
