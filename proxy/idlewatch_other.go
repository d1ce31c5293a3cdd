//go:build !linux

package proxy

import (
	"errors"
	"time"
)

// idleWatch is Linux's (idlewatch_linux.go): elsewhere idle connections
// wait on their goroutines.
type idleWatch struct{}

func newIdleWatch(func(*clientConn, *stream, bool)) (*idleWatch, error) {
	return nil, errors.ErrUnsupported
}

func (*idleWatch) park(*clientConn, *stream, time.Time) error { return errors.ErrUnsupported }
func (*idleWatch) remove(*clientConn) *stream                 { return nil }
func (*idleWatch) close()                                     {}
func (*idleWatch) takeWoken() int                             { return 0 }
