package dumper

import (
	"io"
	"os"
	"strconv"
)

// terminalWidth returns how wide the terminal behind w is, the way Python's
// shutil.get_terminal_size finds it: $COLUMNS, then the terminal itself,
// then 80.
func terminalWidth(w io.Writer) func() int {
	return func() int {
		if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 0 {
			return c
		}
		if f, ok := w.(interface{ Fd() uintptr }); ok {
			if n := ttyColumns(f.Fd()); n > 0 {
				return n
			}
		}
		return 80
	}
}
