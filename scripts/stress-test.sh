#!/usr/bin/env bash
# Runs the whole test suite N times in a row while busy loops occupy every core,
# to catch tests whose outcome depends on how fast the machine is.
#
#   scripts/stress-test.sh [RUNS] [LOOPS]
#     RUNS   how many `npm test` runs (default 3)
#     LOOPS  busy loops to start (default: one per core, from nproc)
#
# Each run's output goes to stress-logs/run-N.log; the script prints PASS/FAIL
# and the time per run, the failing tests of a failed run, and exits 1 if any
# run failed. The busy loops are stopped however the script ends (Ctrl-C too).
set -u

runs=${1:-3}
loops=${2:-$(nproc)}
here=$(cd "$(dirname "$0")/.." && pwd)
logs="$here/stress-logs"
mkdir -p "$logs"

pids=()
stop_loops() {
  # Only the loops this script started, by their PIDs.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  pids=()
}
trap stop_loops EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 "$loops"); do
  ( while :; do :; done ) &
  pids+=("$!")
done
echo "stress: $loops busy loop(s) started (PIDs ${pids[*]}), $runs run(s) of npm test in $here"
echo "stress: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

failed=0
cd "$here" || exit 1
for run in $(seq 1 "$runs"); do
  log="$logs/run-$run.log"
  start=$(date +%s)
  if npm test >"$log" 2>&1; then status=PASS; else status=FAIL; failed=$((failed + 1)); fi
  secs=$(( $(date +%s) - start ))
  summary=$(grep -E '^# (tests|pass|fail) ' "$log" | tr '\n' ' ')
  echo "run $run: $status in ${secs} s; $summary(load $(cut -d' ' -f1 /proc/loadavg)) -> $log"
  if [ "$status" = FAIL ]; then
    # The names of the failing tests (node:test TAP), innermost first.
    grep -E '^\s*not ok ' "$log" | sed 's/^/    /' | head -20
  fi
done

echo "stress: $((runs - failed)) of $runs run(s) passed"
[ "$failed" -eq 0 ]
