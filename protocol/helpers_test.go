package protocol

import "math/rand/v2"

// rng is the deterministic source behind the generated randomizers.
type rng struct{ r *rand.Rand }

func newRNG(seed uint64) *rng { return &rng{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

func (g *rng) u64() uint64    { return g.r.Uint64() }
func (g *rng) intn(n int) int { return g.r.IntN(n) }
func (g *rng) uuid() (u UUID) {
	for i := range u {
		u[i] = byte(g.r.Uint32())
	}
	return u
}

// count picks an array length, shrinking with depth to bound the size.
func (g *rng) count(depth int) int {
	if depth > 3 {
		return g.intn(2)
	}
	return g.intn(4)
}

const letters = "abcdefghijklmnopqrstuvwxyz-._0123456789é"

func (g *rng) str() string {
	n := g.intn(12)
	b := make([]byte, 0, n)
	for i := 0; i < n; i++ {
		b = append(b, letters[g.intn(len(letters)-2)])
	}
	return string(b)
}

func (g *rng) bytes() []byte {
	b := make([]byte, g.intn(16))
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return b
}

// randomMessage is a generated top-level type with its test randomizer.
type randomMessage interface {
	Message
	randomize(g *rng, version int16, depth int)
}

// testMessage describes one generated top-level type for table tests.
type testMessage struct {
	name     string
	kind     string
	key      int
	min, max int16
	new      func() randomMessage
}
