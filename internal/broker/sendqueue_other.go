//go:build !linux

package broker

import "syscall"

// unsentBytes cannot tell the bytes a socket has not sent yet here.
func unsentBytes(syscall.RawConn) int { return -1 }
