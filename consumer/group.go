package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/broker"
	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// GroupError is the fatal error of a group member, returned by Poll once
// the member cannot continue: another instance with the same
// GroupConfig.InstanceID fenced it (protocol.ErrFencedInstanceID), or the
// group refused it (authorization, a session timeout outside the
// broker's bounds).
type GroupError struct {
	GroupID string
	Err     error
}

// Error names the group and the cause.
func (e *GroupError) Error() string {
	return fmt.Sprintf("gregor/consumer: group %q: %v", e.GroupID, e.Err)
}

// Unwrap returns the cause.
func (e *GroupError) Unwrap() error { return e.Err }

// group is a consumer's membership in a classic consumer group. One
// goroutine (run) joins, applies assignments and reacts to heartbeat
// errors; a second one (heartbeatLoop) heartbeats while a generation is
// current.
type group struct {
	c   *Consumer
	cfg GroupConfig
	log *slog.Logger
	led *ledger
	re  *regexp.Regexp

	ctx      context.Context // ends when Close starts
	cancel   context.CancelFunc
	hbCtx    context.Context // ends when Close has committed: heartbeats go on while it drains
	hbCancel context.CancelFunc
	wg       sync.WaitGroup

	hbErr    chan error    // heartbeat failures for run
	rejoinCh chan struct{} // run should rejoin (a cooperative revoke)
	hbDone   chan struct{} // closed when heartbeatLoop returns

	mu          sync.Mutex
	memberID    string
	generation  int32
	protoName   string
	cooperative bool
	hbOn        bool
	owned       map[TopicPartition]struct{}
	fatal       error

	commitMu sync.Mutex // one commit at a time, in order

	subSnap map[string]int // subscribed topics and partition counts at the last join

	cg *cgMember // the KIP-848 member; nil under the classic protocol
}

// metadataCheckInterval is how often a stable member looks for new topics
// matching its regular expression and for partitions added to its topics;
// a change makes it rejoin so that the leader assigns them. A variable for
// tests.
var metadataCheckInterval = 10 * time.Second

// subscriptionSnapshot returns the subscribed topics with their partition
// counts now.
func (g *group) subscriptionSnapshot(ctx context.Context) (map[string]int, error) {
	topics, err := g.subscribedTopics(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := g.partitionCounts(ctx, topics)
	if err != nil {
		return nil, err
	}
	for _, t := range topics {
		if _, ok := counts[t]; !ok {
			counts[t] = 0
		}
	}
	return counts, nil
}

func newGroup(c *Consumer) *group {
	g := &group{c: c, cfg: c.cfg.Group, log: c.log, led: newLedger(),
		hbErr: make(chan error, 1), rejoinCh: make(chan struct{}, 1),
		generation: -1, owned: map[TopicPartition]struct{}{}}
	if g.cfg.TopicRegex != "" {
		g.re = regexp.MustCompile("^(?:" + g.cfg.TopicRegex + ")$")
	}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	g.hbCtx, g.hbCancel = context.WithCancel(context.Background())
	g.hbDone = make(chan struct{})
	if g.cfg.Protocol == GroupConsumer {
		close(g.hbDone)
		g.cg = startCGMember(g)
		return g
	}
	g.wg.Add(1)
	go g.run()
	go g.heartbeatLoop()
	return g
}

func (g *group) ownedLocked() []TopicPartition {
	return slices.Collect(maps.Keys(g.owned))
}

// request sends req to the group coordinator and decodes the answer into
// resp, turning the response's error code into an error. Coordinator
// moves are retried until ctx ends.
func (g *group) request(ctx context.Context, req broker.Request, resp interface {
	Decode([]byte) error
	SetVersion(int16)
}) error {
	target := cluster.Coordinator(cluster.GroupCoordinator, g.cfg.GroupID)
	role := cluster.RoleGroup
	if k := req.Key(); k == protocol.KeyOffsetCommit || k == protocol.KeyOffsetFetch {
		role = cluster.RoleAdmin // not queued behind a JoinGroup the coordinator holds
	}
	for attempt := 0; ; attempt++ {
		raw, _, err := g.c.cl.Do(ctx, target, role, req)
		if err != nil {
			return err
		}
		resp.SetVersion(raw.Version)
		if err := resp.Decode(raw.Body); err != nil {
			return &gregor.NetworkError{Op: "decode group response", Err: err}
		}
		err = responseError(resp)
		if err == nil || !g.c.cl.HandleCoordinatorError(cluster.GroupCoordinator, g.cfg.GroupID, err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(time.Duration(attempt+1)*50*time.Millisecond, time.Second)):
		}
	}
}

