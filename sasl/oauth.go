package sasl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
)

// Token is an OAuth 2 bearer token, as a TokenSource hands it out.
type Token struct {
	// Value is the token itself, usually a JWT. Required.
	Value string
	// Expiry is when the token stops being valid. Zero means it never
	// expires, which only suits tests.
	Expiry time.Time
}

// String leaves the token's value out.
func (t Token) String() string {
	if t.Expiry.IsZero() {
		return "Token(" + redacted + ")"
	}
	return "Token(" + redacted + ", expires " + t.Expiry.UTC().Format(time.RFC3339) + ")"
}

// GoString is String, so that %#v leaves the token out too.
func (t Token) GoString() string { return t.String() }

// TokenSource hands out bearer tokens. Token is called before every
// authentication, so a source that talks to an identity provider should
// cache; NewRefreshingSource does that.
type TokenSource interface {
	Token(ctx context.Context) (Token, error)
}

// TokenSourceFunc adapts a function to TokenSource.
type TokenSourceFunc func(ctx context.Context) (Token, error)

// Token calls f.
func (f TokenSourceFunc) Token(ctx context.Context) (Token, error) { return f(ctx) }

// StaticToken returns a source that always hands out the same token.
func StaticToken(t Token) TokenSource {
	return TokenSourceFunc(func(context.Context) (Token, error) { return t, nil })
}

// OAuthBearer authenticates with a bearer token (RFC 7628, KIP-255), taking a
// fresh token from Source for every authentication and re-authentication.
type OAuthBearer struct {
	// Source provides the tokens. Required.
	Source TokenSource
	// AuthzID, when not empty, is sent as the authorization identity.
	AuthzID string
	// Extensions are extra key=value pairs sent with the token (KIP-342),
	// for example a logical cluster id some providers ask for. Keys are
	// letters only and "auth" is reserved.
	Extensions map[string]string
}

// Name returns "OAUTHBEARER".
func (OAuthBearer) Name() string { return "OAUTHBEARER" }

// Start fetches a token and builds the client's initial response.
func (o OAuthBearer) Start(ctx context.Context, _ string) (Exchange, []byte, error) {
	if o.Source == nil {
		return nil, nil, fmt.Errorf("%w: OAUTHBEARER needs a Source", ErrInvalidConfig)
	}
	tok, err := o.Source.Token(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("sasl: OAUTHBEARER token source: %w", err)
	}
	if !validBearer(tok.Value) {
		return nil, nil, fmt.Errorf("%w: OAUTHBEARER token is empty or has characters a bearer token may not hold", ErrInvalidConfig)
	}
	if !tok.Expiry.IsZero() && !time.Now().Before(tok.Expiry) {
		return nil, nil, fmt.Errorf("%w: OAUTHBEARER token expired at %s", ErrInvalidConfig, tok.Expiry.UTC().Format(time.RFC3339))
	}
	keys := make([]string, 0, len(o.Extensions))
	for k, v := range o.Extensions {
		if !validExtensionKey(k) {
			return nil, nil, fmt.Errorf("%w: OAUTHBEARER extension key %q must be letters only and not \"auth\"", ErrInvalidConfig, k)
		}
		if !validExtensionValue(v) {
			return nil, nil, fmt.Errorf("%w: OAUTHBEARER extension %q has a value with characters outside printable ASCII", ErrInvalidConfig, k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("n,")
	if o.AuthzID != "" {
		b.WriteString("a=")
		b.WriteString(escapeGS2(o.AuthzID))
	}
	b.WriteString(",\x01auth=Bearer ")
	b.WriteString(tok.Value)
	b.WriteByte(1)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(o.Extensions[k])
		b.WriteByte(1)
	}
	b.WriteByte(1)
	return &oauthExchange{}, []byte(b.String()), nil
}

// String describes the mechanism without any token.
func (o OAuthBearer) String() string {
	return "OAUTHBEARER(extensions=" + fmt.Sprint(len(o.Extensions)) + ")"
}

// GoString is String.
func (o OAuthBearer) GoString() string { return o.String() }

// LogValue keeps tokens out of structured logs.
func (o OAuthBearer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("mechanism", "OAUTHBEARER"))
}

type oauthExchange struct {
	serverError string
}

// Next treats an empty broker message as success. A non-empty one is the
// broker's JSON error report: RFC 7628 asks the client to answer with a
// single 0x01 byte, after which the broker fails the authentication.
func (x *oauthExchange) Next(challenge []byte) (bool, []byte, error) {
	if x.serverError != "" {
		return false, nil, fmt.Errorf("%w: OAUTHBEARER refused: %s", ErrAuthentication, x.serverError)
	}
	if len(challenge) == 0 {
		return true, nil, nil
	}
	x.serverError = string(challenge)
	return false, []byte{1}, nil
}

func validBearer(s string) bool {
	// RFC 6750's b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
	if s == "" {
		return false
	}
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/':
		default:
			return false
		}
	}
	return true
}

