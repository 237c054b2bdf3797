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
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# CPU seconds the database server has used so far: the postmaster and its live
# children, plus what its exited children used (cutime, cstime). The machine is
# shared, so wall times move with the load; CPU seconds mostly do not. Empty
# when the server's data directory cannot be read from here.
PGDATA_DIR=$(psql "$PG dbname=postgres" -tAX -c "SHOW data_directory" 2>/dev/null || true)
server_cpu() {
    python3 - "$PGDATA_DIR" <<'PY'
import os, sys
try:
    pm = int(open(os.path.join(sys.argv[1], "postmaster.pid")).readline())
except Exception:
    print(""); sys.exit()
hz = os.sysconf("SC_CLK_TCK")
def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()
total = 0
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        st = stat(pid)
    except OSError:
        continue
    # st[1] is ppid; utime, stime, cutime, cstime are st[11:15]
    if int(pid) == pm:
        total += sum(int(x) for x in st[11:15])
    elif int(st[1]) == pm:
        total += int(st[11]) + int(st[12])
print(f"{total / hz:.2f}")
PY
}
# run_timed OUT CMD...: runs CMD, writing "wall client_cpu server_cpu load_before load_after" to OUT.
run_timed() {
    local out=$1; shift
    local l0 s0 t0 t1 s1
    l0=$(loadavg); s0=$(server_cpu); t0=$(date +%s.%N)
    /usr/bin/time -f "%U %S" -o "$out.time" "$@"
    t1=$(date +%s.%N); s1=$(server_cpu)
    python3 - "$t0" "$t1" "$s0" "$s1" "$(cat "$out.time")" "$l0" "$(loadavg)" >"$out" <<'PY'
import sys
t0, t1, s0, s1, cl, l0, l1 = sys.argv[1:8]
client = sum(float(x) for x in cl.split())
server = f"{float(s1) - float(s0):.2f}" if s0 and s1 else "?"
print(f"{float(t1) - float(t0):.2f} {client:.2f} {server} {l0.replace(' ', '/')} {l1.replace(' ', '/')}")
PY
}

EV="$DIR/events-$N.geojson"
[ -s "$EV" ] || "$DIR/ingestgen" -kind events -n "$N" -o "$EV"
echo "points: $N in $EV ($(du -h "$EV" | cut -f1)); machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

fresh_db
run_timed "$DIR/og.run" sh -c '"$0" --log-level debug ingest --dataset bench events "$1" 2>"$2" | tee "$3"' \
    "$DIR/onegrid" "$EV" "$DIR/onegrid.log" "$DIR/onegrid.out"
copy=$(grep -o 'step=copy took=[0-9.a-zµ]*' "$DIR/onegrid.log" | sed 's/.*took=//')
# Per-phase times of the load (debug log): streaming, checks, insert, index and
# key rebuilds, roll-ups (bulk mode), rejects.
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

# GDAL twice: as usually run (a logged table with a GiST index), and as a raw
# loader like onegrid's streaming phase (read, parse, COPY into a table without
# WAL or index: UNLOGGED, as onegrid's temporary staging table).
run_timed "$DIR/gdal.run" ogr2ogr -f PostgreSQL PG:"$DATABASE_URL" "$EV" -nln ogr_events -lco GEOMETRY_NAME=geom -overwrite --config PG_USE_COPY YES -gt 65536
run_timed "$DIR/gdalraw.run" ogr2ogr -f PostgreSQL PG:"$DATABASE_URL" "$EV" -nln ogr_events_raw -lco GEOMETRY_NAME=geom \
    -lco SPATIAL_INDEX=NONE -lco UNLOGGED=ON -overwrite --config PG_USE_COPY YES -gt 65536
n_og=$(psql "$DATABASE_URL" -tAX -c "SELECT count(*) FROM event")
n_gd=$(psql "$DATABASE_URL" -tAX -c "SELECT count(*) FROM ogr_events")
n_gr=$(psql "$DATABASE_URL" -tAX -c "SELECT count(*) FROM ogr_events_raw")

python3 - "$N" "$(cat "$DIR/og.run")" "$(cat "$DIR/gdal.run")" "$n_og" "$n_gd" "$copy" "$(cat "$DIR/gdalraw.run")" "$n_gr" <<'PY'
import sys, re
n, og, gd, nog, ngd, copy, gr, ngr = int(sys.argv[1]), sys.argv[2].split(), sys.argv[3].split(), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7].split(), sys.argv[8]
m = re.match(r'([0-9.]+)(ms|s|m)', copy)
c = float(m.group(1)) * {'ms': 0.001, 's': 1, 'm': 60}[m.group(2)] if m else 0
def line(name, r, rows):
    wall = float(r[0])
    print(f"{name}: {wall:.2f} s, {n/wall:,.0f} rows/s ({rows}); CPU: client {r[1]} s, server {r[2]} s; load average {r[3]} -> {r[4]}")
line("onegrid ingest (stream + checks + link + insert + index rebuild + roll-ups)", og, f"{nog} rows in event")
if c:
    print(f"onegrid ingest, streaming phase (read + parse + validate + H3 + COPY to staging): {c:.2f} s, {n/c:,.0f} rows/s")
line("ogr2ogr -f PostgreSQL (PG_USE_COPY=YES)", gd, f"{ngd} rows in ogr_events")
line("ogr2ogr raw (PG_USE_COPY=YES, SPATIAL_INDEX=NONE, UNLOGGED=ON)", gr, f"{ngr} rows in ogr_events_raw")
if c:
    print(f"raw loaders (onegrid streaming phase vs ogr2ogr raw): {float(gr[0])/c:.2f}x rows/s")
print(f"end to end (onegrid ingest vs ogr2ogr as usually run): {float(gd[0])/float(og[0]):.2f}x wall", end="")
try:
    print(f", {(float(gd[1]) + float(gd[2]))/(float(og[1]) + float(og[2])):.2f}x CPU seconds (client + server)")
except ValueError:
    print()
PY

if [ "$H" -gt 0 ]; then
    HH="$DIR/households-$H.csv"
    [ -s "$HH" ] || "$DIR/ingestgen" -kind households -n "$H" -address-ref a1 -o "$HH"
    echo "households: $H in $HH ($(du -h "$HH" | cut -f1))"
    /usr/bin/time -v "$DIR/onegrid" --log-level warn ingest --dataset hh --address-dataset bench households "$HH" 2>"$DIR/time.log" | tee -a "$DIR/onegrid.out"
    grep -E "Maximum resident|Elapsed" "$DIR/time.log"
fi
