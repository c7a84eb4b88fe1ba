package protocol

import (
	"bytes"
	"testing"
)

// responseKeys lists the API keys that have versions, in order; the fuzz
// input's first byte indexes it.
func responseKeys() []int16 {
	var keys []int16
	for k := int16(0); k < numKeys; k++ {
		if _, _, ok := SupportedVersions(k); ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// fuzzResponse maps a fuzz input to a response type and version: byte 0
// picks the key, byte 1 the version within the supported range, byte 2
// whether bytes fields alias the input, and the rest is the body.
func fuzzResponse(keys []int16, data []byte) (Response, []byte, bool) {
	if len(data) < 3 {
		return nil, nil, false
	}
	key := keys[int(data[0])%len(keys)]
	lo, hi, _ := SupportedVersions(key)
	resp := NewResponse(key)
	resp.SetVersion(lo + int16(int(data[1])%int(hi-lo+1)))
	return resp, data[3:], data[2]&1 == 1
}

// FuzzResponse decodes arbitrary bytes with every response decoder. A
// successful decode must re-encode, and that encoding must decode and
// re-encode to itself; for responses with records, the vectored encoding
// (AppendSegmentsTo, with a minimum taken from byte 2) put back together
// must be that encoding too. Run it with:
//
//	go test ./protocol/ -run '^$' -fuzz '^FuzzResponse$' -fuzztime 2m
func FuzzResponse(f *testing.F) {
	keys := responseKeys()
	g := newRNG(3)
	for i, key := range keys {
		lo, hi, _ := SupportedVersions(key)
		for v := lo; v <= hi; v++ {
			resp := NewResponse(key).(randomMessage)
			resp.randomize(g, v, 0)
			b, err := resp.AppendTo([]byte{byte(i), byte(v - lo), byte(v & 1)})
			if err != nil {
				f.Fatalf("%s v%d: %v", KeyName(key), v, err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		resp, body, alias := fuzzResponse(keys, data)
		if resp == nil {
			return
		}
		if err := resp.DecodeWith(body, DecodeOptions{Alias: alias}); err != nil {
			return
		}
		b1, err := resp.AppendTo(nil)
		if err != nil {
			t.Fatalf("%T v%d: decoded but cannot re-encode: %v", resp, resp.GetVersion(), err)
		}
		again := resp.RequestKind().ResponseKind()
		if err := again.Decode(b1); err != nil {
			t.Fatalf("%T v%d: re-encoding does not decode: %v", resp, resp.GetVersion(), err)
		}
		b2, err := again.AppendTo(nil)
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("%T v%d: encoding not stable: %v\n%x\n%x", resp, resp.GetVersion(), err, b1, b2)
		}
		if sa, ok := resp.(segmentAppender); ok {
			checkSegments(t, "response", sa, int(data[2]>>1)%32, b1)
		}
	})
}

// FuzzRequest is FuzzResponse for the request decoders, which brokers and
// test fakes built on this package use:
//
//	go test ./protocol/ -run '^$' -fuzz '^FuzzRequest$' -fuzztime 1m
func FuzzRequest(f *testing.F) {
	keys := responseKeys()
	g := newRNG(4)
	for i, key := range keys {
		lo, hi, _ := SupportedVersions(key)
		for v := lo; v <= hi; v++ {
			req := NewRequest(key).(randomMessage)
			req.randomize(g, v, 0)
			b, err := req.AppendTo([]byte{byte(i), byte(v - lo), byte(v & 1)})
			if err != nil {
				f.Fatalf("%s v%d: %v", KeyName(key), v, err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 {
			return
		}
		key := keys[int(data[0])%len(keys)]
		lo, hi, _ := SupportedVersions(key)
		req := NewRequest(key)
		req.SetVersion(lo + int16(int(data[1])%int(hi-lo+1)))
		if err := req.DecodeWith(data[3:], DecodeOptions{Alias: data[2]&1 == 1}); err != nil {
			return
		}
		b1, err := req.AppendTo(nil)
		if err != nil {
			t.Fatalf("%T v%d: decoded but cannot re-encode: %v", req, req.GetVersion(), err)
		}
		again := req.ResponseKind().RequestKind()
		if err := again.Decode(b1); err != nil {
			t.Fatalf("%T v%d: re-encoding does not decode: %v", req, req.GetVersion(), err)
		}
		if b2, err := again.AppendTo(nil); err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("%T v%d: encoding not stable: %v", req, req.GetVersion(), err)
		}
		if sa, ok := req.(segmentAppender); ok {
			checkSegments(t, "request", sa, int(data[2]>>1)%32, b1)
		}
	})
}
