package admin

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// BrokerInfo is one broker of the cluster.
type BrokerInfo struct {
	ID   int32
	Host string
	Port int32
	Rack string // "" when not set
	// Fenced is true for brokers registered but fenced by the controller
	// (only listed with DescribeClusterOptions.IncludeFenced).
	Fenced bool
}

// ClusterDescription describes the cluster.
type ClusterDescription struct {
	ClusterID string
	// Controller is the broker id the cluster reports as controller (in
	// KRaft, a broker that forwards to the active controller).
	Controller int32
	Brokers    []BrokerInfo // sorted by id
	// AuthorizedOperations is filled on request.
	AuthorizedOperations []ACLOperation
}

// DescribeClusterOptions modifies DescribeCluster.
type DescribeClusterOptions struct {
	// AuthorizedOperations asks for the operations the caller may perform
	// on the cluster.
	AuthorizedOperations bool
	// IncludeFenced also lists fenced brokers.
	IncludeFenced bool
}

// DescribeCluster returns the cluster id, the controller and the brokers,
// from any broker.
func (a *Client) DescribeCluster(ctx context.Context, opts DescribeClusterOptions) (ClusterDescription, error) {
	ctx, cancel := budget(ctx)
	defer cancel()
	req := protocol.NewDescribeClusterRequest()
	req.IncludeClusterAuthorizedOperations, req.IncludeFencedBrokers = opts.AuthorizedOperations, opts.IncludeFenced
	r, id, err := a.send(ctx, cluster.AnyBroker(), req)
	if err != nil {
		return ClusterDescription{}, err
	}
	resp := r.(*protocol.DescribeClusterResponse)
	a.c.Throttled(id, resp.ThrottleTimeMs)
	if e := itemErr("cluster", resp.ClusterId, resp.ErrorCode, resp.ErrorMessage); e != nil {
		return ClusterDescription{}, e
	}
	d := ClusterDescription{ClusterID: resp.ClusterId, Controller: resp.ControllerId}
	for _, b := range resp.Brokers {
		d.Brokers = append(d.Brokers, BrokerInfo{ID: b.BrokerId, Host: b.Host, Port: b.Port, Rack: deref(b.Rack), Fenced: b.IsFenced})
	}
	slices.SortFunc(d.Brokers, func(x, y BrokerInfo) int { return int(x.ID - y.ID) })
	if opts.AuthorizedOperations {
		d.AuthorizedOperations = decodeOperations(resp.ClusterAuthorizedOperations)
	}
	return d, nil
}

// FeatureRange is a range of feature versions.
type FeatureRange struct{ Min, Max int16 }

// Features are the cluster's feature flags (KIP-584), such as
// metadata.version and group.version.
type Features struct {
	// Finalized are the levels the cluster runs at.
	Finalized map[string]FeatureRange
	// Supported are the levels the answering broker can run at.
	Supported map[string]FeatureRange
	// Epoch is the epoch of the finalized features, -1 if unknown.
	Epoch int64
}

// DescribeFeatures returns the cluster's finalized and supported features,
// from any broker's ApiVersions answer.
func (a *Client) DescribeFeatures(ctx context.Context) (Features, error) {
	ctx, cancel := budget(ctx)
	defer cancel()
	req := protocol.NewApiVersionsRequest()
	req.ClientSoftwareName, req.ClientSoftwareVersion = "gregor-admin", "0"
	r, id, err := a.send(ctx, cluster.AnyBroker(), req)
	if err != nil {
		return Features{}, err
	}
	resp := r.(*protocol.ApiVersionsResponse)
	a.c.Throttled(id, resp.ThrottleTimeMs)
	if e := protocol.ErrorForCode(resp.ErrorCode); e != nil {
		return Features{}, e
	}
	f := Features{Finalized: map[string]FeatureRange{}, Supported: map[string]FeatureRange{}, Epoch: resp.FinalizedFeaturesEpoch}
	for _, x := range resp.FinalizedFeatures {
		f.Finalized[x.Name] = FeatureRange{x.MinVersionLevel, x.MaxVersionLevel}
	}
	for _, x := range resp.SupportedFeatures {
		f.Supported[x.Name] = FeatureRange{x.MinVersion, x.MaxVersion}
	}
	return f, nil
}

