package producer

import (
	"errors"
	"testing"

	"github.com/gregorkafka/gregor"
)

func TestConfigErrorsNameProducerFields(t *testing.T) {
	_, err := New(Config{Conn: gregor.ConnConfig{SeedBrokers: []string{"localhost:9092"}}, MaxInFlightPerPartition: 6})
	if err == nil || err.Error() != "gregor: producer.Config.MaxInFlightPerPartition: at most 5 with idempotence, got 6" {
		t.Fatalf("got %v", err)
	}
	_, err = New(Config{})
	var ce *gregor.ConfigError
	if !errors.As(err, &ce) || ce.Config != "producer.Config" || ce.Field != "Conn.SeedBrokers" {
		t.Fatalf("empty config: %v", err)
	}
}
