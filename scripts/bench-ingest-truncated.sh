#!/usr/bin/env bash
# Loads the same 1,000,000 event points twice into the event table: once fresh
# (never analysed, as after migrate), once after TRUNCATE + ANALYZE (as
# autovacuum leaves an emptied table), and prints both times and their ratio.
# A plan made for the empty, analysed table must not make the load quadratic.
#
#   BENCH_PG='host=/tmp/trunc-db/pgdata port=55551 user=onegrid' scripts/bench-ingest-truncated.sh [points] [rounds]
#
# BENCH_PG is a libpq keyword string without dbname for a role that may create
# databases; the script uses (drops and re-creates) the database onegrid_bench_trunc.
# Run it alone: flock /tmp/onegrid-bench.lock scripts/bench-ingest-truncated.sh
set -euo pipefail
N=${1:-1000000}
ROUNDS=${2:-1}
PG=${BENCH_PG:?set BENCH_PG, e.g. host=/tmp/trunc-db/pgdata port=55551 user=onegrid}
DIR=${BENCH_DIR:-/tmp/onegrid-bench-trunc}
DB=onegrid_bench_trunc
mkdir -p "$DIR"
cd "$(dirname "$0")/.."
go build -o "$DIR/onegrid" ./cmd/onegrid
go build -o "$DIR/ingestgen" ./cmd/ingestgen
export DATABASE_URL="$PG dbname=$DB"
EV="$DIR/events-$N.geojson"
[ -s "$EV" ] || "$DIR/ingestgen" -kind events -n "$N" -o "$EV"
echo "points: $N in $EV ($(du -h "$EV" | cut -f1)); machine: $(nproc) CPUs"

# load NAME: one timed `onegrid ingest` of the file; prints its wall time and
# the insert step's time.
load() {
    local t0 t1
    t0=$(date +%s.%N)
    "$DIR/onegrid" --log-level debug ingest --dataset bench events "$EV" 2>"$DIR/$1.log" >"$DIR/$1.out"
    t1=$(date +%s.%N)
    local insert
    insert=$(grep -o 'step=insert took=[0-9.a-zµ]*' "$DIR/$1.log" | sed 's/.*took=//')
    python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$t0" "$t1" >"$DIR/$1.wall"
    echo "$1: $(cat "$DIR/$1.wall") s end to end, insert $insert; load average $(cut -d' ' -f1-3 /proc/loadavg); $(cat "$DIR/$1.out")"
}

for r in $(seq 1 "$ROUNDS"); do
    psql "$PG dbname=postgres" -qX -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
    "$DIR/onegrid" --log-level warn migrate
    psql "$DATABASE_URL" -qX -c "INSERT INTO event_category (code, level, name) VALUES ('C01', 1, 'bench')" \
        -c "INSERT INTO address (level, full_text, dataset, dataset_id) VALUES ('building', 'bench address', 'bench', 'a1')"
    load "fresh-$r"
    psql "$DATABASE_URL" -qX -c "TRUNCATE event CASCADE" -c "ANALYZE event" 2>/dev/null
    echo "after TRUNCATE + ANALYZE: event has relpages, reltuples = $(psql "$DATABASE_URL" -tAX -c "SELECT relpages || ', ' || reltuples FROM pg_class WHERE relname = 'event'")"
    load "truncated-$r"
    python3 -c "import sys; f, t = float(sys.argv[1]), float(sys.argv[2]); print(f'round $r: truncated + analysed / fresh = {t:.2f} / {f:.2f} s = {t / f:.2f}x (target <= 1.5x)')" \
        "$(cat "$DIR/fresh-$r.wall")" "$(cat "$DIR/truncated-$r.wall")"
done
