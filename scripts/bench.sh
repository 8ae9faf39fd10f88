#!/usr/bin/env bash
# Print the benchmark figures recorded in BENCHMARKS.md (reads ../shared/datasets).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
"$BIN/python" benchmarks/bench_matching.py "$@"
bash scripts/with-postgres.sh "$BIN/python" benchmarks/bench_import.py
"$BIN/python" benchmarks/bench_fetch.py
"$BIN/python" benchmarks/bench_analysis.py
"$BIN/python" benchmarks/bench_influence.py
"$BIN/python" benchmarks/eval_topics.py
"$BIN/python" -m benchmarks.detection.run --cadence 60
"$BIN/python" -m benchmarks.eval_snowball
"$BIN/python" benchmarks/bench_alert_latency.py
"$BIN/python" -m benchmarks.detection.topics --seed 2
