package assign

import "fmt"

// ValidateCooperative checks an assignment against the cooperative
// rebalance rules: no partition goes to two members, and no member receives
// a partition that it does not own while another member still claims it
// (that partition must be revoked first and assigned in a later round).
// The consumer's leader can run it on any assignor's output before sending
// it, as the Java client does for cooperative groups.
func ValidateCooperative(members []Member, assignment map[string]Assignment) error {
	type tp struct {
		topic string
		p     int32
	}
	claims := map[tp][]string{}
	for i := range members {
		for _, o := range members[i].OwnedPartitions {
			for _, p := range o.Partitions {
				k := tp{o.Topic, p}
				claims[k] = append(claims[k], members[i].MemberID)
			}
		}
	}
	assigned := map[tp]string{}
	for i := range members {
		id := members[i].MemberID
		for _, a := range assignment[id].Partitions {
			for _, p := range a.Partitions {
				k := tp{a.Topic, p}
				if other, dup := assigned[k]; dup {
					return fmt.Errorf("assign: %s-%d assigned to both %q and %q", a.Topic, p, other, id)
				}
				assigned[k] = id
				owners := claims[k]
				mine := false
				for _, c := range owners {
					mine = mine || c == id
				}
				if !mine && len(owners) > 0 {
					return fmt.Errorf("assign: %s-%d assigned to %q while %q still owns it", a.Topic, p, id, owners[0])
				}
			}
		}
	}
	return nil
}
