package integration_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gregorkafka/gregor/integration"
)

// ExampleStartLocal starts a single Kafka node with SASL and TLS listeners,
// reads what a client needs to connect, and closes it.
func ExampleStartLocal() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := integration.StartLocal(ctx, integration.LocalConfig{Nodes: 1, SASL: true, TLS: true})
	if err != nil {
		fmt.Println("cannot start Kafka:", err)
		return
	}
	defer c.Close()

	for _, l := range []integration.Listener{integration.Plaintext, integration.SASLSSL, integration.MTLS} {
		fmt.Printf("%s: %d address(es)\n", l, len(c.Bootstrap(l)))
	}
	tlsConfig := c.MTLSConfig() // for a Go client on the MTLS listener
	fmt.Println("client certificates:", len(tlsConfig.Certificates))
	fmt.Println("SASL user:", integration.AliceUser.Username)
	// Output:
	// PLAINTEXT: 1 address(es)
	// SASL_SSL: 1 address(es)
	// MTLS: 1 address(es)
	// client certificates: 1
	// SASL user: alice
}
