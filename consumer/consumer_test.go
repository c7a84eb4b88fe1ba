package consumer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const testTopic = "t"

func newFake(t testing.TB, brokers int, partitions int32) *kfake.Cluster {
	t.Helper()
	f, err := kfake.NewCluster(kfake.NumBrokers(brokers), kfake.SeedTopics(partitions, testTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// produce writes n records to each of the partitions, values "p-i", with
// timestamps base+i ms when base is non-zero.
func produce(t testing.TB, addrs []string, partitions []int32, from, n int, base time.Time) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for _, p := range partitions {
		for i := from; i < from+n; i++ {
			r := &kgo.Record{Topic: testTopic, Partition: p, Key: []byte("k" + strconv.Itoa(i)),
				Value:   []byte(fmt.Sprintf("%d-%d", p, i)),
				Headers: []kgo.RecordHeader{{Key: "h", Value: []byte(strconv.Itoa(i))}}}
			if !base.IsZero() {
				r.Timestamp = base.Add(time.Duration(i) * time.Millisecond)
			}
			wg.Add(1)
			cl.Produce(context.Background(), r, func(_ *kgo.Record, err error) {
				defer wg.Done()
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

func newConsumer(t testing.TB, addrs []string, mod func(*Config)) *Consumer {
	t.Helper()
	cfg := Config{Conn: gregor.ConnConfig{SeedBrokers: addrs}, FetchMaxWait: 100 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

type got struct {
	tp     TopicPartition
	offset int64
	key    string
	value  string
	header string
	ts     time.Time
}

// collect polls until n records arrived (copying them), failing on
// partition errors or after the timeout.
func collect(t testing.TB, c *Consumer, n int, timeout time.Duration) []got {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []got
	for len(out) < n {
		fs, err := c.Poll(ctx)
		if err != nil {
			t.Fatalf("Poll after %d of %d records: %v", len(out), n, err)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			t.Fatalf("partition errors: %v", errs)
		}
		fs.EachRecord(func(r *gregor.Record) {
			g := got{tp: TopicPartition{r.Topic, r.Partition}, offset: r.Offset, key: string(r.Key), value: string(r.Value), ts: r.Timestamp}
			if len(r.Headers) > 0 {
				g.header = r.Headers[0].Key + "=" + string(r.Headers[0].Value)
			}
			out = append(out, g)
		})
	}
	return out
}

// checkExact verifies that recs hold offsets [from, from+n) of every
// partition, once each, in order per partition, with the values produce wrote.
func checkExact(t testing.TB, recs []got, partitions []int32, from, n int) {
	t.Helper()
	next := map[int32]int64{}
	for _, p := range partitions {
		next[p] = int64(from)
	}
	for _, r := range recs {
		want := next[r.tp.Partition]
		if r.offset != want {
			t.Fatalf("%s: offset %d, want %d", r.tp, r.offset, want)
		}
		if v := fmt.Sprintf("%d-%d", r.tp.Partition, r.offset); r.value != v || r.key != "k"+strconv.Itoa(int(r.offset)) ||
			r.header != "h="+strconv.Itoa(int(r.offset)) {
			t.Fatalf("%s@%d: key %q value %q header %q", r.tp, r.offset, r.key, r.value, r.header)
		}
		next[r.tp.Partition]++
	}
	for _, p := range partitions {
		if next[p] != int64(from+n) {
			t.Fatalf("partition %d: got up to %d, want %d", p, next[p], from+n)
		}
	}
}

func all(ps []int32, o Offset) map[TopicPartition]Offset {
	m := map[TopicPartition]Offset{}
	for _, p := range ps {
		m[TopicPartition{testTopic, p}] = o
	}
	return m
}

func TestConfigValidate(t *testing.T) {
	seed := gregor.ConnConfig{SeedBrokers: []string{"localhost:9092"}}
	for _, tc := range []struct {
		cfg   Config
		field string
	}{
		{Config{Conn: seed, IsolationLevel: 3}, "IsolationLevel"},
		{Config{Conn: seed, ResetPolicy: 7}, "ResetPolicy"},
		{Config{Conn: seed, FetchMinBytes: -1}, "FetchMinBytes"},
		{Config{Conn: seed, FetchMaxWait: -time.Second}, "FetchMaxWait"},
		{Config{Conn: seed, FetchMaxBytes: -1}, "FetchMaxBytes"},
		{Config{Conn: seed, PartitionMaxBytes: 2 << 20, FetchMaxBytes: 1 << 20}, "PartitionMaxBytes"},
		{Config{Conn: seed, MaxBufferedBytes: -5}, "MaxBufferedBytes"},
	} {
		_, err := New(tc.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field || !errors.Is(err, gregor.ErrInvalidConfig) {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
	if _, err := New(Config{}); !errors.Is(err, gregor.ErrInvalidConfig) {
		t.Errorf("no seed brokers: %v", err)
	}
	d := Config{}.WithDefaults()
	if d.FetchMinBytes != 1 || d.FetchMaxWait != 500*time.Millisecond || d.FetchMaxBytes != 50<<20 ||
		d.PartitionMaxBytes != 1<<20 || d.MaxBufferedBytes != 64<<20 || d.IsolationLevel != ReadUncommitted || d.ResetPolicy != ResetEarliest {
		t.Errorf("defaults: %+v", d)
	}
}

// TestStartPositions covers earliest, exact, latest and timestamp starts.
func TestStartPositions(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 2)
	ps := []int32{0, 1}
	base := time.UnixMilli(1_700_000_000_000)
	produce(t, f.ListenAddrs(), ps, 0, 50, base)

	t.Run("earliest", func(t *testing.T) {
		c := newConsumer(t, f.ListenAddrs(), nil)
		if err := c.Assign(all(ps, AtEarliest())); err != nil {
			t.Fatal(err)
		}
		recs := collect(t, c, 100, 10*time.Second)
		checkExact(t, recs, ps, 0, 50)
		if recs[0].ts.Before(base) {
			t.Errorf("timestamp %v before %v", recs[0].ts, base)
		}
		for _, p := range ps {
			if lag, ok := c.Lag(TopicPartition{testTopic, p}); !ok || lag != 0 {
				t.Errorf("lag %d %v", lag, ok)
			}
		}
	})
	t.Run("exact", func(t *testing.T) {
		c := newConsumer(t, f.ListenAddrs(), nil)
		c.Assign(all(ps, AtOffset(30)))
		checkExact(t, collect(t, c, 40, 10*time.Second), ps, 30, 20)
	})
	t.Run("timestamp", func(t *testing.T) {
		c := newConsumer(t, f.ListenAddrs(), nil)
		c.Assign(all(ps, AtTimestamp(base.Add(45*time.Millisecond))))
		checkExact(t, collect(t, c, 10, 10*time.Second), ps, 45, 5)
	})
	t.Run("latest", func(t *testing.T) {
		c := newConsumer(t, f.ListenAddrs(), nil)
		c.Assign(all(ps, AtLatest()))
		waitPositions(t, c, ps, 50)
		produce(t, f.ListenAddrs(), ps, 50, 5, time.Time{})
		checkExact(t, collect(t, c, 10, 10*time.Second), ps, 50, 5)
	})
}

func waitPositions(t testing.TB, c *Consumer, ps []int32, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range ps {
		for {
			if pos, ok := c.Position(TopicPartition{testTopic, p}); ok && pos == want {
				break
			}
			if time.Now().After(deadline) {
				pos, ok := c.Position(TopicPartition{testTopic, p})
				t.Fatalf("partition %d: position %d %v, want %d", p, pos, ok, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// TestPauseResumeSeek pauses one partition, checks only the other is
// returned, resumes it, then seeks back.
func TestPauseResumeSeek(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 2)
	ps := []int32{0, 1}
	produce(t, f.ListenAddrs(), ps, 0, 20, time.Time{})
	c := newConsumer(t, f.ListenAddrs(), nil)
	p0, p1 := TopicPartition{testTopic, 0}, TopicPartition{testTopic, 1}
	c.Assign(all(ps, AtEarliest()))
	c.Pause(p1)
	recs := collect(t, c, 20, 10*time.Second)
	checkExact(t, recs, []int32{0}, 0, 20)
	// Nothing from the paused partition arrives.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	fs, err := c.Poll(ctx)
	cancel()
	if err == nil {
		t.Fatalf("paused partition returned %d records", fs.NumRecords())
	}
	c.Resume(p1)
	checkExact(t, collect(t, c, 20, 10*time.Second), []int32{1}, 0, 20)
	if err := c.Seek(p0, AtOffset(15)); err != nil {
		t.Fatal(err)
	}
	checkExact(t, collect(t, c, 5, 10*time.Second), []int32{0}, 15, 5)
	if err := c.Seek(TopicPartition{"nope", 0}, AtEarliest()); err == nil {
		t.Error("Seek of an unassigned partition succeeded")
	}
}

// TestOutOfRange starts past the end: ResetEarliest restarts at 0,
// ResetLatest waits for new records, ResetNone reports a typed error.
func TestOutOfRange(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 1)
	ps := []int32{0}
	produce(t, f.ListenAddrs(), ps, 0, 10, time.Time{})

	c := newConsumer(t, f.ListenAddrs(), nil)
	c.Assign(all(ps, AtOffset(1000)))
	checkExact(t, collect(t, c, 10, 10*time.Second), ps, 0, 10)

	c = newConsumer(t, f.ListenAddrs(), func(c *Config) { c.ResetPolicy = ResetNone })
	c.Assign(all(ps, AtOffset(1000)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fs, err := c.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var oe *OffsetOutOfRangeError
	if errs := fs.Errors(); len(errs) != 1 || !errors.As(errs[0], &oe) || oe.Offset != 1000 || oe.Partition != 0 {
		t.Fatalf("errors %v", errs)
	}
	// Seek clears the error.
	c.Seek(TopicPartition{testTopic, 0}, AtOffset(5))
	checkExact(t, collect(t, c, 5, 10*time.Second), ps, 5, 5)

	c = newConsumer(t, f.ListenAddrs(), func(c *Config) { c.ResetPolicy = ResetLatest })
	c.Assign(all(ps, AtOffset(1000)))
	waitPositions(t, c, ps, 10)
	produce(t, f.ListenAddrs(), ps, 10, 3, time.Time{})
	checkExact(t, collect(t, c, 3, 10*time.Second), ps, 10, 3)
}

// TestLeaderMove moves partition leaders while consuming: every record
// arrives exactly once.
func TestLeaderMove(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 3, 4)
	ps := []int32{0, 1, 2, 3}
	produce(t, f.ListenAddrs(), ps, 0, 100, time.Time{})
	c := newConsumer(t, f.ListenAddrs(), func(c *Config) { c.PartitionMaxBytes = 512 })
	c.Assign(all(ps, AtEarliest()))
	recs := collect(t, c, 100, 10*time.Second)
	for _, p := range ps {
		old := f.LeaderFor(testTopic, p)
		if err := f.MoveTopicPartition(testTopic, p, (old+1)%3); err != nil {
			t.Fatal(err)
		}
	}
	produce(t, f.ListenAddrs(), ps, 100, 50, time.Time{})
	recs = append(recs, collect(t, c, 600-len(recs), 20*time.Second)...)
	checkExact(t, recs, ps, 0, 150)
}

// TestMemoryBudget keeps the buffered bytes within the budget plus one
// response while the caller is slow.
func TestMemoryBudget(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 4)
	ps := []int32{0, 1, 2, 3}
	for from := 0; from < 2000; from += 100 { // batches of 100 records
		produce(t, f.ListenAddrs(), ps, from, 100, time.Time{})
	}
	const budget, maxResp = 64 << 10, 16 << 10
	c := newConsumer(t, f.ListenAddrs(), func(c *Config) {
		c.MaxBufferedBytes, c.FetchMaxBytes, c.PartitionMaxBytes = budget, maxResp, 4<<10
	})
	c.Assign(all(ps, AtEarliest()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []got
	for len(recs) < 8000 {
		fs, err := c.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *gregor.Record) {
			recs = append(recs, got{tp: TopicPartition{r.Topic, r.Partition}, offset: r.Offset, key: string(r.Key), value: string(r.Value),
				header: r.Headers[0].Key + "=" + string(r.Headers[0].Value)})
		})
		time.Sleep(2 * time.Millisecond) // a slow caller lets fetched data pile up
		c.mu.Lock()
		peak, fetchCost := c.peak, c.peakFetch
		c.mu.Unlock()
		// One response may come on top of the budget: its bytes plus
		// the Records it decodes to, which for these small records is
		// several times the bytes; a broker may add framing.
		if peak > budget+fetchCost+1024 {
			t.Fatalf("buffered %d bytes, budget %d + one response's %d", peak, budget, fetchCost)
		}
	}
	checkExact(t, recs, ps, 0, 2000)
	c.mu.Lock()
	t.Logf("peak buffered %d bytes (budget %d), most from one response %d", c.peak, budget, c.peakFetch)
	c.mu.Unlock()
}

// TestCloseUnblocksPoll closes a consumer while Poll waits.
func TestCloseUnblocksPoll(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 1)
	c := newConsumer(t, f.ListenAddrs(), nil)
	c.Assign(all([]int32{0}, AtLatest()))
	errc := make(chan error, 1)
	go func() { _, err := c.Poll(context.Background()); errc <- err }()
	time.Sleep(100 * time.Millisecond)
	c.Close(context.Background())
	if err := <-errc; !errors.Is(err, gregor.ErrClosed) {
		t.Fatalf("Poll: %v", err)
	}
	if err := c.Assign(all([]int32{0}, AtLatest())); !errors.Is(err, gregor.ErrClosed) {
		t.Fatalf("Assign after Close: %v", err)
	}
}

// TestUnassign drops a partition: its records stop, the other's continue.
func TestUnassign(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 2)
	ps := []int32{0, 1}
	produce(t, f.ListenAddrs(), ps, 0, 10, time.Time{})
	c := newConsumer(t, f.ListenAddrs(), nil)
	c.Assign(all(ps, AtEarliest()))
	checkExact(t, collect(t, c, 20, 10*time.Second), ps, 0, 10)
	c.Unassign(TopicPartition{testTopic, 1})
	if a := c.Assigned(); len(a) != 1 || a[0].Partition != 0 {
		t.Fatalf("assigned %v", a)
	}
	produce(t, f.ListenAddrs(), ps, 10, 5, time.Time{})
	recs := collect(t, c, 5, 10*time.Second)
	checkExact(t, recs, []int32{0}, 10, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if fs, err := c.Poll(ctx); err == nil {
		t.Fatalf("unassigned partition returned %d records", fs.NumRecords())
	}
}
