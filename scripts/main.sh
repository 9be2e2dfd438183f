#!/usr/bin/env bash
# The main job on the embedded data, end to end:
#   train the default model -> convert to int8 with the accuracy gate -> replay the held-out
#   recordings through the daemon's code path -> stream one held-out recording through
#   `har-edge run` -> print a summary. Artefacts land in runs/main/ (override: OUT=dir).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
OUT="${OUT:-runs/main}"
BIN=.venv/bin
mkdir -p "$OUT"
$BIN/har-train fit --out "$OUT/train" --force --quiet "$@"
$BIN/har-convert "$OUT/train" --out "$OUT/model" --force
$BIN/har-edge eval --model "$OUT/model" --json "$OUT/eval.json" --timeline "$OUT/timeline.png"
$BIN/har-edge run --model "$OUT/model" --source "file:data/hapt_raw.npz?subjects=2" --sink "file:$OUT/stream.jsonl.tmp"
mv "$OUT/stream.jsonl.tmp" "$OUT/stream.jsonl"
$BIN/python scripts/summary.py "$OUT"
