package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/protocol"
)

// Metadata is an immutable snapshot of the cluster.
type Metadata struct {
	// ClusterID is the cluster's id.
	ClusterID string
	// ControllerID is the broker admin requests for the controller go to.
	ControllerID int32
	// Brokers by node id.
	Brokers map[int32]Broker
	// Topics by name, and by topic id.
	Topics     map[string]*Topic
	TopicsByID map[[16]byte]*Topic
	// Fetched is when the snapshot was taken.
	Fetched time.Time
}

// Broker is one broker's address.
type Broker struct {
	ID   int32
	Host string
	Port int32
	Rack string
}

// Topic is one topic's metadata.
type Topic struct {
	Name       string
	ID         [16]byte
	Internal   bool
	Err        error // nil, or the broker's error for the topic
	Partitions []Partition
}

// Partition is one partition's metadata.
type Partition struct {
	Partition       int32
	Leader          int32
	LeaderEpoch     int32
	Replicas        []int32
	ISR             []int32
	OfflineReplicas []int32
	Err             error
}

type metaPtr = atomic.Pointer[Metadata]

type refreshWait struct {
	done chan struct{}
	err  error
}

// Metadata returns the latest snapshot; nil before the first refresh.
func (c *Cluster) Metadata() *Metadata { return c.meta.Load() }

// AddTopics adds topics to those whose metadata is kept.
func (c *Cluster) AddTopics(topics ...string) {
	c.mu.Lock()
	for _, t := range topics {
		c.topics[t] = struct{}{}
	}
	c.mu.Unlock()
}

// TriggerRefresh asks for a metadata refresh without waiting. Triggers are
// coalesced and spaced at least MetadataMinRefresh apart.
func (c *Cluster) TriggerRefresh() {
	select {
	case c.refresh <- struct{}{}:
	default:
	}
}

// Refresh triggers a refresh and waits until one that started after the
// call has finished, returning its error.
func (c *Cluster) Refresh(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed()
	}
	if c.waiters == nil {
		c.waiters = &refreshWait{done: make(chan struct{})}
	}
	w := c.waiters
	c.mu.Unlock()
	c.TriggerRefresh()
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		return ctx.Err()
	case <-c.ctx.Done():
		return errClosed()
	}
}

// HandleError reacts to an error a client met on a request: errors that mean
// the metadata is stale (a moved leader, an unknown partition, a broker
// gone) trigger a refresh. It returns whether err is retriable.
func (c *Cluster) HandleError(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, protocol.ErrNotLeaderOrFollower), errors.Is(err, protocol.ErrUnknownTopicOrPartition),
		errors.Is(err, protocol.ErrLeaderNotAvailable), errors.Is(err, protocol.ErrFencedLeaderEpoch),
		errors.Is(err, protocol.ErrUnknownLeaderEpoch), errors.Is(err, protocol.ErrKafkaStorageError),
		errors.Is(err, protocol.ErrNotController), errors.Is(err, protocol.ErrUnknownTopicID),
		errors.Is(err, protocol.ErrReplicaNotAvailable):
		c.TriggerRefresh()
	default:
		var ne *gregor.NetworkError
		if errors.As(err, &ne) {
			c.TriggerRefresh()
		}
	}
	return gregor.IsRetriable(err)
}

// refreshLoop refreshes on triggers and every MetadataMaxAge.
func (c *Cluster) refreshLoop() {
	defer c.wg.Done()
	timer := time.NewTimer(c.cfg.MetadataMaxAge)
	defer timer.Stop()
	var last time.Time
	for {
		select {
		case <-c.ctx.Done():
			c.finishWaiters(errClosed())
			return
		case <-c.refresh:
		case <-timer.C:
		}
		if wait := time.Until(last.Add(c.cfg.MetadataMinRefresh)); wait > 0 {
			select {
			case <-time.After(wait):
			case <-c.ctx.Done():
				c.finishWaiters(errClosed())
				return
			}
		}
		c.mu.Lock()
		w := c.waiters
		c.waiters = nil
		c.mu.Unlock()
		// Drain a trigger that arrived while we waited: this refresh serves it.
		select {
		case <-c.refresh:
		default:
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.cfg.RequestTimeout)
		err := c.refreshOnce(ctx)
		cancel()
		last = time.Now()
		if w != nil {
			w.err = err
			close(w.done)
		}
		next := c.cfg.MetadataMaxAge
		if err != nil {
			next = min(next, c.cfg.MetadataMinRefresh)
		}
		timer.Reset(next)
	}
}

