#!/usr/bin/env bash
# Installs what onegrid needs and the machine lacks, with apt on Debian/Ubuntu.
# Idempotent: does nothing (and needs no network) when everything is present.
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# The database server, PostGIS and contrib (pg_trgm, btree_gist).
for p in postgresql-15 postgresql-contrib postgresql-15-postgis-3; do
  have_pkg "$p" || need+=("$p")
done
# GDAL's ogrinfo/ogr2ogr (OGC API and loader comparisons), Chromium for the
# browser tests (with a CJK font so its screenshots show Chinese, not boxes), wrk
# for load benchmarks.
for p in gdal-bin chromium fonts-wqy-microhei wrk; do
  have_pkg "$p" || need+=("$p")
done
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
command -v go >/dev/null 2>&1 || { echo "setup: Go is missing: install Go 1.26 from go.dev/dl (the module needs it)" >&2; exit 1; }
command -v gcc >/dev/null 2>&1 || need+=(gcc)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: missing ${need[*]} and no apt-get here: install them with your package manager" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup: missing ${need[*]}: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts a default cluster on install; onegrid runs its own, so leave the
# system one alone but make sure it does not hold our ports (it uses 5432).
