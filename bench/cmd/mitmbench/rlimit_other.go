//go:build !unix

package main

import (
	"errors"
	"net"
)

// raiseFileLimit is a no-op where there is no RLIMIT_NOFILE.
func raiseFileLimit(need int64) (before, after fileLimit, err error) {
	l := fileLimit{soft: unlimited, hard: unlimited}
	return l, l, errors.New("descriptor limits are not known on this system")
}

func peerClosed(net.Conn) (closed, ok bool) { return false, false }

// nrOpenMax is not known here.
func nrOpenMax() uint64 { return 0 }
