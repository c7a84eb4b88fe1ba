//go:build !race

package broker

// raceEnabled is false without the race detector: see rawio_race.go.
const raceEnabled = false
