package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/protocol"
)

// CoordinatorType says what kind of key a coordinator is looked up for.
type CoordinatorType int8

const (
	// GroupCoordinator coordinates a consumer group (FindCoordinator KeyType 0).
	GroupCoordinator CoordinatorType = 0
	// TxnCoordinator coordinates a transactional id (FindCoordinator KeyType 1).
	TxnCoordinator CoordinatorType = 1
)

// String names the type.
func (t CoordinatorType) String() string {
	switch t {
	case GroupCoordinator:
		return "group"
	case TxnCoordinator:
		return "transaction"
	}
	return fmt.Sprintf("CoordinatorType(%d)", int8(t))
}

type coordKey struct {
	typ CoordinatorType
	key string
}

type coordLookup struct {
	done chan struct{}
	id   int32
	err  error
}

// coordinators caches coordinator ids and coalesces concurrent look-ups of
// one key.
type coordinators struct {
	mu       sync.Mutex
	cache    map[coordKey]int32
	inflight map[coordKey]*coordLookup
	lookups  int // FindCoordinator requests sent, for tests
}

func (cs *coordinators) init() {
	cs.cache = map[coordKey]int32{}
	cs.inflight = map[coordKey]*coordLookup{}
}

// InvalidateCoordinator forgets the cached coordinator of key, as a client
// must after NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE.
func (c *Cluster) InvalidateCoordinator(typ CoordinatorType, key string) {
	c.coords.mu.Lock()
	delete(c.coords.cache, coordKey{typ, key})
	c.coords.mu.Unlock()
}

// HandleCoordinatorError invalidates key's coordinator when err says it
// moved, and reports whether err is retriable.
func (c *Cluster) HandleCoordinatorError(typ CoordinatorType, key string, err error) bool {
	if errors.Is(err, protocol.ErrNotCoordinator) || errors.Is(err, protocol.ErrCoordinatorNotAvailable) {
		c.InvalidateCoordinator(typ, key)
	} else {
		var ne *gregor.NetworkError
		if errors.As(err, &ne) {
			c.InvalidateCoordinator(typ, key)
		}
	}
	return gregor.IsRetriable(err)
}

// FindCoordinatorRequests counts FindCoordinator requests sent so far.
func (c *Cluster) FindCoordinatorRequests() int {
	c.coords.mu.Lock()
	defer c.coords.mu.Unlock()
	return c.coords.lookups
}

// Coordinator returns the broker coordinating key, from the cache or by a
// FindCoordinator look-up retried within ctx.
func (c *Cluster) Coordinator(ctx context.Context, typ CoordinatorType, key string) (int32, error) {
	ids, err := c.Coordinators(ctx, typ, key)
	if err != nil {
		return -1, err
	}
	return ids[key], nil
}

