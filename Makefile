# The documented entry points: `make demo` and `make test` (both run `make setup`).
SHELL := /bin/bash
GO ?= go
BIN := bin/onegrid
DEMO_HOUSEHOLDS ?= 100000
DEMO_ADDR ?= localhost:8080

.PHONY: setup web build demo test vet bench fuzz clean

setup:
	@scripts/setup.sh

# The command-centre page: npm ci only when package-lock.json changed (a stamp in
# node_modules records the last install), then the esbuild bundle into web/dist,
# which the Go build embeds.
web/node_modules/.ci-stamp: web/package-lock.json web/package.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

web: setup web/node_modules/.ci-stamp
	cd web && npm run build

build: setup web
	$(GO) build -o $(BIN) ./cmd/onegrid

demo: build
	$(BIN) migrate
	$(BIN) gen --households $(DEMO_HOUSEHOLDS) --keep --out bin
	$(BIN) --addr $(DEMO_ADDR) serve

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }

test: setup web vet
	$(GO) test -count=1 -timeout 20m ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
