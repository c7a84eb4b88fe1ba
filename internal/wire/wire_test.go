package wire

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The encoders are checked against franz-go's kmsg decoders, and the
// decoders against kmsg's encoders, at every version each supports.

func TestMetadataRoundTrip(t *testing.T) {
	for v := int16(9); v <= 13; v++ {
		req := &MetadataRequest{Topics: []string{"a", "b"}, AutoCreate: true}
		req.SetVersion(v)
		kreq := kmsg.NewPtrMetadataRequest()
		kreq.SetVersion(v)
		if err := kreq.ReadFrom(req.appendBody(nil)); err != nil || len(kreq.Topics) != 2 || *kreq.Topics[1].Topic != "b" || !kreq.AllowAutoTopicCreation {
			t.Fatalf("v%d request: %v %+v", v, err, kreq)
		}
		all := &MetadataRequest{AllTopics: true}
		all.SetVersion(v)
		kreq = kmsg.NewPtrMetadataRequest()
		kreq.SetVersion(v)
		if err := kreq.ReadFrom(all.appendBody(nil)); err != nil || kreq.Topics != nil {
			t.Fatalf("v%d all-topics request: %v %+v", v, err, kreq.Topics)
		}

		kresp := kmsg.NewPtrMetadataResponse()
		kresp.SetVersion(v)
		kresp.ThrottleMillis = 7
		kresp.ClusterID = kmsg.StringPtr("cid")
		kresp.ControllerID = 2
		kresp.Brokers = []kmsg.MetadataResponseBroker{{NodeID: 1, Host: "h1", Port: 9092, Rack: kmsg.StringPtr("r")}, {NodeID: 2, Host: "h2", Port: 9093}}
		tp := kmsg.NewMetadataResponseTopic()
		tp.Topic = kmsg.StringPtr("a")
		tp.TopicID = [16]byte{1, 2, 3}
		tp.Partitions = []kmsg.MetadataResponseTopicPartition{{Partition: 0, Leader: 2, LeaderEpoch: 5, Replicas: []int32{1, 2}, ISR: []int32{2}}}
		kresp.Topics = append(kresp.Topics, tp)
		got, err := DecodeMetadata(kresp.AppendTo(nil), v)
		if err != nil {
			t.Fatalf("v%d response: %v", v, err)
		}
		p := got.Topics[0].Partitions[0]
		if got.ThrottleTime != 7 || got.ClusterID != "cid" || got.ControllerID != 2 || len(got.Brokers) != 2 || got.Brokers[0].Rack != "r" ||
			got.Topics[0].Name != "a" || p.Leader != 2 || p.LeaderEpoch != 5 || len(p.Replicas) != 2 || len(p.ISR) != 1 {
			t.Fatalf("v%d decoded %+v", v, got)
		}
		if v >= 10 && got.Topics[0].ID != tp.TopicID {
			t.Fatalf("v%d topic id lost", v)
		}
	}
}

func TestFindCoordinatorRoundTrip(t *testing.T) {
	for v := int16(3); v <= 6; v++ {
		req := &FindCoordinatorRequest{KeyType: CoordinatorTransaction, Keys: []string{"x", "y"}}
		req.SetVersion(v)
		kreq := kmsg.NewPtrFindCoordinatorRequest()
		kreq.SetVersion(v)
		if err := kreq.ReadFrom(req.appendBody(nil)); err != nil || kreq.CoordinatorType != 1 {
			t.Fatalf("v%d request: %v", v, err)
		}
		kresp := kmsg.NewPtrFindCoordinatorResponse()
		kresp.SetVersion(v)
		if v < 4 {
			if kreq.CoordinatorKey != "x" {
				t.Fatalf("v%d key %q", v, kreq.CoordinatorKey)
			}
			kresp.NodeID, kresp.Host, kresp.Port = 3, "h", 1
		} else {
			if len(kreq.CoordinatorKeys) != 2 {
				t.Fatalf("v%d keys %v", v, kreq.CoordinatorKeys)
			}
			kresp.Coordinators = []kmsg.FindCoordinatorResponseCoordinator{{Key: "x", NodeID: 3, Host: "h", Port: 1}, {Key: "y", ErrorCode: 15}}
		}
		_, cs, err := DecodeFindCoordinator(kresp.AppendTo(nil), v, "x")
		if err != nil || cs[0].Key != "x" || cs[0].NodeID != 3 || cs[0].Host != "h" {
			t.Fatalf("v%d response: %v %+v", v, err, cs)
		}
		if v >= 4 && (len(cs) != 2 || cs[1].ErrorCode != 15) {
			t.Fatalf("v%d second key: %+v", v, cs)
		}
	}
}

