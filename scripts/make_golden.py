"""Regenerate the golden float32/int8 model pair under tests/models/golden (needs the train extra).

The pair is made by the real pipeline (har-train's fit, har-convert's conversion) from a
small compact model trained briefly on a slice of training subjects; ``expected.npz``
holds raw test windows with the outputs LiteRT gave for them, so runtime tests check
the device path without TensorFlow. Run it only when the model format changes:

    python scripts/make_golden.py
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from convert.pipeline import run_convert
from edge_runtime.contract import model_inputs
from edge_runtime.datasets.hapt import hapt_splits
from edge_runtime.datasets.windows import Splits
from edge_runtime.device.classifier import Classifier
from edge_runtime.manifest import load_manifest
from train.augment import Augmentation
from train.fit import config_for
from train.models import CompactConfig
from train.run import run_fit

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "models" / "golden"


def main() -> int:
    full = hapt_splits()
    train = full.train.by_subjects([1, 3, 5, 6])
    test = full.test.by_subjects([2])
    splits = Splits(train, test, "hapt (training subjects 1, 3, 5, 6; test subject 2)")
    cfg = replace(config_for("compact", epochs=15, repeats=1, seed=7, val_subjects=()),
                  compact=CompactConfig(stem_filters=16, filters=(24, 32, 48), kernel=9),
                  augmentation=Augmentation(30.0, 0.1, 0.01))
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        run_fit(cfg, splits, run, verbose=0)
        out = Path(tmp) / "golden"
        run_convert(run, out, variants=("int8", "float32"), data=splits, max_drop_pp=100.0)
        if GOLDEN.exists():
            shutil.rmtree(GOLDEN)
        GOLDEN.mkdir(parents=True)
        for name in ("model.json", "model_int8.tflite", "model_float32.tflite", "report.md"):
            shutil.copy(out / name, GOLDEN / name)
    manifest = load_manifest(GOLDEN)
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(len(test), 32, replace=False))
    raw = test.raw[idx]
    x = model_inputs(raw, manifest.input_spec)
    with Classifier.from_manifest(manifest, "int8") as c8, Classifier.from_manifest(manifest, "float32") as c32:
        np.savez_compressed(
            GOLDEN / "expected.npz", raw=raw, labels=test.labels[idx], inputs=x,
            int8_outputs=c8.predict_raw_outputs(x), int8_probs=c8.predict_proba(x),
            float32_probs=c32.predict_proba(x),
        )
    print(f"wrote {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
