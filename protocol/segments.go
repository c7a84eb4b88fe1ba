package protocol

// DefaultSegmentMin is the smallest record batch that AppendSegmentsTo
// leaves out of its output when Segments.Min is zero. Below it, copying the
// batch costs no more than the extra pieces of a vectored write (measured
// on loopback TCP with 16 batches a request: copying wins clearly at 1 KiB,
// ties at 2 KiB, and loses from 4 KiB; see BenchmarkVectoredWrite in
// internal/broker).
const DefaultSegmentMin = 4096

// Segment is a record batch left out of an encoding: Data belongs at
// Offset, a position in the buffer the encoding was appended to, in front
// of the byte that is at Offset there (or at its end).
type Segment struct {
	// Offset is where Data belongs in the encoded buffer.
	Offset int
	// Data is the batch itself: the message's own memory, not a copy.
	Data []byte
}

// Segments collects the record batches that the AppendSegmentsTo methods
// leave out of their output, so that a connection can write the encoded
// headers and the batches with one vectored write instead of copying the
// batches next to the headers. Segments from several AppendSegmentsTo calls
// on one buffer accumulate, in increasing Offset order. The zero value is
// ready to use, with the default minimum.
type Segments struct {
	// Min is the smallest batch left out; smaller ones are copied into the
	// output as usual. Zero means DefaultSegmentMin; empty and null record
	// fields are always written in place.
	Min int

	list []Segment
	size int
}

// List returns the segments collected since the last Reset, in Offset
// order. The slice is valid until the next Reset or AppendSegmentsTo.
func (s *Segments) List() []Segment { return s.list }

// Size returns the total length of the collected segments' data.
func (s *Segments) Size() int { return s.size }

// Reset forgets the collected segments (and their references to the
// messages' memory), keeping Min and the list's capacity.
func (s *Segments) Reset() {
	clear(s.list)
	s.list, s.size = s.list[:0], 0
}

// Splice appends to dst the complete encoding: enc, the buffer the
// segments' offsets refer to, with every segment's data put back at its
// offset. It is what a vectored write of the pieces sends.
func (s *Segments) Splice(dst, enc []byte) []byte {
	at := 0
	for _, sg := range s.list {
		dst = append(dst, enc[at:sg.Offset]...)
		dst = append(dst, sg.Data...)
		at = sg.Offset
	}
	return append(dst, enc[at:]...)
}

func (s *Segments) min() int {
	if s.Min <= 0 {
		return DefaultSegmentMin
	}
	return s.Min
}

func (s *Segments) add(offset int, data []byte) {
	s.list = append(s.list, Segment{Offset: offset, Data: data})
	s.size += len(data)
}

// mark and truncate let an encoding that fails drop the segments it added;
// both accept a nil s.
func (s *Segments) mark() int {
	if s == nil {
		return 0
	}
	return len(s.list)
}

func (s *Segments) truncate(n int) {
	if s == nil {
		return
	}
	for _, sg := range s.list[n:] {
		s.size -= len(sg.Data)
	}
	clear(s.list[n:])
	s.list = s.list[:n]
}
