module github.com/gregorkafka/gregor

go 1.24.0

require github.com/twmb/franz-go/pkg/kmsg v1.14.0