func validExtensionKey(k string) bool {
	if k == "" || k == "auth" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func validExtensionValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\t' && c != '\r' && c != '\n' && (c < 0x20 || c > 0x7e) {
			return false
		}
	}
	return true
}

// escapeGS2 escapes ',' and '=' in an authorization identity (RFC 5801).
func escapeGS2(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

// RefreshingSource caches the token of another source and fetches a new one
// once a set share of the current token's lifetime has passed. While a
// refresh fails, it keeps handing out the cached token until that expires.
type RefreshingSource struct {
	source   TokenSource
	fraction float64
	now      func() time.Time

	mu      sync.Mutex
	current Token
	fetched time.Time
	have    bool
}

// NewRefreshingSource wraps source. fraction is the share of a token's
// lifetime after which it is refreshed, between 0.5 and 0.95; zero means 0.8,
// the Java client's default.
func NewRefreshingSource(source TokenSource, fraction float64) (*RefreshingSource, error) {
	if source == nil {
		return nil, fmt.Errorf("%w: NewRefreshingSource needs a source", ErrInvalidConfig)
	}
	if fraction == 0 {
		fraction = 0.8
	}
	if fraction < 0.5 || fraction > 0.95 {
		return nil, fmt.Errorf("%w: refresh fraction %v is outside [0.5, 0.95]", ErrInvalidConfig, fraction)
	}
	return &RefreshingSource{source: source, fraction: fraction, now: time.Now}, nil
}

// ErrTokenExpired is returned by RefreshingSource when the cached token has
// expired and a fresh one could not be fetched.
var ErrTokenExpired = errors.New("sasl: bearer token expired and refresh failed")

// Token returns the cached token, refreshing it first when due.
func (r *RefreshingSource) Token(ctx context.Context) (Token, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if r.have && !r.due(now) {
		return r.current, nil
	}
	tok, err := r.source.Token(ctx)
	if err == nil {
		r.current, r.fetched, r.have = tok, now, true
		return tok, nil
	}
	if r.have && (r.current.Expiry.IsZero() || now.Before(r.current.Expiry)) {
		return r.current, nil
	}
	if r.have {
		return Token{}, fmt.Errorf("%w: %w", ErrTokenExpired, err)
	}
	return Token{}, err
}

func (r *RefreshingSource) due(now time.Time) bool {
	if r.current.Expiry.IsZero() {
		return false
	}
	life := r.current.Expiry.Sub(r.fetched)
	refreshAt := r.fetched.Add(time.Duration(float64(life) * r.fraction))
	return !now.Before(refreshAt)
}

// MarshalJSON encodes the redacted description, so that JSON logs and
// config dumps leave the secret out.
func (x OAuthBearer) MarshalJSON() ([]byte, error) { return redactedJSON(x.String()) }

// LogValue keeps the token out of structured logs.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// MarshalJSON encodes the redacted description.
func (t Token) MarshalJSON() ([]byte, error) { return redactedJSON(t.String()) }
