#!/usr/bin/env bash
# Benchmarks `onegrid ingest` against GDAL's ogr2ogr on the same server, side by
# side in one run, and measures the loader's memory on a large households file.
#
#   BENCH_PG='host=/tmp/loaders-db/pgdata port=55002 user=onegrid' scripts/bench-ingest.sh [points] [households]
#
# BENCH_PG is a libpq keyword string without dbname for a role that may create
# databases; the script uses (drops and re-creates) the database onegrid_bench.
# Defaults: 1,000,000 points, 6,000,000 households (0 skips the memory run).
set -euo pipefail
N=${1:-1000000}
H=${2:-6000000}
PG=${BENCH_PG:?set BENCH_PG, e.g. host=/tmp/loaders-db/pgdata port=55002 user=onegrid}
DIR=${BENCH_DIR:-/tmp/onegrid-bench}
DB=onegrid_bench
mkdir -p "$DIR"
cd "$(dirname "$0")/.."
go build -o "$DIR/onegrid" ./cmd/onegrid
go build -o "$DIR/ingestgen" ./cmd/ingestgen
export DATABASE_URL="$PG dbname=$DB"

fresh_db() {
    psql "$PG dbname=postgres" -qX -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
    "$DIR/onegrid" --log-level warn migrate
    psql "$DATABASE_URL" -qX -c "INSERT INTO event_category (code, level, name) VALUES ('C01', 1, 'bench')" \
        -c "INSERT INTO address (level, full_text, dataset, dataset_id) VALUES ('building', 'bench address', 'bench', 'a1')"
}

secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }

EV="$DIR/events-$N.geojson"
[ -s "$EV" ] || "$DIR/ingestgen" -kind events -n "$N" -o "$EV"
echo "points: $N in $EV ($(du -h "$EV" | cut -f1)); machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

fresh_db
t0=$(date +%s.%N)
"$DIR/onegrid" --log-level debug ingest --dataset bench events "$EV" 2>"$DIR/onegrid.log" | tee "$DIR/onegrid.out"
t1=$(date +%s.%N)
og=$(secs "$t0" "$t1")
copy=$(grep -o 'step=copy took=[0-9.a-zµ]*' "$DIR/onegrid.log" | sed 's/.*took=//')
# Per-phase times of the load (debug log): streaming, checks, insert (with its
# triggers), index and foreign-key rebuilds, rejects.
python3 - "$DIR/onegrid.log" <<'PY'
import sys, re
unit = {'ns': 1e-9, 'µs': 1e-6, 'us': 1e-6, 'ms': 1e-3, 's': 1, 'm': 60, 'h': 3600}
def dur(t):
    return sum(float(v) * unit[u] for v, u in re.findall(r'([0-9.]+)(ns|µs|us|ms|h|m(?!s)|s)', t))
phase = {}
for line in open(sys.argv[1]):
    m = re.search(r'step=("[^"]*"|\S+) took=(\S+)', line)
    if m:
        name = m.group(1).strip('"').split(' ')[0]
        phase[name] = phase.get(name, 0) + dur(m.group(2))
print('onegrid phases: ' + ', '.join(f'{k} {v:.1f} s' for k, v in phase.items()))
PY

t0=$(date +%s.%N)
ogr2ogr -f PostgreSQL PG:"$DATABASE_URL" "$EV" -nln ogr_events -lco GEOMETRY_NAME=geom -overwrite --config PG_USE_COPY YES -gt 65536
t1=$(date +%s.%N)
gd=$(secs "$t0" "$t1")
n_og=$(psql "$DATABASE_URL" -tAX -c "SELECT count(*) FROM event")
n_gd=$(psql "$DATABASE_URL" -tAX -c "SELECT count(*) FROM ogr_events")

python3 - "$N" "$og" "$gd" "$n_og" "$n_gd" "$copy" <<'PY'
import sys, re
n, og, gd, nog, ngd, copy = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
m = re.match(r'([0-9.]+)(ms|s|m)', copy)
c = float(m.group(1)) * {'ms': 0.001, 's': 1, 'm': 60}[m.group(2)] if m else 0
print(f"onegrid ingest (stream + checks + link + insert + index rebuild): {og:.2f} s, {n/og:,.0f} rows/s ({nog} rows in event)")
if c:
    print(f"onegrid ingest, streaming phase (read + parse + H3 + COPY to staging): {c:.2f} s, {n/c:,.0f} rows/s")
print(f"ogr2ogr -f PostgreSQL (PG_USE_COPY=YES):                        {gd:.2f} s, {n/gd:,.0f} rows/s ({ngd} rows in ogr_events)")
print(f"speed-up end to end: {gd/og:.2f}x")
PY

if [ "$H" -gt 0 ]; then
    HH="$DIR/households-$H.csv"
    [ -s "$HH" ] || "$DIR/ingestgen" -kind households -n "$H" -address-ref a1 -o "$HH"
    echo "households: $H in $HH ($(du -h "$HH" | cut -f1))"
    /usr/bin/time -v "$DIR/onegrid" --log-level warn ingest --dataset hh --address-dataset bench households "$HH" 2>"$DIR/time.log" | tee -a "$DIR/onegrid.out"
    grep -E "Maximum resident|Elapsed" "$DIR/time.log"
fi
