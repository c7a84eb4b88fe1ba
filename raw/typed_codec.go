//go:build gregor_codec

// This file is the typed API over the generated codec. It is built only with
// the gregor_codec tag until branch codec merges cleanly with main (its
// protocol/decode_errors.go declares ErrUnsupportedVersion, which
// protocol/errors_table.go already declares); delete the build line then.
// It was tested on a local merge with that declaration removed.

package raw

import (
	"context"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/broker"
	"github.com/gregorkafka/gregor/protocol"
)

func init() { broker.CodecVersions = protocol.SupportedVersions }

// Do sends a codec request to target and decodes the response at the
// version the request was sent at. Errors inside the body are left for the
// caller to read (and report with HandleError); a body that does not decode
// is a *gregor.NetworkError.
func (c *Client) Do(ctx context.Context, target Target, req protocol.Request) (protocol.Response, error) {
	r, err := c.Request(ctx, target, req)
	if err != nil {
		return nil, err
	}
	resp := req.ResponseKind()
	resp.SetVersion(r.Version)
	if err := resp.Decode(r.Body); err != nil {
		return nil, &gregor.NetworkError{Broker: r.Broker, Op: "decode", Err: err}
	}
	return resp, nil
}