func responseError(resp any) error {
	var code int16
	switch r := resp.(type) {
	case *protocol.JoinGroupResponse:
		code = r.ErrorCode
	case *protocol.SyncGroupResponse:
		code = r.ErrorCode
	case *protocol.HeartbeatResponse:
		code = r.ErrorCode
	case *protocol.LeaveGroupResponse:
		code = r.ErrorCode
	case *protocol.ConsumerGroupHeartbeatResponse:
		code = r.ErrorCode
	case *protocol.OffsetFetchResponse:
		code = r.ErrorCode
		for _, gr := range r.Groups {
			if code == 0 {
				code = gr.ErrorCode
			}
		}
	case *protocol.OffsetCommitResponse:
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				if code == 0 {
					code = p.ErrorCode
				}
			}
		}
	}
	return protocol.ErrorForCode(code)
}

// run is the member's state machine, until Close.
func (g *group) run() {
	defer g.wg.Done()
	failures := 0
	var began time.Time // start of the rebalance under way, kept across failed attempts
	for g.ctx.Err() == nil {
		if began.IsZero() {
			began = time.Now()
		}
		g.mu.Lock()
		eager := !g.cooperative
		owned := g.ownedLocked()
		g.mu.Unlock()
		if eager && len(owned) > 0 {
			if !g.revoke(owned) {
				return
			}
		}
		g.setHeartbeat(false)
		select { // a failure of the generation we are leaving is moot
		case <-g.hbErr:
		default:
		}
		assigned, err := g.joinSync(g.ctx)
		if err != nil {
			if g.ctx.Err() != nil {
				return
			}
			if g.handleGroupError(err) {
				return
			}
			failures++
			g.sleep(min(time.Duration(failures)*100*time.Millisecond, 2*time.Second))
			continue
		}
		failures = 0
		g.setHeartbeat(true)
		g.subSnap, _ = g.subscriptionSnapshot(g.ctx)
		if !g.apply(assigned) {
			return
		}
		g.c.met.rebalanced(g.ctx, "classic", began)
		began = time.Time{}
		if !g.stable() {
			return
		}
	}
}

func (g *group) sleep(d time.Duration) {
	select {
	case <-g.ctx.Done():
	case <-time.After(d):
	}
}

// handleGroupError reacts to a JoinGroup, SyncGroup or Heartbeat error. It
// returns true when the member must stop (a fatal error).
func (g *group) handleGroupError(err error) bool {
	switch {
	case errors.Is(err, protocol.ErrFencedInstanceID), errors.Is(err, protocol.ErrGroupAuthorizationFailed),
		errors.Is(err, protocol.ErrInvalidSessionTimeout), errors.Is(err, protocol.ErrInvalidGroupID):
		g.stopFatal(err)
		return true
	case errors.Is(err, protocol.ErrUnknownMemberID):
		g.lose()
		g.mu.Lock()
		g.memberID, g.generation = "", -1
		g.mu.Unlock()
	case errors.Is(err, protocol.ErrIllegalGeneration):
		g.lose()
		g.mu.Lock()
		g.generation = -1
		g.mu.Unlock()
	case errors.Is(err, protocol.ErrRebalanceInProgress):
	default:
		g.log.Info("gregor/consumer: group request failed; rejoining", "group", g.cfg.GroupID, "err", err)
	}
	return false
}

// stopFatal ends the membership for good: Poll returns a *GroupError
// wrapping err from now on.
func (g *group) stopFatal(err error) {
	g.mu.Lock()
	g.fatal = &GroupError{GroupID: g.cfg.GroupID, Err: err}
	g.hbOn = false
	g.mu.Unlock()
	g.lose()
	g.c.signalData()
	g.log.Error("gregor/consumer: group member stopped", "group", g.cfg.GroupID, "err", err)
}

