//go:build !purego

package record

import "golang.org/x/sys/cpu"

// haveFold reports whether foldBlocks can run here.
var haveFold = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VPCLMULQDQ && cpu.X86.HasPCLMULQDQ && cpu.X86.HasAVX && cpu.X86.HasSSE42

// foldBlocks folds p (at least 256 bytes, a multiple of 16) with the CRC
// register c0 XORed into its first four bytes down to one 128-bit block,
// and returns that block's CRC register from zero: the register after p.
//
//go:noescape
func foldBlocks(c0 uint32, p []byte, k *[6]uint64) uint32
