package assign

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// StickyAssignor is the eager "sticky" strategy (KIP-54). It produces a
// balanced assignment that keeps as many partitions as possible with the
// members that owned them before the rebalance.
//
// Because eager members give up everything before they rejoin, each member
// carries its previous assignment and that assignment's generation in its
// subscription user data, in the Java client's StickyAssignor format (see
// EncodeStickyUserData). When the user data is empty, Assign falls back to
// the member's OwnedPartitions and Generation fields.
//
// Balance means: when all members subscribe to the same topics, partition
// counts differ by at most one; otherwise no member holds two or more
// partitions more than another member that could take one of them.
//
// Rack awareness (KIP-881) applies when members and partition replicas
// carry racks and the racks make a difference. With identical
// subscriptions, partitions go to members on a rack holding a replica
// where the quotas allow; an owned partition off its owner's rack is first
// offered to such members and otherwise stays put, so a group that cannot
// do better stays stable. With differing subscriptions, stickiness comes
// first and racks only break ties among equally loaded members.
//
// Claims on partitions that no longer exist (a topic recreated with fewer
// partitions) or on topics the member no longer subscribes to are ignored.
type StickyAssignor struct{}

// Name returns "sticky".
func (StickyAssignor) Name() string { return "sticky" }

// SupportedProtocols returns only Eager.
func (StickyAssignor) SupportedProtocols() []RebalanceProtocol { return []RebalanceProtocol{Eager} }

// SubscriptionUserData encodes the member's previous assignment and its
// generation, or returns nil before the member's first assignment (no
// partitions and a negative generation), as the Java client does.
func (StickyAssignor) SubscriptionUserData(owned []TopicPartitions, generation int32) []byte {
	if generation < 0 && len(owned) == 0 {
		return nil
	}
	return EncodeStickyUserData(owned, generation)
}

// Assign implements Assignor.
func (StickyAssignor) Assign(members []Member, topics map[string]Topic) (map[string]Assignment, error) {
	if err := validate(members, topics); err != nil {
		return nil, err
	}
	data := make([]memberData, len(members))
	for i := range members {
		m := &members[i]
		if len(m.UserData) > 0 {
			owned, gen, err := DecodeStickyUserData(m.UserData)
			if err != nil {
				owned, gen = nil, DefaultGeneration
			}
			data[i] = memberData{owned, gen}
		} else {
			data[i] = memberData{m.OwnedPartitions, m.Generation}
		}
	}
	e := newEngine(members, data, topics)
	e.run()
	return e.result(), nil
}

// CooperativeStickyAssignor is the "cooperative-sticky" strategy (KIP-429):
// the sticky assignment, computed from the partitions members report as
// owned, made safe for cooperative rebalancing.
//
// A partition that changes owner is left out of the new owner's assignment
// in the round where the old owner gives it up. The consumer must therefore:
// on receiving an assignment, revoke (commit, then stop fetching) every
// owned partition missing from it, keep the partitions present in both
// without interruption, start the newly added ones, and, if it revoked
// anything, rejoin the group at once. In that follow-up rebalance nobody
// claims the revoked partitions, so the leader hands them to their new
// owners. In the Eager protocol members report no owned partitions and the
// assignment is complete in one round.
type CooperativeStickyAssignor struct{}

// Name returns "cooperative-sticky".
func (CooperativeStickyAssignor) Name() string { return "cooperative-sticky" }

// SupportedProtocols returns Cooperative and Eager, in the Java client's order.
func (CooperativeStickyAssignor) SupportedProtocols() []RebalanceProtocol {
	return []RebalanceProtocol{Cooperative, Eager}
}

// SubscriptionUserData encodes only the generation (the owned partitions
// travel in the subscription's own field), as the Java client does.
func (CooperativeStickyAssignor) SubscriptionUserData(_ []TopicPartitions, generation int32) []byte {
	return EncodeCooperativeUserData(generation)
}

