package admin

import (
	"context"

	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// The client-quota entity types.
const (
	QuotaUser     = "user"
	QuotaClientID = "client-id"
	QuotaIP       = "ip"
)

// QuotaEntityPart is one part of a quota entity: a type (QuotaUser,
// QuotaClientID, QuotaIP) and a name, nil for the type's default entity.
type QuotaEntityPart struct {
	Type string
	Name *string
}

// QuotaEntity names what a quota applies to, such as a user, or a user and
// a client id together.
type QuotaEntity []QuotaEntityPart

// QuotaFilter selects entities of one type for DescribeClientQuotas.
type QuotaFilter struct {
	Type string
	// Match is the exact name to match; with Match nil, Default picks the
	// default entity and otherwise any entity of the type matches.
	Match   *string
	Default bool
}

// QuotaEntry is one entity's quotas.
type QuotaEntry struct {
	Entity QuotaEntity
	// Values by quota key, such as "producer_byte_rate".
	Values map[string]float64
}

// DescribeClientQuotas returns the quotas of the entities matching every
// filter. With strict, only entities made of exactly the filtered types
// are returned.
func (a *Client) DescribeClientQuotas(ctx context.Context, filters []QuotaFilter, strict bool) ([]QuotaEntry, error) {
	ctx, cancel := budget(ctx)
	defer cancel()
	req := protocol.NewDescribeClientQuotasRequest()
	req.Strict = strict
	for _, f := range filters {
		c := protocol.DescribeClientQuotasRequestComponentData{EntityType: f.Type, Match: f.Match}
		switch {
		case f.Match != nil:
			c.MatchType = 0
		case f.Default:
			c.MatchType = 1
		default:
			c.MatchType = 2
		}
		req.Components = append(req.Components, c)
	}
	r, id, err := a.send(ctx, cluster.AnyBroker(), req)
	if err != nil {
		return nil, err
	}
	resp := r.(*protocol.DescribeClientQuotasResponse)
	a.c.Throttled(id, resp.ThrottleTimeMs)
	if e := itemErr("quota filter", "", resp.ErrorCode, resp.ErrorMessage); e != nil {
		return nil, e
	}
	var out []QuotaEntry
	for _, e := range resp.Entries {
		q := QuotaEntry{Values: map[string]float64{}}
		for _, p := range e.Entity {
			q.Entity = append(q.Entity, QuotaEntityPart{Type: p.EntityType, Name: p.EntityName})
		}
		for _, v := range e.Values {
			q.Values[v.Key] = v.Value
		}
		out = append(out, q)
	}
	return out, nil
}

// QuotaOp sets or removes one quota of an entity.
type QuotaOp struct {
	Key    string // such as "consumer_byte_rate"
	Value  float64
	Remove bool
}

// QuotaAlteration is a set of changes to one entity's quotas.
type QuotaAlteration struct {
	Entity QuotaEntity
	Ops    []QuotaOp
}

// AlterClientQuotas changes quotas and returns one error (nil on success)
// per alteration, in order.
func (a *Client) AlterClientQuotas(ctx context.Context, alts []QuotaAlteration, validateOnly bool) ([]error, error) {
	ctx, cancel := budget(ctx)
	defer cancel()
	req := protocol.NewAlterClientQuotasRequest()
	req.ValidateOnly = validateOnly
	for _, alt := range alts {
		e := protocol.AlterClientQuotasRequestEntryData{}
		for _, p := range alt.Entity {
			e.Entity = append(e.Entity, protocol.AlterClientQuotasRequestEntityData{EntityType: p.Type, EntityName: p.Name})
		}
		for _, op := range alt.Ops {
			e.Ops = append(e.Ops, protocol.AlterClientQuotasRequestOpData{Key: op.Key, Value: op.Value, Remove: op.Remove})
		}
		req.Entries = append(req.Entries, e)
	}
	r, id, err := a.send(ctx, cluster.AnyBroker(), req)
	if err != nil {
		return nil, err
	}
	resp := r.(*protocol.AlterClientQuotasResponse)
	a.c.Throttled(id, resp.ThrottleTimeMs)
	out := make([]error, len(alts))
	for i, alt := range alts {
		for _, re := range resp.Entries {
			if sameEntity(alt.Entity, re.Entity) {
				out[i] = itemErr("quota entity", entityName(alt.Entity), re.ErrorCode, re.ErrorMessage)
			}
		}
	}
	return out, nil
}

func sameEntity(e QuotaEntity, r []protocol.AlterClientQuotasResponseEntityData) bool {
	if len(e) != len(r) {
		return false
	}
	for _, p := range e {
		found := false
		for _, q := range r {
			if p.Type == q.EntityType && (p.Name == nil) == (q.EntityName == nil) && deref(p.Name) == deref(q.EntityName) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func entityName(e QuotaEntity) string {
	s := ""
	for i, p := range e {
		if i > 0 {
			s += ","
		}
		n := "<default>"
		if p.Name != nil {
			n = *p.Name
		}
		s += p.Type + "=" + n
	}
	return s
}
