package record

// CRC-32C of a batch in two parts: the records are checksummed in chunks
// while they are written (so each chunk is read back from the cache it was
// just written to, not from memory after a megabyte more has gone by), the
// header once its counts are known, and the two checksums are joined.
//
// Joining uses CRC arithmetic: the checksum of a||b is the checksum of a
// multiplied by x^(8·len(b)) modulo the polynomial, plus the checksum of b
// (the pre- and post-inversion cancel out). Polynomials are kept the way
// the table-driven CRC keeps its register: bit 31 is the x^0 coefficient.

// castagnoliReversed is the CRC-32C polynomial with its bits reversed and
// the x^32 term left out.
const castagnoliReversed = 0x82f63b78

// crcMulMod multiplies a and b modulo the CRC-32C polynomial.
func crcMulMod(a, b uint32) uint32 {
	var p uint32
	for m := uint32(1) << 31; m != 0 && a != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
			a ^= m
		}
		if b&1 != 0 {
			b = b>>1 ^ castagnoliReversed
		} else {
			b >>= 1
		}
	}
	return p
}

// crcPowers[k] is x^(2^k) modulo the polynomial.
var crcPowers = func() (t [64]uint32) {
	t[0] = 1 << 30 // x
	for k := 1; k < len(t); k++ {
		t[k] = crcMulMod(t[k-1], t[k-1])
	}
	return t
}()

// crcJoin returns the CRC-32C of a||b from crcA, the CRC-32C of a, crcB,
// the CRC-32C of b, and lenB, the length of b.
func crcJoin(crcA, crcB uint32, lenB int) uint32 {
	return crcMulMod(xPow(uint64(lenB)<<3), crcA) ^ crcB
}

// xPow returns x^n modulo the polynomial.
func xPow(n uint64) uint32 {
	r := uint32(1) << 31 // x^0
	for k := 0; n != 0; k, n = k+1, n>>1 {
		if n&1 != 0 {
			r = crcMulMod(r, crcPowers[k])
		}
	}
	return r
}

// crcChunk is how many bytes of records a Builder lets pile up before it
// checksums them: well inside a core's first-level data cache.
const crcChunk = 16 << 10

// crcUpdate continues a CRC-32C over p.
func crcUpdate(crc uint32, p []byte) uint32 { return castagnoliUpdate(crc, p) }
