package examples_test

import (
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// span is the part of the stdout exporter's JSON for one span the test
// reads.
type span struct {
	Name        string
	SpanKind    int
	SpanContext spanContext
	Parent      spanContext
	Attributes  []struct {
		Key   string
		Value struct{ Value any }
	}
	Links []struct{ SpanContext spanContext }
}

// spanContext identifies a span.
type spanContext struct {
	TraceID, SpanID string
}

// attr returns the string form of the attribute named key.
func (s span) attr(key string) (string, bool) {
	for _, a := range s.Attributes {
		if a.Key == key {
			v, _ := json.Marshal(a.Value.Value)
			return strings.Trim(string(v), `"`), true
		}
	}
	return "", false
}

// linksTo reports whether s has a link to the span sc.
func (s span) linksTo(sc spanContext) bool {
	return slices.ContainsFunc(s.Links, func(l struct{ SpanContext spanContext }) bool { return l.SpanContext == sc })
}

// Span kinds as the OpenTelemetry Go API numbers them.
const (
	kindInternal = 1
	kindProducer = 4
	kindConsumer = 5
)

// testOtel runs the otel example and checks the spans it exported: the
// send span is a child of the application's span, and the poll and process
// spans link to it, each with the messaging attributes.
func testOtel(t *testing.T, rn runner, brokers string) {
	const topic = "examples-otel"
	res := rn.mustRun(t, "otel", "-brokers", brokers, "-topic", topic)
	var spans []span
	dec := json.NewDecoder(strings.NewReader(res.stdout))
	for {
		var s span
		err := dec.Decode(&s)
		if errors.Is(err, io.EOF) {
			break
		}
		mustf(t, err, "decode span %d of stdout:\n%s", len(spans)+1, res.stdout)
		spans = append(spans, s)
	}
	find := func(name string, kind int) span {
		t.Helper()
		i := slices.IndexFunc(spans, func(s span) bool { return s.Name == name && s.SpanKind == kind })
		if i < 0 {
			t.Fatalf("no span %q of kind %d among %d spans:\n%s", name, kind, len(spans), res.stdout)
		}
		return spans[i]
	}
	checkout := find("checkout", kindInternal)
	send := find("send "+topic, kindProducer)
	poll := find("poll", kindConsumer)
	process := find("process "+topic, kindConsumer)
	if send.Parent != checkout.SpanContext {
		t.Errorf("send span's parent is %+v, want the checkout span %+v", send.Parent, checkout.SpanContext)
	}
	for _, s := range []span{poll, process} {
		if !s.linksTo(send.SpanContext) {
			t.Errorf("%s span links to %+v, want the send span %+v", s.Name, s.Links, send.SpanContext)
		}
	}
	want := map[*span]map[string]string{
		&send:    {"messaging.system": "kafka", "messaging.operation.type": "send", "messaging.destination.name": topic},
		&poll:    {"messaging.system": "kafka", "messaging.operation.type": "receive", "messaging.batch.message_count": "1"},
		&process: {"messaging.system": "kafka", "messaging.operation.type": "process", "messaging.destination.name": topic},
	}
	for s, attrs := range want {
		for k, v := range attrs {
			if got, ok := s.attr(k); !ok || got != v {
				t.Errorf("%s span: attribute %s = %q (present %t), want %q", s.Name, k, got, ok, v)
			}
		}
	}
	if !strings.Contains(res.stderr, "trace "+send.SpanContext.TraceID) {
		t.Errorf("stderr does not name the trace %s:\n%s", send.SpanContext.TraceID, res.stderr)
	}
}
