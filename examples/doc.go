// Package examples holds Gregor's example programs, one directory each, and
// the test that builds and runs every one of them against a real Kafka
// broker started by the integration harness, so that no example can rot:
//
//   - quickstart: create a topic, produce with delivery results, consume.
//   - keyed-producer: keys, headers and the three-way delivery Result.
//   - group-consumer: a consumer group with rebalance callbacks and manual
//     commits.
//   - admin: a walkthrough of the admin client.
//   - secure: SASL (PLAIN, SCRAM) and TLS (CA file, mutual TLS) set-up.
//   - otel: OpenTelemetry tracing printed by the stdout exporter.
//   - apptest: the pattern for an application's own integration test with
//     the integration package (a library and its test, not a program).
//
// Every program runs with no broker at all (an in-process fake cluster) and
// takes -brokers to use real ones: go run ./examples/<name> -h lists the
// flags. See examples/README.md.
package examples
