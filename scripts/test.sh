#!/usr/bin/env bash
# The project's test command (README, .ci/run): set up .venv, run the quality gates (ruff, mypy),
# then the whole suite. Any failure fails the command.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check .
echo "== mypy (strict for edge_runtime)"
.venv/bin/mypy
echo "== pytest"
exec .venv/bin/python -m pytest "$@"
