package protocol

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gregorkafka/gregor/integration"
)

type goldenCase struct {
	name    string
	version int16
	data    []byte
}

var (
	goldenOnce  sync.Once
	goldenCache []goldenCase
	goldenSkip  string // why the Java side cannot run here
	goldenErr   string // why running it failed
)

// javaGolden compiles and runs testdata/java/Golden.java against the Kafka
// client jars once per test binary and parses its output.
func javaGolden(t *testing.T) []goldenCase {
	t.Helper()
	goldenOnce.Do(func() { goldenCache, goldenSkip, goldenErr = runJavaGolden() })
	switch {
	case goldenSkip != "":
		integration.SkipOrFail(t, errors.New(goldenSkip))
	case goldenErr != "":
		t.Fatal(goldenErr)
	}
	return goldenCache
}

func runJavaGolden() (cases []goldenCase, skip, fail string) {
	dir, err := os.MkdirTemp("", "gregor-golden")
	if err != nil {
		return nil, "", err.Error()
	}
	defer os.RemoveAll(dir)
	classpath, err := integration.CompileJava(context.Background(), dir, filepath.Join("testdata", "java", "Golden.java"))
	if errors.Is(err, integration.ErrJavaUnavailable) {
		return nil, err.Error(), ""
	}
	if err != nil {
		return nil, "", err.Error()
	}
	cmd := exec.Command("java", "-cp", classpath, "Golden")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, "", fmt.Sprintf("java: %v\n%s", err, stderr.String())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		parts := strings.Fields(sc.Text())
		if len(parts) != 3 {
			return nil, "", fmt.Sprintf("bad Golden output line %q", sc.Text())
		}
		v, err := strconv.Atoi(parts[1])
		if err != nil {
			return nil, "", fmt.Sprintf("bad version in %q", sc.Text())
		}
		b, err := hex.DecodeString(parts[2])
		if err != nil {
			return nil, "", fmt.Sprintf("bad hex in %q", sc.Text())
		}
		cases = append(cases, goldenCase{parts[0], int16(v), b})
	}
	if len(cases) < 30 {
		return nil, "", fmt.Sprintf("Golden printed only %d messages", len(cases))
	}
	return cases, "", ""
}

func newByName(name string) Message {
	for _, tm := range allMessages {
		if tm.name == name {
			return tm.new()
		}
	}
	return nil
}

