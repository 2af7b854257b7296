#!/usr/bin/env bash
# Soak test of a lab (the seed lab unless --topology): N times from scratch, `up --verify` then
# `down`, optionally with a CPU hog on every core for the whole run. Prints one line per run (time,
# tallies, OSPF adjacencies that dropped from Full while the lab was up) and closes with
# "N passed, N failed".
#
# Usage: scripts/soak.sh N [--engine auto|docker|sandbox] [--load] [--timers P] [--topology FILE]
#   --load      one `yes >/dev/null` per core (nproc) from the first run to the last, ended by pid
#   --timers    run a copy of the lab with this ospf-timers profile (auto|fast|steady|article)
#   --topology  the lab to soak (default topologies/ecmp-lvs-dr.yml)
set -uo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '7,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] && [[ $1 =~ ^[1-9][0-9]*$ ]] || usage
runs=$1
shift
engine=auto
load=false
timers=''
topology=topologies/ecmp-lvs-dr.yml
while [ $# -gt 0 ]; do
  case $1 in
    --engine) engine=${2:?}; shift 2 ;;
    --load) load=true; shift ;;
    --timers) timers=${2:?}; shift 2 ;;
    --topology) topology=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done

# lblab runs in the background and the script waits for it: bash runs a trap only between
# commands, so a foreground node would keep a Ctrl-C on the script waiting until its run ended.
child=''
lblab() {
  node bin/run.js "$@" &
  child=$!
  wait "$child"
  local status=$?
  child=''
  return "$status"
}
# A signal ends the soak now: the running lblab gets SIGTERM (it rolls back its lab), then cleanup.
on_signal() {
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null
    wait "$child" 2>/dev/null
    child=''
  fi
  exit 130
}
[ -f "$topology" ] || { echo "soak: no such topology: $topology" >&2; exit 2; }
workdir=$(mktemp -d)
hogs=()
cleanup() {
  for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null; done
  lblab down "$topology" --engine "$engine" >/dev/null 2>&1
  rm -rf "$workdir"
}
trap cleanup EXIT
trap on_signal INT TERM

if [ -n "$timers" ]; then
  copy="$workdir/$(basename "$topology" .yml)-$timers.yml"
  sed "s/^    ospf-timers: auto$/    ospf-timers: $timers/" "$topology" >"$copy"
  grep -q "ospf-timers: $timers" "$copy" || { echo "soak: cannot set ospf-timers in $topology" >&2; exit 2; }
  topology=$copy
fi

if $load; then
  for _ in $(seq 1 "$(nproc)"); do
    yes >/dev/null &
    hogs+=($!)
  done
  echo "load: ${#hogs[@]} CPU hog(s) (pids ${hogs[*]}) for the whole soak"
fi

# The nodes that run FRR, whose logs say when an adjacency fell from Full.
frr_nodes=$(node bin/run.js plan "$topology" --engine "$engine" --json 2>/dev/null | node -e '
  const plan = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
  const nodes = (plan.plan ?? plan).nodes ?? [];
  console.log(nodes.filter((n) => n.files.some((f) => f.path === "/etc/frr/frr.conf")).map((n) => n.name).join(" "));
' 2>/dev/null)

echo "soak: $runs run(s) of $topology on --engine $engine"
passed=0
failed=0
soak_started=$SECONDS
for run in $(seq 1 "$runs"); do
  started=$SECONDS
  lblab up "$topology" --verify --json --engine "$engine" >"$workdir/up.json" 2>"$workdir/up.err"
  status=$?
  # Adjacencies that fell from Full while the lab was up (FRR logs each change with "from Full to").
  flaps=0
  for node in $frr_nodes; do
    count=$(lblab exec "$topology" "$node" --engine "$engine" -- \
      sh -c 'grep -c "from Full to" /var/log/frr/frr.log || true' 2>/dev/null | tail -n 1)
    flaps=$((flaps + ${count:-0}))
  done
  summary=$(node -e '
    const fs = require("node:fs");
    try {
      const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
      if (r.error) throw new Error(r.error.message);
      const tallies = r.verify.steps.filter((s) => s.tally !== undefined).map((s) => s.summary).join(" | ");
      const t = r.timings;
      console.log(`${r.engine}, up ${(t.totalMs / 1000).toFixed(1)} s, verify ${(r.verify.durationMs / 1000).toFixed(1)} s, ` +
        `${r.verify.counts.passed}/${r.verify.counts.steps} steps: ${tallies}`);
    } catch (e) { console.log(`no report: ${String(e.message).split("\n")[0].slice(0, 300)}`); }' "$workdir/up.json")
  lblab down "$topology" --engine "$engine" >/dev/null 2>&1
  if [ "$status" -eq 0 ]; then
    passed=$((passed + 1))
    verdict=PASS
  else
    failed=$((failed + 1))
    verdict=FAIL
  fi
  echo "run $run: $verdict (exit $status) in $((SECONDS - started)) s, $flaps adjacency drop(s): $summary"
  if [ "$status" -ne 0 ]; then tail -n 5 "$workdir/up.err" | sed 's/^/    /'; fi
done
echo "soak: $runs run(s) in $((SECONDS - soak_started)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
