# The README's test command is `make test`; .ci/run runs exactly that.
# `make deps` installs what the tests need beyond Go, Java and Maven:
# kcat (apt), staticcheck (go install) and the Kafka jars (Maven, cached).

STATICCHECK_VERSION := v0.8.2
GOBIN_DIR := $(shell go env GOPATH)/bin
STATICCHECK := $(GOBIN_DIR)/staticcheck
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test deps

deps:
	@echo "==> deps: kcat"
	@if command -v kcat >/dev/null 2>&1; then \
		echo "kcat present: $$(command -v kcat)"; \
	else \
		echo "kcat missing: apt-get update && apt-get install -y kcat"; \
		$(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends kcat; \
	fi
	@echo "==> deps: staticcheck $(STATICCHECK_VERSION)"
	@if [ -x "$(STATICCHECK)" ] && "$(STATICCHECK)" -version | grep -q "($(STATICCHECK_VERSION:v%=%))"; then \
		echo "staticcheck present: $$("$(STATICCHECK)" -version)"; \
	else \
		echo "go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)"; \
		go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION); \
	fi
	@echo "==> deps: Kafka jars (go run ./integration/cmd/kafka-install)"
	go run ./integration/cmd/kafka-install

test: deps
	@echo "==> gofmt -l ."
	@files="$$(gofmt -l .)"; if [ -n "$$files" ]; then echo "not gofmt-ed:"; echo "$$files"; exit 1; fi
	@echo "==> go vet ./..."
	go vet ./...
	@echo "==> staticcheck ./..."
	"$(STATICCHECK)" ./...
	@echo "==> go test -race ./... (the real-broker harness first, verbose)"
	go test -race -count=1 -timeout 15m -v ./integration/...
	go test -race -timeout 20m $$(go list ./... | grep -v '/integration')