// Assign implements Assignor. Members' OwnedPartitions are their current
// partitions; their generation comes from the Generation field when it is
// set (subscription version 2 and later) and from the user data otherwise.
func (CooperativeStickyAssignor) Assign(members []Member, topics map[string]Topic) (map[string]Assignment, error) {
	if err := validate(members, topics); err != nil {
		return nil, err
	}
	data := make([]memberData, len(members))
	for i := range members {
		m := &members[i]
		gen := m.Generation
		if gen < 0 {
			gen = DefaultGeneration
			if m.UserData != nil {
				if g, err := DecodeCooperativeUserData(m.UserData); err == nil {
					gen = g
				}
			}
		}
		data[i] = memberData{m.OwnedPartitions, gen}
	}
	e := newEngine(members, data, topics)
	e.run()
	e.withholdTransfers()
	return e.result(), nil
}

// errShortUserData reports user data that ends early.
var errShortUserData = errors.New("assign: user data too short")

// EncodeStickyUserData encodes partitions and a generation the way the Java
// StickyAssignor does (its version 1 schema): an int32 count of topics, each
// an int16-length-prefixed name followed by an int32 count of int32
// partition numbers, then the int32 generation; all big-endian.
func EncodeStickyUserData(owned []TopicPartitions, generation int32) []byte {
	n := 8
	for _, tp := range owned {
		n += 2 + len(tp.Topic) + 4 + 4*len(tp.Partitions)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint32(b, uint32(len(owned)))
	for _, tp := range owned {
		b = binary.BigEndian.AppendUint16(b, uint16(len(tp.Topic)))
		b = append(b, tp.Topic...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(tp.Partitions)))
		for _, p := range tp.Partitions {
			b = binary.BigEndian.AppendUint32(b, uint32(p))
		}
	}
	return binary.BigEndian.AppendUint32(b, uint32(generation))
}

// DecodeStickyUserData decodes the Java StickyAssignor's user data. It
// accepts version 1 (with generation) and falls back to version 0 (without;
// the generation is then DefaultGeneration), as Java does.
func DecodeStickyUserData(b []byte) (owned []TopicPartitions, generation int32, err error) {
	owned, rest, err := decodeTopicPartitions(b)
	if err != nil {
		return nil, DefaultGeneration, err
	}
	if len(rest) < 4 {
		return owned, DefaultGeneration, nil
	}
	return owned, int32(binary.BigEndian.Uint32(rest)), nil
}

func decodeTopicPartitions(b []byte) ([]TopicPartitions, []byte, error) {
	if len(b) < 4 {
		return nil, nil, errShortUserData
	}
	n := int32(binary.BigEndian.Uint32(b))
	b = b[4:]
	if n < 0 || int(n) > len(b)/6 {
		return nil, nil, fmt.Errorf("assign: bad topic count %d in user data", n)
	}
	out := make([]TopicPartitions, 0, n)
	for range n {
		if len(b) < 2 {
			return nil, nil, errShortUserData
		}
		l := int(int16(binary.BigEndian.Uint16(b)))
		b = b[2:]
		if l < 0 || len(b) < l+4 {
			return nil, nil, errShortUserData
		}
		topic := string(b[:l])
		b = b[l:]
		np := int32(binary.BigEndian.Uint32(b))
		b = b[4:]
		if np < 0 || int(np) > len(b)/4 {
			return nil, nil, errShortUserData
		}
		ps := make([]int32, np)
		for i := range ps {
			ps[i] = int32(binary.BigEndian.Uint32(b[4*i:]))
		}
		b = b[4*int(np):]
		out = append(out, TopicPartitions{Topic: topic, Partitions: ps})
	}
	return out, b, nil
}

// EncodeCooperativeUserData encodes a generation the way the Java
// CooperativeStickyAssignor does: a single big-endian int32.
func EncodeCooperativeUserData(generation int32) []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(generation))
}

// DecodeCooperativeUserData decodes the Java CooperativeStickyAssignor's user data.
func DecodeCooperativeUserData(b []byte) (int32, error) {
	if len(b) < 4 {
		return DefaultGeneration, errShortUserData
	}
	return int32(binary.BigEndian.Uint32(b)), nil
}

// memberData is what the sticky engine needs from a member's subscription.
type memberData struct {
	owned      []TopicPartitions
	generation int32
}

// sortedPartitions returns a sorted copy of ps without duplicates.
func sortedPartitions(ps []int32) []int32 {
	out := slices.Clone(ps)
	slices.Sort(out)
	return slices.Compact(out)
}
