// Package assign holds the classic consumer-group partition assignors:
// "range", "roundrobin", "sticky" and "cooperative-sticky", compatible with
// the Java client's assignors of the same names, plus the Assignor
// interface through which users plug in their own.
//
// The package depends on nothing else in Gregor. The consumer decodes each
// member's ConsumerProtocolSubscription into a Member, gathers topic
// metadata (partition counts and, for rack-aware assignment, replica
// racks) into Topic values, and encodes each returned Assignment as a
// ConsumerProtocolAssignment.
//
// # Joining a group
//
// Every member advertises the names of its assignors in JoinGroup, with a
// subscription whose user data comes from SubscriptionUserData(owned,
// generation): owned is the member's current assignment and generation is
// the generation it was received in (nil and DefaultGeneration before the
// first one). The member also fills the subscription's owned-partitions
// and generation fields (versions 1 and 2) with the same values, and its
// rack id (version 3) when client.rack is set.
//
// The rebalance protocol is Cooperative when every assignor the group
// could use lists Cooperative in SupportedProtocols, and Eager otherwise.
//
// # Eager rebalances
//
// Before rejoining, each member revokes all of its partitions (committing
// offsets first), yet it still reports them: as "owned" in user data for
// "sticky", so the leader can keep them in place. The leader calls Assign
// once; every member then starts exactly the partitions it receives.
//
// # Cooperative rebalances
//
// Members keep consuming while they rejoin and report their partitions in
// the owned-partitions field. CooperativeSticky.Assign never gives a member
// a partition that another member still claims: a moving partition is only
// taken away from its old owner in this round. Each member compares its
// assignment with what it owns: partitions in both continue untouched,
// partitions only in the assignment are started, and partitions only in
// the owned set are revoked (offsets committed, fetching stopped). A member
// that revoked anything must rejoin at once; in that follow-up rebalance
// nobody claims the freed partitions and the leader assigns them to their
// new owners. ValidateCooperative checks an assignment against this rule.
//
// # Claims from stale members
//
// When several members claim one partition, the claim made in the highest
// generation wins; if that generation is shared, no claim wins and the
// partition is assigned as if unowned. Every assignor here is
// deterministic: its output depends only on the input's content, not on
// the order of members, topics or partitions.
package assign
