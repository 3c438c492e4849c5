#!/usr/bin/env bash
# Per injected bug, N real-thread failures of the bank workload (explore
# --scheduler stress): how many became a schedule that replays 10 of 10
# times with the same history fingerprint (guided: the real execution
# itself; exact: event for event), how many needed the search near the
# recorded order, how many were not reproduced, and the first reason given.
#   cargo build -p stm-check --features bug-injection --release
#   stm-check/scripts/guided-table.sh [N] [path/to/stm-check]
# BUGS="bug ..." limits the rows, ITERATIONS (100,000) bounds each search. On 2 cores a release build never hit
# unlock-before-write-back in 100,000 executions; a debug build does.
set -euo pipefail
n=${1:-20}
bin=${2:-target/release/stm-check}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '%-28s %9s %7s %6s %7s %12s  %s\n' bug failures guided exact search unreproduced "why (first)"
for bug in ${BUGS:-skip-read-validation unlock-before-write-back read-without-version-check lose-retry-wakeup}; do
  for i in $(seq 1 "$n"); do
    "$bin" explore --workload bank --scheduler stress --iterations "${ITERATIONS:-100000}" \
      --inject-bug "$bug" --regressions "$dir/$bug-$i" --json 2>/dev/null || true
  done | python3 -c '
import json, sys
bug, text = sys.argv[1], sys.stdin.read()
dec, pos, rows = json.JSONDecoder(), 0, []
while pos < len(text):
    while pos < len(text) and text[pos].isspace(): pos += 1
    if pos >= len(text): break
    obj, pos = dec.raw_decode(text, pos); rows.append(obj)
fails = [r["failure"] for r in rows if r.get("failure")]
der = [f.get("derivation") or {} for f in fails]
guided = sum(d.get("reproduced") == "guided" for d in der)
exact = sum(d.get("reproduced") == "guided" and d.get("exact") for d in der)
search = sum(d.get("reproduced") == "search" for d in der)
none = [d for d in der if not d.get("reproduced")]
why = (none[0].get("guided_difference") or "") if none else ""
print(f"{bug:<28} {len(fails):>9} {guided:>7} {exact:>6} {search:>7} {len(none):>12}  {why[:160]}")
' "$bug"
done
