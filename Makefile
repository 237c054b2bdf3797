# The documented entry points: `make demo` and `make test` (both run `make setup`).
SHELL := /bin/bash
GO ?= go
BIN := bin/onegrid
DEMO_HOUSEHOLDS ?= 100000
DEMO_ADDR ?= localhost:8080

.PHONY: setup build demo test vet bench bench-ingest fuzz clean

setup:
	@scripts/setup.sh

build: setup
	$(GO) build -o $(BIN) ./cmd/onegrid

demo: build
	$(BIN) migrate
	$(BIN) gen --households $(DEMO_HOUSEHOLDS) --keep --out bin
	$(BIN) --addr $(DEMO_ADDR) serve

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }

test: setup vet
	$(GO) test -count=1 -timeout 20m ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Needs BENCH_PG (libpq keywords without dbname), e.g. host=/tmp/db/pgdata port=55002 user=onegrid.
bench-ingest:
	scripts/bench-ingest.sh $(BENCH_POINTS) $(BENCH_HOUSEHOLDS)

clean:
	rm -rf bin
