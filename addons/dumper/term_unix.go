//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package dumper

import (
	"syscall"
	"unsafe"
)

// ttyColumns asks the terminal on fd for its width; 0 if fd is no terminal.
func ttyColumns(fd uintptr) int {
	var ws struct{ Row, Col, X, Y uint16 }
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, uintptr(syscall.TIOCGWINSZ), uintptr(unsafe.Pointer(&ws)))
	if errno != 0 {
		return 0
	}
	return int(ws.Col)
}
