package cookies

import (
	"strconv"
	"strings"
	"time"
)

// Expired reports whether the cookie's Expires (or, without one, Max-Age)
// lies at or before now, as mitmproxy's is_expired. An Expires that does
// not parse means no expiry, even with a Max-Age.
func (c *SetCookie) Expired(now time.Time) bool {
	if a, ok := c.Attr("expires"); ok {
		t, ok := ParseDate(a.Value)
		return ok && !t.After(now)
	}
	if a, ok := c.Attr("max-age"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(a.Value))
		return err == nil && n <= 0
	}
	return false
}

var (
	monthNames = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
		"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}
	dayNames  = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	timezones = map[string]int{"UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "AST": -400, "ADT": -300, "EST": -500, "EDT": -400,
		"CST": -600, "CDT": -500, "MST": -700, "MDT": -600, "PST": -800, "PDT": -700}
)

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// ParseDate is Python's email.utils.parsedate_tz followed by mktime_tz: a
// lenient RFC 2822 date parser that also takes RFC 850 and asctime-like
// forms. A missing or unknown time zone means UTC (parsedate_tz turns its
// "no zone" into offset 0).
func ParseDate(data string) (time.Time, bool) {
	fields := strings.Fields(data)
	if len(fields) == 0 {
		return time.Time{}, false
	}
	if strings.HasSuffix(fields[0], ",") || indexOf(dayNames, strings.ToLower(fields[0])) >= 0 {
		fields = fields[1:]
	} else if i := strings.LastIndexByte(fields[0], ','); i >= 0 {
		fields[0] = fields[0][i+1:]
	}
	if len(fields) == 3 { // RFC 850: 21-Oct-2015
		if stuff := strings.Split(fields[0], "-"); len(stuff) == 3 {
			fields = append(stuff, fields[1:]...)
		}
	}
	if len(fields) == 4 {
		s := fields[3]
		i := strings.IndexByte(s, '+')
		if i == -1 {
			i = strings.IndexByte(s, '-')
		}
		if i > 0 {
			fields = append(fields[:3], s[:i], s[i:])
		} else {
			fields = append(fields, "")
		}
	}
	if len(fields) < 5 {
		return time.Time{}, false
	}
	dd, mm, yy, tm, tz := fields[0], fields[1], fields[2], fields[3], fields[4]
	if dd == "" || mm == "" || yy == "" {
		return time.Time{}, false
	}
	mm = strings.ToLower(mm)
	month := indexOf(monthNames, mm)
	if month < 0 {
		dd, mm = mm, strings.ToLower(dd)
		if month = indexOf(monthNames, mm); month < 0 {
			return time.Time{}, false
		}
	}
	month = month%12 + 1
	dd = strings.TrimSuffix(dd, ",")
	if i := strings.IndexByte(yy, ':'); i > 0 {
		yy, tm = tm, yy
	}
	if strings.HasSuffix(yy, ",") {
		yy = yy[:len(yy)-1]
		if yy == "" {
			return time.Time{}, false
		}
	}
	if yy == "" {
		return time.Time{}, false
	}
	if yy[0] < '0' || yy[0] > '9' {
		yy, tz = tz, yy
	}
	tm = strings.TrimSuffix(tm, ",")
	var thh, tmm, tss string
	parts := strings.Split(tm, ":")
	switch {
	case len(parts) == 2:
		thh, tmm, tss = parts[0], parts[1], "0"
	case len(parts) == 3:
		thh, tmm, tss = parts[0], parts[1], parts[2]
	case len(parts) == 1 && strings.Contains(tm, "."):
		parts = strings.Split(tm, ".")
		switch len(parts) {
		case 2:
			thh, tmm, tss = parts[0], parts[1], "0"
		case 3:
			thh, tmm, tss = parts[0], parts[1], parts[2]
		default:
			return time.Time{}, false
		}
	default:
		return time.Time{}, false
	}
	var nums [5]int
	for i, s := range []string{yy, dd, thh, tmm, tss} {
		n, err := strconv.Atoi(s)
		if err != nil {
			return time.Time{}, false
		}
		nums[i] = n
	}
	year, day, hour, minute, sec := nums[0], nums[1], nums[2], nums[3], nums[4]
	if year < 100 {
		if year > 68 {
			year += 1900
		} else {
			year += 2000
		}
	}
	loc := time.UTC
	tz = strings.ToUpper(tz)
	if off, ok := timezones[tz]; ok {
		loc = fixedZone(off)
	} else if off, err := strconv.Atoi(tz); err == nil {
		loc = fixedZone(off)
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, loc), true
}

// fixedZone converts an offset written as hhmm (-0500) to a zone.
func fixedZone(hhmm int) *time.Location {
	sign := 1
	if hhmm < 0 {
		sign, hhmm = -1, -hhmm
	}
	return time.FixedZone("", sign*((hhmm/100)*3600+(hhmm%100)*60))
}