// TestJavaGolden decodes messages serialized by the Java client, checks
// some of their fields, and re-encodes them to the identical bytes.
func TestJavaGolden(t *testing.T) {
	cases := javaGolden(t)
	defer func() { t.Logf("%d Java-serialized messages decoded and re-encoded byte for byte", len(cases)) }()
	for _, c := range cases {
		label := c.name + " v" + strconv.Itoa(int(c.version))
		data := c.data
		if c.name == "ConsumerProtocolAssignment" {
			// ConsumerProtocol prefixes the version.
			if v := int16(data[0])<<8 | int16(data[1]); v != c.version {
				t.Fatalf("%s: version prefix %d", label, v)
			}
			data = data[2:]
		}
		m := newByName(c.name)
		if m == nil {
			t.Fatalf("unknown message %s", c.name)
		}
		m.SetVersion(c.version)
		if err := m.Decode(data); err != nil {
			t.Fatalf("%s: decode: %v", label, err)
		}
		out, err := m.AppendTo(nil)
		if err != nil {
			t.Fatalf("%s: encode: %v", label, err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("%s: re-encoding differs\njava:   %x\ngregor: %x", label, data, out)
		}
		checkGolden(t, label, m)
	}
}

func want(t *testing.T, label, what string, ok bool) {
	t.Helper()
	if !ok {
		t.Errorf("%s: unexpected %s", label, what)
	}
}

func strp(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// checkGolden spot-checks decoded values against what Golden.java sets.
func checkGolden(t *testing.T, label string, m Message) {
	topicID := UUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	v := m.GetVersion()
	switch x := m.(type) {
	case *ProduceRequest:
		want(t, label, "acks/timeout", x.Acks == -1 && x.TimeoutMs == 30000)
		want(t, label, "topics", len(x.TopicData) == 1 && len(x.TopicData[0].PartitionData) == 2)
		p := x.TopicData[0].PartitionData[0]
		want(t, label, "records", p.Index == 0 && len(p.Records) == 40 && p.Records[1] == 32)
		if v >= 13 {
			want(t, label, "topic id", x.TopicData[0].TopicId == topicID)
		} else {
			want(t, label, "topic name", x.TopicData[0].Name == "orders")
		}
		if v >= 9 {
			want(t, label, "transactional id", strp(x.TransactionalId) == "txn-1")
		}
	case *FetchRequest:
		want(t, label, "limits", x.MaxWaitMs == 500 && x.MinBytes == 1 && x.MaxBytes == 50<<20)
		p := x.Topics[0].Partitions[0]
		want(t, label, "partition", p.Partition == 3 && p.FetchOffset == 1234567890123 && p.PartitionMaxBytes == 1<<20)
		if v >= 12 {
			want(t, label, "tagged cluster id", strp(x.ClusterId) == "cluster-x")
		}
		if v >= 15 {
			want(t, label, "tagged replica state", x.ReplicaState.ReplicaId == 2 && x.ReplicaState.ReplicaEpoch == 9)
		} else {
			want(t, label, "replica id", x.ReplicaId == -1)
		}
		if v >= 17 {
			want(t, label, "tagged directory id", p.ReplicaDirectoryId == topicID)
		}
	case *FetchResponse:
		want(t, label, "throttle", x.ThrottleTimeMs == 11)
		ps := x.Responses[0].Partitions
		want(t, label, "partitions", len(ps) == 2 && ps[0].HighWatermark == 1000 && len(ps[0].Records) == 64)
		want(t, label, "null records", ps[1].Records == nil && ps[1].ErrorCode == 6)
		want(t, label, "aborted", len(ps[0].AbortedTransactions) == 1 && ps[0].AbortedTransactions[0].ProducerId == 42)
		if v >= 12 {
			want(t, label, "tagged diverging epoch", ps[0].DivergingEpoch.Epoch == 2 && ps[0].DivergingEpoch.EndOffset == 800)
			want(t, label, "tagged current leader", ps[0].CurrentLeader.LeaderId == 1 && ps[0].CurrentLeader.LeaderEpoch == 6)
			want(t, label, "default snapshot id", ps[0].SnapshotId.Epoch == -1 && ps[0].SnapshotId.EndOffset == -1)
			u := ps[0].UnknownTags.Fields()
			want(t, label, "unknown tag kept", len(u) == 1 && u[0].Tag == 9 && bytes.Equal(u[0].Data, []byte{1, 2, 3}))
		}
		if v >= 16 {
			want(t, label, "node endpoints", len(x.NodeEndpoints) == 1 && x.NodeEndpoints[0].Host == "b1" && strp(x.NodeEndpoints[0].Rack) == "r1")
		}
	case *MetadataRequest:
		want(t, label, "topics", len(x.Topics) == 2 && strp(x.Topics[1].Name) == "payments")
		if v >= 4 {
			want(t, label, "auto create", !x.AllowAutoTopicCreation)
		}
	case *MetadataResponse:
		want(t, label, "brokers", len(x.Brokers) == 2 && x.Brokers[1].Host == "broker-2" && x.Brokers[1].Port == 9093)
		want(t, label, "topic", len(x.Topics) == 1 && strp(x.Topics[0].Name) == "orders")
		p := x.Topics[0].Partitions[0]
		want(t, label, "replicas", len(p.ReplicaNodes) == 2 && p.ReplicaNodes[1] == 2 && len(p.IsrNodes) == 1)
		if v >= 2 {
			want(t, label, "cluster id", strp(x.ClusterId) == "cluster-x")
		}
		if v >= 1 {
			want(t, label, "rack", strp(x.Brokers[0].Rack) == "r1" && x.Brokers[1].Rack == nil)
		}
	case *JoinGroupRequest:
		want(t, label, "group", x.GroupId == "group-1" && x.SessionTimeoutMs == 45000 && x.ProtocolType == "consumer")
		want(t, label, "protocols", len(x.Protocols) == 2 && x.Protocols[1].Name == "cooperative-sticky" && len(x.Protocols[0].Metadata) == 12)
		if v >= 5 {
			want(t, label, "instance", strp(x.GroupInstanceId) == "instance-1")
		}
	case *JoinGroupResponse:
		want(t, label, "generation", x.GenerationId == 8 && x.Leader == "m-1" && strp(x.ProtocolName) == "range")
		want(t, label, "members", len(x.Members) == 1 && len(x.Members[0].Metadata) == 5)
	case *SyncGroupRequest:
		want(t, label, "assignments", len(x.Assignments) == 1 && x.Assignments[0].MemberId == "m-1")
		checkAssignment(t, label, x.Assignments[0].Assignment)
	case *SyncGroupResponse:
		checkAssignment(t, label, x.Assignment)
		if v >= 5 {
			want(t, label, "protocol", strp(x.ProtocolType) == "consumer" && strp(x.ProtocolName) == "range")
		}
	case *ConsumerProtocolAssignment:
		want(t, label, "partitions", len(x.AssignedPartitions) == 1 && len(x.AssignedPartitions[0].Partitions) == 3)
	case *OffsetCommitRequest:
		ps := x.Topics[0].Partitions
		want(t, label, "offsets", len(ps) == 2 && ps[1].CommittedOffset == 200 && ps[1].CommittedMetadata == nil && strp(ps[0].CommittedMetadata) == "meta")
	case *CreateTopicsRequest:
		want(t, label, "topic", x.Topics[0].Name == "orders" && x.Topics[0].NumPartitions == 6 && x.Topics[0].ReplicationFactor == 3)
		want(t, label, "configs", len(x.Topics[0].Configs) == 2 && x.Topics[0].Configs[1].Value == nil)
		want(t, label, "timeout", x.TimeoutMs == 30000 && x.ValidateOnly)
	case *DescribeConfigsRequest:
		want(t, label, "resources", len(x.Resources) == 2 && x.Resources[1].ConfigurationKeys == nil && x.Resources[0].ConfigurationKeys[0] == "retention.ms")
	case *DescribeConfigsResponse:
		c := x.Results[0].Configs[0]
		want(t, label, "config", strp(c.Value) == "604800000" && c.ConfigSource == 5 && len(c.Synonyms) == 1 && c.Synonyms[0].Value == nil)
	case *ConsumerGroupHeartbeatResponse:
		want(t, label, "member", strp(x.MemberId) == "member-9" && x.MemberEpoch == 12)
		if v == 0 {
			want(t, label, "nullable struct present", x.Assignment != nil && len(x.Assignment.TopicPartitions) == 1 &&
				x.Assignment.TopicPartitions[0].TopicId == topicID && x.Assignment.TopicPartitions[0].Partitions[1] == 3)
		} else {
			want(t, label, "nullable struct null", x.Assignment == nil)
		}
	case *DescribeClientQuotasResponse:
		e := x.Entries[0]
		want(t, label, "float64", e.Values[0].Key == "producer_byte_rate" && e.Values[0].Value == 1.5e6 && e.Entity[0].EntityName == nil)
	case *BeginQuorumEpochResponse:
		want(t, label, "partition", x.Topics[0].Partitions[0].LeaderId == 3000)
		if v >= 1 {
			want(t, label, "tagged uint16 port", len(x.NodeEndpoints) == 1 && x.NodeEndpoints[0].Port == 65000)
		}
	case *ApiVersionsResponse:
		want(t, label, "keys", len(x.ApiKeys) == 2 && x.ApiKeys[1].ApiKey == 18 && x.ApiKeys[1].MaxVersion == 4)
		if v >= 3 {
			want(t, label, "tagged features", len(x.SupportedFeatures) == 1 && x.SupportedFeatures[0].MaxVersion == 27 &&
				x.FinalizedFeaturesEpoch == 123 && x.ZkMigrationReady && x.FinalizedFeatures[0].MinVersionLevel == 27)
		}
	case *RequestHeader:
		want(t, label, "header", x.RequestApiKey == 1 && x.RequestApiVersion == 12 && x.CorrelationId == 99 && strp(x.ClientId) == "gregor")
	case *ResponseHeader:
		want(t, label, "header", x.CorrelationId == 99)
	}
}

// checkAssignment decodes a version-prefixed ConsumerProtocolAssignment
// written by the Java ConsumerProtocol helper.
func checkAssignment(t *testing.T, label string, b []byte) {
	t.Helper()
	if len(b) < 2 {
		t.Fatalf("%s: assignment too short", label)
	}
	var a ConsumerProtocolAssignment
	a.Version = int16(b[0])<<8 | int16(b[1])
	if err := a.Decode(b[2:]); err != nil {
		t.Fatalf("%s: assignment: %v", label, err)
	}
	want(t, label, "assignment", len(a.AssignedPartitions) == 1 && a.AssignedPartitions[0].Topic == "orders" &&
		len(a.AssignedPartitions[0].Partitions) == 3 && a.AssignedPartitions[0].Partitions[2] == 4 && len(a.UserData) == 3)
}

// TestHeadersMatchJava checks the hand-written header helpers against the
// Java-serialized headers and the generated header types.
func TestHeadersMatchJava(t *testing.T) {
	var java = map[string][]byte{}
	for _, c := range javaGolden(t) {
		if strings.HasSuffix(c.name, "Header") {
			java[c.name+strconv.Itoa(int(c.version))] = c.data
		}
	}
	id := "gregor"
	got, err := AppendRequestHeader(nil, KeyFetch, 12, 99, &id)
	if err != nil || !bytes.Equal(got, java["RequestHeader2"]) {
		t.Fatalf("flexible request header: %x, want %x (%v)", got, java["RequestHeader2"], err)
	}
	got, _ = AppendRequestHeader(nil, KeyFetch, 8, 99, &id)
	want := append([]byte(nil), java["RequestHeader1"]...)
	want[3] = 8 // the Java sample says version 12
	if !bytes.Equal(got, want) {
		t.Fatalf("classic request header: %x, want %x", got, want)
	}
	frame := append(append([]byte(nil), java["ResponseHeader1"]...), 0xaa)
	corr, body, err := ReadResponseHeader(frame, KeyMetadata, 12)
	if err != nil || corr != 99 || !bytes.Equal(body, []byte{0xaa}) {
		t.Fatalf("ReadResponseHeader: %d %x %v", corr, body, err)
	}
}
