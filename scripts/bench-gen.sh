#!/usr/bin/env bash
# End-to-end load benchmark for `onegrid gen` (issue 3: a 1,000,000-household
# city in under 60 s on 2 cores). It builds onegrid, starts a private embedded
# cluster (so the cluster's own postgresql.conf settings are what is measured),
# and for each run creates a fresh database, migrates it and generates the city.
# Every run prints the phases with wall, onegrid CPU and server-backend CPU
# seconds, and the load average before and after: on a shared machine compare
# CPU seconds, and wall figures only from runs with a low load average.
#
#   scripts/bench-gen.sh [households] [runs]        default 1000000 1
#
# The city's events end at BENCH_END (default 2026-11-01, the date the query and
# tile benchmarks' windows assume), not at the clock's reading, so the city is
# the same on any day.
#
# Environment: BENCH_DIR (default /tmp/genperf-db), BENCH_PORT (default 55011),
# BENCH_LOG_LEVEL=debug logs every index, constraint and ANALYZE with its
# wall and backend CPU seconds, BENCH_KEEP=1 leaves the cluster running and its directory in place.
set -euo pipefail
unset DATABASE_URL # the benchmark always uses its own cluster
cd "$(dirname "$0")/.."
households=${1:-1000000}
runs=${2:-1}
dir=${BENCH_DIR:-/tmp/genperf-db}
port=${BENCH_PORT:-55011}
bin=$(mktemp -d)/onegrid
go build -o "$bin" ./cmd/onegrid
og() { "$bin" --data-dir "$dir" --db-port "$port" --db-listen '' "$@"; }
og db start >/dev/null
cleanup() {
	if [[ ${BENCH_KEEP:-} != 1 ]]; then
		og db stop >/dev/null || true
		rm -rf "$dir"
	fi
	rm -rf "$(dirname "$bin")"
}
trap cleanup EXIT
admin="host=$dir/pgdata port=$port user=onegrid dbname=postgres"
url="host=$dir/pgdata port=$port user=onegrid dbname=genbench"
out=$(mktemp -d)
for i in $(seq "$runs"); do
	psql -X -q "$admin" -c 'DROP DATABASE IF EXISTS genbench' -c 'CREATE DATABASE genbench'
	DATABASE_URL=$url og migrate 2>/dev/null
	psql -X -q "$admin" -c CHECKPOINT
	echo "wal_level: $(psql -X -At "$admin" -c "SHOW wal_level")"
	echo "run $i: $households households; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	DATABASE_URL=$url "$bin" --data-dir "$dir" --db-port "$port" --log-level "${BENCH_LOG_LEVEL:-info}" gen --households "$households" --end "${BENCH_END:-2026-11-01}" --out "$out"
	echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
done
rm -rf "$out"
