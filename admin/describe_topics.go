package admin

import (
	"context"
	"errors"
	"slices"

	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// DescribeTopicsOptions modifies DescribeTopics.
type DescribeTopicsOptions struct {
	// AuthorizedOperations asks for the operations the caller may perform.
	AuthorizedOperations bool
	// PartitionPageLimit caps the partitions the broker puts in one
	// DescribeTopicPartitions response; the client asks for the next page
	// until every partition is in. 0 leaves the cap to the broker (2000 by
	// default, and never more than its max.request.partition.size.limit).
	PartitionPageLimit int32
	// UseMetadata describes the topics with a Metadata request even when
	// the broker supports DescribeTopicPartitions.
	UseMetadata bool
}

// DescribeTopics describes topics: partitions, leaders, replicas, in-sync
// and offline replicas, topic ids and, on request, authorized operations.
// Results are in request order.
//
// Brokers that support DescribeTopicPartitions (Kafka 3.8 and later) are
// asked with it, page by page, so that topics with very many partitions
// never need one huge response; older brokers are asked with Metadata.
func (a *Client) DescribeTopics(ctx context.Context, names []string, opts DescribeTopicsOptions) ([]TopicDescription, error) {
	out := make([]TopicDescription, len(names))
	pending := map[string][]int{}
	for i, n := range names {
		out[i].Name = n
		pending[n] = append(pending[n], i)
	}
	useMetadata := opts.UseMetadata
	err := a.retry(ctx, func(ctx context.Context) (bool, error) {
		topics := make([]string, 0, len(pending))
		for n := range pending {
			topics = append(topics, n)
		}
		var got []TopicDescription
		var err error
		if !useMetadata {
			got, err = a.describePaged(ctx, topics, opts)
			if errors.Is(err, protocol.ErrUnsupportedVersion) {
				useMetadata = true
			}
		}
		if useMetadata {
			got, err = a.describeMetadata(ctx, topics, opts)
		}
		if err != nil {
			return false, err
		}
		again := false
		for _, d := range got {
			idx, ok := pending[d.Name]
			if !ok {
				continue
			}
			slices.SortFunc(d.Partitions, func(x, y PartitionInfo) int { return int(x.Partition - y.Partition) })
			for _, i := range idx {
				out[i] = d
			}
			if a.retriable(d.Err, protocol.ErrUnknownTopicOrPartition) {
				again = true
			} else {
				delete(pending, d.Name)
			}
		}
		return again, nil
	})
	return out, err
}

// describeMetadata describes topics with one Metadata request.
func (a *Client) describeMetadata(ctx context.Context, topics []string, opts DescribeTopicsOptions) ([]TopicDescription, error) {
	req := protocol.NewMetadataRequest()
	req.AllowAutoTopicCreation = false
	req.Topics = []protocol.MetadataRequestTopic{}
	for _, n := range topics {
		req.Topics = append(req.Topics, protocol.MetadataRequestTopic{Name: strPtr(n)})
	}
	req.IncludeTopicAuthorizedOperations = opts.AuthorizedOperations
	r, id, err := a.send(ctx, cluster.AnyBroker(), req)
	if err != nil {
		return nil, err
	}
	resp := r.(*protocol.MetadataResponse)
	a.c.Throttled(id, resp.ThrottleTimeMs)
	var out []TopicDescription
	for _, t := range resp.Topics {
		name := deref(t.Name)
		d := TopicDescription{Name: name, ID: t.TopicId, Internal: t.IsInternal}
		d.Err = itemErr("topic", name, t.ErrorCode, nil)
		if d.Err == nil {
			for _, p := range t.Partitions {
				d.Partitions = append(d.Partitions, PartitionInfo{
					Partition: p.PartitionIndex, Leader: p.LeaderId, LeaderEpoch: p.LeaderEpoch,
					Replicas: p.ReplicaNodes, ISR: p.IsrNodes, Offline: p.OfflineReplicas,
					Err: itemErr("partition", partName(name, p.PartitionIndex), p.ErrorCode, nil),
				})
			}
			if opts.AuthorizedOperations {
				d.AuthorizedOperations = decodeOperations(t.TopicAuthorizedOperations)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// maxDescribePages bounds the pages of one describePaged call, against a
// broker whose cursor never advances.
const maxDescribePages = 100000

// describePaged describes topics with DescribeTopicPartitions, following
// the broker's cursor until every topic is complete. Each request names
// the topics not yet complete, in name order as the broker walks them, and
// the cursor says where the previous page stopped. A topic split across
// pages gets one description with the partitions of every page.
func (a *Client) describePaged(ctx context.Context, topics []string, opts DescribeTopicsOptions) ([]TopicDescription, error) {
	byName := map[string]*TopicDescription{}
	var order []string
	rest := slices.Sorted(slices.Values(topics))
	rest = slices.Compact(rest)
	var cursor *protocol.DescribeTopicPartitionsRequestCursor
	for page := 0; len(rest) > 0 || cursor != nil; page++ {
		if page == maxDescribePages {
			return nil, errNoProgress
		}
		req := protocol.NewDescribeTopicPartitionsRequest()
		asked := rest
		for _, n := range asked {
			req.Topics = append(req.Topics, protocol.DescribeTopicPartitionsRequestTopicRequest{Name: n})
		}
		if opts.PartitionPageLimit > 0 {
			req.ResponsePartitionLimit = opts.PartitionPageLimit
		}
		req.Cursor = cursor
		r, id, err := a.send(ctx, cluster.AnyBroker(), req)
		if err != nil {
			return nil, err
		}
		resp := r.(*protocol.DescribeTopicPartitionsResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		if a.onDescribePage != nil {
			a.onDescribePage(req, resp)
		}
		done := map[string]bool{}
		for _, t := range resp.Topics {
			name := deref(t.Name)
			if !slices.Contains(asked, name) {
				continue
			}
			done[name] = true
			d, ok := byName[name]
			if !ok {
				d = &TopicDescription{Name: name, ID: t.TopicId, Internal: t.IsInternal}
				d.Err = itemErr("topic", name, t.ErrorCode, nil)
				if d.Err == nil && opts.AuthorizedOperations {
					d.AuthorizedOperations = decodeOperations(t.TopicAuthorizedOperations)
				}
				byName[name] = d
				order = append(order, name)
			}
			if d.Err != nil {
				continue
			}
			for _, p := range t.Partitions {
				d.Partitions = append(d.Partitions, PartitionInfo{
					Partition: p.PartitionIndex, Leader: p.LeaderId, LeaderEpoch: p.LeaderEpoch,
					Replicas: p.ReplicaNodes, ISR: p.IsrNodes, Offline: p.OfflineReplicas,
					ELR: p.EligibleLeaderReplicas, LastKnownELR: p.LastKnownElr,
					Err: itemErr("partition", partName(name, p.PartitionIndex), p.ErrorCode, nil),
				})
			}
		}
		var next *protocol.DescribeTopicPartitionsRequestCursor
		if nc := resp.NextCursor; nc != nil && slices.Contains(asked, nc.TopicName) {
			next = &protocol.DescribeTopicPartitionsRequestCursor{TopicName: nc.TopicName, PartitionIndex: nc.PartitionIndex}
			delete(done, nc.TopicName)
		} else if nc == nil {
			// No continuation: every topic asked for is complete. Topics
			// the broker left out stay undescribed.
			for _, n := range asked {
				done[n] = true
			}
		}
		if cursor != nil && next != nil && *next == *cursor {
			return nil, errNoProgress
		}
		if next == nil && len(done) == 0 {
			return nil, errNoProgress
		}
		cursor = next
		rest = slices.DeleteFunc(rest, func(n string) bool { return done[n] })
	}
	out := make([]TopicDescription, 0, len(order))
	for _, n := range order {
		out = append(out, *byName[n])
	}
	return out, nil
}

var errNoProgress = errors.New("admin: DescribeTopicPartitions: the broker's cursor does not advance")
