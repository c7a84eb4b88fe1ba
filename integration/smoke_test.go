package integration_test

import (
	"testing"

	"github.com/gregorkafka/gregor/integration"
)

func TestSmoke(t *testing.T) {
	c := integration.Shared(t, integration.LocalConfig{SASL: true, TLS: true})
	for _, l := range []integration.Listener{integration.Plaintext, integration.SASLPlaintext, integration.SSL, integration.SASLSSL, integration.MTLS} {
		t.Log(l, c.Bootstrap(l))
	}
	t.Log(c.Dir())
}
