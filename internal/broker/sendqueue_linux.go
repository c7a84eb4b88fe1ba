//go:build linux

package broker

import (
	"syscall"
	"unsafe"
)

// siocOutqNSD is the ioctl that reads how many bytes a TCP socket holds
// that it has not sent yet (SIOCOUTQNSD).
const siocOutqNSD = 0x894B

// unsentBytes returns how many bytes of earlier writes the socket behind
// rc has not sent yet, or -1 when it cannot tell. The ioctl neither blocks
// nor copies much, so it is a raw call (see rawSocket).
func unsentBytes(rc syscall.RawConn) int {
	if rc == nil {
		return -1
	}
	n := -1
	rc.Control(func(fd uintptr) {
		var v int32
		if _, _, e := syscall.RawSyscall(syscall.SYS_IOCTL, fd, siocOutqNSD, uintptr(unsafe.Pointer(&v))); e == 0 {
			n = int(v)
		}
	})
	return n
}
