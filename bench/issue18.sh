#!/usr/bin/env bash
# Issue 18's figures in one sitting, one after another on an otherwise idle machine (each bench interleaves
# the service with its own floor or baseline, so the ratios come from the same minutes). Districts are built
# on first use and kept in /work/bench-data (outside the repo); demo-data writes 200,000 households into a
# fresh database, dropped after. Output: one log per bench in $OUT.
#
#     bench/issue18.sh [OUT]        # OUT defaults to /tmp/issue18
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/issue18}
mkdir -p "$OUT"
run() {
  local name=$1
  shift
  echo "== $name: $*  ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
  PYTHONPATH=. "$@" >"$OUT/$name.log" 2>&1
}
run scoring .venv/bin/python bench/scoring_floor.py --bench --households 200000 50000 --risk-run 200000 \
  --repeats 3 --json "$OUT/scoring.json"
run lists .venv/bin/python bench/risk_lists.py --households 200000 --repeats 3 --json
run train .venv/bin/python bench/risk_train.py --households 200000 --repeats 2 --json
run batch .venv/bin/python bench/batch_reports.py --database postgresql --batches 10 --demo-households 3000
run http .venv/bin/python bench/http_load.py --json
run lists_1m .venv/bin/python bench/risk_lists.py --households 1000000 --repeats 3 --json
# demo-data into a fresh database: the command a district runs, timed whole (migration included)
psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS demo_rate WITH (FORCE)" -c "CREATE DATABASE demo_rate"
run demo_data env SHOUWANG_ENV=demo SHOUWANG_DEMO_HOUSEHOLDS=0 \
  SHOUWANG_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/demo_rate \
  /usr/bin/time -v .venv/bin/python -m app.cli demo-data --households 200000 --seed 3
psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE demo_rate WITH (FORCE)"
echo "== done ($(date -u +%H:%M:%S)); logs in $OUT"
