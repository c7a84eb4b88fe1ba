package compression

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// ---- gzip ----

// gzipWriters holds one pool per level 1-9 (index = level).
var gzipWriters [10]sync.Pool

type gzipEnc struct {
	w   *gzip.Writer
	out appendWriter
}

func compressGzip(dst, src []byte, level Level) ([]byte, error) {
	level = Gzip.resolve(level)
	p := &gzipWriters[level]
	e, _ := p.Get().(*gzipEnc)
	if e == nil {
		e = &gzipEnc{}
		w, err := gzip.NewWriterLevel(&e.out, int(level))
		if err != nil {
			return dst, newErr(Gzip, "compress", ErrInvalidLevel, err)
		}
		e.w = w
	}
	e.out.b = dst
	e.w.Reset(&e.out)
	_, err := e.w.Write(src)
	if err == nil {
		err = e.w.Close()
	}
	out := e.out.b
	e.out.b = nil
	p.Put(e)
	if err != nil {
		return dst, newErr(Gzip, "compress", ErrCorrupt, err)
	}
	return out, nil
}

type gzipDec struct {
	r  *gzip.Reader
	br bytes.Reader
}

var gzipReaders sync.Pool

func decompressGzip(dst, src []byte, limit int) ([]byte, error) {
	d, _ := gzipReaders.Get().(*gzipDec)
	if d == nil {
		d = &gzipDec{}
	}
	d.br.Reset(src)
	var err error
	if d.r == nil {
		d.r, err = gzip.NewReader(&d.br)
	} else {
		err = d.r.Reset(&d.br)
	}
	if err != nil {
		d.br.Reset(nil)
		if d.r != nil {
			gzipReaders.Put(d)
		}
		return dst, newErr(Gzip, "decompress", ErrCorrupt, err)
	}
	// The gzip trailer stores the uncompressed size mod 2^32: a cheap hint.
	hint := 0
	if len(src) >= 8 {
		hint = safeHint(int(binary.LittleEndian.Uint32(src[len(src)-4:])), len(src))
	}
	dst, err = readCapped(Gzip, d.r, dst, limit, hint)
	d.br.Reset(nil)
	gzipReaders.Put(d)
	return dst, err
}

// safeHint bounds a size hint read from untrusted input, so that a tiny
// hostile input cannot make the decoder reserve up to the limit up front.
// Real data with a higher ratio still decodes; its buffer just grows.
func safeHint(hint, srcLen int) int {
	return min(hint, 32*srcLen+64<<10)
}

// ---- snappy ----

// Kafka's Java producer compresses snappy batches through snappy-java's
// SnappyOutputStream, which writes the "xerial" framing: the 8-byte magic
// \x82SNAPPY\x00, a 4-byte big-endian version (1) and compatible version (1),
// then blocks of at most 32 KiB input, each a 4-byte big-endian length
// followed by a raw snappy block. Gregor encodes exactly that form, because:
//
//   - it is what the reference client writes, so every consumer in use must
//     already read it: the Java consumer (SnappyInputStream), librdkafka/kcat
//     and franz-go all recognise the xerial header and unframe it;
//   - a broker that has to decompress a batch (validation, down-conversion or
//     recompression to a topic's compression.type) uses the same Java code,
//     for which the framed form is the primary path; raw snappy is accepted
//     by snappy-java only through a fallback for input lacking the header;
//   - 32 KiB blocks keep the decoder's per-block buffer small on the Java side.
//
// For decoding both forms are accepted: input that starts with the xerial
// magic is unframed (including concatenated streams, where a second header
// appears between blocks), anything else is decoded as one raw snappy block,
// the form some non-Java clients write.
//
// Empty input is encoded as the header plus one chunk holding an empty
// snappy block, never the bare 16-byte header: some decoders only treat
// input longer than 16 bytes as framed and would try a bare header as a raw
// block.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const (
	xerialHeaderLen = 16 // magic + version + compatible version
	xerialBlock     = 32 << 10
)

func compressSnappy(dst, src []byte) []byte {
	dst = append(dst, xerialMagic...)
	dst = binary.BigEndian.AppendUint32(dst, 1) // version
	dst = binary.BigEndian.AppendUint32(dst, 1) // minimum compatible version
	for first := true; first || len(src) > 0; first = false {
		n := min(len(src), xerialBlock)
		need := 4 + s2.MaxEncodedLen(n)
		if cap(dst)-len(dst) < need {
			dst = append(dst[:cap(dst)], make([]byte, need)...)[:len(dst)]
		}
		at := len(dst)
		// s2.EncodeSnappy emits standard snappy (no S2 extensions) at
		// snappy's speed; the snappy package's Encode uses a slower mode.
		enc := s2.EncodeSnappy(dst[at+4:at+need], src[:n])
		binary.BigEndian.PutUint32(dst[at:at+4], uint32(len(enc)))
		dst = dst[:at+4+len(enc)]
		src = src[n:]
	}
	return dst
}

