package wire

// API keys of the messages in this package.
const (
	KeyMetadata         int16 = 3
	KeyFindCoordinator  int16 = 10
	KeySaslHandshake    int16 = 17
	KeyApiVersions      int16 = 18
	KeySaslAuthenticate int16 = 36
)

// version is embedded by every message to carry the version it is encoded at.
type version struct{ v int16 }

// SetVersion sets the version to encode and decode at.
func (m *version) SetVersion(v int16) { m.v = v }

// GetVersion is the version set.
func (m *version) GetVersion() int16 { return m.v }

// ApiVersionsRequest asks for the broker's supported version ranges. From v3
// it names the client software (KIP-511).
type ApiVersionsRequest struct {
	version
	SoftwareName, SoftwareVersion string
}

// Key is 18.
func (*ApiVersionsRequest) Key() int16 { return KeyApiVersions }

// MaxVersion is 3.
func (*ApiVersionsRequest) MaxVersion() int16 { return 3 }

// IsFlexible is true from v3.
func (m *ApiVersionsRequest) IsFlexible() bool { return m.v >= 3 }

// AppendTo encodes the body; it cannot fail.
func (m *ApiVersionsRequest) AppendTo(b []byte) ([]byte, error) { return m.appendBody(b), nil }

func (m *ApiVersionsRequest) appendBody(b []byte) []byte {
	if m.v >= 3 {
		b = AppendString(b, m.SoftwareName, true)
		b = AppendString(b, m.SoftwareVersion, true)
		b = append(b, 0)
	}
	return b
}

// VersionRange is one API's supported versions.
type VersionRange struct{ Min, Max int16 }

// ApiVersionsResponse lists the broker's ranges, indexed by API key;
// missing keys have Max -1.
type ApiVersionsResponse struct {
	ErrorCode    int16
	Versions     []VersionRange
	ThrottleTime int32
}

// DecodeApiVersions decodes a response at version v. The broker answers an
// unsupported request version with a v0 body, so on UNSUPPORTED_VERSION the
// caller decodes again at 0.
func DecodeApiVersions(b []byte, v int16) (*ApiVersionsResponse, error) {
	r := NewReader(b)
	flex := v >= 3
	resp := &ApiVersionsResponse{ErrorCode: r.Int16()}
	n := r.ArrayLen(flex, 6)
	for i := 0; i < n && r.err == nil; i++ {
		key, lo, hi := r.Int16(), r.Int16(), r.Int16()
		if flex {
			r.SkipTags()
		}
		if key < 0 || key > 1024 || r.err != nil {
			continue
		}
		for int(key) >= len(resp.Versions) {
			resp.Versions = append(resp.Versions, VersionRange{-1, -1})
		}
		resp.Versions[key] = VersionRange{lo, hi}
	}
	if v >= 1 && r.err == nil {
		resp.ThrottleTime = r.Int32()
	}
	if flex && resp.ErrorCode == 0 {
		r.SkipTags()
	}
	return resp, r.err
}

// SaslHandshakeRequest names the mechanism to use (v1: the exchange then
// travels in SaslAuthenticate requests).
type SaslHandshakeRequest struct {
	version
	Mechanism string
}

// Key is 17.
func (*SaslHandshakeRequest) Key() int16 { return KeySaslHandshake }

// MaxVersion is 1.
func (*SaslHandshakeRequest) MaxVersion() int16 { return 1 }

// IsFlexible is false.
func (*SaslHandshakeRequest) IsFlexible() bool { return false }

// AppendTo encodes the body; it cannot fail.
func (m *SaslHandshakeRequest) AppendTo(b []byte) ([]byte, error) { return m.appendBody(b), nil }

func (m *SaslHandshakeRequest) appendBody(b []byte) []byte {
	return AppendString(b, m.Mechanism, false)
}

// DecodeSaslHandshake returns the error code and the broker's mechanisms.
func DecodeSaslHandshake(b []byte) (int16, []string, error) {
	r := NewReader(b)
	code := r.Int16()
	n := r.ArrayLen(false, 2)
	mechs := make([]string, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		mechs = append(mechs, r.String(false))
	}
	return code, mechs, r.err
}

// SaslAuthenticateRequest carries one client SASL message.
type SaslAuthenticateRequest struct {
	version
	AuthBytes []byte
}

// Key is 36.
func (*SaslAuthenticateRequest) Key() int16 { return KeySaslAuthenticate }

