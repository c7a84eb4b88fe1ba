// This file is the typed API over the generated codec in package protocol.

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
