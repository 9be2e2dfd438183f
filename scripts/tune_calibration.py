"""Choose the calibration clipping percentile on the *validation* subjects of a training run.

Calibration uses the run's fit subjects only; drop and agreement are scored on its
validation subjects (never the test subjects):

    python scripts/tune_calibration.py runs/main/train [--samples 500]
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from convert.pipeline import clip_calibration
from convert.variants import convert
from edge_runtime.classifier import Classifier
from edge_runtime.contract import model_inputs
from edge_runtime.datasets import load_splits
from train.run import load_trained

PERCENTILES = (100.0, 99.99, 99.95, 99.9, 99.8, 99.5)


def main(run: str, samples: int = 500) -> int:
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
    print(f"run {run}: validation subjects {val_subjects}, {len(val)} windows, float accuracy {100 * fa:.2f}%, "
          f"{samples} calibration windows")
    print("| clip percentile | clip range (std) | int8 val accuracy | drop pp | agreement |")
    print("|---:|---|---:|---:|---:|")
    for p in PERCENTILES:
        cx, rng = clip_calibration(calib, p)
        with Classifier(convert(loaded.model, "int8", cx, samples, 0)) as clf:
            pred = clf.predict_proba(xv).argmax(1)
        acc = float(np.mean(pred == val.labels))
        agree = float(np.mean(pred == fp.argmax(1)))
        r = f"{rng[0]:.2f} .. {rng[1]:.2f}" if rng else "min/max"
        print(f"| {p} | {r} | {100 * acc:.2f}% | {100 * (fa - acc):+.2f} | {100 * agree:.2f}% |", flush=True)
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", nargs="?", default="runs/main/train")
    ap.add_argument("--samples", type=int, default=500, help="calibration windows")
    ns = ap.parse_args()
    sys.exit(main(ns.run, ns.samples))