// MaxVersion is 2.
func (*SaslAuthenticateRequest) MaxVersion() int16 { return 2 }

// IsFlexible is true from v2.
func (m *SaslAuthenticateRequest) IsFlexible() bool { return m.v >= 2 }

// AppendTo encodes the body; it cannot fail.
func (m *SaslAuthenticateRequest) AppendTo(b []byte) ([]byte, error) { return m.appendBody(b), nil }

func (m *SaslAuthenticateRequest) appendBody(b []byte) []byte {
	b = AppendBytes(b, m.AuthBytes, m.v >= 2)
	if m.v >= 2 {
		b = append(b, 0)
	}
	return b
}

// SaslAuthenticateResponse is the broker's reply to one SASL message.
type SaslAuthenticateResponse struct {
	ErrorCode       int16
	ErrorMessage    string
	AuthBytes       []byte
	SessionLifetime int64
}

// DecodeSaslAuthenticate decodes a response at version v.
func DecodeSaslAuthenticate(b []byte, v int16) (*SaslAuthenticateResponse, error) {
	r := NewReader(b)
	flex := v >= 2
	resp := &SaslAuthenticateResponse{ErrorCode: r.Int16()}
	if s := r.NullableString(flex); s != nil {
		resp.ErrorMessage = *s
	}
	resp.AuthBytes = r.Bytes(flex)
	if v >= 1 {
		resp.SessionLifetime = r.Int64()
	}
	if flex {
		r.SkipTags()
	}
	return resp, r.err
}

// Coordinator key types for FindCoordinator.
const (
	CoordinatorGroup       int8 = 0
	CoordinatorTransaction int8 = 1
)

// FindCoordinatorRequest looks up coordinators. Versions 3 to 6 are
// encoded; from v4 several keys go in one request.
type FindCoordinatorRequest struct {
	version
	KeyType int8
	Keys    []string
}

// Key is 10.
func (*FindCoordinatorRequest) Key() int16 { return KeyFindCoordinator }

// MaxVersion is 6.
func (*FindCoordinatorRequest) MaxVersion() int16 { return 6 }

// MinVersion is 3, the first flexible version.
func (*FindCoordinatorRequest) MinVersion() int16 { return 3 }

// IsFlexible is true: only flexible versions are encoded.
func (*FindCoordinatorRequest) IsFlexible() bool { return true }

// AppendTo encodes the body; it cannot fail.
func (m *FindCoordinatorRequest) AppendTo(b []byte) ([]byte, error) { return m.appendBody(b), nil }

func (m *FindCoordinatorRequest) appendBody(b []byte) []byte {
	if m.v < 4 {
		key := ""
		if len(m.Keys) > 0 {
			key = m.Keys[0]
		}
		b = AppendString(b, key, true)
		b = append(b, byte(m.KeyType))
	} else {
		b = append(b, byte(m.KeyType))
		b = AppendArrayLen(b, len(m.Keys), true)
		for _, k := range m.Keys {
			b = AppendString(b, k, true)
		}
	}
	return append(b, 0)
}

// Coordinator is one key's answer.
type Coordinator struct {
	Key          string
	NodeID       int32
	Host         string
	Port         int32
	ErrorCode    int16
	ErrorMessage string
}

// DecodeFindCoordinator decodes a response at version v; below v4 the single
// answer is returned under key.
func DecodeFindCoordinator(b []byte, v int16, key string) (throttle int32, out []Coordinator, err error) {
	r := NewReader(b)
	throttle = r.Int32()
	if v < 4 {
		c := Coordinator{Key: key, ErrorCode: r.Int16()}
		if s := r.NullableString(true); s != nil {
			c.ErrorMessage = *s
		}
		c.NodeID, c.Host, c.Port = r.Int32(), r.String(true), r.Int32()
		r.SkipTags()
		return throttle, []Coordinator{c}, r.err
	}
	n := r.ArrayLen(true, 12)
	for i := 0; i < n && r.err == nil; i++ {
		var c Coordinator
		c.Key, c.NodeID, c.Host, c.Port, c.ErrorCode = r.String(true), r.Int32(), r.String(true), r.Int32(), r.Int16()
		if s := r.NullableString(true); s != nil {
			c.ErrorMessage = *s
		}
		r.SkipTags()
		out = append(out, c)
	}
	r.SkipTags()
	return throttle, out, r.err
}
