//go:build linux

package broker

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// rawSocket reads and writes a plain TCP connection with raw system calls
// on its non-blocking socket, still waiting through the runtime's network
// poller (syscall.RawConn) when the socket has no data or no room.
//
// A normal read or write tells the scheduler it enters a system call, and
// when every P was idle just before, that wakes the runtime's monitor
// thread, which then polls every 20 µs for a while. A producer sending a
// request at a time and a consumer reading a response at a time start
// almost every system call from idle: measured at 50,000 records a second
// sent one request at a time, the monitor thread's wake-ups and sleeps
// were a third of the process's CPU, and raw calls halved its CPU per
// record. A socket operation that neither blocks nor copies more than
// rawChunk bytes is short enough not to need the scheduler's help.
//
// The read side is used by one reader goroutine at a time, the write side
// by whoever holds the connection's write lock; each keeps its own state,
// and the functions handed to RawConn are bound once, so that a read or a
// write allocates nothing.
type rawSocket struct {
	rc syscall.RawConn

	rbuf   []byte
	rn     int
	rerr   syscall.Errno
	readFn func(fd uintptr) bool

	iov     []syscall.Iovec
	werr    syscall.Errno
	writeFn func(fd uintptr) bool
}

// rawChunk bounds the bytes one raw call copies: the goroutine cannot be
// preempted during the call, so it bounds how long a garbage collection
// pause may wait for it (about 60 µs at 8 GB/s). A larger write is one
// ordinary system call (see writeAll).
const rawChunk = 512 << 10

// maxIovecs is the kernel's limit on the pieces of one writev (IOV_MAX).
const maxIovecs = 1024

// newRawSocket returns nc's raw socket, or nil unless nc is a plain TCP
// connection (TLS, and connections from a custom dialer, keep the normal
// path) and the race detector is off.
func newRawSocket(nc net.Conn) *rawSocket {
	if raceEnabled {
		return nil
	}
	t, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := t.SyscallConn()
	if err != nil {
		return nil
	}
	s := &rawSocket{rc: rc}
	s.readFn, s.writeFn = s.readOnce, s.writeAll
	return s
}

// Read reads into p like net.Conn's Read: io.EOF once the peer closed the
// connection, and the connection's read deadline applies.
func (s *rawSocket) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.rbuf, s.rn, s.rerr = p[:min(len(p), rawChunk)], 0, 0
	err := s.rc.Read(s.readFn)
	n, errno := s.rn, s.rerr
	s.rbuf = nil
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, os.NewSyscallError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// readOnce is the RawConn read function: false asks to wait until the
// socket is readable.
func (s *rawSocket) readOnce(fd uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&s.rbuf[0])), uintptr(len(s.rbuf)))
		switch errno {
		case 0:
			s.rn = int(n)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		s.rerr = errno
		return true
	}
}

// writev writes all of vec, as net.Buffers' WriteTo would; the
// connection's write deadline applies.
func (s *rawSocket) writev(vec [][]byte) error {
	iov := s.iov[:0]
	for _, b := range vec {
		if len(b) > 0 {
			v := syscall.Iovec{Base: &b[0]}
			v.SetLen(len(b))
			iov = append(iov, v)
		}
	}
	s.iov, s.werr = iov, 0
	err := s.rc.Write(s.writeFn)
	clear(iov) // no pointers into the caller's buffers stay behind
	s.iov = iov[:0]
	if err != nil {
		return err
	}
	if s.werr != 0 {
		return os.NewSyscallError("writev", s.werr)
	}
	return nil
}

// writeAll is the RawConn write function: it writes s.iov and returns
// false to wait until the socket has room again; s.iov keeps what is left.
//
// Each call offers the kernel up to maxIovecs pieces, however large, and
// the kernel takes what fits in the socket's send buffer. Up to rawChunk
// bytes that is a raw call; above, an ordinary one (syscall.Syscall), which
// tells the scheduler, so that a garbage collection pause never waits for
// a long copy. Cutting large writes into rawChunk calls instead cost a
// flat-out producer of 1 KiB records about a twentieth of its CPU: four
// times franz-go's system calls for the same bytes, each ending in a TCP
// push that wakes the receiver.
func (s *rawSocket) writeAll(fd uintptr) bool {
	for len(s.iov) > 0 {
		n, size := 0, 0
		for n < len(s.iov) && n < maxIovecs {
			size += int(s.iov[n].Len)
			n++
		}
		var wrote uintptr
		var errno syscall.Errno
		if size > rawChunk {
			wrote, _, errno = syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&s.iov[0])), uintptr(n))
		} else {
			wrote, _, errno = syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&s.iov[0])), uintptr(n))
		}
		switch errno {
		case 0:
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			s.werr = errno
			return true
		}
		s.advance(int(wrote))
	}
	return true
}

// advance drops the first n written bytes from s.iov.
func (s *rawSocket) advance(n int) {
	for n > 0 {
		v := &s.iov[0]
		if int(v.Len) > n {
			v.Base = (*byte)(unsafe.Add(unsafe.Pointer(v.Base), n))
			v.SetLen(int(v.Len) - n)
			return
		}
		n -= int(v.Len)
		s.iov = s.iov[1:]
	}
}
