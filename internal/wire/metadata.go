package wire

// MetadataRequest asks for brokers and topic metadata. Versions 9 to 13
// (all flexible, Kafka 2.4 and later) are encoded.
type MetadataRequest struct {
	version
	// AllTopics asks for every topic; otherwise Topics are asked for (none
	// when empty, which returns brokers and controller only).
	AllTopics bool
	Topics    []string
	// AutoCreate allows the broker to create missing topics.
	AutoCreate bool
}

// Key is 3.
func (*MetadataRequest) Key() int16 { return KeyMetadata }

// MaxVersion is 13.
func (*MetadataRequest) MaxVersion() int16 { return 13 }

// MinVersion is 9.
func (*MetadataRequest) MinVersion() int16 { return 9 }

// IsFlexible is true.
func (*MetadataRequest) IsFlexible() bool { return true }

// AppendTo encodes the body; it cannot fail.
func (m *MetadataRequest) AppendTo(b []byte) ([]byte, error) { return m.appendBody(b), nil }

func (m *MetadataRequest) appendBody(b []byte) []byte {
	if m.AllTopics {
		b = append(b, 0) // null array
	} else {
		b = AppendArrayLen(b, len(m.Topics), true)
		for _, t := range m.Topics {
			if m.v >= 10 {
				b = append(b, make([]byte, 16)...)
			}
			b = AppendString(b, t, true)
			b = append(b, 0)
		}
	}
	b = AppendBool(b, m.AutoCreate)
	if m.v <= 10 {
		b = AppendBool(b, false)
	}
	b = AppendBool(b, false)
	return append(b, 0)
}

// MetadataBroker is one broker in a Metadata response.
type MetadataBroker struct {
	NodeID int32
	Host   string
	Port   int32
	Rack   string
}

// MetadataPartition is one partition in a Metadata response.
type MetadataPartition struct {
	ErrorCode       int16
	Partition       int32
	Leader          int32
	LeaderEpoch     int32
	Replicas        []int32
	ISR             []int32
	OfflineReplicas []int32
}

// MetadataTopic is one topic in a Metadata response.
type MetadataTopic struct {
	ErrorCode  int16
	Name       string
	ID         [16]byte
	IsInternal bool
	Partitions []MetadataPartition
}

// MetadataResponse is a decoded Metadata response.
type MetadataResponse struct {
	ThrottleTime int32
	Brokers      []MetadataBroker
	ClusterID    string
	ControllerID int32
	Topics       []MetadataTopic
	ErrorCode    int16
}

// DecodeMetadata decodes a response at version v (9 to 13).
func DecodeMetadata(b []byte, v int16) (*MetadataResponse, error) {
	r := NewReader(b)
	resp := &MetadataResponse{ThrottleTime: r.Int32()}
	n := r.ArrayLen(true, 10)
	resp.Brokers = make([]MetadataBroker, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		br := MetadataBroker{NodeID: r.Int32(), Host: r.String(true), Port: r.Int32()}
		if s := r.NullableString(true); s != nil {
			br.Rack = *s
		}
		r.SkipTags()
		resp.Brokers = append(resp.Brokers, br)
	}
	if s := r.NullableString(true); s != nil {
		resp.ClusterID = *s
	}
	resp.ControllerID = r.Int32()
	n = r.ArrayLen(true, 8)
	resp.Topics = make([]MetadataTopic, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		t := MetadataTopic{ErrorCode: r.Int16()}
		if s := r.NullableString(true); s != nil {
			t.Name = *s
		}
		if v >= 10 {
			t.ID = r.UUID()
		}
		t.IsInternal = r.Bool()
		np := r.ArrayLen(true, 20)
		t.Partitions = make([]MetadataPartition, 0, np)
		for j := 0; j < np && r.err == nil; j++ {
			p := MetadataPartition{ErrorCode: r.Int16(), Partition: r.Int32(), Leader: r.Int32(), LeaderEpoch: r.Int32()}
			p.Replicas = r.Int32s(true)
			p.ISR = r.Int32s(true)
			p.OfflineReplicas = r.Int32s(true)
			r.SkipTags()
			t.Partitions = append(t.Partitions, p)
		}
		r.Int32() // topic authorized operations
		r.SkipTags()
		resp.Topics = append(resp.Topics, t)
	}
	if v <= 10 {
		r.Int32() // cluster authorized operations
	}
	if v >= 13 {
		resp.ErrorCode = r.Int16()
	}
	r.SkipTags()
	return resp, r.err
}