func decompressSnappy(dst, src []byte, limit int) ([]byte, error) {
	start := len(dst)
	if !bytes.HasPrefix(src, xerialMagic) {
		return snappyBlock(dst, src, limit, start)
	}
	if len(src) < xerialHeaderLen {
		return dst, newErr(Snappy, "decompress", ErrCorrupt, errors.New("short xerial header"))
	}
	src = src[xerialHeaderLen:]
	for len(src) > 0 {
		if bytes.HasPrefix(src, xerialMagic) { // concatenated stream
			if len(src) < xerialHeaderLen {
				return dst, newErr(Snappy, "decompress", ErrCorrupt, errors.New("short xerial header"))
			}
			src = src[xerialHeaderLen:]
			continue
		}
		if len(src) < 4 {
			return dst, newErr(Snappy, "decompress", ErrCorrupt, errors.New("short xerial block length"))
		}
		n := binary.BigEndian.Uint32(src)
		src = src[4:]
		if uint64(n) > uint64(len(src)) {
			return dst, newErr(Snappy, "decompress", ErrCorrupt, errors.New("xerial block exceeds input"))
		}
		var err error
		if dst, err = snappyBlock(dst, src[:n], limit, start); err != nil {
			return dst, err
		}
		src = src[n:]
	}
	return dst, nil
}

// snappyBlock appends one raw snappy block, enforcing that the total output
// since start stays within limit.
func snappyBlock(dst, block []byte, limit, start int) ([]byte, error) {
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return dst, newErr(Snappy, "decompress", ErrCorrupt, err)
	}
	// A snappy copy element emits at most 64 bytes from 3 input bytes, so a
	// block claiming more than about 22 times its size is corrupt; checking
	// first avoids allocating for a bogus length.
	if uint64(n) > 22*uint64(len(block))+64 {
		return dst, newErr(Snappy, "decompress", ErrCorrupt, errors.New("implausible decoded length"))
	}
	if n > limit-(len(dst)-start) {
		return dst, newErr(Snappy, "decompress", ErrTooLarge, nil)
	}
	at := len(dst)
	if cap(dst)-at < n {
		dst = append(dst[:cap(dst)], make([]byte, n-(cap(dst)-at))...)[:at]
	}
	if _, err := snappy.Decode(dst[at:at+n], block); err != nil {
		return dst, newErr(Snappy, "decompress", ErrCorrupt, err)
	}
	return dst[:at+n], nil
}

// ---- lz4 ----

// lz4Writers holds one pool per level 1-10 (index = level).
var lz4Writers [11]sync.Pool

type lz4Enc struct {
	w   *lz4.Writer
	out appendWriter
}

var lz4Levels = [...]lz4.CompressionLevel{
	1: lz4.Fast, 2: lz4.Level1, 3: lz4.Level2, 4: lz4.Level3, 5: lz4.Level4,
	6: lz4.Level5, 7: lz4.Level6, 8: lz4.Level7, 9: lz4.Level8, 10: lz4.Level9,
}

func compressLZ4(dst, src []byte, level Level) ([]byte, error) {
	level = LZ4.resolve(level)
	p := &lz4Writers[level]
	e, _ := p.Get().(*lz4Enc)
	if e == nil {
		e = &lz4Enc{w: lz4.NewWriter(nil)}
		// 64 KiB independent blocks without content checksum: the frame
		// layout Kafka's Java client writes, so Java readers need only a
		// 64 KiB block buffer. The batch CRC already covers integrity.
		err := e.w.Apply(
			lz4.BlockSizeOption(lz4.Block64Kb),
			lz4.ChecksumOption(false),
			lz4.CompressionLevelOption(lz4Levels[level]),
			lz4.ConcurrencyOption(1),
		)
		if err != nil {
			return dst, newErr(LZ4, "compress", ErrInvalidLevel, err)
		}
	}
	e.out.b = dst
	e.w.Reset(&e.out)
	_, err := e.w.Write(src)
	if err == nil {
		err = e.w.Close()
	}
	out := e.out.b
	e.out.b = nil
	p.Put(e)
	if err != nil {
		return dst, newErr(LZ4, "compress", ErrCorrupt, err)
	}
	return out, nil
}

