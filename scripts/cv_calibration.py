"""Score int8 calibration rules by cross-validation over the *training* subjects.

The 21 training subjects are cut into 5 folds (every fifth subject, as
``train.fit.default_val_subjects`` picks fold 2). For each fold and architecture one model
is trained on the other folds (seed 0, the architecture's defaults), calibrated on them,
and its int8 file scored on the held-out fold: accuracy drop and top-1 agreement with the
float model. Test subjects are never loaded for scoring.

    python scripts/cv_calibration.py [--archs compact,tutorial] [--folds 5] [--json runs/cv_calibration.json]
        [--models runs/cv_models]

``--models DIR`` keeps each fold's trained model (and reuses it on the next run), so other
calibration rules can be scored without retraining.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from convert.calibration import Clip, quantize_int8
from convert.variants import RangesChoice
from edge_runtime.contract import InputSpec, fit_input_spec, model_inputs
from edge_runtime.datasets.hapt import hapt_splits
from edge_runtime.datasets.windows import WindowSet
from edge_runtime.device.classifier import Classifier
from train.fit import config_for, fit_one

#: (activation ranges, input clip percentile): the converter's old default, the mean rule, then
#: ``auto`` over the ranges at a fixed clip and over both (har-convert's default).
RULES: tuple[tuple[RangesChoice, Clip], ...] = (
    ("minmax", 99.9), ("mean", 99.9), ("auto", 99.9), ("auto", 99.5), ("auto", "auto"))


def fold_model(arch: str, k: int, fit: WindowSet, cache: Path | None) -> tuple[Any, InputSpec]:
    """Train (or load from ``cache``) the fold's model; the input spec is refitted on ``fit``."""
    import keras

    cfg = config_for(arch, repeats=1)
    spec = fit_input_spec(fit.raw, cfg.features)
    path = cache / f"{arch}-fold{k}.keras" if cache else None
    if path and path.is_file():
        return keras.models.load_model(path), spec
    model = fit_one(cfg, fit, spec, seed=0, verbose=0).model
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path)
    return model, spec


def main(archs: list[str], folds: int, out: Path | None, cache: Path | None) -> int:
    splits = hapt_splits()
    subjects = sorted({int(s) for s in splits.train.subjects})
    rows: list[dict[str, Any]] = []
    print("| arch | fold (held-out subjects) | float acc | " + " | ".join(f"{r} {p}" for r, p in RULES) + " |")
    print("|---|---|---:|" + "---:|" * len(RULES))
    for arch in archs:
        for k in range(folds):
            held = subjects[k::folds]
            val = splits.train.by_subjects(held)
            fit = splits.train.select(~np.isin(splits.train.subjects, held))
            model, spec = fold_model(arch, k, fit, cache)
            xv = model_inputs(val.raw, spec)
            fp = model.predict(xv, batch_size=512, verbose=0).argmax(1)
            fa = float(np.mean(fp == val.labels))
            calib = model_inputs(fit.raw, spec)
            cells: list[dict[str, Any]] = []
            for rule, pct in RULES:
                int8 = quantize_int8(model, calib, 500, pct, rule)
                with Classifier(int8.content) as clf:
                    pred = clf.predict_proba(xv).argmax(1)
                cells.append({"ranges": rule, "clip": pct, "chosen": [int8.ranges, int8.clip_percentile],
                              "drop_pp": 100 * (fa - float(np.mean(pred == val.labels))),
                              "agreement": float(np.mean(pred == fp))})
            rows.append({"arch": arch, "fold": k, "subjects": held, "windows": len(val), "float_accuracy": fa,
                         "rules": cells})
            print(f"| {arch} | {k} {held} | {100 * fa:.2f}% | "
                  + " | ".join(f"{c['drop_pp']:+.2f} / {100 * c['agreement']:.2f}%"
                               + (" ({} {})".format(*c["chosen"]) if "auto" in (c["ranges"], c["clip"]) else "")
                               for c in cells) + " |", flush=True)
        mine = [r for r in rows if r["arch"] == arch]
        print(f"| {arch} | mean | | " + " | ".join(
            f"{np.mean([r['rules'][i]['drop_pp'] for r in mine]):+.2f} / "
            f"{100 * np.mean([r['rules'][i]['agreement'] for r in mine]):.2f}%" for i in range(len(RULES))) + " |")
        print(f"| {arch} | worst | | " + " | ".join(
            f"{max(r['rules'][i]['drop_pp'] for r in mine):+.2f} / "
            f"{100 * min(r['rules'][i]['agreement'] for r in mine):.2f}%" for i in range(len(RULES))) + " |", flush=True)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--archs", default="compact,tutorial")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--models", type=Path, default=None, help="cache of the folds' trained models")
    ns = ap.parse_args()
    sys.exit(main(ns.archs.split(","), ns.folds, ns.json, ns.models))
