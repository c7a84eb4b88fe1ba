package producer

import (
	"context"
	"sync"
)

// txnState tracks a transactional producer's transaction. Transactions are
// not implemented yet: a transactional producer fails every record with
// ErrTransactionState.
type txnState struct {
	mu       sync.Mutex
	fatalErr error
}

// enabled reports whether p is transactional.
func (t *txnState) enabled(p *Producer) bool { return p.cfg.TransactionalID != "" }

// checkProduce returns why a record cannot be produced now, if it cannot.
func (t *txnState) checkProduce(p *Producer) error {
	t.mu.Lock()
	err := t.fatalErr
	t.mu.Unlock()
	if err != nil {
		return err
	}
	if t.enabled(p) {
		return ErrTransactionState
	}
	return nil
}

// noteProduce records that part takes part in the open transaction.
func (t *txnState) noteProduce(p *Producer, part *partition) {}

// canSend reports whether part's batches may be sent now.
func (t *txnState) canSend(p *Producer, part *partition) bool { return true }

// fatal puts the producer in an error state that only Close leaves.
func (t *txnState) fatal(p *Producer, err error) {
	t.mu.Lock()
	if t.fatalErr == nil {
		t.fatalErr = err
	}
	t.mu.Unlock()
}

// closeTxn aborts an open transaction on Close.
func (p *Producer) closeTxn(ctx context.Context) error { return nil }
