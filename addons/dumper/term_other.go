//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package dumper

// ttyColumns is unknown here; the caller falls back to $COLUMNS or 80.
func ttyColumns(uintptr) int { return 0 }
