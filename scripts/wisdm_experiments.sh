#!/usr/bin/env bash
# The WISDM 2019 figures of docs/benchmarks.md ("Your own data"), from the raw archive in ../shared:
# import -> fit on a subject-wise split (test subjects named) -> convert -> har-edge run on a test
# subject's raw files. Writes runs/wisdm/summary.md. Tens of minutes on a 2-core CPU.
#   scripts/wisdm_experiments.sh [quick]   (quick: 1 repeat for the headline model too)
# The headline model (phone, 5 classes, 6 channels) gets 3 repeats, the others 1 (REPEATS=3 for all).
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
SRC="${WISDM:-../shared/data/wisdm2019/wisdm2019_raw.tar.xz}"
OUT="${OUT:-runs/wisdm}"
MAIN_REPEATS=3; [ "${1:-}" = quick ] && MAIN_REPEATS=1
REPEATS="${REPEATS:-1}"
HAPT_RUN="${HAPT_RUN:-runs/main/train}"   # the HAPT model to fine-tune (scripts/main.sh writes it)
BIN=.venv/bin
TEST=1634,1636,1637,1638,1639,1640          # the held-out subjects of the issue's workaround figure
TEST_WATCH=1634,1636                        # those of them the watch data has (17 subjects, no 1637-1640)
FIVE=walking,jogging,stairs,sitting,standing
# Pocket and wrist devices turn about their screen normal (z) and may be upside down: rotation about z
# with flips, chosen on the validation subjects (docs/benchmarks.md).
AUG="--rotation 180 --rotation-axis z --flip --window 5s"
mkdir -p "$OUT"
for dev in phone watch; do
  for sens in acc,gyro acc; do
    d="$OUT/data-$dev-${sens/,/+}"
    [ -f "$d/dataset.json" ] || $BIN/har-data import wisdm "$SRC" --out "$d" --device "$dev" --sensors "$sens"
  done
done
fit() {  # name data classes repeats extra...
  local name=$1 data=$2 classes=$3 reps=$4; shift 4
  local test=$TEST; [[ $name == watch* ]] && test=$TEST_WATCH
  [ -f "$OUT/$name/metrics.json" ] || $BIN/har-train --log-level warning fit --data "$data" --classes "$classes" \
    --test-subjects "$test" --repeats "$reps" --quiet $AUG "$@" --out "$OUT/$name"
}
fit phone5 "$OUT/data-phone-acc+gyro" "$FIVE" "$MAIN_REPEATS"
[ -f "$OUT/phone5-model/model.json" ] || $BIN/har-convert "$OUT/phone5" --out "$OUT/phone5-model" || true
# the device path on a test subject's raw files: the two sensors as the phone logged them, merged by time
$BIN/python scripts/wisdm_device_check.py "$SRC" "$OUT/phone5-model" 1636 > "$OUT/device_check.txt"
fit phone5-acc "$OUT/data-phone-acc" "$FIVE" "$REPEATS"
fit watch5 "$OUT/data-watch-acc+gyro" "$FIVE" "$REPEATS"
fit watch5-acc "$OUT/data-watch-acc" "$FIVE" "$REPEATS"
# fine-tuning the HAPT model (50 Hz, 2.56 s windows, 6 channels) against training from scratch on the same
# data and split, with 2, 5 and all 15 training subjects
d50="$OUT/data-phone50"
[ -f "$d50/dataset.json" ] || $BIN/har-data import wisdm "$SRC" --out "$d50" --device phone --rate 50
for n in 2 5 15; do
  subj=$(echo 1600,1604,1609,1611,1612,1615,1617,1618,1622,1624,1626,1630,1631,1632,1606 | cut -d, -f1-$n)
  [ -f "$OUT/ft$n-scratch/metrics.json" ] || $BIN/har-train --log-level warning fit --data "$d50" --classes "$FIVE" \
    --test-subjects "$TEST" --train-subjects "$subj" --repeats "$REPEATS" --quiet --rotation 180 --rotation-axis z \
    --flip --window 128 --out "$OUT/ft$n-scratch"
  [ -f "$OUT/ft$n-finetuned/metrics.json" ] || $BIN/har-train --log-level warning fit --data "$d50" --classes "$FIVE" \
    --test-subjects "$TEST" --train-subjects "$subj" --repeats "$REPEATS" --quiet --rotation 180 --rotation-axis z \
    --flip --init-from "$HAPT_RUN" --out "$OUT/ft$n-finetuned"
done
ALL=$($BIN/python -c "import json;print(','.join(json.load(open('$OUT/data-phone-acc+gyro/dataset.json'))['classes']))")
fit phone18 "$OUT/data-phone-acc+gyro" "$ALL" "$REPEATS"
fit phone18-acc "$OUT/data-phone-acc" "$ALL" "$REPEATS"
$BIN/python scripts/wisdm_summary.py "$OUT" | tee "$OUT/summary.md"
