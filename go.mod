module github.com/gregorkafka/gregor

go 1.24.0

require (
	github.com/klauspost/compress v1.19.2
	github.com/pierrec/lz4/v4 v4.1.33
	github.com/twmb/franz-go v1.19.5
	github.com/twmb/franz-go/pkg/kfake v0.0.0-20250729165834-29dc44e616cd
	github.com/twmb/franz-go/pkg/kmsg v1.14.0
	github.com/xdg-go/scram v1.4.0
	go.opentelemetry.io/otel v1.38.0
	go.opentelemetry.io/otel/metric v1.38.0
	go.opentelemetry.io/otel/trace v1.38.0
)

require (
	github.com/go-logr/logr v1.4.3 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/xdg-go/stringprep v1.0.4 // indirect
	go.opentelemetry.io/auto/sdk v1.1.0 // indirect
	golang.org/x/crypto v0.38.0 // indirect
	golang.org/x/text v0.25.0 // indirect
)
