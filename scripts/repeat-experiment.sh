#!/usr/bin/env bash
# Runs the article's experiment N times in a row from scratch (up --verify, then down) and prints one
# line per run plus a summary, so "it passes run after run" is something you can check.
# Usage: scripts/repeat-experiment.sh [RUNS] [extra lblab up flags, e.g. --engine docker]
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
shift || true
topology=topologies/ecmp-lvs-dr.yml
passed=0
for run in $(seq 1 "$runs"); do
  started=$SECONDS
  report=$(./bin/run.js up "$topology" --verify --json "$@" 2>/dev/null)
  status=$?
  summary=$(printf '%s' "$report" | node -e '
    let text = ""; process.stdin.on("data", (c) => (text += c)).on("end", () => {
      try {
        const r = JSON.parse(text);
        const tallies = r.verify.steps.filter((s) => s.type === "http-tally").map((s) => s.summary).join(" | ");
        console.log(`${r.engine}/${Object.values(r.dataPlanes)[0]} ${r.verify.counts.passed}/${r.verify.counts.steps} steps passed: ${tallies}`);
      } catch { console.log("no report: " + text.slice(0, 200)); }
    });')
  ./bin/run.js down "$topology" "$@" >/dev/null 2>&1
  [ "$status" -eq 0 ] && passed=$((passed + 1))
  echo "run $run: exit $status in $((SECONDS - started)) s: $summary"
done
echo "$passed of $runs runs passed"
[ "$passed" -eq "$runs" ]
