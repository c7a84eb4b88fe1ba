package protocol

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// segmentAppender is the method generated for messages holding records.
type segmentAppender interface {
	AppendSegmentsTo(dst []byte, s *Segments) ([]byte, error)
}

// checkSegments encodes m with segments of minimum min after a prefix, and
// checks that the pieces put back together equal want (AppendTo's output)
// and that the list is well formed. It returns the number of segments.
func checkSegments(t *testing.T, label string, m segmentAppender, min int, want []byte) int {
	t.Helper()
	prefix := []byte("prefix")
	s := Segments{Min: min}
	enc, err := m.AppendSegmentsTo(append([]byte(nil), prefix...), &s)
	if err != nil {
		t.Fatalf("%s: AppendSegmentsTo: %v", label, err)
	}
	if !bytes.HasPrefix(enc, prefix) {
		t.Fatalf("%s: the prefix was overwritten", label)
	}
	at, size := len(prefix), 0
	for _, sg := range s.List() {
		if sg.Offset < at || sg.Offset > len(enc) {
			t.Fatalf("%s: segment offset %d out of order or range (after %d, buffer %d)", label, sg.Offset, at, len(enc))
		}
		if len(sg.Data) < s.min() {
			t.Fatalf("%s: segment of %d bytes is below the minimum %d", label, len(sg.Data), s.min())
		}
		at = sg.Offset
		size += len(sg.Data)
	}
	if size != s.Size() {
		t.Fatalf("%s: Size %d, segments hold %d", label, s.Size(), size)
	}
	got := s.Splice(nil, enc)
	if !bytes.Equal(got[len(prefix):], want) {
		t.Fatalf("%s: spliced encoding differs from AppendTo\n% x\n% x", label, got[len(prefix):], want)
	}
	if len(enc)+s.Size() != len(got) {
		t.Fatalf("%s: %d + %d bytes spliced into %d", label, len(enc), s.Size(), len(got))
	}
	n := len(s.List())
	s.Reset()
	if len(s.List()) != 0 || s.Size() != 0 {
		t.Fatalf("%s: Reset left %d segments, %d bytes", label, len(s.List()), s.Size())
	}
	return n
}

// TestSegmentsMatchAppendTo checks every message with records fields, at
// every version, with random values: the vectored encoding put back
// together is AppendTo's encoding, byte for byte.
func TestSegmentsMatchAppendTo(t *testing.T) {
	iters := 20
	if testing.Short() {
		iters = 3
	}
	g := newRNG(7)
	var names []string
	segs := 0
	for _, tm := range allMessages {
		if tm.min < 0 {
			continue
		}
		if _, ok := tm.new().(segmentAppender); !ok {
			continue
		}
		names = append(names, tm.name)
		for v := tm.min; v <= tm.max; v++ {
			for i := 0; i < iters; i++ {
				m := tm.new()
				m.randomize(g, v, 0)
				want, err := m.AppendTo(nil)
				if err != nil {
					t.Fatalf("%s v%d: %v", tm.name, v, err)
				}
				for _, min := range []int{0, 1, 4, 15} {
					segs += checkSegments(t, tm.name, m.(segmentAppender), min, want)
				}
			}
		}
	}
	for _, n := range []string{"ProduceRequest", "FetchResponse", "ShareFetchResponse", "FetchSnapshotResponse"} {
		if !strings.Contains(strings.Join(names, " "), n) {
			t.Errorf("%s has no AppendSegmentsTo (types with it: %v)", n, names)
		}
	}
	if segs == 0 {
		t.Fatal("no segment was ever taken")
	}
	t.Logf("%d segments over %v", segs, names)
}

// TestProduceSegments covers every Produce version with null, empty, small
// and large record batches at the default minimum: only the batches of at
// least DefaultSegmentMin bytes are left out, and nothing else changes.
func TestProduceSegments(t *testing.T) {
	batch := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + n)
		}
		return b
	}
	records := [][]byte{nil, {}, batch(100), batch(DefaultSegmentMin - 1), batch(DefaultSegmentMin), batch(5000)}
	for v := int16(3); v <= 13; v++ {
		req := NewProduceRequest()
		req.Version = v
		req.Acks = -1
		req.TimeoutMs = 1000
		for ti, name := range []string{"a", "b"} {
			td := ProduceRequestTopicProduceData{Name: name}
			if v >= 13 {
				td.TopicId = UUID{byte(ti + 1)}
			}
			for i, r := range records {
				td.PartitionData = append(td.PartitionData, ProduceRequestPartitionProduceData{Index: int32(i), Records: r})
			}
			req.TopicData = append(req.TopicData, td)
		}
		want, err := req.AppendTo(nil)
		if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		if n := checkSegments(t, "produce", req, 0, want); n != 4 {
			t.Fatalf("v%d: %d segments, want 4 (two large batches in each of two topics)", v, n)
		}
		// A nil *Segments is AppendTo.
		got, err := req.AppendSegmentsTo(nil, nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("v%d: AppendSegmentsTo(nil) differs from AppendTo: %v", v, err)
		}
	}
}

// TestSegmentsEncodeError checks that a failed encoding leaves the
// segments as they were, even when it fails after taking some.
func TestSegmentsEncodeError(t *testing.T) {
	req := NewProduceRequest()
	req.Version = 8 // not flexible: names are limited to 32767 bytes
	req.TopicData = []ProduceRequestTopicProduceData{
		{Name: "ok", PartitionData: []ProduceRequestPartitionProduceData{{Records: make([]byte, 2000)}}},
		{Name: strings.Repeat("x", 1<<15)},
	}
	var s Segments
	s.add(3, make([]byte, 10)) // from an earlier request in the same buffer
	dst := []byte("abc")
	out, err := req.AppendSegmentsTo(dst, &s)
	var ee *EncodeError
	if !errors.As(err, &ee) || !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("error %v, want an EncodeError with ErrInvalidValue", err)
	}
	if len(out) != len(dst) || len(s.List()) != 1 || s.Size() != 10 {
		t.Fatalf("after the error: output %d bytes, %d segments of %d bytes; want 3, 1, 10", len(out), len(s.List()), s.Size())
	}
	req.Version = 2
	if _, err := req.AppendSegmentsTo(nil, &s); !errors.Is(err, ErrVersionNotSupported) || len(s.List()) != 1 {
		t.Fatalf("version 2: %v, %d segments", err, len(s.List()))
	}
}