func (c *Cluster) finishWaiters(err error) {
	c.mu.Lock()
	w := c.waiters
	c.waiters = nil
	c.mu.Unlock()
	if w != nil {
		w.err = err
		close(w.done)
	}
}

// refreshOnce fetches metadata from a known broker, or, when none answers,
// from the seed brokers (KIP-899 rebootstrap).
func (c *Cluster) refreshOnce(ctx context.Context) error {
	c.mu.Lock()
	known := mapValues(c.nodes)
	topics := make([]string, 0, len(c.topics))
	for t := range c.topics {
		topics = append(topics, t)
	}
	seeds := c.seeds
	c.mu.Unlock()
	rand.Shuffle(len(known), func(i, j int) { known[i], known[j] = known[j], known[i] })

	var errs []error
	try := func(nodes []*node) bool {
		for _, n := range nodes {
			if ctx.Err() != nil {
				return false
			}
			err := c.fetchMetadata(ctx, n, topics)
			if err == nil {
				return true
			}
			errs = append(errs, err)
			if !gregor.IsRetriable(err) && !errors.Is(err, context.DeadlineExceeded) {
				return false // refused credentials or TLS: other brokers will say the same
			}
		}
		return false
	}
	if try(known) {
		return nil
	}
	if len(known) > 0 && c.cfg.MetadataRecovery == gregor.RecoveryNone {
		return c.refreshFailed(errs)
	}
	if len(known) > 0 {
		c.log.Info("gregor: no known broker answered; rebootstrapping from the seed brokers")
	}
	if try(seeds) {
		return nil
	}
	return c.refreshFailed(errs)
}

func (c *Cluster) refreshFailed(errs []error) error {
	c.mu.Lock()
	if c.downAt.IsZero() {
		c.downAt = time.Now()
	}
	c.mu.Unlock()
	if len(errs) == 0 {
		return gregor.ErrNoBrokers
	}
	return fmt.Errorf("%w: %w", gregor.ErrNoBrokers, errors.Join(errs...))
}

// fetchMetadata asks n for metadata and installs the answer.
func (c *Cluster) fetchMetadata(ctx context.Context, n *node, topics []string) error {
	conn, err := c.conn(ctx, n, RoleAdmin)
	if err != nil {
		return err
	}
	req := protocol.NewMetadataRequest()
	// A non-nil empty list asks for brokers and controller only; nil would
	// ask for every topic.
	req.Topics = make([]protocol.MetadataRequestTopic, len(topics))
	for i := range topics {
		req.Topics[i].Name = &topics[i]
	}
	req.AllowAutoTopicCreation = false // the spec default is true
	resp, err := conn.Do(ctx, bounded{req, metadataMin, metadataMax})
	if err != nil {
		return err
	}
	mr := protocol.NewMetadataResponse()
	mr.Version = resp.Version
	if err := mr.Decode(resp.Body); err != nil {
		return &gregor.NetworkError{Broker: n.id, Addr: n.addr, Op: "decode", Err: fmt.Errorf("Metadata v%d: %w", resp.Version, err)}
	}
	conn.Throttled(mr.ThrottleTimeMs)
	if mr.ErrorCode != 0 {
		return fmt.Errorf("gregor: broker %d (%s): Metadata: %w", n.id, n.addr, protocol.ErrorForCode(mr.ErrorCode))
	}
	c.install(mr)
	return nil
}

