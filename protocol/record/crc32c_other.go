//go:build !amd64 || purego

package record

// haveFold is false: there is no folding code for this architecture.
const haveFold = false

func foldBlocks(c0 uint32, p []byte, k *[6]uint64) uint32 {
	panic("record: foldBlocks without folding code")
}
