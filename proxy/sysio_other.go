//go:build !linux

package proxy

import (
	"errors"
	"net"
)

// sysIO is Linux-only (see sysio_linux.go); elsewhere connections use
// net.Conn's own Read and Write.
type sysIO struct{}

func newSysIO(net.Conn) *sysIO { return nil }

func (*sysIO) read([]byte) (int, error) { return 0, errors.ErrUnsupported }
func (*sysIO) waitReadable() error      { return errors.ErrUnsupported }
func (*sysIO) readableNow() bool        { return false }

type idleWaiter interface{ nothingRead() }

func (*sysIO) readOrWait([]byte, idleWaiter) (int, bool, error) {
	return 0, false, errors.ErrUnsupported
}
func (*sysIO) writev(_, _ []byte) (int, error) { return 0, errors.ErrUnsupported }
