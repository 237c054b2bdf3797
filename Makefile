# The documented entry points: `make demo` and `make test` (both run `make setup`).
SHELL := /bin/bash
GO ?= go
BIN := bin/onegrid
DEMO_HOUSEHOLDS ?= 100000
DEMO_ADDR ?= localhost:8080
SHARED_DATA ?= ../shared/data

.PHONY: setup web build demo demo-load test vet bench bench-ingest fuzz clean

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
	@$(MAKE) --no-print-directory demo-load
	$(BIN) --addr $(DEMO_ADDR) serve --demo-pulse

# What make demo loads, with $(BIN) built: the generated city from the data in the
# repository (once; later runs bring its events up to now), the optional extras
# from $(SHARED_DATA) where it exists, and the demo users. cmd/onegrid's
# TestBareClone runs it in a copy of the repository with nothing beside it.
demo-load:
	$(BIN) migrate
	$(BIN) gen --households $(DEMO_HOUSEHOLDS) --keep --out bin
	@if [ -d "$(SHARED_DATA)/osm" ]; then \
		$(BIN) --log-level warn ingest --allow-rejects --rejects bin/shatin.rejects.csv --area-code HKST --area-name "沙田 Sha Tin" osm "$(SHARED_DATA)/osm/hongkong-shatin.osm" && \
		$(BIN) --log-level warn ingest --allow-rejects --rejects bin/sf311.rejects.csv --areas "$(SHARED_DATA)/events/sf_tracts_neighborhoods.geojson" \
			open311 "$(SHARED_DATA)/events/sf311_cases_sample.csv"; \
	else echo "demo: $(SHARED_DATA) not found: skipping the Sha Tin and San Francisco areas"; fi
	$(BIN) users demo

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }

test: setup web vet
	$(GO) test -count=1 -timeout 20m ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Needs BENCH_PG (libpq keywords without dbname), e.g. host=/tmp/db/pgdata port=55002 user=onegrid.
bench-ingest:
	scripts/bench-ingest.sh $(BENCH_POINTS) $(BENCH_HOUSEHOLDS)

clean:
	rm -rf bin