// stable heartbeats (on heartbeatLoop) and commits on the interval until
// the member must rejoin. It returns false when run must stop.
func (g *group) stable() bool {
	var tick <-chan time.Time
	if !g.cfg.DisableAutoCommit {
		t := time.NewTicker(g.cfg.AutoCommitInterval)
		defer t.Stop()
		tick = t.C
	}
	meta := time.NewTicker(metadataCheckInterval)
	defer meta.Stop()
	for {
		select {
		case <-g.ctx.Done():
			return false
		case <-g.rejoinCh:
			return true
		case <-meta.C:
			now, err := g.subscriptionSnapshot(g.ctx)
			if err == nil && g.subSnap != nil && !maps.Equal(now, g.subSnap) {
				g.log.Info("gregor/consumer: subscribed topics or partitions changed; rejoining", "group", g.cfg.GroupID)
				return true
			}
		case err := <-g.hbErr:
			return !g.handleGroupError(err)
		case <-tick:
			if err := g.commit(g.ctx, nil); err != nil && g.ctx.Err() == nil {
				g.log.Info("gregor/consumer: automatic commit failed", "group", g.cfg.GroupID, "err", err)
			}
		}
	}
}

func (g *group) setHeartbeat(on bool) {
	g.mu.Lock()
	g.hbOn = on
	g.mu.Unlock()
}

// heartbeatLoop heartbeats every interval while a generation is current
// (also while partitions are being revoked) and reports failures to run.
func (g *group) heartbeatLoop() {
	defer close(g.hbDone)
	t := time.NewTicker(g.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-g.hbCtx.Done():
			return
		case <-t.C:
		}
		g.mu.Lock()
		on := g.hbOn
		g.mu.Unlock()
		if !on {
			continue
		}
		ctx, cancel := context.WithTimeout(g.hbCtx, g.cfg.SessionTimeout)
		err := g.heartbeat(ctx)
		cancel()
		if err == nil || g.ctx.Err() != nil {
			continue // while closing, failures are moot
		}
		g.mu.Lock()
		still := g.hbOn
		g.mu.Unlock()
		if !still {
			continue
		}
		select {
		case g.hbErr <- err:
		default:
		}
	}
}

// apply compares an assignment with what the member owns: partitions in
// both continue untouched, new ones start from their committed offsets,
// and (cooperative) ones no longer assigned are revoked, after which the
// member rejoins. It returns false when run must stop.
func (g *group) apply(assigned []TopicPartition) bool {
	gone, added := g.diff(assigned)
	if len(gone) > 0 {
		if !g.revoke(gone) {
			return false
		}
		g.requestRejoin()
	}
	err := g.add(added)
	if err != nil && g.ctx.Err() == nil {
		g.log.Info("gregor/consumer: could not start assigned partitions; rejoining", "group", g.cfg.GroupID, "err", err)
		g.requestRejoin()
		return true
	}
	return err == nil
}

func (g *group) requestRejoin() {
	select {
	case g.rejoinCh <- struct{}{}:
	default:
	}
}

