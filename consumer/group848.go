package consumer

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gregorkafka/gregor/protocol"
)

// cgMember runs a member of a KIP-848 consumer group: one goroutine
// (beatLoop) sends ConsumerGroupHeartbeat and reacts to its errors, a
// second one (reconcileLoop) moves the member's partitions to the target
// assignment the coordinator returns. The member id (group.memberID) is
// chosen here (KIP-1082) and kept for the consumer's life; the member
// epoch lives in group.generation, so commits send it unchanged.
type cgMember struct {
	g *group

	wake    chan struct{} // heartbeat now (an assignment was reconciled)
	targets chan struct{} // a new target is in target

	recMu sync.Mutex // one reconciliation step (or a loss) at a time

	mu       sync.Mutex
	interval time.Duration
	full     bool                                                     // next heartbeat carries every field
	acked    []TopicPartition                                         // owned partitions the coordinator last heard of
	target   []protocol.ConsumerGroupHeartbeatResponseTopicPartitions // nil: nothing new
	hasTgt   bool
	names    map[protocol.UUID]string
	ids      map[string]protocol.UUID
}

// cgHeartbeatTimeout bounds one heartbeat, coordinator look-ups included.
const cgHeartbeatTimeout = 15 * time.Second

// newMemberID returns a random member id in the form Java uses for
// uuids: 16 random bytes, URL-safe base64 without padding.
func newMemberID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func startCGMember(g *group) *cgMember {
	m := &cgMember{g: g, wake: make(chan struct{}, 1), targets: make(chan struct{}, 1),
		interval: time.Second, full: true,
		names: map[protocol.UUID]string{}, ids: map[string]protocol.UUID{}}
	g.memberID, g.generation = newMemberID(), 0
	g.wg.Add(2)
	go m.beatLoop()
	go m.reconcileLoop()
	return m
}

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// beatLoop heartbeats every interval the coordinator asks for, and at
// once after a reconciliation, until Close.
func (m *cgMember) beatLoop() {
	g := m.g
	defer g.wg.Done()
	failures := 0
	for {
		err := m.beat(g.ctx)
		m.mu.Lock()
		delay := m.interval
		m.mu.Unlock()
		if err != nil {
			if g.ctx.Err() != nil {
				return
			}
			switch {
			case cgFatal(err):
				g.stopFatal(err)
				return
			case errors.Is(err, protocol.ErrFencedMemberEpoch), errors.Is(err, protocol.ErrUnknownMemberID):
				// fenced: drop everything, then join again with epoch 0
				// under the same member id
				g.log.Info("gregor/consumer: member fenced; rejoining", "group", g.cfg.GroupID, "err", err)
				m.recMu.Lock()
				m.mu.Lock()
				m.target, m.hasTgt = nil, false
				m.mu.Unlock()
				g.lose()
				m.recMu.Unlock()
				g.mu.Lock()
				g.generation = 0
				g.mu.Unlock()
				delay, failures = 0, 0
			default:
				failures++
				delay = min(time.Duration(failures)*100*time.Millisecond, 2*time.Second, delay)
				g.log.Info("gregor/consumer: heartbeat failed", "group", g.cfg.GroupID, "err", err)
			}
			m.mu.Lock()
			m.full = true
			m.mu.Unlock()
		} else {
			failures = 0
		}
		t := time.NewTimer(delay)
		select {
		case <-g.ctx.Done():
			t.Stop()
			return
		case <-m.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// cgFatal reports heartbeat errors after which the member cannot go on.
func cgFatal(err error) bool {
	for _, e := range []error{protocol.ErrFencedInstanceID, protocol.ErrUnreleasedInstanceID,
		protocol.ErrGroupMaxSizeReached, protocol.ErrUnsupportedAssignor, protocol.ErrInvalidRegularExpression,
		protocol.ErrGroupAuthorizationFailed, protocol.ErrTopicAuthorizationFailed, protocol.ErrInvalidRequest,
		protocol.ErrUnsupportedVersion, protocol.ErrInvalidGroupID} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// request builds the next heartbeat: every field when joining or after
// an error, otherwise only the fields that changed since the coordinator
// last answered. It returns the owned partitions it reports (nil when it
// reports none).
func (m *cgMember) request() (*protocol.ConsumerGroupHeartbeatRequest, []TopicPartition) {
	g := m.g
	g.mu.Lock()
	req := protocol.NewConsumerGroupHeartbeatRequest()
	req.GroupId, req.MemberId, req.MemberEpoch = g.cfg.GroupID, g.memberID, g.generation
	owned := g.ownedLocked()
	g.mu.Unlock()
	slices.SortFunc(owned, compareTP)
	m.mu.Lock()
	defer m.mu.Unlock()
	full := m.full || req.MemberEpoch == 0
	if full {
		req.InstanceId = strPtr(g.cfg.InstanceID)
		req.RackId = strPtr(g.c.cfg.Rack)
		req.RebalanceTimeoutMs = int32(g.cfg.RebalanceTimeout / time.Millisecond)
		if g.cfg.TopicRegex != "" {
			req.SubscribedTopicRegex = &g.cfg.TopicRegex
		} else {
			req.SubscribedTopicNames = slices.Clone(g.cfg.Topics)
		}
		req.ServerAssignor = strPtr(g.cfg.ServerAssignor.name())
	}
	if !full && slices.Equal(owned, m.acked) {
		return req, nil
	}
	req.TopicPartitions = []protocol.ConsumerGroupHeartbeatRequestTopicPartitions{}
	for _, tp := range owned {
		id := m.ids[tp.Topic]
		n := len(req.TopicPartitions)
		if n > 0 && req.TopicPartitions[n-1].TopicId == id {
			req.TopicPartitions[n-1].Partitions = append(req.TopicPartitions[n-1].Partitions, tp.Partition)
			continue
		}
		req.TopicPartitions = append(req.TopicPartitions,
			protocol.ConsumerGroupHeartbeatRequestTopicPartitions{TopicId: id, Partitions: []int32{tp.Partition}})
	}
	if owned == nil {
		owned = []TopicPartition{}
	}
	return req, owned
}

// beat sends one heartbeat and takes in the answer.
func (m *cgMember) beat(ctx context.Context) error {
	g := m.g
	req, reported := m.request()
	ctx, cancel := context.WithTimeout(ctx, cgHeartbeatTimeout)
	defer cancel()
	var resp protocol.ConsumerGroupHeartbeatResponse
	if err := g.request(ctx, versioned{req}, &resp); err != nil {
		if resp.ErrorMessage != nil && *resp.ErrorMessage != "" {
			return fmt.Errorf("%w (%s)", err, *resp.ErrorMessage)
		}
		return err
	}
	g.mu.Lock()
	if resp.MemberId != nil && *resp.MemberId != "" {
		g.memberID = *resp.MemberId // version 0 brokers pick the id
	}
	g.generation = resp.MemberEpoch
	g.mu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.full = false
	if reported != nil {
		m.acked = reported
	}
	if resp.HeartbeatIntervalMs > 0 {
		m.interval = time.Duration(resp.HeartbeatIntervalMs) * time.Millisecond
	}
	if resp.Assignment != nil {
		m.target, m.hasTgt = resp.Assignment.TopicPartitions, true
		poke(m.targets)
	}
	return nil
}

// reconcileLoop moves the member to each new target assignment: it
// revokes what the target no longer holds (waiting for in-flight records
// and committing them), then adds what it newly holds, then heartbeats to
// acknowledge. A target naming topics the metadata does not know yet is
// retried until they resolve. Between reconciliations it commits on
// GroupConfig.AutoCommitInterval.
func (m *cgMember) reconcileLoop() {
	g := m.g
	defer g.wg.Done()
	var tick <-chan time.Time
	if !g.cfg.DisableAutoCommit {
		t := time.NewTicker(g.cfg.AutoCommitInterval)
		defer t.Stop()
		tick = t.C
	}
	var retry <-chan time.Time
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-tick:
			if err := g.commit(g.ctx, nil); err != nil && g.ctx.Err() == nil {
				g.log.Info("gregor/consumer: automatic commit failed", "group", g.cfg.GroupID, "err", err)
			}
			continue
		case <-m.targets:
		case <-retry:
		}
		retry = nil
		m.mu.Lock()
		raw, ok := m.target, m.hasTgt
		m.target, m.hasTgt = nil, false
		m.mu.Unlock()
		if !ok {
			continue
		}
		done, stop := m.reconcile(raw)
		if stop {
			return
		}
		if !done {
			m.mu.Lock()
			if !m.hasTgt { // a newer target supersedes this one
				m.target, m.hasTgt = raw, true
			}
			m.mu.Unlock()
			retry = time.After(200 * time.Millisecond)
		}
		poke(m.wake)
	}
}

// reconcile applies one target. done is false when part of it must be
// retried; stop is true when Close interrupted it.
func (m *cgMember) reconcile(raw []protocol.ConsumerGroupHeartbeatResponseTopicPartitions) (done, stop bool) {
	g := m.g
	began := time.Now()
	tps, resolved := m.resolve(raw)
	m.recMu.Lock()
	defer m.recMu.Unlock()
	gone, added := g.diff(tps)
	if len(gone) > 0 && !g.revoke(gone) {
		return false, true
	}
	if err := g.add(added); err != nil {
		if g.ctx.Err() != nil {
			return false, true
		}
		g.log.Info("gregor/consumer: could not start assigned partitions; retrying", "group", g.cfg.GroupID, "err", err)
		return false, false
	}
	if len(gone) > 0 || len(added) > 0 {
		g.c.met.rebalanced(g.ctx, "consumer", began)
	}
	return resolved, false
}

// resolve turns a target's topic ids into names, asking for metadata when
// an id is new. resolved is false when some id is still unknown; its
// partitions are left out.
func (m *cgMember) resolve(raw []protocol.ConsumerGroupHeartbeatResponseTopicPartitions) (out []TopicPartition, resolved bool) {
	m.mu.Lock()
	missing := slices.ContainsFunc(raw, func(t protocol.ConsumerGroupHeartbeatResponseTopicPartitions) bool {
		_, ok := m.names[t.TopicId]
		return !ok
	})
	m.mu.Unlock()
	if missing {
		ctx, cancel := context.WithTimeout(m.g.ctx, cgHeartbeatTimeout)
		resp, err := m.g.topicMetadata(ctx, nil)
		cancel()
		if err == nil {
			m.mu.Lock()
			for _, t := range resp.Topics {
				if t.ErrorCode == 0 && t.Name != nil {
					m.names[t.TopicId], m.ids[*t.Name] = *t.Name, t.TopicId
				}
			}
			m.mu.Unlock()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	resolved = true
	for _, t := range raw {
		name, ok := m.names[t.TopicId]
		if !ok {
			resolved = false
			continue
		}
		for _, p := range t.Partitions {
			out = append(out, TopicPartition{name, p})
		}
	}
	return out, resolved
}

// leave sends the leaving heartbeat on Close: epoch -1 for a dynamic
// member, -2 for a static one, whose partitions then wait for it to come
// back within the session timeout.
func (m *cgMember) leave(ctx context.Context) {
	g := m.g
	g.mu.Lock()
	req := protocol.NewConsumerGroupHeartbeatRequest()
	req.GroupId, req.MemberId, req.MemberEpoch = g.cfg.GroupID, g.memberID, -1
	g.mu.Unlock()
	if g.cfg.InstanceID != "" {
		req.MemberEpoch = -2
		req.InstanceId = &g.cfg.InstanceID
	}
	var resp protocol.ConsumerGroupHeartbeatResponse
	if err := g.request(ctx, versioned{req}, &resp); err != nil {
		g.log.Info("gregor/consumer: leaving the group failed", "group", g.cfg.GroupID, "err", err)
	}
}
