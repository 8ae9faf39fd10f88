#!/usr/bin/env bash
# The whole test suite, as people and CI run it (via `make test`).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin

echo "== ruff"
"$BIN/ruff" format --check src tests benchmarks training
"$BIN/ruff" check src tests benchmarks training
echo "== mypy --strict"
"$BIN/mypy"
echo "== pytest"
bash scripts/with-postgres.sh "$BIN/python" -m pytest "$@"
