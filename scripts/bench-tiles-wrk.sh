#!/usr/bin/env bash
# Uncached or cached tile throughput with wrk (a C load generator takes less of the
# cores it shares with the server and the database than tilebench's Go client), per
# zoom and layer over tilebench's fixed, seeded tile sample:
#
#   TOKEN=ogt_… scripts/bench-tiles-wrk.sh http://127.0.0.1:8080 [connections] [duration] [minzoom] [maxzoom]
#
# TOKEN is an API token (`onegrid users token`): tiles are measured as its
# user's scope sees them, over that scope's bounds. Prints zoom, layer, tiles/s,
# p50 and p99 (ms). Needs wrk (Debian package) and builds cmd/tilebench for the
# tile list; sizes per tile: tilebench itself.
set -euo pipefail
url=${1:?tile server base URL}
conns=${2:-2}
dur=${3:-3s}
minz=${4:-8}
maxz=${5:-16}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/tilebench" ./cmd/tilebench
ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.2f", v}'; }
printf "%4s  %-14s %6s %9s %7s %7s\n" zoom layer conns tiles/s "p50 ms" "p99 ms"
for z in $(seq "$minz" "$maxz"); do
	"$tmp/tilebench" -url "$url" -token "${TOKEN:-}" -list -minzoom "$z" -maxzoom "$z" > "$tmp/all.txt"
	for layer in $(cut -d/ -f3 "$tmp/all.txt" | uniq); do
		grep "^/tiles/$layer/" "$tmp/all.txt" > "$tmp/list.txt"
		# Warm up (as tilebench fetches every tile once before measuring).
		TOKEN="${TOKEN:-}" TILES="$tmp/list.txt" wrk -t1 -c1 -d1s -s scripts/tiles.lua "$url" > /dev/null
		out=$(TOKEN="${TOKEN:-}" TILES="$tmp/list.txt" wrk -t"$(( conns < 2 ? 1 : 2 ))" -c"$conns" -d"$dur" --latency -s scripts/tiles.lua "$url")
		rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
		p50=$(awk '$1 == "50%" {print $2}' <<<"$out" | ms)
		p99=$(awk '$1 == "99%" {print $2}' <<<"$out" | ms)
		printf "%4d  %-14s %6d %9s %7s %7s\n" "$z" "$layer" "$conns" "$rps" "$p50" "$p99"
	done
done
