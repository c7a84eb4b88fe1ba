# The README's test command is `make test`; .ci/run runs exactly that.
# `make deps` installs what the tests need beyond Go, Java and Maven:
# kcat (apt), staticcheck (go install) and the Kafka jars (Maven, cached).
# `make containers-up` prepares the container tests (integration/container/engine.sh):
# podman + runc (apt), a Docker-compatible API socket, and the local image
# localhost/gregor-kafka:4.1.1 (rebuilt only when its inputs change);
# `make containers-down` stops the API service. `make test` does both around the tests.

STATICCHECK_VERSION := v0.8.2
GOBIN_DIR := $(shell go env GOPATH)/bin
STATICCHECK := $(GOBIN_DIR)/staticcheck
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

ENGINE := integration/container/engine.sh
# The environment the container tests need (DOCKER_HOST, TESTCONTAINERS_*, GREGOR_KAFKA_IMAGE).
CONTAINER_ENV := $(shell $(ENGINE) env)

.PHONY: test deps containers-up containers-down

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

containers-up:
	@echo "==> containers: podman, runc, API service and Kafka image ($(ENGINE) up)"
	@if [ "$$CI" = true ]; then $(ENGINE) up; \
	else $(ENGINE) up || echo "containers-up FAILED: the container tests will be SKIPPED (CI=true makes this fatal)"; fi

containers-down:
	@echo "==> containers: stop the API service ($(ENGINE) down)"
	@$(ENGINE) down

test: deps containers-up
	@echo "==> gofmt -l ."
	@files="$$(gofmt -l .)"; if [ -n "$$files" ]; then echo "not gofmt-ed:"; echo "$$files"; exit 1; fi
	@echo "==> go vet ./..."
	go vet ./...
	@echo "==> staticcheck ./..."
	"$(STATICCHECK)" ./...
	@echo "==> go test -race ./... (the real-broker harness first, verbose; container tests with: $(CONTAINER_ENV))"
	@rc=0; env $(CONTAINER_ENV) go test -race -count=1 -timeout 15m -v ./integration/... || rc=$$?; \
	echo "==> containers: stop the API service ($(ENGINE) down)"; $(ENGINE) down; exit $$rc
	go test -race -timeout 20m $$(go list ./... | grep -v '/integration')
	@echo "==> go test without -race: raw socket I/O, which the race detector turns off (internal/broker, and the producer's and consumer's real-broker tests)"
	go test -count=1 -timeout 10m ./internal/broker
	go test -count=1 -timeout 10m -run 'Real' ./producer ./consumer