// install publishes a new snapshot and updates the broker set, closing the
// connections of brokers that left and of brokers whose address changed.
func (c *Cluster) install(mr *protocol.MetadataResponse) {
	m := &Metadata{
		ClusterID: deref(mr.ClusterId), ControllerID: mr.ControllerId,
		Brokers:    make(map[int32]Broker, len(mr.Brokers)),
		Topics:     make(map[string]*Topic, len(mr.Topics)),
		TopicsByID: make(map[[16]byte]*Topic, len(mr.Topics)),
		Fetched:    time.Now(),
	}
	for _, b := range mr.Brokers {
		m.Brokers[b.NodeId] = Broker{ID: b.NodeId, Host: b.Host, Port: b.Port, Rack: deref(b.Rack)}
	}
	for i := range mr.Topics {
		t := &mr.Topics[i]
		tp := &Topic{Name: deref(t.Name), ID: t.TopicId, Internal: t.IsInternal, Err: protocol.ErrorForCode(t.ErrorCode)}
		tp.Partitions = make([]Partition, 0, len(t.Partitions))
		for _, p := range t.Partitions {
			tp.Partitions = append(tp.Partitions, Partition{
				Partition: p.PartitionIndex, Leader: p.LeaderId, LeaderEpoch: p.LeaderEpoch,
				Replicas: p.ReplicaNodes, ISR: p.IsrNodes, OfflineReplicas: p.OfflineReplicas,
				Err: protocol.ErrorForCode(p.ErrorCode),
			})
		}
		sortPartitions(tp.Partitions)
		m.Topics[tp.Name] = tp
		if tp.ID != ([16]byte{}) {
			m.TopicsByID[tp.ID] = tp
		}
	}
	gone := c.updateNodes(m.Brokers)
	c.meta.Store(m)
	c.mu.Lock()
	c.lastOK, c.downAt = m.Fetched, time.Time{}
	c.mu.Unlock()
	for _, n := range gone {
		c.closeNode(n)
	}
	c.log.Debug("gregor: metadata refreshed", slog.Int("brokers", len(m.Brokers)), slog.Int("topics", len(m.Topics)),
		slog.Int("controller", int(m.ControllerID)))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// updateNodes makes c.nodes match brokers and returns the nodes dropped.
func (c *Cluster) updateNodes(brokers map[int32]Broker) []*node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var gone []*node
	for id, n := range c.nodes {
		b, ok := brokers[id]
		if !ok || joinHostPort(b.Host, b.Port) != n.addr {
			gone = append(gone, n)
			delete(c.nodes, id)
		}
	}
	for id, b := range brokers {
		if _, ok := c.nodes[id]; !ok {
			c.nodes[id] = &node{id: id, addr: joinHostPort(b.Host, b.Port)}
		}
	}
	return gone
}

func (c *Cluster) closeNode(n *node) {
	for r := range n.slots {
		s := &n.slots[r]
		s.mu.Lock()
		conn := s.conn
		s.conn = nil
		s.mu.Unlock()
		if conn != nil {
			c.goTracked(func() { conn.Retire("broker left the cluster or moved") })
		}
	}
}

func sortPartitions(ps []Partition) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].Partition < ps[j-1].Partition; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// Leader returns the leader and leader epoch of a partition, fetching the
// topic's metadata first if it is not known yet. A partition without a
// leader triggers a refresh and returns protocol.ErrLeaderNotAvailable.
func (c *Cluster) Leader(ctx context.Context, topic string, partition int32) (leader, epoch int32, err error) {
	for attempt := 0; ; attempt++ {
		m := c.meta.Load()
		var t *Topic
		if m != nil {
			t = m.Topics[topic]
		}
		if t == nil || t.Err != nil {
			if attempt == 0 {
				c.AddTopics(topic)
				if err := c.Refresh(ctx); err != nil {
					return -1, -1, err
				}
				continue
			}
			if t != nil && t.Err != nil {
				return -1, -1, fmt.Errorf("gregor: topic %q: %w", topic, t.Err)
			}
			return -1, -1, fmt.Errorf("gregor: topic %q: %w", topic, gregor.ErrUnknownTopic)
		}
		i := int(partition)
		if i < 0 || i >= len(t.Partitions) || t.Partitions[i].Partition != partition {
			return -1, -1, fmt.Errorf("gregor: %s[%d]: %w", topic, partition, gregor.ErrUnknownTopic)
		}
		p := t.Partitions[i]
		if p.Leader < 0 {
			c.TriggerRefresh()
			return -1, -1, fmt.Errorf("gregor: %s[%d]: %w", topic, partition, protocol.ErrLeaderNotAvailable)
		}
		return p.Leader, p.LeaderEpoch, nil
	}
}

