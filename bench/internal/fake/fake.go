// Package fake starts the kfake cluster the benchmark programs run against:
// optionally answering Produce requests without storing anything, and
// optionally pre-seeded with records for consumer runs.
package fake

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Config says what cluster Start builds. The zero value (with Topic set)
// is one broker on a random port with a 1-partition topic that stores
// everything produced to it.
type Config struct {
	// Addr is the listen address "host:port"; empty or port 0 picks a
	// free port on 127.0.0.1.
	Addr string
	// Topic is created at start-up with Partitions partitions (1 when 0).
	Topic      string
	Partitions int
	// Discard makes the broker acknowledge every Produce request with
	// increasing offsets and throw the records away, so that a producer
	// benchmark measures the client rather than the fake broker's storage.
	Discard bool
	// SeedRecords records of SeedSize bytes each (100 when 0) are written
	// to Topic before Start returns, compressed with SeedCodec ("none",
	// "gzip", "snappy", "lz4" or "zstd"; empty means none), spread evenly
	// over the partitions.
	SeedRecords int
	SeedSize    int
	SeedCodec   string
}

// Start builds the cluster described by cfg. The caller must Close it.
func Start(ctx context.Context, cfg Config) (*kfake.Cluster, error) {
	if cfg.Topic == "" {
		return nil, fmt.Errorf("fake: Config.Topic is empty")
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = 1
	}
	if cfg.SeedSize <= 0 {
		cfg.SeedSize = 100
	}
	port := 0
	if cfg.Addr != "" {
		_, p, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("fake: Config.Addr: %w", err)
		}
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("fake: Config.Addr port: %w", err)
		}
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.SeedTopics(int32(cfg.Partitions), cfg.Topic))
	if err != nil {
		return nil, err
	}
	if cfg.SeedRecords > 0 {
		if err := seed(ctx, c.ListenAddrs(), cfg); err != nil {
			c.Close()
			return nil, err
		}
	}
	if cfg.Discard {
		d := &discarder{next: make(map[string][]int64)}
		c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			return d.answer(req.(*kmsg.ProduceRequest)), nil, true
		})
	}
	return c, nil
}

// discarder answers Produce requests as if it had appended them.
type discarder struct {
	mu   sync.Mutex
	next map[string][]int64 // next offset per topic and partition
}

// answer builds a successful response for req, giving each partition's
// records the next offsets of that partition.
func (d *discarder) answer(req *kmsg.ProduceRequest) kmsg.Response {
	d.mu.Lock()
	defer d.mu.Unlock()
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		rt.TopicID = t.TopicID
		offs := d.next[t.Topic]
		for _, p := range t.Partitions {
			for int(p.Partition) >= len(offs) {
				offs = append(offs, 0)
			}
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition = p.Partition
			rp.BaseOffset = offs[p.Partition]
			rp.LogAppendTime = -1
			offs[p.Partition] += CountRecords(p.Records)
			rt.Partitions = append(rt.Partitions, rp)
		}
		d.next[t.Topic] = offs
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// CountRecords adds up the record counts of the v2 batches in b: each batch
// header has its length at bytes 8-11 (counted from byte 12) and its record
// count at bytes 57-60.
func CountRecords(b []byte) int64 {
	var n int64
	for len(b) >= 61 {
		n += int64(int32(binary.BigEndian.Uint32(b[57:61])))
		l := 12 + int(int32(binary.BigEndian.Uint32(b[8:12])))
		if l <= 12 || l > len(b) {
			break
		}
		b = b[l:]
	}
	return n
}

// Value returns a record value of n bytes: letters from a 16-letter
// alphabet with one byte in four repeating the previous one, which
// compresses to roughly half, like typical text or JSON payloads.
func Value(rng *rand.Rand, n int) []byte {
	v := make([]byte, n)
	var bits uint64
	left := 0
	for i := range v {
		if left == 0 {
			bits, left = rng.Uint64(), 10
		}
		letter, repeat := byte(bits&15), bits>>4&3 == 0
		bits >>= 6
		left--
		if repeat && i > 0 {
			v[i] = v[i-1]
		} else {
			v[i] = 'a' + letter
		}
	}
	return v
}

// Codec returns franz-go's codec for a codec name.
func Codec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "", "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("unknown codec %q", name)
}

// Seed writes n records of the given size to every partition of topic in
// turn, compressed with codec, through a franz-go client, in batches of up
// to 512 KiB. It returns once all are acknowledged.
func Seed(ctx context.Context, brokers []string, topic string, partitions, n, size int, codec string) error {
	return seed(ctx, brokers, Config{Topic: topic, Partitions: partitions, SeedRecords: n, SeedSize: size, SeedCodec: codec})
}

func seed(ctx context.Context, brokers []string, cfg Config) error {
	cc, err := Codec(cfg.SeedCodec)
	if err != nil {
		return fmt.Errorf("fake: Config.SeedCodec: %w", err)
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(cc),
		kgo.ProducerBatchMaxBytes(512<<10),
		kgo.ProducerLinger(50*time.Millisecond),
		kgo.MaxBufferedRecords(200_000),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	wg.Add(cfg.SeedRecords)
	for i := range cfg.SeedRecords {
		r := &kgo.Record{Topic: cfg.Topic, Partition: int32(i % cfg.Partitions), Value: Value(rng, cfg.SeedSize)}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
			wg.Done()
		})
	}
	wg.Wait()
	if first != nil {
		return fmt.Errorf("fake: seeding %s: %w", cfg.Topic, first)
	}
	return nil
}
