package protocol

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
	"unsafe"
)

func TestTables(t *testing.T) {
	n := 0
	for k := int16(0); k < numKeys; k++ {
		if keyNames[k] == "" {
			continue
		}
		n++
		req, resp := NewRequest(k), NewResponse(k)
		if req == nil || resp == nil || req.Key() != k || resp.Key() != k || req.ResponseKind().Key() != k || resp.RequestKind().Key() != k {
			t.Fatalf("key %d: constructors disagree", k)
		}
		if KeyName(k) != keyNames[k] {
			t.Fatalf("key %d: name", k)
		}
	}
	if n != 93 {
		t.Fatalf("%d API keys, want 93", n)
	}
	if NewRequest(-1) != nil || NewResponse(numKeys) != nil || KeyName(999) != "Unknown(999)" {
		t.Fatal("unknown keys not rejected")
	}
	if lo, hi, ok := SupportedVersions(KeyProduce); !ok || lo != 3 || hi != 13 {
		t.Fatalf("Produce versions %d-%d %v", lo, hi, ok)
	}
	if _, _, ok := SupportedVersions(KeyLeaderAndIsr); ok {
		t.Fatal("LeaderAndIsr has no versions in the 4.1.1 specs")
	}
	if !IsFlexibleVersion(KeyFetch, 12) || IsFlexibleVersion(KeyFetch, 11) {
		t.Fatal("Fetch flexibility")
	}
	if RequestHeaderVersion(KeyApiVersions, 3) != 2 || ResponseHeaderVersion(KeyApiVersions, 3) != 0 ||
		ResponseHeaderVersion(KeyFetch, 12) != 1 || RequestHeaderVersion(KeyFetch, 11) != 1 {
		t.Fatal("header versions")
	}
}

func TestNegotiate(t *testing.T) {
	if v, err := NegotiateVersion(KeyProduce, 0, 11); err != nil || v != 11 {
		t.Fatalf("got %d %v", v, err)
	}
	if v, err := NegotiateVersion(KeyProduce, 5, 99); err != nil || v != 13 {
		t.Fatalf("got %d %v", v, err)
	}
	_, err := NegotiateVersion(KeyProduce, 0, 2)
	var ve *VersionError
	if !errors.As(err, &ve) || !errors.Is(err, ErrVersionNotSupported) || ve.ClientMin != 3 || ve.BrokerMax != 2 {
		t.Fatalf("no overlap: %v", err)
	}
	resp := NewApiVersionsResponse()
	resp.ApiKeys = []ApiVersionsResponseApiVersion{{ApiKey: KeyMetadata, MinVersion: 0, MaxVersion: 12}}
	if v, err := PickVersion(KeyMetadata, resp); err != nil || v != 12 {
		t.Fatalf("PickVersion: %d %v", v, err)
	}
	if _, err := PickVersion(KeyFetch, resp); !errors.As(err, &ve) || !ve.BrokerLacksKey {
		t.Fatalf("missing key: %v", err)
	}
}

func TestEncodeRules(t *testing.T) {
	// A non-ignorable field with a non-default value at a version lacking it.
	m := NewMetadataRequest()
	m.Version = 3
	m.AllowAutoTopicCreation = false
	var ee *EncodeError
	if _, err := m.AppendTo(nil); !errors.Is(err, ErrFieldNotSupported) || !errors.As(err, &ee) || ee.Field != "AllowAutoTopicCreation" {
		t.Fatalf("got %v", err)
	}
	m.AllowAutoTopicCreation = true
	if _, err := m.AppendTo(nil); err != nil {
		t.Fatalf("default value must encode: %v", err)
	}
	// An ignorable field is dropped silently.
	r := NewMetadataResponse()
	r.Version = 1
	cid := "c"
	r.ClusterId = &cid
	if _, err := r.AppendTo(nil); err != nil {
		t.Fatalf("ignorable field: %v", err)
	}
	// A nested non-default field the version lacks.
	f := NewFetchRequest()
	f.Version = 11
	f.Topics = []FetchRequestFetchTopic{{Topic: "t", Partitions: []FetchRequestFetchPartition{{LastFetchedEpoch: 3}}}}
	if _, err := f.AppendTo(nil); !errors.Is(err, ErrFieldNotSupported) {
		t.Fatalf("nested: %v", err)
	}
	// Null where the version does not allow it.
	j := NewJoinGroupResponse()
	j.Version = 6
	j.ProtocolName = nil
	if _, err := j.AppendTo(nil); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("null: %v", err)
	}
	// Too long a classic string.
	g := NewJoinGroupRequest()
	g.Version = 1
	g.GroupId = string(make([]byte, 40000))
	if out, err := g.AppendTo([]byte{1}); !errors.Is(err, ErrInvalidValue) || !bytes.Equal(out, []byte{1}) {
		t.Fatalf("long string: %v", err)
	}
	g.Version = 6 // compact strings have no such limit
	if _, err := g.AppendTo(nil); err != nil {
		t.Fatalf("long compact string: %v", err)
	}
}

