//go:build race

package broker

// raceEnabled turns raw socket I/O off under the race detector. It learns
// that a socket read follows the write that sent the data only through
// the annotations of the standard library's reads and writes, which raw
// calls bypass; with an in-process peer (kfake in tests) every value
// passed through the socket would then be reported as a race.
const raceEnabled = true