func TestSaslRoundTrip(t *testing.T) {
	for v := int16(0); v <= 2; v++ {
		req := &SaslAuthenticateRequest{AuthBytes: []byte("hello")}
		req.SetVersion(v)
		kreq := kmsg.NewPtrSASLAuthenticateRequest()
		kreq.SetVersion(v)
		if err := kreq.ReadFrom(req.appendBody(nil)); err != nil || string(kreq.SASLAuthBytes) != "hello" {
			t.Fatalf("v%d: %v", v, err)
		}
		kresp := kmsg.NewPtrSASLAuthenticateResponse()
		kresp.SetVersion(v)
		kresp.ErrorCode, kresp.ErrorMessage, kresp.SASLAuthBytes, kresp.SessionLifetimeMillis = 58, kmsg.StringPtr("no"), []byte("c"), 1000
		got, err := DecodeSaslAuthenticate(kresp.AppendTo(nil), v)
		if err != nil || got.ErrorCode != 58 || got.ErrorMessage != "no" || string(got.AuthBytes) != "c" || (v >= 1 && got.SessionLifetime != 1000) {
			t.Fatalf("v%d: %v %+v", v, err, got)
		}
	}
	hs := &SaslHandshakeRequest{Mechanism: "PLAIN"}
	khs := kmsg.NewPtrSASLHandshakeRequest()
	khs.SetVersion(1)
	if err := khs.ReadFrom(hs.appendBody(nil)); err != nil || khs.Mechanism != "PLAIN" {
		t.Fatal(err)
	}
	khr := kmsg.NewPtrSASLHandshakeResponse()
	khr.SetVersion(1)
	khr.ErrorCode, khr.SupportedMechanisms = 33, []string{"SCRAM-SHA-512"}
	code, mechs, err := DecodeSaslHandshake(khr.AppendTo(nil))
	if err != nil || code != 33 || len(mechs) != 1 {
		t.Fatal(code, mechs, err)
	}
}

func TestApiVersionsRoundTrip(t *testing.T) {
	for v := int16(0); v <= 3; v++ {
		req := &ApiVersionsRequest{SoftwareName: "gregor", SoftwareVersion: "1"}
		req.SetVersion(v)
		kreq := kmsg.NewPtrApiVersionsRequest()
		kreq.SetVersion(v)
		if err := kreq.ReadFrom(req.appendBody(nil)); err != nil || (v >= 3 && kreq.ClientSoftwareName != "gregor") {
			t.Fatalf("v%d: %v", v, err)
		}
		kresp := kmsg.NewPtrApiVersionsResponse()
		kresp.SetVersion(v)
		kresp.ApiKeys = []kmsg.ApiVersionsResponseApiKey{{ApiKey: 3, MinVersion: 0, MaxVersion: 12}, {ApiKey: 18, MaxVersion: 4}}
		got, err := DecodeApiVersions(kresp.AppendTo(nil), v)
		if err != nil || got.Versions[3].Max != 12 || got.Versions[18].Max != 4 || got.Versions[5].Max != -1 {
			t.Fatalf("v%d: %v %+v", v, err, got)
		}
	}
}

// FuzzDecoders feeds arbitrary bytes to every decoder: none may panic or
// allocate in proportion to a hostile count.
func FuzzDecoders(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f})
	f.Add([]byte{0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		for v := int16(0); v <= 13; v++ {
			DecodeMetadata(b, v)
			DecodeApiVersions(b, v)
			DecodeSaslAuthenticate(b, v)
			DecodeFindCoordinator(b, v, "k")
		}
		DecodeSaslHandshake(b)
	})
}
