//go:build !race

package examples_test

// raceEnabled is true when the test binary has the race detector.
const raceEnabled = false
