package gregor

// GroupMetadata describes one member of a consumer group at one moment:
// what a transactional producer sends along with the group's offsets
// (producer.SendOffsetsToTransaction), so that the group coordinator can
// refuse offsets from a member that a rebalance has already replaced
// (KIP-447). A group consumer hands it out with its GroupMetadata method;
// it lives here so that neither client package imports the other.
type GroupMetadata struct {
	// GroupID is the consumer group.
	GroupID string
	// GenerationID is the member's generation under the classic protocol,
	// or its member epoch under the KIP-848 protocol; -1 when unknown.
	GenerationID int32
	// MemberID is the member's id, or "" when unknown.
	MemberID string
	// GroupInstanceID is the static member id (KIP-345), or "" when the
	// member is dynamic.
	GroupInstanceID string
}
