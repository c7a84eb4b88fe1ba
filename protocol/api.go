package protocol

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Message is what every generated top-level type implements: requests,
// responses, the two headers and the data schemas.
type Message interface {
	// GetVersion and SetVersion read and set the Version field, which picks
	// the wire layout used by AppendTo and the one Decode expects.
	GetVersion() int16
	SetVersion(int16)
	// IsFlexible reports whether the current version uses compact lengths
	// and tagged fields.
	IsFlexible() bool
	// AppendTo appends the encoding of the message (without any header or
	// size prefix) to dst. On error it returns dst unchanged.
	AppendTo(dst []byte) ([]byte, error)
	// Decode replaces the message's contents with the decoding of b at the
	// current version. Bytes fields are copied.
	Decode(b []byte) error
	// DecodeWith is Decode with options such as aliasing bytes fields.
	DecodeWith(b []byte, o DecodeOptions) error
	// Default resets every field to its default value (not the version).
	Default()
}

// Request is a request body of one API.
type Request interface {
	Message
	// Key returns the API key.
	Key() int16
	// ResponseKind returns an empty response of the same API and version.
	ResponseKind() Response
}

// Response is a response body of one API.
type Response interface {
	Message
	// Key returns the API key.
	Key() int16
	// RequestKind returns an empty request of the same API and version.
	RequestKind() Request
}

type versionInfo struct{ min, max, flex int16 }

func lookup(key int16) (versionInfo, bool) {
	if key < 0 || int(key) >= numKeys || keyNames[key] == "" {
		return versionInfo{-1, -1, -1}, false
	}
	return apiVersions[key], true
}

// KeyName returns the name of an API key, such as "Produce" for 0, or
// "Unknown(<key>)" for keys the specs do not define.
func KeyName(key int16) string {
	if _, ok := lookup(key); ok {
		return keyNames[key]
	}
	return fmt.Sprintf("Unknown(%d)", key)
}

// SupportedVersions returns the range of versions this codec can encode
// and decode for key. ok is false for unknown keys and for APIs that the
// specs list without any version (removed APIs).
func SupportedVersions(key int16) (min, max int16, ok bool) {
	vi, known := lookup(key)
	if !known || vi.min < 0 {
		return -1, -1, false
	}
	return vi.min, vi.max, true
}

// IsFlexibleVersion reports whether version of API key uses the flexible
// encoding (compact forms, tagged fields, header v2/v1).
func IsFlexibleVersion(key, version int16) bool {
	vi, ok := lookup(key)
	return ok && vi.flex >= 0 && version >= vi.flex
}

// NegotiateVersion returns the highest version of key that both this codec
// and a broker advertising [brokerMin, brokerMax] support. The error is a
// *VersionError when there is none.
func NegotiateVersion(key, brokerMin, brokerMax int16) (int16, error) {
	lo, hi, ok := SupportedVersions(key)
	if !ok {
		return -1, &VersionError{Key: key, ClientMin: -1, ClientMax: -1, BrokerMin: brokerMin, BrokerMax: brokerMax}
	}
	top := min(hi, brokerMax)
	if top < lo || top < brokerMin || brokerMin > brokerMax {
		return -1, &VersionError{Key: key, ClientMin: lo, ClientMax: hi, BrokerMin: brokerMin, BrokerMax: brokerMax}
	}
	return top, nil
}

// PickVersion is NegotiateVersion against the ranges of an ApiVersions
// response.
func PickVersion(key int16, resp *ApiVersionsResponse) (int16, error) {
	for i := range resp.ApiKeys {
		k := &resp.ApiKeys[i]
		if k.ApiKey == key {
			return NegotiateVersion(key, k.MinVersion, k.MaxVersion)
		}
	}
	lo, hi, _ := SupportedVersions(key)
	return -1, &VersionError{Key: key, ClientMin: lo, ClientMax: hi, BrokerMin: -1, BrokerMax: -1, BrokerLacksKey: true}
}

// RequestHeaderVersion returns the request header version for an API
// version: 2 for flexible versions, 1 otherwise.
func RequestHeaderVersion(key, version int16) int16 {
	if IsFlexibleVersion(key, version) {
		return 2
	}
	return 1
}

// ResponseHeaderVersion returns the response header version for an API
// version: 1 for flexible versions, 0 otherwise, and always 0 for
// ApiVersions, whose response a client must be able to read before it knows
// which versions the broker speaks.
func ResponseHeaderVersion(key, version int16) int16 {
	if key != KeyApiVersions && IsFlexibleVersion(key, version) {
		return 1
	}
	return 0
}

// AppendRequestHeader appends a request header for key at version. A nil
// clientID is written as null.
func AppendRequestHeader(dst []byte, key, version int16, correlationID int32, clientID *string) ([]byte, error) {
	if clientID != nil && len(*clientID) > math.MaxInt16 {
		return dst, &EncodeError{Type: "RequestHeader", Field: "ClientId", Version: RequestHeaderVersion(key, version), Err: ErrInvalidValue}
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(key))
	dst = binary.BigEndian.AppendUint16(dst, uint16(version))
	dst = binary.BigEndian.AppendUint32(dst, uint32(correlationID))
	if clientID == nil {
		dst = append(dst, 0xff, 0xff)
	} else {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(*clientID)))
		dst = append(dst, *clientID...)
	}
	if RequestHeaderVersion(key, version) >= 2 {
		dst = append(dst, 0) // no tagged fields
	}
	return dst, nil
}

// AppendRequest appends a whole request frame to dst: the 4-byte size, the
// request header and the body of req at req's version. This is what goes on
// the wire.
func AppendRequest(dst []byte, req Request, correlationID int32, clientID *string) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	out, err := AppendRequestHeader(dst, req.Key(), req.GetVersion(), correlationID, clientID)
	if err != nil {
		return dst[:start], err
	}
	out, err = req.AppendTo(out)
	if err != nil {
		return dst[:start], err
	}
	n := len(out) - start - 4
	if n > math.MaxInt32 {
		return dst[:start], &EncodeError{Type: "Request", Version: req.GetVersion(), Err: ErrInvalidValue}
	}
	binary.BigEndian.PutUint32(out[start:], uint32(n))
	return out, nil
}

// ReadResponseHeader splits a response frame (without its 4-byte size) for
// API key at version into its header and body. Unknown tagged fields of a
// v1 header are skipped.
func ReadResponseHeader(b []byte, key, version int16) (correlationID int32, body []byte, err error) {
	var h ResponseHeader
	h.Version = ResponseHeaderVersion(key, version)
	r := newReader(b, true)
	if err := h.decode(&r, h.Version); err != nil {
		return 0, nil, err
	}
	return h.CorrelationId, r.rest(), nil
}

// ReadRequestHeader splits a request frame (without its size) into its
// header and body, for servers and test tools. The header version follows
// from the key and version found at the start of b.
func ReadRequestHeader(b []byte) (hdr RequestHeader, body []byte, err error) {
	if len(b) < 4 {
		return hdr, nil, &DecodeError{Type: "RequestHeader", Offset: len(b), Err: ErrTruncated}
	}
	key := int16(binary.BigEndian.Uint16(b))
	version := int16(binary.BigEndian.Uint16(b[2:]))
	hdr.Version = RequestHeaderVersion(key, version)
	r := newReader(b, false)
	if err := hdr.decode(&r, hdr.Version); err != nil {
		return hdr, nil, err
	}
	return hdr, r.rest(), nil
}

func unsupportedDecode(typ string, version int16) error {
	return fmt.Errorf("%w: %s version %d", ErrVersionNotSupported, typ, version)
}
