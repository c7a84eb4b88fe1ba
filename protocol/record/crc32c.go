package record

import "hash/crc32"

// CRC-32C of large buffers by carry-less multiplication.
//
// The standard library computes CRC-32C with the SSE 4.2 CRC32 instruction,
// three streams at a time: about 27 GB/s on the machines the benchmarks
// run on, which made the checksum of a batch nearly a tenth of the producer's
// CPU with 1 KiB records. Where the CPU multiplies 512-bit vectors carry-less
// (VPCLMULQDQ), the buffer is instead folded: four 512-bit accumulators,
// each stepped 256 bytes ahead at a time by multiplying its two 64-bit
// halves per 128-bit lane with x^n mod P for the distance moved, the
// products XORed into the data found there. What is left is one 128-bit
// block whose CRC, taken from a zero register, equals the CRC of everything
// folded into it; the standard library takes the bytes after the blocks.
// Measured: 1.6 times as fast at 256 bytes, 1.9 at 1 KiB, 2.2 from 16 KiB.

// castagnoliUpdate is crc32.Update with the CRC-32C table.
func castagnoliUpdate(crc uint32, p []byte) uint32 {
	if !haveFold || len(p) < foldMin {
		return crc32.Update(crc, castagnoli, p)
	}
	n := len(p) &^ 15
	// crc32.Update inverts the register before and after; foldBlocks
	// works on the register itself.
	return crc32.Update(^foldBlocks(^crc, p[:n], &foldConsts), castagnoli, p[n:])
}

// castagnoliChecksum is crc32.Checksum with the CRC-32C table.
func castagnoliChecksum(p []byte) uint32 { return castagnoliUpdate(0, p) }

// foldMin is the shortest buffer folded: below it the fixed cost of the
// last block outweighs the gain.
const foldMin = 256

// foldPair returns the multipliers that move a 128-bit block d bits ahead.
// Loaded as a little-endian 64-bit lane, the first eight bytes of a block
// hold the coefficients of x^127 down to x^64 (bit 0 the highest), the
// last eight x^63 down to x^0; a multiplier held as crcMulMod keeps it, in
// the low 32 bits of a lane, comes out of the carry-less product 33 degrees
// low. So the first half takes x^(64+d-33) and the second x^(d-33).
func foldPair(d int) (first, second uint64) {
	return uint64(xPow(uint64(d + 31))), uint64(xPow(uint64(d - 33)))
}

// foldConsts are the multipliers foldBlocks uses: for 2048 bits (each
// accumulator to the next 256 bytes), 512 bits (one accumulator into the
// next) and 128 bits (one lane into the next).
var foldConsts = func() (k [6]uint64) {
	k[0], k[1] = foldPair(2048)
	k[2], k[3] = foldPair(512)
	k[4], k[5] = foldPair(128)
	return k
}()
