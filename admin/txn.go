package admin

import (
	"context"
	"errors"
	"sync"

	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// ProducerState is an active producer of a partition.
type ProducerState struct {
	ProducerID    int64
	ProducerEpoch int32
	LastSequence  int32
	// LastTimestamp is the Unix milliseconds of the producer's last write.
	LastTimestamp    int64
	CoordinatorEpoch int32
	// TxnStartOffset is the first offset of the producer's open
	// transaction, or -1.
	TxnStartOffset int64
}

// PartitionProducers is the answer for one partition of DescribeProducers.
type PartitionProducers struct {
	Producers []ProducerState
	// Err is nil, or the partition's *ItemError.
	Err error
}

// DescribeProducers lists the active (idempotent or transactional)
// producers of partitions, asking each partition's leader.
func (a *Client) DescribeProducers(ctx context.Context, partitions ...TopicPartition) (map[TopicPartition]PartitionProducers, error) {
	out := map[TopicPartition]PartitionProducers{}
	var mu sync.Mutex
	errs := a.perLeader(ctx, partitions, func(ctx context.Context, leader int32, batch []TopicPartition) (map[TopicPartition]error, error) {
		req := protocol.NewDescribeProducersRequest()
		for topic, parts := range byTopic(batch) {
			req.Topics = append(req.Topics, protocol.DescribeProducersRequestTopicRequest{Name: topic, PartitionIndexes: parts})
		}
		r, id, err := a.send(ctx, cluster.BrokerID(leader), req)
		if err != nil {
			return nil, err
		}
		resp := r.(*protocol.DescribeProducersResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		mu.Lock()
		defer mu.Unlock()
		res := map[TopicPartition]error{}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				tp := TopicPartition{t.Name, p.PartitionIndex}
				e := itemErr("partition", tp.String(), p.ErrorCode, p.ErrorMessage)
				res[tp] = e
				if e != nil {
					continue
				}
				pp := PartitionProducers{Producers: []ProducerState{}}
				for _, s := range p.ActiveProducers {
					pp.Producers = append(pp.Producers, ProducerState{ProducerID: s.ProducerId, ProducerEpoch: s.ProducerEpoch,
						LastSequence: s.LastSequence, LastTimestamp: s.LastTimestamp, CoordinatorEpoch: s.CoordinatorEpoch, TxnStartOffset: s.CurrentTxnStartOffset})
				}
				out[tp] = pp
			}
		}
		return res, nil
	})
	for tp, e := range errs {
		if e != nil {
			out[tp] = PartitionProducers{Err: e}
		}
	}
	return out, nil
}

// TransactionListing is one transactional id of ListTransactions.
type TransactionListing struct {
	TransactionalID string
	ProducerID      int64
	// State is the transaction's state, such as "Ongoing" or
	// "CompleteCommit".
	State       string
	Coordinator int32
}

// ListTransactionsOptions filters ListTransactions.
type ListTransactionsOptions struct {
	// States keeps transactions in these states; all when empty.
	States []string
	// ProducerIDs keeps transactions of these producers; all when empty.
	ProducerIDs []int64
	// MinDurationMs keeps transactions running for at least this long; 0
	// for all.
	MinDurationMs int64
}

// ListTransactions lists the transactional ids every broker coordinates.
// If some brokers fail, the others' answers come back with an error naming
// the failed ones.
func (a *Client) ListTransactions(ctx context.Context, opts ListTransactionsOptions) ([]TransactionListing, error) {
	ctx, cancel := budget(ctx)
	defer cancel()
	if err := a.c.Refresh(ctx); err != nil {
		return nil, err
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		out  []TransactionListing
		errs []error
	)
	for id := range a.c.Metadata().Brokers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := protocol.NewListTransactionsRequest()
			req.StateFilters, req.ProducerIdFilters = opts.States, opts.ProducerIDs
			if opts.MinDurationMs > 0 {
				req.DurationFilter = opts.MinDurationMs
			}
			r, bid, err := a.send(ctx, cluster.BrokerID(id), req)
			var got []TransactionListing
			if err == nil {
				resp := r.(*protocol.ListTransactionsResponse)
				a.c.Throttled(bid, resp.ThrottleTimeMs)
				err = itemErr("broker", itoa(id), resp.ErrorCode, nil)
				for _, s := range resp.TransactionStates {
					got = append(got, TransactionListing{TransactionalID: s.TransactionalId, ProducerID: s.ProducerId, State: s.TransactionState, Coordinator: id})
				}
			}
			mu.Lock()
			defer mu.Unlock()
			out = append(out, got...)
			if err != nil {
				errs = append(errs, wrapItem("broker", itoa(id), err))
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// TransactionDescription describes one transactional id.
type TransactionDescription struct {
	TransactionalID string
	State           string
	TimeoutMs       int32
	// StartTimeMs is when the ongoing transaction started (Unix ms), or -1.
	StartTimeMs   int64
	ProducerID    int64
	ProducerEpoch int16
	// Partitions are those the ongoing transaction wrote to.
	Partitions  []TopicPartitions
	Coordinator int32
	// Err is nil, or the id's *ItemError (TRANSACTIONAL_ID_NOT_FOUND).
	Err error
}

// DescribeTransactions describes transactional ids at their coordinators,
// in request order.
func (a *Client) DescribeTransactions(ctx context.Context, ids ...string) ([]TransactionDescription, error) {
	descs := map[string]TransactionDescription{}
	var mu sync.Mutex
	errs := a.perKey(ctx, cluster.TxnCoordinator, ids, func(ctx context.Context, coord int32, batch []string) (map[string]error, error) {
		req := protocol.NewDescribeTransactionsRequest()
		req.TransactionalIds = batch
		r, id, err := a.send(ctx, cluster.BrokerID(coord), req)
		if err != nil {
			return nil, err
		}
		resp := r.(*protocol.DescribeTransactionsResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		mu.Lock()
		defer mu.Unlock()
		res := map[string]error{}
		for _, s := range resp.TransactionStates {
			e := itemErr("transactional id", s.TransactionalId, s.ErrorCode, nil)
			res[s.TransactionalId] = e
			if e != nil {
				continue
			}
			d := TransactionDescription{TransactionalID: s.TransactionalId, State: s.TransactionState, TimeoutMs: s.TransactionTimeoutMs,
				StartTimeMs: s.TransactionStartTimeMs, ProducerID: s.ProducerId, ProducerEpoch: s.ProducerEpoch, Coordinator: coord}
			for _, t := range s.Topics {
				d.Partitions = append(d.Partitions, TopicPartitions{Topic: t.Topic, Partitions: t.Partitions})
			}
			descs[s.TransactionalId] = d
		}
		return res, nil
	})
	out := make([]TransactionDescription, len(ids))
	for i, id := range ids {
		if e := errs[id]; e != nil {
			out[i] = TransactionDescription{TransactionalID: id, ProducerID: -1, Err: e}
		} else if d, ok := descs[id]; ok {
			out[i] = d
		} else {
			out[i] = TransactionDescription{TransactionalID: id, ProducerID: -1,
				Err: &ItemError{Kind: "transactional id", Name: id, Err: errors.New("no answer from the coordinator")}}
		}
	}
	return out, nil
}
