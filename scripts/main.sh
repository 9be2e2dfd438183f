#!/usr/bin/env bash
# The main job on the embedded data: set up .venv, then train the default model into runs/main.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/har-train fit --out runs/main --force --quiet "$@"
