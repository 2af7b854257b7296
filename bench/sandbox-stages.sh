#!/usr/bin/env bash
# How long the seed lab takes on the sandbox engine, from three starting points, stage by stage:
#   hot   the guest is running:            up --verify, then down
#   warm  the guest is stopped (built):    up --verify boots it first, then down
#   cold  (--cold) nothing built but the host packages: the node image, the guest root and its
#         Docker disk are removed first, so up builds and loads everything (several minutes)
# Usage: bench/sandbox-stages.sh [--runs N] [--cold]
# Prints each run's stages (from `up --timings --json`) and the median of every column per mode.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=3
cold=false
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=${2:?}; shift 2 ;;
    --cold) cold=true; shift ;;
    *) sed -n '2,8p' "$0" >&2; exit 2 ;;
  esac
done
lblab() { node bin/run.js "$@"; }
topology=topologies/ecmp-lvs-dr.yml
results=$(mktemp)
trap 'rm -f "$results"' EXIT

# One measured `up --verify` (+ down): prints "mode wall images preflight networks containers configure converge verify".
measure() {
  local mode=$1 started json
  started=$EPOCHREALTIME
  json=$(lblab up "$topology" --verify --engine sandbox --json 2>/dev/null)
  local status=$?
  local wall
  wall=$(node -e 'console.log(process.argv[2] - process.argv[1])' "$started" "$EPOCHREALTIME")
  lblab down "$topology" --engine sandbox >/dev/null 2>&1
  node -e '
    const [mode, wall, status, text] = process.argv.slice(1);
    let r; try { r = JSON.parse(text); } catch { r = { error: { message: "no JSON" } }; }
    if (r.error || status !== "0") { console.error(`${mode}: FAILED (exit ${status}): ${r.error?.message ?? "verify failed"}`); process.exit(1); }
    const t = r.timings, s = (ms) => (ms / 1000).toFixed(1);
    console.log([mode, Number(wall).toFixed(1), s(t.imagesMs), s(t.preflightMs), s(t.networksMs), s(t.containersMs),
      s(t.configureMs), s(t.convergeMs), s(r.verify.durationMs)].join(" "));
  ' "$mode" "$wall" "$status" "$json"
}

header="mode wall images preflight networks containers configure converge verify"
echo "$header (seconds; wall = the whole up --verify process, boot and builds included)"
for run in $(seq 1 "$runs"); do
  lblab engine start >/dev/null 2>&1
  measure hot | tee -a "$results"
  lblab engine stop >/dev/null 2>&1
  measure warm | tee -a "$results"
done
if $cold; then
  lblab engine stop >/dev/null 2>&1
  rm -rf "${LBLAB_STATE_DIR:-/var/lib/lblab}/sandbox"
  docker image ls --format '{{.Repository}}:{{.Tag}}' | grep '^lblab/' | xargs -r docker image rm -f >/dev/null
  measure cold | tee -a "$results"
fi
echo
echo "median over the runs:"
echo "$header"
for mode in hot warm cold; do
  grep "^$mode " "$results" | node -e '
    const rows = require("node:fs").readFileSync(0, "utf8").trim().split("\n").filter(Boolean).map((l) => l.split(" "));
    if (rows.length === 0) process.exit(0);
    const median = (xs) => { const s = [...xs].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
    const cols = rows[0].slice(1).map((_, i) => median(rows.map((r) => Number(r[i + 1]))).toFixed(1));
    console.log([rows[0][0], ...cols].join(" "), `(${rows.length} run(s))`);'
done
