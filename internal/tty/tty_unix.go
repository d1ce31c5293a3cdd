//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package tty

import (
	"syscall"
	"unsafe"
)

// columns asks the terminal on fd for its width; ok is false when fd is no
// terminal (the ioctl fails with ENOTTY, as for /dev/null, a pipe or a file).
func columns(fd uintptr) (width int, ok bool) {
	var ws struct{ Row, Col, X, Y uint16 }
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, uintptr(syscall.TIOCGWINSZ), uintptr(unsafe.Pointer(&ws)))
	if errno != 0 {
		return 0, false
	}
	return int(ws.Col), true
}
