#!/usr/bin/env bash
# Benchmark of `onegrid gen --keep` bringing a generated city up to date. It
# builds onegrid, starts a private embedded cluster, generates a city whose
# events end 2026-11-01, then catches it up by a day, a week, a month and a
# year in turn (the clock set with --now; BENCH_NOWS lists other ends), printing each run's summary and
# wall time and the load average: on a shared machine compare runs taken at a
# low load.
#
#   scripts/bench-catchup.sh [households]        default 100000
#
# Environment: BENCH_DIR (default /tmp/catchup-db), BENCH_PORT (default 55012),
# BENCH_LOG_LEVEL=debug logs each step's seconds, BENCH_KEEP=1 leaves the
# cluster running and its directory in place.
set -euo pipefail
unset DATABASE_URL # the benchmark always uses its own cluster
cd "$(dirname "$0")/.."
households=${1:-100000}
dir=${BENCH_DIR:-/tmp/catchup-db}
port=${BENCH_PORT:-55012}
bin=$(mktemp -d)/onegrid
go build -o "$bin" ./cmd/onegrid
og() { "$bin" --data-dir "$dir" --db-port "$port" --db-listen '' --log-level "${BENCH_LOG_LEVEL:-warn}" "$@"; }
og db start >/dev/null
out=$(mktemp -d)
cleanup() {
	if [[ ${BENCH_KEEP:-} != 1 ]]; then
		og db stop >/dev/null || true
		rm -rf "$dir"
	fi
	rm -rf "$(dirname "$bin")" "$out"
}
trap cleanup EXIT
admin="host=$dir/pgdata port=$port user=onegrid dbname=postgres"
url="host=$dir/pgdata port=$port user=onegrid dbname=catchupbench"
psql -X -q "$admin" -c 'DROP DATABASE IF EXISTS catchupbench' -c 'CREATE DATABASE catchupbench'
DATABASE_URL=$url og gen --households "$households" --end 2026-11-01 --out "$out" | head -1
for now in ${BENCH_NOWS:-2026-11-02 2026-11-09 2026-12-09 2027-12-09}; do
	echo "catch up to $now; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	start=$(date +%s.%N)
	DATABASE_URL=$url og --now "$now" gen --keep --out "$out"
	echo "wall $(awk "BEGIN { printf \"%.2f\", $(date +%s.%N) - $start }") s; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
done