// LogDirPartition is one partition replica in a log directory.
type LogDirPartition struct {
	Size int64
	// OffsetLag is how far the replica is behind the log end (for future
	// replicas being moved between directories, else 0).
	OffsetLag int64
	// Future is true for a replica being moved into this directory.
	Future bool
}

// LogDir is one log directory of a broker.
type LogDir struct {
	Path string
	// TotalBytes and UsableBytes are the volume's size and free space, -1
	// when the broker did not say.
	TotalBytes, UsableBytes int64
	Partitions              map[TopicPartition]LogDirPartition
	// Err is nil, or the directory's error (KAFKA_STORAGE_ERROR when
	// offline).
	Err error
}

// DescribeLogDirs returns the log directories of brokers (all brokers when
// none are given), asking each broker. Every directory lists the partition
// replicas it holds. The second map holds the errors of brokers that could
// not be asked.
func (a *Client) DescribeLogDirs(ctx context.Context, brokers ...int32) (map[int32][]LogDir, map[int32]error, error) {
	ctx, cancel := budget(ctx)
	defer cancel()
	if len(brokers) == 0 {
		if err := a.c.Refresh(ctx); err != nil {
			return nil, nil, err
		}
		for id := range a.c.Metadata().Brokers {
			brokers = append(brokers, id)
		}
	}
	out := map[int32][]LogDir{}
	errs := map[int32]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, b := range brokers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := protocol.NewDescribeLogDirsRequest()
			req.Topics = nil // every topic
			r, id, err := a.send(ctx, cluster.BrokerID(b), req)
			var dirs []LogDir
			if err == nil {
				resp := r.(*protocol.DescribeLogDirsResponse)
				a.c.Throttled(id, resp.ThrottleTimeMs)
				err = itemErr("broker", itoa(b), resp.ErrorCode, nil)
				for _, d := range resp.Results {
					ld := LogDir{Path: d.LogDir, TotalBytes: d.TotalBytes, UsableBytes: d.UsableBytes,
						Partitions: map[TopicPartition]LogDirPartition{}, Err: itemErr("log dir", d.LogDir, d.ErrorCode, nil)}
					for _, t := range d.Topics {
						for _, p := range t.Partitions {
							ld.Partitions[TopicPartition{t.Name, p.PartitionIndex}] = LogDirPartition{Size: p.PartitionSize, OffsetLag: p.OffsetLag, Future: p.IsFutureKey}
						}
					}
					dirs = append(dirs, ld)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[b] = wrapItem("broker", itoa(b), err)
			} else {
				out[b] = dirs
			}
		}()
	}
	wg.Wait()
	return out, errs, nil
}

// QuorumReplica is the state of one voter or observer of the metadata
// quorum.
type QuorumReplica struct {
	ID           int32
	DirectoryID  protocol.UUID
	LogEndOffset int64
	// LastFetch and LastCaughtUp are Unix milliseconds, -1 if unknown.
	LastFetch, LastCaughtUp int64
}

// QuorumInfo describes the KRaft metadata quorum.
type QuorumInfo struct {
	Leader        int32
	LeaderEpoch   int32
	HighWatermark int64
	Voters        []QuorumReplica
	Observers     []QuorumReplica
}

// DescribeQuorum describes the KRaft metadata quorum: its leader, voters
// and observers. Any broker forwards the request to the active controller.
func (a *Client) DescribeQuorum(ctx context.Context) (QuorumInfo, error) {
	ctx, cancel := budget(ctx)
	defer cancel()
	var q QuorumInfo
	var last error
	err := a.retry(ctx, func(ctx context.Context) (bool, error) {
		req := protocol.NewDescribeQuorumRequest()
		req.Topics = []protocol.DescribeQuorumRequestTopicData{{TopicName: "__cluster_metadata", Partitions: []protocol.DescribeQuorumRequestPartitionData{{PartitionIndex: 0}}}}
		r, _, err := a.send(ctx, cluster.AnyBroker(), req)
		if err != nil {
			return false, err
		}
		resp := r.(*protocol.DescribeQuorumResponse)
		e := itemErr("quorum", "__cluster_metadata", resp.ErrorCode, resp.ErrorMessage)
		if e == nil && (len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1) {
			e = &ItemError{Kind: "quorum", Name: "__cluster_metadata", Err: errors.New("unexpected response shape")}
		}
		if e == nil {
			p := resp.Topics[0].Partitions[0]
			e = itemErr("quorum", "__cluster_metadata", p.ErrorCode, p.ErrorMessage)
		}
		if last = e; e != nil {
			if a.retriable(e) {
				return true, nil
			}
			return false, e
		}
		p := resp.Topics[0].Partitions[0]
		q = QuorumInfo{Leader: p.LeaderId, LeaderEpoch: p.LeaderEpoch, HighWatermark: p.HighWatermark,
			Voters: quorumReplicas(p.CurrentVoters), Observers: quorumReplicas(p.Observers)}
		return false, nil
	})
	if err == nil {
		err = last
	}
	return q, err
}