func TestRequestFrame(t *testing.T) {
	req := NewMetadataRequest()
	req.Version = 12
	name := "orders"
	req.Topics = []MetadataRequestTopic{{Name: &name}}
	id := "client"
	frame, err := AppendRequest([]byte{0xee}, req, 42, &id)
	if err != nil {
		t.Fatal(err)
	}
	frame = frame[1:]
	if n := int(frame[0])<<24 | int(frame[1])<<16 | int(frame[2])<<8 | int(frame[3]); n != len(frame)-4 {
		t.Fatalf("size prefix %d for %d bytes", n, len(frame)-4)
	}
	hdr, body, err := ReadRequestHeader(frame[4:])
	if err != nil || hdr.RequestApiKey != KeyMetadata || hdr.RequestApiVersion != 12 || hdr.CorrelationId != 42 || *hdr.ClientId != "client" || hdr.Version != 2 {
		t.Fatalf("header %+v %v", hdr, err)
	}
	var back MetadataRequest
	back.Version = 12
	if err := back.Decode(body); err != nil || *back.Topics[0].Name != "orders" {
		t.Fatalf("body: %v", err)
	}
	// The hand-written header matches the generated RequestHeader type.
	gh := RequestHeader{Version: 2, RequestApiKey: KeyMetadata, RequestApiVersion: 12, CorrelationId: 42, ClientId: &id}
	want, err := gh.AppendTo(nil)
	if err != nil || !bytes.HasPrefix(frame[4:], want) {
		t.Fatalf("header bytes %x, generated %x", frame[4:4+len(want)], want)
	}
	// ApiVersions responses always carry header v0, even when flexible.
	corr, rest, err := ReadResponseHeader([]byte{0, 0, 0, 7, 0xaa}, KeyApiVersions, 3)
	if err != nil || corr != 7 || !bytes.Equal(rest, []byte{0xaa}) {
		t.Fatalf("ApiVersions response header: %d %x %v", corr, rest, err)
	}
	if _, _, err := ReadResponseHeader([]byte{0, 0, 0}, KeyFetch, 12); !errors.Is(err, ErrTruncated) {
		t.Fatalf("short header: %v", err)
	}
}

func TestUnknownTagsOrder(t *testing.T) {
	// Unknown tags are merged by number with the known tagged fields.
	p := FetchResponsePartitionData{PreferredReadReplica: -1, LastStableOffset: -1, LogStartOffset: -1}
	p.DivergingEpoch.Default()
	p.SnapshotId.Default()
	p.CurrentLeader = FetchResponseLeaderIdAndEpoch{LeaderId: 1, LeaderEpoch: 2}
	p.UnknownTags.Add(5, []byte{8})
	p.UnknownTags.Add(3, []byte{9})
	resp := FetchResponse{Version: 12, Responses: []FetchResponseFetchableTopicResponse{{Topic: "t", Partitions: []FetchResponsePartitionData{p}}}}
	b, err := resp.AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Records (null) then 3 tags in ascending order: known 1 (the current
	// leader, 9 bytes), then the unknown 3 and 5.
	tail := []byte{0, 3, 1, 9, 0, 0, 0, 1, 0, 0, 0, 2, 0, 3, 1, 9, 5, 1, 8}
	i := bytes.Index(b, tail)
	if i < 0 {
		t.Fatalf("tag section not found in %x", b)
	}
	var back FetchResponse
	back.Version = 12
	if err := back.Decode(b); err != nil {
		t.Fatal(err)
	}
	bp := back.Responses[0].Partitions[0]
	if bp.CurrentLeader.LeaderEpoch != 2 || bp.UnknownTags.Len() != 2 {
		t.Fatalf("decoded %+v", bp)
	}
}

func TestHostileInput(t *testing.T) {
	// FetchResponse v4: throttle, then a topic count of 2^31-1 with nothing
	// behind it must fail before allocating.
	in := []byte{0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff}
	var resp FetchResponse
	resp.Version = 4
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 10; i++ {
		if err := resp.Decode(in); !errors.Is(err, ErrMalformed) {
			t.Fatalf("got %v", err)
		}
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Fatalf("%d bytes allocated for 10 hostile counts", n)
	}
	// Compact count of 2^32-1 in a flexible version.
	resp.Version = 12
	in = []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}
	if err := resp.Decode(in); !errors.Is(err, ErrMalformed) {
		t.Fatalf("compact: got %v", err)
	}
	var de *DecodeError
	if !errors.As(resp.Decode(in), &de) || de.Type == "" || de.Offset == 0 {
		t.Fatalf("decode error lacks position: %+v", de)
	}
}

func TestAliasing(t *testing.T) {
	data := gregorFetchBytes(t)
	within := func(b []byte) bool {
		p := unsafe.Pointer(unsafe.SliceData(b))
		start := unsafe.Pointer(unsafe.SliceData(data))
		return uintptr(p) >= uintptr(start) && uintptr(p) < uintptr(start)+uintptr(len(data))
	}
	for _, alias := range []bool{true, false} {
		var resp FetchResponse
		resp.Version = fetchVersion
		if err := resp.DecodeWith(data, DecodeOptions{Alias: alias}); err != nil {
			t.Fatal(err)
		}
		rec := resp.Responses[0].Partitions[5].Records
		if len(rec) != benchBlob || within(rec) != alias {
			t.Fatalf("alias=%v: records inside input = %v", alias, within(rec))
		}
		// Aliased slices are capacity-limited, so appending cannot clobber
		// the next field in the input.
		if alias && cap(rec) != len(rec) {
			t.Fatalf("aliased records have spare capacity %d", cap(rec)-len(rec))
		}
	}
}