// LeaderHint is a new leader a Produce or Fetch response named for a
// partition (KIP-951), with the leader's address when the response had it.
type LeaderHint struct {
	Topic       string
	Partition   int32
	Leader      int32
	LeaderEpoch int32
	// Endpoint is the leader's address, if the response carried it.
	Endpoint *Broker
}

// ApplyLeaderHints updates the cached leaders from responses without a
// metadata round trip. A hint older than the cached leader epoch is ignored.
func (c *Cluster) ApplyLeaderHints(hints ...LeaderHint) {
	for {
		old := c.meta.Load()
		if old == nil {
			return
		}
		m := *old
		m.Topics = make(map[string]*Topic, len(old.Topics))
		for k, v := range old.Topics {
			m.Topics[k] = v
		}
		m.Brokers = old.Brokers
		changed, newBroker := false, false
		for _, h := range hints {
			t := m.Topics[h.Topic]
			if t == nil || int(h.Partition) >= len(t.Partitions) || h.Partition < 0 || h.Leader < 0 {
				continue
			}
			p := t.Partitions[h.Partition]
			if h.LeaderEpoch <= p.LeaderEpoch {
				continue
			}
			if h.Endpoint != nil {
				if b, ok := m.Brokers[h.Leader]; !ok || b.Host != h.Endpoint.Host || b.Port != h.Endpoint.Port {
					if !newBroker {
						m.Brokers = make(map[int32]Broker, len(old.Brokers)+1)
						for k, v := range old.Brokers {
							m.Brokers[k] = v
						}
						newBroker = true
					}
					e := *h.Endpoint
					e.ID = h.Leader
					m.Brokers[h.Leader] = e
				}
			}
			if _, ok := m.Brokers[h.Leader]; !ok {
				continue // unknown broker and no address: wait for metadata
			}
			nt := *t
			nt.Partitions = append([]Partition(nil), t.Partitions...)
			nt.Partitions[h.Partition].Leader = h.Leader
			nt.Partitions[h.Partition].LeaderEpoch = h.LeaderEpoch
			m.Topics[h.Topic] = &nt
			changed = true
		}
		if !changed {
			return
		}
		m.TopicsByID = make(map[[16]byte]*Topic, len(m.Topics))
		for _, t := range m.Topics {
			if t.ID != ([16]byte{}) {
				m.TopicsByID[t.ID] = t
			}
		}
		if c.meta.CompareAndSwap(old, &m) {
			if newBroker {
				c.mu.Lock()
				for id, b := range m.Brokers {
					if _, ok := c.nodes[id]; !ok {
						c.nodes[id] = &node{id: id, addr: joinHostPort(b.Host, b.Port)}
					}
				}
				c.mu.Unlock()
			}
			return
		}
	}
}

// BreakKnownBrokersForTest points every known broker at an unreachable
// address, so tests can exercise rebootstrapping. Not for production use.
func (c *Cluster) BreakKnownBrokersForTest() {
	c.mu.Lock()
	var old []*node
	for id, n := range c.nodes {
		old = append(old, n)
		c.nodes[id] = &node{id: id, addr: "127.0.0.1:1"}
	}
	c.mu.Unlock()
	for _, n := range old {
		c.closeNode(n)
	}
}
