// Package tty tells whether output goes to a terminal, and how wide it is,
// as Python's sys.stdout.isatty() and shutil.get_terminal_size() do for
// mitmproxy.
package tty

import (
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// IsTerminal reports whether w is a terminal. A character device is not
// enough: /dev/null is one, and output sent there must not be treated as
// a terminal's (no colours, no cutting to a width).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	_, ok = columns(f.Fd())
	return ok
}

// widthTTL is how long a width is believed: asking costs an environment
// lookup and a system call, and a caller may ask for every flow, while a
// terminal is resized by hand.
const widthTTL = time.Second

// Width returns a function giving the width of the terminal behind w the
// way shutil.get_terminal_size does: $COLUMNS, then the terminal itself,
// then 80. Its answer may be up to a second old.
func Width(w io.Writer) func() int {
	fd, hasFd := w.(interface{ Fd() uintptr })
	type cached struct {
		width int
		at    time.Time
	}
	var last atomic.Pointer[cached]
	return func() int {
		now := time.Now()
		if c := last.Load(); c != nil && now.Sub(c.at) < widthTTL {
			return c.width
		}
		width := 80
		if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 0 {
			width = c
		} else if hasFd {
			if n, ok := columns(fd.Fd()); ok && n > 0 {
				width = n
			}
		}
		last.Store(&cached{width: width, at: now})
		return width
	}
}
