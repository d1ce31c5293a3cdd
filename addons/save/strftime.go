package save

import (
	"strconv"
	"strings"
	"time"
)

// strftime formats t as Python's datetime.strftime (glibc's strftime) does
// for the directives a file name plausibly uses. An unknown directive is
// kept as it is, as glibc does.
func strftime(format string, t time.Time) string {
	if !strings.Contains(format, "%") {
		return format
	}
	var sb strings.Builder
	pad := func(n, width int) {
		s := strconv.Itoa(n)
		for i := len(s); i < width; i++ {
			sb.WriteByte('0')
		}
		sb.WriteString(s)
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			sb.WriteByte(c)
			continue
		}
		i++
		switch format[i] {
		case '%':
			sb.WriteByte('%')
		case 'Y':
			pad(t.Year(), 4)
		case 'y':
			pad(t.Year()%100, 2)
		case 'C':
			pad(t.Year()/100, 2)
		case 'm':
			pad(int(t.Month()), 2)
		case 'd':
			pad(t.Day(), 2)
		case 'e':
			d := strconv.Itoa(t.Day())
			if len(d) < 2 {
				sb.WriteByte(' ')
			}
			sb.WriteString(d)
		case 'H':
			pad(t.Hour(), 2)
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			pad(h, 2)
		case 'M':
			pad(t.Minute(), 2)
		case 'S':
			pad(t.Second(), 2)
		case 'f':
			pad(t.Nanosecond()/1000, 6)
		case 'p':
			if t.Hour() < 12 {
				sb.WriteString("AM")
			} else {
				sb.WriteString("PM")
			}
		case 'j':
			pad(t.YearDay(), 3)
		case 'a':
			sb.WriteString(t.Weekday().String()[:3])
		case 'A':
			sb.WriteString(t.Weekday().String())
		case 'b', 'h':
			sb.WriteString(t.Month().String()[:3])
		case 'B':
			sb.WriteString(t.Month().String())
		case 'w':
			sb.WriteString(strconv.Itoa(int(t.Weekday())))
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			sb.WriteString(strconv.Itoa(wd))
		case 'U':
			pad((t.YearDay()+6-int(t.Weekday()))/7, 2)
		case 'W':
			pad((t.YearDay()+6-(int(t.Weekday())+6)%7)/7, 2)
		case 'V':
			_, wk := t.ISOWeek()
			pad(wk, 2)
		case 'G':
			y, _ := t.ISOWeek()
			pad(y, 4)
		case 'Z':
			name, _ := t.Zone()
			sb.WriteString(name)
		case 'z':
			_, off := t.Zone()
			sign := byte('+')
			if off < 0 {
				sign, off = '-', -off
			}
			sb.WriteByte(sign)
			pad(off/3600, 2)
			pad(off%3600/60, 2)
		case 's':
			sb.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'F':
			sb.WriteString(strftime("%Y-%m-%d", t))
		case 'T':
			sb.WriteString(strftime("%H:%M:%S", t))
		case 'R':
			sb.WriteString(strftime("%H:%M", t))
		case 'D':
			sb.WriteString(strftime("%m/%d/%y", t))
		default:
			sb.WriteByte('%')
			sb.WriteByte(format[i])
		}
	}
	return sb.String()
}
