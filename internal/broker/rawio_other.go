//go:build !linux

package broker

import "net"

// rawSocket is Linux only (see rawio_linux.go); elsewhere connections use
// net.Conn's reads and writes.
type rawSocket struct{}

func newRawSocket(net.Conn) *rawSocket { return nil }

func (*rawSocket) Read([]byte) (int, error) { panic("broker: no raw sockets on this platform") }

func (*rawSocket) writev([][]byte) error { panic("broker: no raw sockets on this platform") }
