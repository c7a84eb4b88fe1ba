package cluster

import "github.com/gregorkafka/gregor/protocol"

// Version ranges of the cluster's own requests: Metadata from v9 (flexible,
// Kafka 2.4+; topic ids from v10), FindCoordinator from v3 (flexible; several
// keys per request from v4).
const (
	metadataMin        int16 = 9
	metadataMax        int16 = 13
	findCoordinatorMin int16 = 3
	findCoordinatorMax int16 = 6
)

// bounded is a codec request limited to the versions this package decodes
// its response at, for broker.Conn.PickVersion (codec types do not
// implement broker.MaxVersioner).
type bounded struct {
	protocol.Request
	lo, hi int16
}

func (b bounded) MinVersion() int16 { return b.lo }
func (b bounded) MaxVersion() int16 { return b.hi }
