package admin

import (
	"context"
	"strings"

	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// DelegationToken is a delegation token (KIP-48): a shared secret a client
// can authenticate with (SASL SCRAM, using TokenID as the user name and the
// HMAC as the password) in place of its owner.
type DelegationToken struct {
	TokenID string
	HMAC    []byte
	// Owner is the principal the token acts for, such as "User:alice";
	// Requester the one that created it.
	Owner, Requester string
	Renewers         []string
	// IssueMs, ExpiryMs and MaxMs are Unix milliseconds.
	IssueMs, ExpiryMs, MaxMs int64
}

// CreateDelegationTokenOptions modifies CreateDelegationToken.
type CreateDelegationTokenOptions struct {
	// Owner creates the token for another principal ("User:bob"); the
	// caller's own principal when empty.
	Owner string
	// Renewers are principals allowed to renew the token.
	Renewers []string
	// MaxLifetimeMs caps the token's life; the broker's maximum when 0.
	MaxLifetimeMs int64
}

func splitPrincipal(p string) (typ, name string) {
	typ, name, ok := strings.Cut(p, ":")
	if !ok {
		return "User", p
	}
	return typ, name
}

// CreateDelegationToken creates a delegation token. The broker refuses on
// connections that are not SASL or TLS authenticated, and when delegation
// tokens are not enabled (delegation.token.secret.key unset).
func (a *Client) CreateDelegationToken(ctx context.Context, opts CreateDelegationTokenOptions) (DelegationToken, error) {
	ctx, cancel := budget(ctx)
	defer cancel()
	req := protocol.NewCreateDelegationTokenRequest()
	if opts.Owner != "" {
		t, n := splitPrincipal(opts.Owner)
		req.OwnerPrincipalType, req.OwnerPrincipalName = &t, &n
	}
	for _, r := range opts.Renewers {
		t, n := splitPrincipal(r)
		req.Renewers = append(req.Renewers, protocol.CreateDelegationTokenRequestCreatableRenewers{PrincipalType: t, PrincipalName: n})
	}
	req.MaxLifetimeMs = -1
	if opts.MaxLifetimeMs > 0 {
		req.MaxLifetimeMs = opts.MaxLifetimeMs
	}
	r, id, err := a.send(ctx, cluster.AnyBroker(), req)
	if err != nil {
		return DelegationToken{}, err
	}
	resp := r.(*protocol.CreateDelegationTokenResponse)
	a.c.Throttled(id, resp.ThrottleTimeMs)
	if e := itemErr("delegation token", "", resp.ErrorCode, nil); e != nil {
		return DelegationToken{}, e
	}
	return DelegationToken{TokenID: resp.TokenId, HMAC: resp.Hmac, Owner: resp.PrincipalType + ":" + resp.PrincipalName,
		Requester: resp.TokenRequesterPrincipalType + ":" + resp.TokenRequesterPrincipalName, Renewers: opts.Renewers,
		IssueMs: resp.IssueTimestampMs, ExpiryMs: resp.ExpiryTimestampMs, MaxMs: resp.MaxTimestampMs}, nil
}

// DescribeDelegationTokens returns the tokens owned by the given principals,
// or every token the caller may see when none are given.
func (a *Client) DescribeDelegationTokens(ctx context.Context, owners ...string) ([]DelegationToken, error) {
	ctx, cancel := budget(ctx)
	defer cancel()
	req := protocol.NewDescribeDelegationTokenRequest()
	if len(owners) > 0 {
		for _, o := range owners {
			t, n := splitPrincipal(o)
			req.Owners = append(req.Owners, protocol.DescribeDelegationTokenRequestDescribeDelegationTokenOwner{PrincipalType: t, PrincipalName: n})
		}
	} else {
		req.Owners = nil
	}
	r, id, err := a.send(ctx, cluster.AnyBroker(), req)
	if err != nil {
		return nil, err
	}
	resp := r.(*protocol.DescribeDelegationTokenResponse)
	a.c.Throttled(id, resp.ThrottleTimeMs)
	if e := itemErr("delegation tokens", "", resp.ErrorCode, nil); e != nil {
		return nil, e
	}
	var out []DelegationToken
	for _, t := range resp.Tokens {
		d := DelegationToken{TokenID: t.TokenId, HMAC: t.Hmac, Owner: t.PrincipalType + ":" + t.PrincipalName,
			Requester: t.TokenRequesterPrincipalType + ":" + t.TokenRequesterPrincipalName,
			IssueMs:   t.IssueTimestamp, ExpiryMs: t.ExpiryTimestamp, MaxMs: t.MaxTimestamp}
		for _, r := range t.Renewers {
			d.Renewers = append(d.Renewers, r.PrincipalType+":"+r.PrincipalName)
		}
		out = append(out, d)
	}
	return out, nil
}

// RenewDelegationToken extends a token's life by periodMs (the broker's
// default renewal period when 0) and returns its new expiry in Unix ms.
func (a *Client) RenewDelegationToken(ctx context.Context, hmac []byte, periodMs int64) (int64, error) {
	ctx, cancel := budget(ctx)
	defer cancel()
	req := protocol.NewRenewDelegationTokenRequest()
	req.Hmac, req.RenewPeriodMs = hmac, periodMs
	if periodMs == 0 {
		req.RenewPeriodMs = -1
	}
	r, id, err := a.send(ctx, cluster.AnyBroker(), req)
	if err != nil {
		return -1, err
	}
	resp := r.(*protocol.RenewDelegationTokenResponse)
	a.c.Throttled(id, resp.ThrottleTimeMs)
	if e := itemErr("delegation token", "", resp.ErrorCode, nil); e != nil {
		return -1, e
	}
	return resp.ExpiryTimestampMs, nil
}

// ExpireDelegationToken sets a token to expire periodMs from now; a
// negative period expires it at once. It returns the new expiry in Unix ms.
func (a *Client) ExpireDelegationToken(ctx context.Context, hmac []byte, periodMs int64) (int64, error) {
	ctx, cancel := budget(ctx)
	defer cancel()
	req := protocol.NewExpireDelegationTokenRequest()
	req.Hmac, req.ExpiryTimePeriodMs = hmac, periodMs
	r, id, err := a.send(ctx, cluster.AnyBroker(), req)
	if err != nil {
		return -1, err
	}
	resp := r.(*protocol.ExpireDelegationTokenResponse)
	a.c.Throttled(id, resp.ThrottleTimeMs)
	if e := itemErr("delegation token", "", resp.ErrorCode, nil); e != nil {
		return -1, e
	}
	return resp.ExpiryTimestampMs, nil
}
