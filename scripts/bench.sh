#!/usr/bin/env bash
# Print the benchmark figures recorded in BENCHMARKS.md (reads ../shared/datasets).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
"$BIN/python" benchmarks/bench_matching.py "$@"
bash scripts/with-postgres.sh "$BIN/python" benchmarks/bench_import.py
