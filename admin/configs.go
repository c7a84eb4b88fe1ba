package admin

import (
	"context"
	"strconv"

	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// ConfigResourceType says what a config resource is.
type ConfigResourceType int8

// The config resource types.
const (
	ConfigTopic         ConfigResourceType = 2
	ConfigBroker        ConfigResourceType = 4
	ConfigBrokerLogger  ConfigResourceType = 8
	ConfigClientMetrics ConfigResourceType = 16
	ConfigGroup         ConfigResourceType = 32
)

// String names the type.
func (t ConfigResourceType) String() string {
	switch t {
	case ConfigTopic:
		return "topic"
	case ConfigBroker:
		return "broker"
	case ConfigBrokerLogger:
		return "broker-logger"
	case ConfigClientMetrics:
		return "client-metrics"
	case ConfigGroup:
		return "group"
	}
	return "ConfigResourceType(" + strconv.Itoa(int(t)) + ")"
}

// ConfigResource names something that has configs: a topic by name, a
// broker or its loggers by node id ("" for the cluster-wide broker
// defaults), a client-metrics subscription or a group.
type ConfigResource struct {
	Type ConfigResourceType
	Name string
}

// TopicResource returns the config resource of a topic.
func TopicResource(topic string) ConfigResource { return ConfigResource{ConfigTopic, topic} }

// BrokerResource returns the config resource of a broker.
func BrokerResource(id int32) ConfigResource {
	return ConfigResource{ConfigBroker, strconv.Itoa(int(id))}
}

// target is where Kafka wants requests about r: the broker itself for a
// broker's or its loggers' configs, else any broker.
func (r ConfigResource) target() cluster.Target {
	if r.Type == ConfigBroker || r.Type == ConfigBrokerLogger {
		if id, err := strconv.ParseInt(r.Name, 10, 32); err == nil {
			return cluster.BrokerID(int32(id))
		}
	}
	return cluster.AnyBroker()
}

// ConfigSource says where a config's value comes from.
type ConfigSource int8

// The config sources.
const (
	SourceUnknown              ConfigSource = 0
	SourceDynamicTopic         ConfigSource = 1
	SourceDynamicBroker        ConfigSource = 2
	SourceDynamicDefaultBroker ConfigSource = 3
	SourceStaticBroker         ConfigSource = 4
	SourceDefault              ConfigSource = 5
	SourceDynamicBrokerLogger  ConfigSource = 6
	SourceClientMetrics        ConfigSource = 7
	SourceGroup                ConfigSource = 8
)

var sourceNames = []string{"UNKNOWN", "DYNAMIC_TOPIC_CONFIG", "DYNAMIC_BROKER_CONFIG", "DYNAMIC_DEFAULT_BROKER_CONFIG",
	"STATIC_BROKER_CONFIG", "DEFAULT_CONFIG", "DYNAMIC_BROKER_LOGGER_CONFIG", "CLIENT_METRICS_CONFIG", "GROUP_CONFIG"}

// String returns Kafka's name for the source, such as DYNAMIC_TOPIC_CONFIG.
func (s ConfigSource) String() string {
	if s >= 0 && int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "ConfigSource(" + strconv.Itoa(int(s)) + ")"
}

// ConfigSynonym is one of the values that could apply to a config, in
// order of precedence.
type ConfigSynonym struct {
	Name   string
	Value  *string
	Source ConfigSource
}

// ConfigEntry is one config of a resource.
type ConfigEntry struct {
	Name string
	// Value is nil for sensitive configs and for configs without a value.
	Value     *string
	ReadOnly  bool
	Sensitive bool
	Source    ConfigSource
	// Synonyms are filled when DescribeConfigsOptions.Synonyms is set.
	Synonyms []ConfigSynonym
	// Type is Kafka's config type number (1 BOOLEAN, 2 STRING, 3 INT,
	// 4 SHORT, 5 LONG, 6 DOUBLE, 7 LIST, 8 CLASS, 9 PASSWORD); 0 unknown.
	Type int8
	// Documentation is filled when DescribeConfigsOptions.Documentation is
	// set.
	Documentation *string
}

// IsDefault reports whether the value is the built-in default.
func (e ConfigEntry) IsDefault() bool { return e.Source == SourceDefault }

// ResourceConfigs is the outcome for one resource of DescribeConfigs.
type ResourceConfigs struct {
	Resource ConfigResource
	Configs  []ConfigEntry
	// Err is nil, or the resource's *ItemError.
	Err error
}

// Get returns the entry named name, if present.
func (rc ResourceConfigs) Get(name string) (ConfigEntry, bool) {
	for _, e := range rc.Configs {
		if e.Name == name {
			return e, true
		}
	}
	return ConfigEntry{}, false
}

// DescribeConfigsOptions modifies DescribeConfigs.
type DescribeConfigsOptions struct {
	// Keys limits the answer to these config names (all when empty).
	Keys []string
	// Synonyms asks for every value that could apply, in precedence order.
	Synonyms bool
	// Documentation asks for each config's documentation.
	Documentation bool
}

// DescribeConfigs describes the configs of resources, in request order.
// Broker and broker-logger resources are asked of that broker, others of
// any broker. Failing to reach a broker is the error of the resources asked
// of it, so that the others still come back; the method's own error is
// always nil today and kept for future use.
func (a *Client) DescribeConfigs(ctx context.Context, resources []ConfigResource, opts DescribeConfigsOptions) ([]ResourceConfigs, error) {
	out := make([]ResourceConfigs, len(resources))
	for i, r := range resources {
		out[i].Resource = r
	}
	byTarget := groupByTarget(resources)
	for tgt, idx := range byTarget {
		pending := map[int]bool{}
		for _, i := range idx {
			pending[i] = true
		}
		err := a.retry(ctx, func(ctx context.Context) (bool, error) {
			req := protocol.NewDescribeConfigsRequest()
			req.IncludeSynonyms, req.IncludeDocumentation = opts.Synonyms, opts.Documentation
			for i := range pending {
				req.Resources = append(req.Resources, protocol.DescribeConfigsRequestDescribeConfigsResource{
					ResourceType: int8(resources[i].Type), ResourceName: resources[i].Name, ConfigurationKeys: opts.Keys})
			}
			r, id, err := a.send(ctx, tgt, req)
			if err != nil {
				return false, err
			}
			resp := r.(*protocol.DescribeConfigsResponse)
			a.c.Throttled(id, resp.ThrottleTimeMs)
			again := false
			for _, res := range resp.Results {
				for i := range pending {
					rs := resources[i]
					if int8(rs.Type) != res.ResourceType || rs.Name != res.ResourceName {
						continue
					}
					o := ResourceConfigs{Resource: rs}
					o.Err = itemErr(rs.Type.String(), rs.Name, res.ErrorCode, res.ErrorMessage)
					for _, c := range res.Configs {
						e := ConfigEntry{Name: c.Name, Value: c.Value, ReadOnly: c.ReadOnly, Sensitive: c.IsSensitive,
							Source: ConfigSource(c.ConfigSource), Type: c.ConfigType, Documentation: c.Documentation}
						for _, s := range c.Synonyms {
							e.Synonyms = append(e.Synonyms, ConfigSynonym{Name: s.Name, Value: s.Value, Source: ConfigSource(s.Source)})
						}
						o.Configs = append(o.Configs, e)
					}
					out[i] = o
					if a.retriable(o.Err, protocol.ErrUnknownTopicOrPartition) {
						again = true
					} else {
						delete(pending, i)
					}
				}
			}
			return again, nil
		})
		if err != nil {
			for i := range pending {
				out[i].Err = wrapItem(resources[i].Type.String(), resources[i].Name, err)
			}
		}
	}
	return out, nil
}

func groupByTarget(rs []ConfigResource) map[cluster.Target][]int {
	m := map[cluster.Target][]int{}
	for i, r := range rs {
		t := r.target()
		m[t] = append(m[t], i)
	}
	return m
}

// ConfigOpType is an incremental config change.
type ConfigOpType int8

// The incremental config operations.
const (
	// OpSet sets the config to Value.
	OpSet ConfigOpType = 0
	// OpDelete removes the dynamic value, reverting to the default.
	OpDelete ConfigOpType = 1
	// OpAppend adds Value's items to a list config.
	OpAppend ConfigOpType = 2
	// OpSubtract removes Value's items from a list config.
	OpSubtract ConfigOpType = 3
)

// ConfigOp is one change to one config.
type ConfigOp struct {
	Op    ConfigOpType
	Name  string
	Value string // ignored for OpDelete
}

// AlterConfigsOptions modifies AlterConfigs.
type AlterConfigsOptions struct {
	// ValidateOnly checks the changes without applying them.
	ValidateOnly bool
}

// AlterConfigs applies incremental config changes (KIP-339) to resources
// and returns one error (nil on success) per resource. Broker and broker-logger resources go to that broker, others
// to any broker. As with DescribeConfigs, failing to reach a broker is the
// error of the resources sent to it.
func (a *Client) AlterConfigs(ctx context.Context, changes map[ConfigResource][]ConfigOp, opts AlterConfigsOptions) (map[ConfigResource]error, error) {
	resources := make([]ConfigResource, 0, len(changes))
	for r := range changes {
		resources = append(resources, r)
	}
	out := make(map[ConfigResource]error, len(resources))
	for tgt, idx := range groupByTarget(resources) {
		pending := map[ConfigResource]bool{}
		for _, i := range idx {
			pending[resources[i]] = true
		}
		err := a.retry(ctx, func(ctx context.Context) (bool, error) {
			req := protocol.NewIncrementalAlterConfigsRequest()
			req.ValidateOnly = opts.ValidateOnly
			for r := range pending {
				res := protocol.IncrementalAlterConfigsRequestAlterConfigsResource{ResourceType: int8(r.Type), ResourceName: r.Name}
				for _, op := range changes[r] {
					c := protocol.IncrementalAlterConfigsRequestAlterableConfig{Name: op.Name, ConfigOperation: int8(op.Op)}
					if op.Op != OpDelete {
						c.Value = strPtr(op.Value)
					}
					res.Configs = append(res.Configs, c)
				}
				req.Resources = append(req.Resources, res)
			}
			r, id, err := a.send(ctx, tgt, req)
			if err != nil {
				return false, err
			}
			resp := r.(*protocol.IncrementalAlterConfigsResponse)
			a.c.Throttled(id, resp.ThrottleTimeMs)
			again := false
			for _, res := range resp.Responses {
				key := ConfigResource{ConfigResourceType(res.ResourceType), res.ResourceName}
				if !pending[key] {
					continue
				}
				e := itemErr(key.Type.String(), key.Name, res.ErrorCode, res.ErrorMessage)
				out[key] = e
				if a.retriable(e, protocol.ErrUnknownTopicOrPartition) {
					again = true
				} else {
					delete(pending, key)
				}
			}
			return again, nil
		})
		for r := range pending {
			if err != nil {
				out[r] = wrapItem(r.Type.String(), r.Name, err)
			} else if _, ok := out[r]; !ok {
				out[r] = nil
			}
		}
	}
	return out, nil
}