func quorumReplicas(rs []protocol.DescribeQuorumResponseReplicaState) []QuorumReplica {
	out := make([]QuorumReplica, 0, len(rs))
	for _, r := range rs {
		out = append(out, QuorumReplica{ID: r.ReplicaId, DirectoryID: r.ReplicaDirectoryId, LogEndOffset: r.LogEndOffset,
			LastFetch: r.LastFetchTimestamp, LastCaughtUp: r.LastCaughtUpTimestamp})
	}
	slices.SortFunc(out, func(x, y QuorumReplica) int { return int(x.ID - y.ID) })
	return out
}

// FeatureUpgradeType says how UpdateFeatures may change a feature level.
type FeatureUpgradeType int8

// The feature upgrade types.
const (
	// FeatureUpgrade only raises the level.
	FeatureUpgrade FeatureUpgradeType = 1
	// FeatureSafeDowngrade lowers the level only if no metadata is lost.
	FeatureSafeDowngrade FeatureUpgradeType = 2
	// FeatureUnsafeDowngrade lowers the level even if metadata is lost.
	FeatureUnsafeDowngrade FeatureUpgradeType = 3
)

// FeatureUpdate sets a feature's finalized level; level 0 disables the
// feature (a downgrade).
type FeatureUpdate struct {
	Level int16
	Type  FeatureUpgradeType
}

// UpdateFeatures changes finalized feature levels through the controller
// and returns one error (nil on success) per feature; when the controller
// refuses the whole request (as it does if any feature is invalid), every
// feature gets that error. With validateOnly the controller only checks
// the change.
func (a *Client) UpdateFeatures(ctx context.Context, updates map[string]FeatureUpdate, validateOnly bool) (map[string]error, error) {
	out := map[string]error{}
	var callErr error
	err := a.retry(ctx, func(ctx context.Context) (bool, error) {
		req := protocol.NewUpdateFeaturesRequest()
		req.TimeoutMs, req.ValidateOnly = timeoutMs(ctx), validateOnly
		for name, u := range updates {
			typ := u.Type
			if typ == 0 {
				typ = FeatureUpgrade
			}
			req.FeatureUpdates = append(req.FeatureUpdates, protocol.UpdateFeaturesRequestFeatureUpdateKey{
				Feature: name, MaxVersionLevel: u.Level, UpgradeType: int8(typ)})
		}
		// Version 0 said "downgrade allowed" with a bool that later
		// versions dropped for UpgradeType; every broker with KRaft
		// features speaks version 1, so version 0 is never sent.
		_, hi, _ := protocol.SupportedVersions(req.Key())
		r, id, err := a.send(ctx, cluster.Controller(), capped{Request: req, lo: 1, hi: hi})
		if err != nil {
			return false, err
		}
		resp := r.(*protocol.UpdateFeaturesResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		if callErr = itemErr("features", "", resp.ErrorCode, resp.ErrorMessage); callErr != nil {
			if a.retriable(callErr) {
				return true, nil
			}
			// A refusal of the whole request is every feature's error.
			for name := range updates {
				out[name] = itemErr("feature", name, resp.ErrorCode, resp.ErrorMessage)
			}
			callErr = nil
			return false, nil
		}
		for _, f := range resp.Results {
			out[f.Feature] = itemErr("feature", f.Feature, f.ErrorCode, f.ErrorMessage)
		}
		// Since v2 the broker may answer with the top-level code only.
		for name := range updates {
			if _, ok := out[name]; !ok {
				out[name] = nil
			}
		}
		return false, nil
	})
	if err == nil {
		err = callErr
	}
	return out, err
}
