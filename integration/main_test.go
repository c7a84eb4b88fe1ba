package integration_test

import (
	"testing"

	"github.com/gregorkafka/gregor/integration"
)

func TestMain(m *testing.M) { integration.Main(m) }
