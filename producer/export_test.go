package producer

// TxnRequests returns how many requests of API key the producer's
// transaction code sent and the version of the last one, for tests that
// check which protocol path ran.
func TxnRequests(p *Producer, key int16) (n int64, version int16) {
	return p.txn.calls[key].Load(), int16(p.txn.vers[key].Load())
}

// ProducerIDEpoch returns the producer id and epoch in use.
func ProducerIDEpoch(p *Producer) (int64, int16) { return p.id.current() }

// OnRestamp makes f run each time a renumbered batch is rewritten under
// its new numbers, restamped or encoded again (see encode), until the
// test ends.
func OnRestamp(t interface{ Cleanup(func()) }, f func()) {
	testRestamped = f
	t.Cleanup(func() { testRestamped = nil })
}

// OnReencode makes f run each time a batch whose encoding was released is
// encoded again for another attempt (see encode), until the test ends.
func OnReencode(t interface{ Cleanup(func()) }, f func()) {
	testReencoded = f
	t.Cleanup(func() { testReencoded = nil })
}
