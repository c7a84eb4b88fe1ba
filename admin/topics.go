package admin

import (
	"context"
	"errors"
	"slices"
	"sort"

	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// NewTopic describes a topic to create.
type NewTopic struct {
	// Name is the topic's name.
	Name string
	// Partitions is the number of partitions; 0 or -1 takes the broker's
	// num.partitions. It must stay 0 or -1 when Assignments is set.
	Partitions int32
	// ReplicationFactor is the number of replicas per partition; 0 or -1
	// takes the broker's default.replication.factor. It must stay 0 or -1
	// when Assignments is set.
	ReplicationFactor int16
	// Assignments, when set, places each partition on the listed broker ids
	// (the first is the preferred leader); index i is partition i.
	Assignments [][]int32
	// Configs are topic configs, such as "cleanup.policy": "compact".
	Configs map[string]string
}

// CreateTopicsOptions modifies CreateTopics.
type CreateTopicsOptions struct {
	// ValidateOnly asks the controller to check the request without creating
	// anything.
	ValidateOnly bool
}

// CreateTopicResult is the outcome for one topic of CreateTopics.
type CreateTopicResult struct {
	// Name is the topic's name.
	Name string
	// ID is the new topic's id (zero for validate-only calls).
	ID protocol.UUID
	// Partitions and ReplicationFactor are what the topic got, defaults
	// applied; -1 when the broker did not say.
	Partitions        int32
	ReplicationFactor int16
	// Configs are the topic's resulting configs, when the broker sent them.
	Configs []ConfigEntry
	// Err is nil, or the topic's *ItemError.
	Err error
}

// CreateTopicResults is the outcome of CreateTopics, in request order.
type CreateTopicResults []CreateTopicResult

// Err joins the errors of the failed topics, or returns nil.
func (rs CreateTopicResults) Err() error {
	var errs []error
	for _, r := range rs {
		errs = append(errs, r.Err)
	}
	return errors.Join(errs...)
}

// CreateTopics creates topics through the controller. Each topic gets its
// own result; topics the controller was not ready for are retried.
func (a *Client) CreateTopics(ctx context.Context, topics []NewTopic, opts CreateTopicsOptions) (CreateTopicResults, error) {
	out := make(CreateTopicResults, len(topics))
	pending := map[string]int{}
	for i, t := range topics {
		out[i] = CreateTopicResult{Name: t.Name, Partitions: -1, ReplicationFactor: -1}
		pending[t.Name] = i
	}
	err := a.retry(ctx, func(ctx context.Context) (bool, error) {
		req := protocol.NewCreateTopicsRequest()
		req.TimeoutMs = timeoutMs(ctx)
		req.ValidateOnly = opts.ValidateOnly
		for _, i := range pending {
			t := topics[i]
			ct := protocol.CreateTopicsRequestCreatableTopic{Name: t.Name, NumPartitions: orDefault32(t.Partitions), ReplicationFactor: int16(orDefault32(int32(t.ReplicationFactor)))}
			for p, brokers := range t.Assignments {
				ct.Assignments = append(ct.Assignments, protocol.CreateTopicsRequestCreatableReplicaAssignment{PartitionIndex: int32(p), BrokerIds: brokers})
			}
			for _, k := range sortedKeys(t.Configs) {
				ct.Configs = append(ct.Configs, protocol.CreateTopicsRequestCreatableTopicConfig{Name: k, Value: strPtr(t.Configs[k])})
			}
			req.Topics = append(req.Topics, ct)
		}
		r, id, err := a.send(ctx, cluster.Controller(), req)
		if err != nil {
			return false, err
		}
		resp := r.(*protocol.CreateTopicsResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		again := false
		for _, tr := range resp.Topics {
			i, ok := pending[tr.Name]
			if !ok {
				continue
			}
			res := &out[i]
			res.Err = itemErr("topic", tr.Name, tr.ErrorCode, tr.ErrorMessage)
			if res.Err == nil {
				res.ID, res.Partitions, res.ReplicationFactor = tr.TopicId, tr.NumPartitions, tr.ReplicationFactor
				for _, c := range tr.Configs {
					res.Configs = append(res.Configs, ConfigEntry{Name: c.Name, Value: c.Value, ReadOnly: c.ReadOnly, Source: ConfigSource(c.ConfigSource), Sensitive: c.IsSensitive})
				}
			}
			if a.retriable(res.Err) {
				again = true
			} else {
				delete(pending, tr.Name)
			}
		}
		return again, nil
	})
	return out, err
}

// CreateTopic creates one topic and returns its result; the error is the
// topic's own (an *ItemError) or the call's.
func (a *Client) CreateTopic(ctx context.Context, t NewTopic, opts CreateTopicsOptions) (CreateTopicResult, error) {
	rs, err := a.CreateTopics(ctx, []NewTopic{t}, opts)
	if err != nil {
		return CreateTopicResult{Name: t.Name}, err
	}
	return rs[0], rs[0].Err
}

func orDefault32(v int32) int32 {
	if v == 0 {
		return -1
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// DeleteTopicResult is the outcome for one topic of DeleteTopics or
// DeleteTopicsByID.
type DeleteTopicResult struct {
	// Name is the topic's name (empty when deleted by an id the broker did
	// not name).
	Name string
	// ID is the topic's id, when known.
	ID protocol.UUID
	// Err is nil, or the topic's *ItemError.
	Err error
}

// DeleteTopicResults is the outcome of a deletion, in request order.
type DeleteTopicResults []DeleteTopicResult

// Err joins the errors of the topics not deleted, or returns nil.
func (rs DeleteTopicResults) Err() error {
	var errs []error
	for _, r := range rs {
		errs = append(errs, r.Err)
	}
	return errors.Join(errs...)
}

// DeleteTopics deletes topics by name through the controller.
func (a *Client) DeleteTopics(ctx context.Context, names ...string) (DeleteTopicResults, error) {
	out := make(DeleteTopicResults, len(names))
	for i, n := range names {
		out[i].Name = n
	}
	return out, a.deleteTopics(ctx, out, false)
}

// DeleteTopicsByID deletes topics by topic id through the controller.
func (a *Client) DeleteTopicsByID(ctx context.Context, ids ...protocol.UUID) (DeleteTopicResults, error) {
	out := make(DeleteTopicResults, len(ids))
	for i, id := range ids {
		out[i].ID = id
	}
	return out, a.deleteTopics(ctx, out, true)
}

func (a *Client) deleteTopics(ctx context.Context, out DeleteTopicResults, byID bool) error {
	pending := make(map[int]bool, len(out))
	for i := range out {
		pending[i] = true
	}
	return a.retry(ctx, func(ctx context.Context) (bool, error) {
		req := protocol.NewDeleteTopicsRequest()
		req.TimeoutMs = timeoutMs(ctx)
		for i := range pending {
			st := protocol.DeleteTopicsRequestDeleteTopicState{TopicId: out[i].ID}
			if !byID {
				st.Name = strPtr(out[i].Name)
			}
			req.Topics = append(req.Topics, st)
		}
		r, id, err := a.send(ctx, cluster.Controller(), req)
		if err != nil {
			return false, err
		}
		resp := r.(*protocol.DeleteTopicsResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		again := false
		for _, tr := range resp.Responses {
			for i := range pending {
				if (byID && tr.TopicId != out[i].ID) || (!byID && deref(tr.Name) != out[i].Name) {
					continue
				}
				name := out[i].Name
				if byID {
					if tr.Name != nil {
						out[i].Name = *tr.Name
					}
					name = uuidString(out[i].ID)
				} else if tr.TopicId != (protocol.UUID{}) {
					out[i].ID = tr.TopicId
				}
				out[i].Err = itemErr("topic", name, tr.ErrorCode, tr.ErrorMessage)
				if a.retriable(out[i].Err, protocol.ErrUnknownTopicOrPartition, protocol.ErrUnknownTopicID) {
					again = true
				} else {
					delete(pending, i)
				}
			}
		}
		return again, nil
	})
}

// TopicListing is one topic of ListTopics.
type TopicListing struct {
	Name     string
	ID       protocol.UUID
	Internal bool
}

// ListTopicsOptions modifies ListTopics.
type ListTopicsOptions struct {
	// Internal includes internal topics such as __consumer_offsets.
	Internal bool
}

// ListTopics lists the cluster's topics, sorted by name.
func (a *Client) ListTopics(ctx context.Context, opts ListTopicsOptions) ([]TopicListing, error) {
	req := protocol.NewMetadataRequest()
	req.AllowAutoTopicCreation = false
	req.Topics = nil
	ctx, cancel := budget(ctx)
	defer cancel()
	r, id, err := a.send(ctx, cluster.AnyBroker(), req)
	if err != nil {
		return nil, err
	}
	resp := r.(*protocol.MetadataResponse)
	a.c.Throttled(id, resp.ThrottleTimeMs)
	var out []TopicListing
	for _, t := range resp.Topics {
		if t.Name == nil || (t.IsInternal && !opts.Internal) {
			continue
		}
		out = append(out, TopicListing{Name: *t.Name, ID: t.TopicId, Internal: t.IsInternal})
	}
	slices.SortFunc(out, func(x, y TopicListing) int {
		if x.Name < y.Name {
			return -1
		}
		if x.Name > y.Name {
			return 1
		}
		return 0
	})
	return out, nil
}

// PartitionInfo describes one partition of a topic.
type PartitionInfo struct {
	Partition   int32
	Leader      int32 // -1 when the partition has no leader
	LeaderEpoch int32
	Replicas    []int32
	ISR         []int32
	Offline     []int32 // replicas whose log directory is offline
	// ELR and LastKnownELR are the eligible leader replicas and the last
	// known ones (KIP-966); only DescribeTopicPartitions reports them.
	ELR, LastKnownELR []int32
	// Err is the partition's error (such as LEADER_NOT_AVAILABLE), or nil.
	Err error
}

// TopicDescription describes one topic of DescribeTopics.
type TopicDescription struct {
	Name       string
	ID         protocol.UUID
	Internal   bool
	Partitions []PartitionInfo
	// AuthorizedOperations are the operations the caller may perform on
	// the topic, as the broker's authorizer sees it (nil when not asked
	// for or not known).
	AuthorizedOperations []ACLOperation
	// Err is nil, or the topic's *ItemError (such as an unknown topic).
	Err error
}

// NewPartitions asks for a topic to grow to a total number of partitions.
type NewPartitions struct {
	// Topic is the topic's name.
	Topic string
	// Total is the number of partitions the topic should have afterwards.
	Total int32
	// Assignments, when set, places each new partition (in order) on the
	// listed broker ids.
	Assignments [][]int32
}

// CreatePartitionsOptions modifies CreatePartitions.
type CreatePartitionsOptions struct {
	// ValidateOnly checks the request without adding partitions.
	ValidateOnly bool
}

// CreatePartitions adds partitions to existing topics through the
// controller. The returned map holds one error (nil on success) per topic.
func (a *Client) CreatePartitions(ctx context.Context, reqs []NewPartitions, opts CreatePartitionsOptions) (map[string]error, error) {
	out := make(map[string]error, len(reqs))
	pending := map[string]NewPartitions{}
	for _, np := range reqs {
		pending[np.Topic] = np
		out[np.Topic] = nil
	}
	err := a.retry(ctx, func(ctx context.Context) (bool, error) {
		req := protocol.NewCreatePartitionsRequest()
		req.TimeoutMs = timeoutMs(ctx)
		req.ValidateOnly = opts.ValidateOnly
		for _, np := range pending {
			t := protocol.CreatePartitionsRequestCreatePartitionsTopic{Name: np.Topic, Count: np.Total}
			if np.Assignments != nil {
				t.Assignments = []protocol.CreatePartitionsRequestCreatePartitionsAssignment{}
				for _, b := range np.Assignments {
					t.Assignments = append(t.Assignments, protocol.CreatePartitionsRequestCreatePartitionsAssignment{BrokerIds: b})
				}
			}
			req.Topics = append(req.Topics, t)
		}
		r, id, err := a.send(ctx, cluster.Controller(), req)
		if err != nil {
			return false, err
		}
		resp := r.(*protocol.CreatePartitionsResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		again := false
		for _, tr := range resp.Results {
			if _, ok := pending[tr.Name]; !ok {
				continue
			}
			e := itemErr("topic", tr.Name, tr.ErrorCode, tr.ErrorMessage)
			out[tr.Name] = e
			if a.retriable(e, protocol.ErrUnknownTopicOrPartition) {
				again = true
			} else {
				delete(pending, tr.Name)
			}
		}
		return again, nil
	})
	return out, err
}
