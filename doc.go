// Package gregor holds what Gregor's producer, consumer and admin clients share.
//
// Gregor is a Go client for Apache Kafka. The clients live in their own
// packages (producer, consumer, admin) over one core; this package keeps only
// the small set of types every one of them uses.
package gregor
