package admin

import (
	"context"
	"errors"
	"strconv"

	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// ACLOperation is an operation an ACL allows or denies.
type ACLOperation int8

// The ACL operations. OpAny matches every operation in filters.
const (
	ACLOpUnknown         ACLOperation = 0
	ACLOpAny             ACLOperation = 1
	ACLOpAll             ACLOperation = 2
	ACLOpRead            ACLOperation = 3
	ACLOpWrite           ACLOperation = 4
	ACLOpCreate          ACLOperation = 5
	ACLOpDelete          ACLOperation = 6
	ACLOpAlter           ACLOperation = 7
	ACLOpDescribe        ACLOperation = 8
	ACLOpClusterAction   ACLOperation = 9
	ACLOpDescribeConfigs ACLOperation = 10
	ACLOpAlterConfigs    ACLOperation = 11
	ACLOpIdempotentWrite ACLOperation = 12
	ACLOpCreateTokens    ACLOperation = 13
	ACLOpDescribeTokens  ACLOperation = 14
	ACLOpTwoPhaseCommit  ACLOperation = 15
)

var opNames = []string{"UNKNOWN", "ANY", "ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE",
	"CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE", "CREATE_TOKENS", "DESCRIBE_TOKENS", "TWO_PHASE_COMMIT"}

// String returns Kafka's name for the operation, such as READ.
func (o ACLOperation) String() string {
	if o >= 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return "ACLOperation(" + strconv.Itoa(int(o)) + ")"
}

// decodeOperations turns an authorized-operations bit field into a list;
// math.MinInt32 (the broker's "not requested") gives nil.
func decodeOperations(bits int32) []ACLOperation {
	if bits == -2147483648 {
		return nil
	}
	out := []ACLOperation{}
	for op := ACLOpRead; int(op) < len(opNames); op++ {
		if bits&(1<<uint(op)) != 0 {
			out = append(out, op)
		}
	}
	return out
}

// ACLResourceType is the kind of resource an ACL protects.
type ACLResourceType int8

// The ACL resource types. ACLResourceAny matches every type in filters.
const (
	ACLResourceUnknown         ACLResourceType = 0
	ACLResourceAny             ACLResourceType = 1
	ACLResourceTopic           ACLResourceType = 2
	ACLResourceGroup           ACLResourceType = 3
	ACLResourceCluster         ACLResourceType = 4
	ACLResourceTransactionalID ACLResourceType = 5
	ACLResourceDelegationToken ACLResourceType = 6
	ACLResourceUser            ACLResourceType = 7
)

// PatternType says how an ACL's resource name matches.
type PatternType int8

// The pattern types. PatternAny and PatternMatch only appear in filters:
// Any matches stored ACLs of every pattern type, Match the ACLs that would
// apply to the filter's name (literal, prefixed and wildcard ones).
const (
	PatternUnknown  PatternType = 0
	PatternAny      PatternType = 1
	PatternMatch    PatternType = 2
	PatternLiteral  PatternType = 3
	PatternPrefixed PatternType = 4
)

// Permission says whether an ACL allows or denies.
type Permission int8

// The permission types. PermissionAny only appears in filters.
const (
	PermissionUnknown Permission = 0
	PermissionAny     Permission = 1
	PermissionDeny    Permission = 2
	PermissionAllow   Permission = 3
)

// ACL is one access-control entry bound to a resource pattern.
type ACL struct {
	ResourceType ACLResourceType
	ResourceName string // "kafka-cluster" for the cluster
	PatternType  PatternType
	Principal    string // such as "User:alice"
	Host         string // "*" for every host
	Operation    ACLOperation
	Permission   Permission
}

// ACLFilter selects ACLs. Nil strings match anything; the Any values of
// each enum match every value.
type ACLFilter struct {
	ResourceType ACLResourceType
	ResourceName *string
	PatternType  PatternType
	Principal    *string
	Host         *string
	Operation    ACLOperation
	Permission   Permission
}

// CreateACLs creates ACLs and returns one error (nil on success) per ACL,
// in order.
//
// ACLs that cannot be stored (an Any or unknown resource type, pattern
// type, operation or permission) fail on their own with
// protocol.ErrInvalidRequest and are not sent: the broker would fail the
// whole request for them.
func (a *Client) CreateACLs(ctx context.Context, acls []ACL) ([]error, error) {
	out := make([]error, len(acls))
	req := protocol.NewCreateAclsRequest()
	var sent []int
	for i, x := range acls {
		if why := x.invalid(); why != "" {
			out[i] = &ItemError{Kind: "acl", Name: x.name(), Err: protocol.ErrInvalidRequest, Message: why}
			continue
		}
		sent = append(sent, i)
		req.Creations = append(req.Creations, protocol.CreateAclsRequestAclCreation{
			ResourceType: int8(x.ResourceType), ResourceName: x.ResourceName, ResourcePatternType: int8(x.PatternType),
			Principal: x.Principal, Host: x.Host, Operation: int8(x.Operation), PermissionType: int8(x.Permission)})
	}
	if len(sent) == 0 {
		return out, nil
	}
	ctx, cancel := budget(ctx)
	defer cancel()
	r, id, err := a.send(ctx, cluster.AnyBroker(), req)
	if err != nil {
		return nil, err
	}
	resp := r.(*protocol.CreateAclsResponse)
	a.c.Throttled(id, resp.ThrottleTimeMs)
	for j, i := range sent {
		if j < len(resp.Results) {
			out[i] = itemErr("acl", acls[i].name(), resp.Results[j].ErrorCode, resp.Results[j].ErrorMessage)
		} else {
			out[i] = &ItemError{Kind: "acl", Name: acls[i].name(), Err: errors.New("no result in response")}
		}
	}
	return out, nil
}

// name identifies an ACL in errors.
func (x ACL) name() string {
	return x.Principal + " " + x.Permission.String() + " " + x.Operation.String() + " on " + x.ResourceName
}

// invalid says why an ACL cannot be created, or returns "".
func (x ACL) invalid() string {
	switch {
	case x.ResourceType <= ACLResourceAny || x.ResourceType > ACLResourceUser:
		return "resource type must be a concrete type"
	case x.PatternType != PatternLiteral && x.PatternType != PatternPrefixed:
		return "pattern type must be literal or prefixed"
	case x.Operation <= ACLOpAny || int(x.Operation) >= len(opNames):
		return "operation must be a concrete operation"
	case x.Permission != PermissionAllow && x.Permission != PermissionDeny:
		return "permission must be allow or deny"
	}
	return ""
}

// String returns Kafka's name for the permission, such as ALLOW.
func (p Permission) String() string {
	switch p {
	case PermissionAny:
		return "ANY"
	case PermissionDeny:
		return "DENY"
	case PermissionAllow:
		return "ALLOW"
	}
	return "UNKNOWN"
}

// DescribeACLs returns the ACLs matching f.
func (a *Client) DescribeACLs(ctx context.Context, f ACLFilter) ([]ACL, error) {
	req := protocol.NewDescribeAclsRequest()
	req.ResourceTypeFilter, req.ResourceNameFilter, req.PatternTypeFilter = int8(f.ResourceType), f.ResourceName, int8(f.PatternType)
	req.PrincipalFilter, req.HostFilter, req.Operation, req.PermissionType = f.Principal, f.Host, int8(f.Operation), int8(f.Permission)
	ctx, cancel := budget(ctx)
	defer cancel()
	r, id, err := a.send(ctx, cluster.AnyBroker(), req)
	if err != nil {
		return nil, err
	}
	resp := r.(*protocol.DescribeAclsResponse)
	a.c.Throttled(id, resp.ThrottleTimeMs)
	if err := itemErr("acl filter", deref(f.ResourceName), resp.ErrorCode, resp.ErrorMessage); err != nil {
		return nil, err
	}
	var out []ACL
	for _, res := range resp.Resources {
		for _, d := range res.Acls {
			out = append(out, ACL{ResourceType: ACLResourceType(res.ResourceType), ResourceName: res.ResourceName,
				PatternType: PatternType(res.PatternType), Principal: d.Principal, Host: d.Host,
				Operation: ACLOperation(d.Operation), Permission: Permission(d.PermissionType)})
		}
	}
	return out, nil
}

// DeleteACLsResult is the outcome for one filter of DeleteACLs.
type DeleteACLsResult struct {
	// Deleted are the ACLs the filter matched and removed.
	Deleted []ACL
	// Err is nil, or the filter's *ItemError.
	Err error
}

// DeleteACLs deletes the ACLs matching each filter and returns, per
// filter, what was deleted.
func (a *Client) DeleteACLs(ctx context.Context, filters []ACLFilter) ([]DeleteACLsResult, error) {
	req := protocol.NewDeleteAclsRequest()
	for _, f := range filters {
		req.Filters = append(req.Filters, protocol.DeleteAclsRequestDeleteAclsFilter{
			ResourceTypeFilter: int8(f.ResourceType), ResourceNameFilter: f.ResourceName, PatternTypeFilter: int8(f.PatternType),
			PrincipalFilter: f.Principal, HostFilter: f.Host, Operation: int8(f.Operation), PermissionType: int8(f.Permission)})
	}
	ctx, cancel := budget(ctx)
	defer cancel()
	r, id, err := a.send(ctx, cluster.AnyBroker(), req)
	if err != nil {
		return nil, err
	}
	resp := r.(*protocol.DeleteAclsResponse)
	a.c.Throttled(id, resp.ThrottleTimeMs)
	out := make([]DeleteACLsResult, len(filters))
	for i := range out {
		if i >= len(resp.FilterResults) {
			out[i].Err = &ItemError{Kind: "acl filter", Name: strconv.Itoa(i), Err: errors.New("no result in response")}
			continue
		}
		fr := resp.FilterResults[i]
		out[i].Err = itemErr("acl filter", strconv.Itoa(i), fr.ErrorCode, fr.ErrorMessage)
		for _, m := range fr.MatchingAcls {
			if m.ErrorCode != 0 {
				out[i].Err = errors.Join(out[i].Err, itemErr("acl", m.Principal+" "+ACLOperation(m.Operation).String()+" on "+m.ResourceName, m.ErrorCode, m.ErrorMessage))
				continue
			}
			out[i].Deleted = append(out[i].Deleted, ACL{ResourceType: ACLResourceType(m.ResourceType), ResourceName: m.ResourceName,
				PatternType: PatternType(m.PatternType), Principal: m.Principal, Host: m.Host,
				Operation: ACLOperation(m.Operation), Permission: Permission(m.PermissionType)})
		}
	}
	return out, nil
}
