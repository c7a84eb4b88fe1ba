module github.com/gregorkafka/gregor

go 1.24

require github.com/xdg-go/scram v1.4.0

require (
	github.com/xdg-go/stringprep v1.0.4 // indirect
	golang.org/x/text v0.3.8 // indirect
)