// lz4Hint estimates the decompressed size of an LZ4 frame from its header
// and block headers without decompressing: the content size if the frame
// declares it, else the sum of the block estimates. A stored (uncompressed)
// block counts its exact size; a compressed one counts four times its size,
// at most the frame's maximum block size, because writers fill every block
// but the last, and a last block estimated at the maximum (4 MiB by default)
// would make a small batch hold a buffer many times its size. An estimate
// that falls short only costs readCapped one more growth. It returns 0 if
// src does not look like a frame.
func lz4Hint(src []byte) int {
	if len(src) < 7 || binary.LittleEndian.Uint32(src) != lz4Magic {
		return 0
	}
	flg, bd := src[4], src[5]
	p := 6
	if flg&0x08 != 0 { // content size present
		if len(src) < p+8 {
			return 0
		}
		return int(min(binary.LittleEndian.Uint64(src[p:]), 1<<31))
	}
	if flg&0x01 != 0 { // dictionary id
		p += 4
	}
	p++ // header checksum
	blockMax := 1 << (8 + 2*int((bd>>4)&7))
	n := 0
	for p+4 <= len(src) {
		word := binary.LittleEndian.Uint32(src[p:])
		size := int(word & 0x7fffffff)
		p += 4
		if size == 0 {
			break
		}
		if word&0x80000000 != 0 { // stored uncompressed
			n += size
		} else {
			n += min(blockMax, 4*size)
		}
		p += size
		if flg&0x10 != 0 { // block checksum
			p += 4
		}
	}
	return n
}

type lz4Dec struct {
	r  *lz4.Reader
	br bytes.Reader
}

var lz4Readers = sync.Pool{New: func() any { return &lz4Dec{r: lz4.NewReader(nil)} }}

// lz4Magic starts every LZ4 frame.
const lz4Magic = 0x184D2204

// decompressLZ4Blocks decodes a frame of independent blocks block by block
// with lz4.UncompressBlock, straight into dst. It skips the frame's xxHash
// checksums, which the stream reader verifies at a real cost: a record
// batch's CRC already covers every compressed byte. ok is false when the
// frame uses features this path leaves to the stream reader (linked
// blocks, a dictionary, an unknown version) or anything fails; the caller
// then decodes with the stream reader, which reports errors precisely.
func decompressLZ4Blocks(dst, src []byte, limit int) (out []byte, ok bool) {
	if len(src) < 7 || binary.LittleEndian.Uint32(src) != lz4Magic {
		return dst, false
	}
	flg, bd := src[4], src[5]
	if flg>>6 != 1 || flg&0x20 == 0 || flg&0x01 != 0 || (bd>>4)&7 < 4 {
		return dst, false
	}
	blockMax := 1 << (8 + 2*int((bd>>4)&7))
	p := 7 // magic, FLG, BD, header checksum
	if flg&0x08 != 0 {
		p += 8 // content size
	}
	start := len(dst)
	dst = slices.Grow(dst, min(safeHint(lz4Hint(src), len(src)), limit))
	for {
		if p+4 > len(src) {
			return dst[:start], false
		}
		word := binary.LittleEndian.Uint32(src[p:])
		p += 4
		if word == 0 {
			break
		}
		size := int(word & 0x7fffffff)
		if size > len(src)-p || size > blockMax {
			return dst[:start], false
		}
		blk := src[p : p+size]
		p += size
		if flg&0x10 != 0 {
			p += 4 // block checksum
		}
		room := limit - (len(dst) - start)
		if word&0x80000000 != 0 { // stored uncompressed
			if size > room {
				return dst[:start], false
			}
			dst = append(dst, blk...)
			continue
		}
		room = min(room, blockMax)
		want := min(room, max(4*size, 64<<10))
		for {
			dst = slices.Grow(dst, want)
			n, err := lz4.UncompressBlock(blk, dst[len(dst):len(dst)+want])
			if err == nil {
				dst = dst[:len(dst)+n]
				break
			}
			if want >= room {
				return dst[:start], false
			}
			want = room
		}
	}
	if flg&0x04 != 0 {
		p += 4 // content checksum
	}
	if p > len(src) {
		return dst[:start], false
	}
	return dst, true
}

