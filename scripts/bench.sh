#!/usr/bin/env bash
# Print the benchmark figures recorded in BENCHMARKS.md (reads ../shared/datasets).
# --web-1m: run the web benchmarks on 1,000,000 generated mentions, as recorded in
# BENCHMARKS.md (about 20 minutes more with 2 cores); the default is 100,000.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
WEB_MENTIONS=100000
args=()
for arg in "$@"; do
  if [[ "$arg" == "--web-1m" ]]; then WEB_MENTIONS=1000000; else args+=("$arg"); fi
done
"$BIN/python" benchmarks/bench_matching.py ${args[@]+"${args[@]}"}
bash scripts/with-postgres.sh "$BIN/python" benchmarks/bench_import.py
"$BIN/python" benchmarks/bench_fetch.py
"$BIN/python" benchmarks/bench_analysis.py
"$BIN/python" benchmarks/bench_influence.py
"$BIN/python" benchmarks/eval_topics.py
"$BIN/python" -m benchmarks.detection.run --cadence 60
"$BIN/python" -m benchmarks.eval_snowball
"$BIN/python" benchmarks/bench_alert_latency.py
"$BIN/python" -m benchmarks.detection.topics --seed 2
bash scripts/with-postgres.sh "$BIN/python" -m benchmarks.web --mentions "$WEB_MENTIONS"
