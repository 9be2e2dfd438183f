"""int8 calibration: which windows, how they are clipped, which activation-range rule, and the
``auto`` search that picks among candidates on training windows (never held-out data)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from convert.variants import RANGES, RANGES_CHOICES, Ranges, RangesChoice, convert
from edge_runtime.contract import InputSpec, model_inputs
from edge_runtime.datasets.windows import Splits
from edge_runtime.device.classifier import Classifier
from edge_runtime.errors import UsageError
from edge_runtime.qtyping import Variant
from edge_runtime.reports import CalibrationCandidate, CalibrationCheck

log = logging.getLogger(__name__)
F32 = npt.NDArray[np.float32]

#: Default percentile for clipping calibration inputs, chosen on the validation subjects
#: (scripts/tune_calibration.py, scripts/cv_calibration.py, docs/benchmarks.md): z-scored IMU
#: inputs have heavy tails (-13..+15 std), and a min/max input scale then resolves only ~0.1 std.
DEFAULT_CALIBRATION_CLIP = 99.9

#: ``auto`` calibration converts with each candidate (input clip percentile x activation-range
#: rule) and keeps the one whose int8 top-1 agrees most often with the float model on up to
#: RANGES_CHECK_WINDOWS training windows that were not used for calibration; on equal
#: agreement the first wins (99.9 and min/max: TFLite's own rule). Scored by cross-validation
#: over the training subjects (scripts/cv_calibration.py, docs/benchmarks.md): no single
#: candidate is best for every model, and this check never looks at held-out data.
CLIP_CANDIDATES: tuple[float, ...] = (DEFAULT_CALIBRATION_CLIP, 99.5)
RANGES_CHECK_WINDOWS = 1000
Clip = float | None | Literal["auto"]


@dataclass(frozen=True)
class Int8Result:
    """The int8 file and how it was calibrated."""

    content: bytes
    calibration_windows: int
    clip_percentile: float | None
    clip_range: list[float] | None
    ranges: Ranges
    check: CalibrationCheck | None


def calibration_inputs(splits: Splits, spec: InputSpec) -> F32:
    """Model inputs of the training windows, computed by the shared input code."""
    return model_inputs(splits.train.raw, spec)


def clip_calibration(x: F32, percentile: float | None) -> tuple[F32, list[float] | None]:
    """Clip calibration inputs to the [100-p, p] percentiles of all their values, so the int8
    input scale covers the bulk of the data instead of its rare extremes (saturated at run time)."""
    if percentile is None or percentile >= 100:
        return x, None
    if not 50 < percentile < 100:
        raise UsageError(f"calibration clip percentile must lie in (50, 100], got {percentile}")
    lo, hi = np.percentile(x, [100 - percentile, percentile])
    return np.clip(x, lo, hi), [float(lo), float(hi)]


def candidates(model: Any, inputs: F32, order: npt.NDArray[np.int64], samples: int, clip: Clip,
               ranges: RangesChoice, seed: int) -> list[Int8Result]:
    """One int8 conversion per (clip percentile, range rule) that ``clip`` and ``ranges`` allow."""
    clips = CLIP_CANDIDATES if clip == "auto" else (clip,)
    rules: tuple[Ranges, ...] = RANGES if ranges == "auto" else (ranges,)
    out = []
    for c in clips:
        clipped, clip_range = clip_calibration(inputs, c)  # percentiles of all training windows
        calib = clipped[order[:samples]]
        out += [Int8Result(convert(model, Variant.INT8, calib, len(calib), seed, ranges=r), len(calib),
                           c if clip_range else None, clip_range, r, None) for r in rules]
    return out


def choose(model: Any, results: list[Int8Result], check: F32) -> Int8Result:
    """The candidate whose int8 top-1 agrees most with float on ``check`` (the first of equals)."""
    ref = model.predict(check, batch_size=512, verbose=0).argmax(1)
    agreement = []
    for res in results:
        with Classifier(res.content) as clf:
            agreement.append(float(np.mean(clf.predict_proba(check).argmax(1) == ref)))
    best = int(np.argmax(agreement))
    tried = [CalibrationCandidate(r.clip_percentile, r.ranges, a) for r, a in zip(results, agreement)]
    log.info("int8 calibration: %s", ", ".join(f"clip {t.clip_percentile} + {t.activation_ranges} "
                                                 f"{100 * t.agreement:.2f}%" for t in tried))
    return replace(results[best], check=CalibrationCheck(len(check), tried, tried[best]))


def quantize_int8(model: Any, inputs: F32, samples: int, clip: Clip, ranges: RangesChoice,
                  seed: int = 0) -> Int8Result:
    """Full-integer int8 calibrated on ``samples`` of ``inputs`` (model inputs of training
    windows); ``"auto"`` for ``clip`` or ``ranges`` picks among candidates on other windows."""
    if ranges not in RANGES_CHOICES:
        raise UsageError(f"unknown activation ranges {ranges!r}; choose from {list(RANGES_CHOICES)}")
    order = np.random.default_rng(seed).permutation(len(inputs))
    results = candidates(model, inputs, order, samples, clip, ranges, seed)
    if len(results) == 1:
        return results[0]
    check = inputs[order[samples:samples + RANGES_CHECK_WINDOWS]]
    return choose(model, results, check if len(check) else inputs[order[:RANGES_CHECK_WINDOWS]])
