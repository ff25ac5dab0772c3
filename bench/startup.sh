#!/usr/bin/env bash
# Startup cost a pre-commit user feels: wall time of one `python -m kscan FILE` process (text and
# JSON reports), next to a bare interpreter and to `python -c "import yaml, click"` (the floor of
# issue 15), then the 15 imports with the largest cumulative import time, and one fresh
# process split into its stages. A FILE with findings is fine (kscan then exits 1).
# Usage: bench/startup.sh [FILE]   (env: PYTHON=python3, RUNS=10)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
FILE=${1:-examples/hardened-deployment.yaml}
RUNS=${RUNS:-10}

wall() {  # wall() LABEL CMD...: RUNS runs after one warm-up; min / median / max in ms
  local label=$1 t0 t1 i
  shift
  "$@" >/dev/null 2>&1 || true
  local times=()
  for ((i = 0; i < RUNS; i++)); do
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    times+=($(((t1 - t0) / 1000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" -v n="$RUNS" \
    '{ t[NR] = $1 } END { printf "%-50s min %6.1f ms  median %6.1f ms  max %6.1f ms  (%d runs)\n",
       label, t[1] / 1000, t[int((n + 1) / 2)] / 1000, t[n] / 1000, n }'
}

if command -v hyperfine >/dev/null; then
  hyperfine --warmup 2 --runs "$RUNS" --ignore-failure \
    "$PY -c pass" "$PY -c 'import yaml, click'" "$PY -m kscan $FILE" \
    "$PY -m kscan --format json $FILE"
else
  echo "hyperfine not installed: timing $RUNS runs in a loop (date +%s%N)"
  wall "python -c pass" "$PY" -c pass
  wall "python -c 'import yaml, click'" "$PY" -c "import yaml, click"
  wall "python -m kscan $FILE" "$PY" -m kscan "$FILE"
  wall "python -m kscan --format json $FILE" "$PY" -m kscan --format json "$FILE"
fi

echo
echo "-X importtime, top 15 by cumulative time (us): self | cumulative | package"
{ "$PY" -X importtime -m kscan "$FILE" 2>&1 >/dev/null || true; } | sort -t'|' -k2 -n | tail -15

echo
echo "in one fresh process: where the time goes (ms)"
"$PY" - "$FILE" <<'PY'
import sys, time
t = [time.perf_counter()]
from kscan.cli import cli  # everything `python -m kscan` imports
from kscan.scan.engine import scan
from kscan.rules.cache import load_cached_rules
from kscan.report import ReportOptions, text
t.append(time.perf_counter())
rules = load_cached_rules()  # as a scan loads them: from the rule cache when it matches
t.append(time.perf_counter())
result = scan(sys.argv[1:], rules)
t.append(time.perf_counter())
report = "".join(text.render(result, rules, ReportOptions()))  # a generator: made as it is read
t.append(time.perf_counter())
from kscan.report import json as json_report  # imported only for --format json
report = "".join(json_report.render(result, rules, ReportOptions()))
t.append(time.perf_counter())
from kscan.rules.registry import load_rules
load_rules()  # for comparison: every rule file parsed and validated, as without a cache
t.append(time.perf_counter())
steps = ("import kscan.cli", "rules (cache)", "scan()", "text report", "JSON report (+ import)",
         "load_rules() (no cache)")
for name, a, b in zip(steps, t, t[1:]):
    print(f"  {name:24} {(b - a) * 1000:7.1f}")
PY
