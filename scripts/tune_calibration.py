"""Choose the int8 calibration settings on the *validation* subjects of a training run.

Calibration uses the run's fit subjects only; drop and agreement are scored on its
validation subjects (never the test subjects). Two tables:

* ``--table clip``: the input clipping percentile (with ``--ranges`` activation ranges);
* ``--table ranges``: activation-range rules (``minmax`` vs ``mean``) over calibration
  draws (``--seeds``) and sizes (``--sizes``), at the clip percentile ``--clip``.

    python scripts/tune_calibration.py runs/main/train [--table clip|ranges] [--samples 500]
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from convert.calibration import DEFAULT_CALIBRATION_CLIP, clip_calibration
from convert.variants import RANGES, Ranges, convert
from edge_runtime.contract import model_inputs
from edge_runtime.datasets.catalog import load_splits
from edge_runtime.device.classifier import Classifier
from train.run import load_trained

PERCENTILES = (100.0, 99.99, 99.95, 99.9, 99.8, 99.5)


def main(run: str, table: str, samples: int, ranges: Ranges, seeds: int, sizes: list[int], clip: float) -> int:
    loaded = load_trained(run)
    splits = load_splits(loaded.config.get("data", "hapt"), loaded.spec.window)
    val_subjects = loaded.config["fit"]["val_subjects"]
    if not val_subjects:
        raise SystemExit("this run has no validation subjects; train with --val-subjects auto")
    val = splits.train.by_subjects(val_subjects)
    fit = splits.train.select(~np.isin(splits.train.subjects, val_subjects))
    xv = model_inputs(val.raw, loaded.spec)
    fp = loaded.model.predict(xv, batch_size=512, verbose=0)
    fa = float(np.mean(fp.argmax(1) == val.labels))
    calib = model_inputs(fit.raw, loaded.spec)
    print(f"run {run}: validation subjects {val_subjects}, {len(val)} windows, float accuracy {100 * fa:.2f}%")

    def score(x: np.ndarray, n: int, seed: int, rule: Ranges) -> tuple[float, float]:
        with Classifier(convert(loaded.model, "int8", x, n, seed, ranges=rule)) as clf:
            pred = clf.predict_proba(xv).argmax(1)
        return 100 * (fa - float(np.mean(pred == val.labels))), 100 * float(np.mean(pred == fp.argmax(1)))

    if table == "clip":
        print(f"{samples} calibration windows, activation ranges {ranges}")
        print("| clip percentile | clip range (std) | drop pp | agreement |")
        print("|---:|---|---:|---:|")
        for p in PERCENTILES:
            cx, rng = clip_calibration(calib, p)
            drop, agree = score(cx, samples, 0, ranges)
            r = f"{rng[0]:.2f} .. {rng[1]:.2f}" if rng else "min/max"
            print(f"| {p} | {r} | {drop:+.2f} | {agree:.2f}% |", flush=True)
        return 0
    cx, _ = clip_calibration(calib, clip)
    print(f"clip percentile {clip}; cells: drop pp / agreement")
    print("| draw | windows | " + " | ".join(RANGES) + " |")
    print("|---:|---:|" + "---:|" * len(RANGES))
    cells: dict[str, list[tuple[float, float]]] = {r: [] for r in RANGES}
    for seed in range(seeds):
        for n in sizes:
            row = []
            for rule in RANGES:
                cells[rule].append(score(cx, n, seed, rule))
                row.append(f"{cells[rule][-1][0]:+.2f} / {cells[rule][-1][1]:.2f}%")
            print(f"| {seed} | {n} | " + " | ".join(row) + " |", flush=True)
    mean = [f"{np.mean([c[0] for c in cells[r]]):+.2f} / {np.mean([c[1] for c in cells[r]]):.2f}%" for r in RANGES]
    worst = [f"{max(c[0] for c in cells[r]):+.2f} / {min(c[1] for c in cells[r]):.2f}%" for r in RANGES]
    print("| mean | | " + " | ".join(mean) + " |")
    print("| worst | | " + " | ".join(worst) + " |")
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", nargs="?", default="runs/main/train")
    ap.add_argument("--table", choices=("clip", "ranges"), default="ranges")
    ap.add_argument("--samples", type=int, default=500, help="calibration windows (clip table)")
    ap.add_argument("--ranges", choices=RANGES, default="mean", help="activation ranges (clip table)")
    ap.add_argument("--seeds", type=int, default=3, help="calibration draws (ranges table)")
    ap.add_argument("--sizes", default="200,500,1000", help="calibration sizes (ranges table)")
    ap.add_argument("--clip", type=float, default=DEFAULT_CALIBRATION_CLIP, help="clip percentile (ranges table)")
    ns = ap.parse_args()
    sys.exit(main(ns.run, ns.table, ns.samples, ns.ranges, ns.seeds, [int(s) for s in ns.sizes.split(",")],
                  ns.clip))
