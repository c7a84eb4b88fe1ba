// Command kafka-install downloads the Apache Kafka jars Gregor's integration
// tests run into the shared cache (GREGOR_KAFKA_HOME, or the user cache
// directory), using Maven. It prints the cache directory. Running it again
// does nothing once the cache is complete.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/gregorkafka/gregor/integration"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	home, err := integration.EnsureKafka(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kafka-install:", err)
		os.Exit(1)
	}
	fmt.Printf("Kafka %s jars ready in %s/lib\n", integration.KafkaVersion, home)
}
