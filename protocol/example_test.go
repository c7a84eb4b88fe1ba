package protocol_test

import (
	"encoding/binary"
	"fmt"

	"github.com/gregorkafka/gregor/protocol"
)

// Example shows a request going out with its frame and header, and a
// response coming back through ReadResponseHeader and DecodeWith.
func Example() {
	// Pick the version against the broker's advertised range.
	version, err := protocol.NegotiateVersion(protocol.KeyMetadata, 0, 12)
	if err != nil {
		panic(err)
	}
	req := protocol.NewMetadataRequest()
	req.Version = version
	topic := "orders"
	req.Topics = []protocol.MetadataRequestTopic{{Name: &topic}}
	clientID := "example"
	frame, err := protocol.AppendRequest(nil, req, 7, &clientID)
	if err != nil {
		panic(err)
	}
	fmt.Println("request frame bytes:", len(frame), "size prefix:", binary.BigEndian.Uint32(frame))

	// Build what a broker would answer: header v1 (flexible) and a body.
	srv := req.ResponseKind().(*protocol.MetadataResponse)
	srv.Brokers = []protocol.MetadataResponseBroker{{NodeId: 1, Host: "broker-1", Port: 9092}}
	reply := binary.BigEndian.AppendUint32(nil, 7) // correlation id
	reply = append(reply, 0)                       // no tagged header fields
	reply, err = srv.AppendTo(reply)
	if err != nil {
		panic(err)
	}

	corr, body, err := protocol.ReadResponseHeader(reply, req.Key(), req.Version)
	if err != nil {
		panic(err)
	}
	resp := req.ResponseKind()
	if err := resp.DecodeWith(body, protocol.DecodeOptions{Alias: true}); err != nil {
		panic(err)
	}
	m := resp.(*protocol.MetadataResponse)
	fmt.Println("correlation:", corr, "version:", m.Version, "broker:", m.Brokers[0].Host, m.Brokers[0].Port)
	// Output:
	// request frame bytes: 50 size prefix: 46
	// correlation: 7 version: 12 broker: broker-1 9092
}