func decompressLZ4(dst, src []byte, limit int) ([]byte, error) {
	if out, ok := decompressLZ4Blocks(dst, src, limit); ok {
		return out, nil
	}
	d := lz4Readers.Get().(*lz4Dec)
	d.br.Reset(src)
	d.r.Reset(&d.br)
	dst, err := readCapped(LZ4, d.r, dst, limit, safeHint(lz4Hint(src), len(src)))
	d.br.Reset(nil)
	d.r.Reset(nil)
	lz4Readers.Put(d)
	return dst, err
}

// ---- zstd ----

// zstdWriters holds one pool per encoder strategy.
var zstdWriters [5]sync.Pool

func zstdLevel(level Level) zstd.EncoderLevel {
	return zstd.EncoderLevelFromZstd(int(level))
}

func compressZstd(dst, src []byte, level Level) []byte {
	el := zstdLevel(Zstd.resolve(level))
	p := &zstdWriters[el]
	e, _ := p.Get().(*zstd.Encoder)
	if e == nil {
		// Options are all valid constants; NewWriter cannot fail here.
		e, _ = zstd.NewWriter(nil,
			zstd.WithEncoderLevel(el),
			zstd.WithEncoderConcurrency(1),
			zstd.WithZeroFrames(true),
			zstd.WithEncoderCRC(false), // the batch CRC covers the payload
		)
	}
	dst = e.EncodeAll(src, dst)
	p.Put(e)
	return dst
}

type zstdDec struct {
	d  *zstd.Decoder
	br bytes.Reader
}

// zstdMaxWindow is zstd's own default decoder window limit (2^27); frames
// asking for more are rejected instead of reserving that much memory.
const zstdMaxWindow = 1 << 27

var zstdReaders sync.Pool

// zstdWhole holds, per output limit, pools of decoders used with
// DecodeAll, which decodes a whole frame much faster than the stream reader.
var zstdWhole sync.Map // int -> *sync.Pool

// decompressZstdWhole decodes src with DecodeAll when its frame declares a
// content size within limit (and plausible for its length) and the limit
// is not tiny (the decoder rejects windows above its memory cap). The decoder's
// memory cap is limit, so further frames without a size stay bounded too.
// ok is false when src does not qualify.
func decompressZstdWhole(dst, src []byte, limit int) (out []byte, err error, ok bool) {
	var h zstd.Header
	if limit < 1<<20 || h.Decode(src) != nil || !h.HasFCS || h.FrameContentSize > uint64(limit) ||
		h.FrameContentSize > uint64(safeHint(limit, len(src))) {
		return dst, nil, false
	}
	pv, _ := zstdWhole.Load(limit)
	if pv == nil {
		pv, _ = zstdWhole.LoadOrStore(limit, new(sync.Pool))
	}
	pool := pv.(*sync.Pool)
	d, _ := pool.Get().(*zstd.Decoder)
	if d == nil {
		if d, err = zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(zstdMaxWindow),
			zstd.WithDecoderMaxMemory(uint64(limit)),
			// The record batch CRC already covers every compressed byte.
			zstd.IgnoreChecksum(true),
		); err != nil {
			return dst, newErr(Zstd, "decompress", ErrCorrupt, err), true
		}
	}
	out, err = d.DecodeAll(src, slices.Grow(dst, int(h.FrameContentSize)))
	pool.Put(d)
	switch {
	case errors.Is(err, zstd.ErrDecoderSizeExceeded):
		return out, newErr(Zstd, "decompress", ErrTooLarge, fmt.Errorf("limit %d bytes", limit)), true
	case err != nil:
		return out, newErr(Zstd, "decompress", ErrCorrupt, err), true
	}
	return out, nil, true
}

func decompressZstd(dst, src []byte, limit int) ([]byte, error) {
	if out, err, ok := decompressZstdWhole(dst, src, limit); ok {
		return out, err
	}
	z, _ := zstdReaders.Get().(*zstdDec)
	if z == nil {
		d, err := zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(zstdMaxWindow),
		)
		if err != nil {
			return dst, newErr(Zstd, "decompress", ErrCorrupt, err)
		}
		z = &zstdDec{d: d}
	}
	z.br.Reset(src)
	var err error
	if err = z.d.Reset(&z.br); err == nil {
		hint := 0
		var h zstd.Header
		if h.Decode(src) == nil && h.HasFCS && h.FrameContentSize < uint64(limit) {
			hint = safeHint(int(h.FrameContentSize), len(src))
		}
		dst, err = readCapped(Zstd, z.d, dst, limit, hint)
	} else {
		err = newErr(Zstd, "decompress", ErrCorrupt, err)
	}
	z.br.Reset(nil)
	zstdReaders.Put(z)
	return dst, err
}
