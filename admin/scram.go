package admin

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"

	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// ScramMechanism is a SCRAM hash function.
type ScramMechanism int8

// The SCRAM mechanisms Kafka supports.
const (
	ScramSHA256 ScramMechanism = 1
	ScramSHA512 ScramMechanism = 2
)

// String returns the SASL mechanism name, such as SCRAM-SHA-256.
func (m ScramMechanism) String() string {
	switch m {
	case ScramSHA256:
		return "SCRAM-SHA-256"
	case ScramSHA512:
		return "SCRAM-SHA-512"
	}
	return fmt.Sprintf("ScramMechanism(%d)", int8(m))
}

func (m ScramMechanism) hash() (func() hash.Hash, int, error) {
	switch m {
	case ScramSHA256:
		return sha256.New, sha256.Size, nil
	case ScramSHA512:
		return sha512.New, sha512.Size, nil
	}
	return nil, 0, fmt.Errorf("admin: unknown SCRAM mechanism %d", int8(m))
}

// ScramCredentialInfo is one stored SCRAM credential of a user (the
// password itself is never returned).
type ScramCredentialInfo struct {
	Mechanism  ScramMechanism
	Iterations int32
}

// UserScramCredentials is the answer for one user of
// DescribeUserScramCredentials.
type UserScramCredentials struct {
	Credentials []ScramCredentialInfo
	// Err is nil, or the user's *ItemError (RESOURCE_NOT_FOUND for a user
	// without credentials).
	Err error
}

// DescribeUserScramCredentials describes the SCRAM credentials of users,
// or of every user with credentials when none are given.
func (a *Client) DescribeUserScramCredentials(ctx context.Context, users ...string) (map[string]UserScramCredentials, error) {
	ctx, cancel := budget(ctx)
	defer cancel()
	req := protocol.NewDescribeUserScramCredentialsRequest()
	if len(users) > 0 {
		req.Users = []protocol.DescribeUserScramCredentialsRequestUserName{}
		for _, u := range users {
			req.Users = append(req.Users, protocol.DescribeUserScramCredentialsRequestUserName{Name: u})
		}
	} else {
		req.Users = nil
	}
	r, id, err := a.send(ctx, cluster.AnyBroker(), req)
	if err != nil {
		return nil, err
	}
	resp := r.(*protocol.DescribeUserScramCredentialsResponse)
	a.c.Throttled(id, resp.ThrottleTimeMs)
	if e := itemErr("scram users", "", resp.ErrorCode, resp.ErrorMessage); e != nil {
		return nil, e
	}
	out := map[string]UserScramCredentials{}
	for _, u := range resp.Results {
		uc := UserScramCredentials{Err: itemErr("user", u.User, u.ErrorCode, u.ErrorMessage)}
		for _, c := range u.CredentialInfos {
			uc.Credentials = append(uc.Credentials, ScramCredentialInfo{Mechanism: ScramMechanism(c.Mechanism), Iterations: c.Iterations})
		}
		out[u.User] = uc
	}
	return out, nil
}

// ScramUpsertion creates or replaces a user's SCRAM credential. The
// password is salted and hashed here; only the salted password is sent.
type ScramUpsertion struct {
	User      string
	Mechanism ScramMechanism
	// Iterations defaults to 4096 (Kafka's minimum) when 0.
	Iterations int32
	Password   string
	// Salt is random when nil.
	Salt []byte
}

// ScramDeletion removes a user's SCRAM credential for one mechanism.
type ScramDeletion struct {
	User      string
	Mechanism ScramMechanism
}

// AlterUserScramCredentials upserts and deletes SCRAM credentials and
// returns one error (nil on success) per user.
func (a *Client) AlterUserScramCredentials(ctx context.Context, upserts []ScramUpsertion, deletes []ScramDeletion) (map[string]error, error) {
	ctx, cancel := budget(ctx)
	defer cancel()
	req := protocol.NewAlterUserScramCredentialsRequest()
	out := map[string]error{}
	for _, u := range upserts {
		h, size, err := u.Mechanism.hash()
		if err != nil {
			out[u.User] = &ItemError{Kind: "user", Name: u.User, Err: err}
			continue
		}
		iters := u.Iterations
		if iters == 0 {
			iters = 4096
		}
		salt := u.Salt
		if salt == nil {
			salt = make([]byte, 32)
			_, _ = rand.Read(salt)
		}
		salted, err := pbkdf2.Key(h, u.Password, salt, int(iters), size)
		if err != nil {
			out[u.User] = &ItemError{Kind: "user", Name: u.User, Err: err}
			continue
		}
		req.Upsertions = append(req.Upsertions, protocol.AlterUserScramCredentialsRequestScramCredentialUpsertion{
			Name: u.User, Mechanism: int8(u.Mechanism), Iterations: iters, Salt: salt, SaltedPassword: salted})
	}
	for _, d := range deletes {
		req.Deletions = append(req.Deletions, protocol.AlterUserScramCredentialsRequestScramCredentialDeletion{Name: d.User, Mechanism: int8(d.Mechanism)})
	}
	if len(req.Upsertions)+len(req.Deletions) == 0 {
		return out, nil
	}
	r, id, err := a.send(ctx, cluster.AnyBroker(), req)
	if err != nil {
		return nil, err
	}
	resp := r.(*protocol.AlterUserScramCredentialsResponse)
	a.c.Throttled(id, resp.ThrottleTimeMs)
	for _, u := range resp.Results {
		out[u.User] = errors.Join(out[u.User], itemErr("user", u.User, u.ErrorCode, u.ErrorMessage))
	}
	return out, nil
}
