package compression

// Level is a codec-specific compression level. The zero value, LevelDefault,
// selects the codec's documented default. Each codec accepts its own range:
//
//   - Gzip: 1 (GzipBestSpeed) to 9 (GzipBestCompression). Default 6, the
//     level zlib uses for "default compression", which is what Kafka's Java
//     client applies when compression.gzip.level is left at -1.
//   - LZ4: 1 (LZ4Fast) to 10. LZ4Fast is the default and is the fast greedy
//     compressor; 2 to 10 use the slower high-compression search with
//     increasing depth (pierrec/lz4 levels 1 to 9). Kafka's Java client
//     defaults to its level 9; Gregor defaults to speed because lz4 is
//     normally chosen for speed and every level produces standard frames.
//   - Zstd: 1 to 22, the zstd command-line scale, mapped onto the four
//     encoder strategies available: 1-2 fastest, 3-5 default, 6-9 better,
//     10-22 best. Default 3, matching Kafka's compression.zstd.level default.
//   - None and Snappy have no levels; any value is accepted and ignored.
type Level int

// Named levels.
const (
	LevelDefault Level = 0 // the codec's default

	GzipBestSpeed       Level = 1 // fastest gzip
	GzipDefault         Level = 6 // gzip default
	GzipBestCompression Level = 9 // smallest gzip output

	LZ4Fast    Level = 1       // greedy LZ4 compressor (the default)
	LZ4Default Level = LZ4Fast // LZ4 default
	LZ4Best    Level = 10      // deepest high-compression search

	ZstdFastest Level = 1  // zstd "fastest" strategy
	ZstdDefault Level = 3  // zstd default strategy, Kafka's default level
	ZstdBetter  Level = 7  // zstd "better" strategy
	ZstdBest    Level = 11 // zstd "best" strategy
	ZstdMax     Level = 22 // highest accepted zstd level (same strategy as ZstdBest)
)

// DefaultLevel returns the level c uses when given LevelDefault (0 for codecs
// without levels).
func (c Codec) DefaultLevel() Level {
	switch c {
	case Gzip:
		return GzipDefault
	case LZ4:
		return LZ4Default
	case Zstd:
		return ZstdDefault
	}
	return 0
}

// ValidLevel reports whether level is accepted by c. It is false for every
// level if c is not a valid codec.
func (c Codec) ValidLevel(level Level) bool {
	if level == LevelDefault {
		return c.Valid()
	}
	switch c {
	case None, Snappy:
		return true
	case Gzip:
		return level >= GzipBestSpeed && level <= GzipBestCompression
	case LZ4:
		return level >= LZ4Fast && level <= LZ4Best
	case Zstd:
		return level >= ZstdFastest && level <= ZstdMax
	}
	return false
}

// resolve maps LevelDefault to the codec default.
func (c Codec) resolve(level Level) Level {
	if level == LevelDefault {
		return c.DefaultLevel()
	}
	return level
}