// diff splits an assignment against what the member owns into the
// partitions it must give up and the ones it gains.
func (g *group) diff(assigned []TopicPartition) (gone, added []TopicPartition) {
	want := map[TopicPartition]struct{}{}
	for _, tp := range assigned {
		want[tp] = struct{}{}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for tp := range g.owned {
		if _, ok := want[tp]; !ok {
			gone = append(gone, tp)
		}
	}
	for tp := range want {
		if _, ok := g.owned[tp]; !ok {
			added = append(added, tp)
		}
	}
	return gone, added
}

// add starts consuming newly assigned partitions from their committed
// offsets and runs OnAssigned. It fails when the committed offsets could
// not be read (nothing is added then) or Close began.
func (g *group) add(added []TopicPartition) error {
	if len(added) == 0 {
		return nil
	}
	slices.SortFunc(added, compareTP)
	starts, err := g.fetchCommitted(g.ctx, added)
	if err != nil {
		return err
	}
	positions := make(map[TopicPartition]Offset, len(added))
	for _, tp := range added {
		off, ok := starts[tp]
		if ok && off >= 0 {
			positions[tp] = AtOffset(off)
		} else {
			off = -1
			positions[tp] = AtOffset(-1) // the reset policy picks the start
		}
		g.led.own(tp, off)
	}
	g.mu.Lock()
	for _, tp := range added {
		g.owned[tp] = struct{}{}
	}
	g.mu.Unlock()
	g.c.Resume(added...) // a partition that moved away and back starts unpaused
	if err := g.c.Assign(positions); err != nil {
		return err
	}
	g.log.Info("gregor/consumer: partitions assigned", "group", g.cfg.GroupID, "count", len(added))
	if g.cfg.OnAssigned != nil {
		ctx, cancel := context.WithTimeout(g.ctx, g.cfg.RebalanceTimeout)
		g.cfg.OnAssigned(ctx, g.c, added)
		cancel()
	}
	return nil
}

// revoke gives partitions up in a rebalance: it stops handing out their
// records, waits (up to the rebalance timeout) until every record already
// handed out is marked processed, commits the processed offsets, calls
// OnRevoked and forgets them. It returns false when Close interrupted it;
// Close then finishes the job.
func (g *group) revoke(tps []TopicPartition) bool {
	slices.SortFunc(tps, compareTP)
	g.c.Unassign(tps...)
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.RebalanceTimeout)
	defer cancel()
	if err := g.led.drain(ctx, tps); err != nil {
		if g.ctx.Err() != nil {
			return false
		}
		g.log.Warn("gregor/consumer: revoking partitions whose records are still being processed",
			"group", g.cfg.GroupID, "in_flight", g.led.inFlight(tps))
	}
	if err := g.commit(ctx, tps); err != nil {
		if g.ctx.Err() != nil {
			return false
		}
		g.log.Warn("gregor/consumer: commit on revoke failed", "group", g.cfg.GroupID, "err", err)
	}
	g.finishRevoke(ctx, tps, g.cfg.OnRevoked)
	return true
}

func (g *group) finishRevoke(ctx context.Context, tps []TopicPartition, cb PartitionsFunc) {
	g.mu.Lock()
	for _, tp := range tps {
		delete(g.owned, tp)
	}
	g.mu.Unlock()
	g.led.release(tps)
	if cb != nil {
		cb(ctx, g.c, tps)
	}
	g.log.Info("gregor/consumer: partitions released", "group", g.cfg.GroupID, "count", len(tps))
}

// lose drops every partition without committing: the generation they
// belonged to is over, so another member may own them already.
func (g *group) lose() {
	g.mu.Lock()
	tps := g.ownedLocked()
	g.mu.Unlock()
	if len(tps) == 0 {
		return
	}
	slices.SortFunc(tps, compareTP)
	g.c.Unassign(tps...)
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.RebalanceTimeout)
	defer cancel()
	cb := g.cfg.OnLost
	if cb == nil {
		cb = g.cfg.OnRevoked
	}
	g.finishRevoke(ctx, tps, cb)
}

// shutdown stops the member for Close: it stops the group goroutines,
// then revokes what the member owns (waiting for in-flight records and
// committing them, within ctx) and leaves the group (dynamic members).
func (g *group) shutdown(ctx context.Context) error {
	g.cancel()
	defer func() {
		g.hbCancel()
		select {
		case <-g.hbDone:
		case <-ctx.Done():
		}
	}()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	tps := g.ownedLocked()
	fatal := g.fatal
	g.mu.Unlock()
	var err error
	if len(tps) > 0 && fatal == nil {
		slices.SortFunc(tps, compareTP)
		g.c.Unassign(tps...)
		// keep a quarter of Close's time for the commit and LeaveGroup
		dctx, cancel := ctx, context.CancelFunc(func() {})
		if dl, ok := ctx.Deadline(); ok {
			dctx, cancel = context.WithDeadline(ctx, dl.Add(-time.Until(dl)/4))
		}
		derr := g.led.drain(dctx, tps)
		cancel()
		if derr != nil {
			g.log.Warn("gregor/consumer: closing with records still being processed", "group", g.cfg.GroupID,
				"in_flight", g.led.inFlight(tps))
		}
		err = g.commit(ctx, tps)
		g.finishRevoke(ctx, tps, g.cfg.OnRevoked)
	}
	if fatal == nil {
		g.leave(ctx)
	}
	return err
}

func (g *group) fatalErr() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.fatal
}