// Coordinators looks up several keys, sending them in one FindCoordinator
// request when the broker supports v4 or later.
func (c *Cluster) Coordinators(ctx context.Context, typ CoordinatorType, keys ...string) (map[string]int32, error) {
	out := make(map[string]int32, len(keys))
	var mine []string
	var theirs []*coordLookup
	var theirKeys []string
	c.coords.mu.Lock()
	for _, k := range keys {
		ck := coordKey{typ, k}
		if id, ok := c.coords.cache[ck]; ok {
			out[k] = id
		} else if l := c.coords.inflight[ck]; l != nil {
			theirs = append(theirs, l)
			theirKeys = append(theirKeys, k)
		} else {
			c.coords.inflight[ck] = &coordLookup{done: make(chan struct{})}
			mine = append(mine, k)
		}
	}
	c.coords.mu.Unlock()

	var firstErr error
	if len(mine) > 0 {
		res := c.lookupCoordinators(ctx, typ, mine)
		c.coords.mu.Lock()
		for _, k := range mine {
			ck := coordKey{typ, k}
			l := c.coords.inflight[ck]
			delete(c.coords.inflight, ck)
			r := res[k]
			l.id, l.err = r.id, r.err
			if r.err == nil {
				c.coords.cache[ck] = r.id
				out[k] = r.id
			} else if firstErr == nil {
				firstErr = r.err
			}
			close(l.done)
		}
		c.coords.mu.Unlock()
	}
	for i, l := range theirs {
		select {
		case <-l.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if l.err != nil {
			if firstErr == nil {
				firstErr = l.err
			}
			continue
		}
		out[theirKeys[i]] = l.id
	}
	if firstErr != nil {
		return out, firstErr
	}
	return out, nil
}

type coordResult struct {
	id  int32
	err error
}

// lookupCoordinators sends FindCoordinator until every key has an answer or
// a non-retriable error, or ctx ends.
func (c *Cluster) lookupCoordinators(ctx context.Context, typ CoordinatorType, keys []string) map[string]coordResult {
	res := make(map[string]coordResult, len(keys))
	todo := keys
	for attempt := 1; len(todo) > 0; attempt++ {
		var retry []string
		conn, brokerID, err := c.anyConn(ctx, RoleAdmin)
		if err == nil {
			batch := todo
			req := protocol.NewFindCoordinatorRequest()
			req.KeyType = int8(typ)
			breq := bounded{req, findCoordinatorMin, findCoordinatorMax}
			var v int16
			if v, err = conn.PickVersion(breq); err == nil {
				if v < 4 {
					batch = todo[:1]
					req.CoordinatorKey = batch[0] // one key per request below v4
				} else {
					req.CoordinatorKeys = batch
				}
			}
			if err == nil {
				c.coords.mu.Lock()
				c.coords.lookups++
				c.coords.mu.Unlock()
				var resp respT
				resp, err = conn.Do(ctx, breq)
				if err == nil {
					fr := protocol.NewFindCoordinatorResponse()
					fr.Version = resp.Version
					if err = fr.Decode(resp.Body); err != nil {
						err = &gregor.NetworkError{Broker: brokerID, Addr: conn.Addr(), Op: "decode", Err: err}
					}
					conn.Throttled(fr.ThrottleTimeMs)
					cs := fr.Coordinators
					if err != nil {
						cs = nil
					} else if resp.Version < 4 {
						// The single answer is at the top level, for the one key sent.
						cs = []protocol.FindCoordinatorResponseCoordinator{{Key: batch[0], NodeId: fr.NodeId, Host: fr.Host,
							Port: fr.Port, ErrorCode: fr.ErrorCode, ErrorMessage: fr.ErrorMessage}}
					}
					answered := make(map[string]bool, len(batch))
					for _, co := range cs {
						if !slices.Contains(batch, co.Key) || answered[co.Key] {
							continue // a key not asked for, or a second answer for one
						}
						answered[co.Key] = true
						if kerr := protocol.ErrorForCode(co.ErrorCode); kerr != nil {
							kerr = fmt.Errorf("gregor: FindCoordinator %s %q: %w (%s)", typ, co.Key, kerr, deref(co.ErrorMessage))
							if gregor.IsRetriable(kerr) {
								res[co.Key] = coordResult{-1, kerr}
								retry = append(retry, co.Key)
							} else {
								res[co.Key] = coordResult{-1, kerr}
							}
							continue
						}
						c.learnBroker(co.NodeId, co.Host, co.Port)
						res[co.Key] = coordResult{co.NodeId, nil}
					}
					if err == nil {
						// A key the broker left out has no coordinator yet:
						// ask again rather than caching a node id of zero.
						for _, k := range batch {
							if !answered[k] {
								res[k] = coordResult{-1, fmt.Errorf("gregor: FindCoordinator %s %q: broker %d left the key out of its answer: %w",
									typ, k, brokerID, protocol.ErrCoordinatorNotAvailable)}
								retry = append(retry, k)
							}
						}
						retry = append(retry, todo[len(batch):]...)
					}
				}
			}
		}
		if err != nil {
			if !gregor.IsRetriable(err) && !errors.Is(err, gregor.ErrNoBrokers) {
				for _, k := range todo {
					res[k] = coordResult{-1, err}
				}
				return res
			}
			for _, k := range todo {
				res[k] = coordResult{-1, err}
			}
			retry = todo
		}
		todo = retry
		if len(todo) == 0 {
			break
		}
		if werr := c.sleep(ctx, Backoff(c.cfg.RetryBackoffBase, c.cfg.RetryBackoffMax, attempt)); werr != nil {
			for _, k := range todo {
				res[k] = coordResult{-1, fmt.Errorf("%w (last error: %w)", werr, res[k].err)}
			}
			return res
		}
	}
	return res
}

// learnBroker adds a broker named by a response if metadata lacks it.
func (c *Cluster) learnBroker(id int32, host string, port int32) {
	if id < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.nodes[id]; !ok {
		c.nodes[id] = &node{id: id, addr: joinHostPort(host, port)}
	}
}
