#!/usr/bin/env bash
# What row-level security costs one locate inside PostgreSQL, apart from Go and
# pgx: pgbench runs query/sql/locate.sql at one point as a prepared statement,
# pipelined behind the statement package scope sends first, as
#   owner     the owner (no row-level security), behind SELECT 1
#   city      the application role with a whole-city identity (onegrid_app_city)
#   district  the application role with the point's district (onegrid_app_wide)
#   outside   the same with another district, which the point lies outside
#   initplans the identity statement and then a one-row read with and without
#             eight InitPlans of the policies' identity functions
# interleaved for ROUNDS rounds of SECONDS each; prints mean latency (ms).
#
#   OWNER_URL='host=… user=onegrid dbname=onegrid' APP_URL='host=… user=onegrid_serve dbname=onegrid' \
#     scripts/bench-rls-pgbench.sh [ROUNDS] [SECONDS]
#
# The point is the busiest district's first building address; the identity
# string is the one scope.Scope writes (schema/0791). Needs pgbench (postgresql-client).
set -euo pipefail
rounds=${1:-2}
secs=${2:-15}
: "${OWNER_URL:?owner connection string}" "${APP_URL:?application role connection string}"
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
q() { psql -X -At -d "$OWNER_URL" -c "$1"; }
read -r district other < <(q "SELECT string_agg(d, ' ') FROM (SELECT left(admin_code, 6) d FROM household GROUP BY 1 ORDER BY count(*) DESC LIMIT 2) t")
read -r lon lat x y < <(q "SELECT ST_X(geom) + 0.0003, ST_Y(geom) + 0.0002, ST_X(geom_3857), ST_Y(geom_3857) FROM address
	WHERE level = 'building' AND left(admin_code, 6) = '$district' ORDER BY id LIMIT 1" | tr '|' ' ')
mr=$(awk -v lat="$lat" 'BEGIN { printf "%.6f", 100 * 1.01 / cos(lat * 3.141592653589793 / 180) }')
locate=$(grep -v '^--' query/sql/locate.sql | tr '\n' ' ' | sed -e 's/\$3::timestamptz/NULL::timestamptz/g' \
	-e 's/\$1/:lon/g; s/\$2/:lat/g; s/\$4/100/g; s/\$5/:x/g; s/\$6/:y/g; s/\$7/:mr/g')
vars=$(printf '\\set lon %s\n\\set lat %s\n\\set x %s\n\\set y %s\n\\set mr %s' "$lon" "$lat" "$x" "$y" "$mr")
id() { echo "SELECT set_config('role', '$1', true), set_config('onegrid.id', '1|,rows,households,aggregates,|,$2,|=$2|t||bench', true);"; }
script() { printf '%s\n\\startpipeline\n%s\n%s;\n\\endpipeline\n' "$vars" "$2" "$3" > "$tmp/$1.sql"; }
script owner "SELECT 1;" "$locate"
script city "$(id onegrid_app_city '')" "$locate"
script district "$(id onegrid_app_wide "$district")" "$locate"
script outside "$(id onegrid_app_wide "$other")" "$locate"
one="SELECT code FROM admin_area WHERE code = '${district}000000'"
script initplans0 "$(id onegrid_app_wide "$district")" "$one"
eight=""
for f in "app_scope()" "app_scope_end()" "app_exact()" "app_can('rows')" "app_scope() || 'a'" "app_scope_end() || 'a'" "app_exact() OR true" "app_can('aggregates')"; do
	eight="$eight AND (SELECT $f) IS NOT NULL"
done
script initplans8 "$(id onegrid_app_wide "$district")" "$one$eight"
echo "point ($lon, $lat) in district $district; outside: $other"
for r in $(seq "$rounds"); do
	for s in owner city district outside initplans0 initplans8; do
		url=$APP_URL
		[ "$s" = owner ] && url=$OWNER_URL
		printf 'round %s  %-11s %s ms\n' "$r" "$s" "$(pgbench -n -M prepared -T "$secs" -c 1 -f "$tmp/$s.sql" "$url" 2>&1 | awk '/latency average/ {print $4}')"
	done
done
