module github.com/gregorkafka/gregor

go 1.24
