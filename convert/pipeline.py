"""The conversion job behind ``har-convert``: convert, validate, gate, write manifest and report.

Everything lands in a temp directory renamed into place at the end; a gate failure still
writes the files (marked failed in the report) and is signalled by :class:`GateFailed`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

import numpy as np

from convert import micro
from convert.report import render_markdown
from convert.validate import Gate, validate_variant
from convert.variants import DEFAULT_VARIANTS, RANGES, RANGES_CHOICES, VARIANTS, Ranges, RangesChoice, convert
from edge_runtime.classifier import Classifier
from edge_runtime.contract import model_inputs
from edge_runtime.datasets import Splits, load_splits
from edge_runtime import exitcodes
from edge_runtime.errors import HarliteError, ModelError
from edge_runtime.integrity import sha256
from edge_runtime.fileio import (
    atomic_directory,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    refuse_existing,
)
from edge_runtime.manifest import Manifest, ModelFile
from edge_runtime.metrics import classification_report
from train.plots import plot_confusion
from train.run import load_trained, package_versions

Echo = Callable[[str], None]


class GateFailed(HarliteError):
    """A converted variant lost more accuracy than allowed; the files were still written."""

    exit_code = exitcodes.GATE_FAILED

    def __init__(self, out: Path, failures: list[str]) -> None:
        super().__init__(f"accuracy gate failed: {'; '.join(failures)} (files kept in {out}, marked failed)")
        self.out = out
        self.failures = failures


@dataclass(frozen=True)
class ConvertResult:
    out: Path
    report: dict[str, Any]


def parse_variants(spec: str | Sequence[str]) -> tuple[str, ...]:
    """``"int8,float16"`` -> ('int8', 'float16'); unknown names raise ``ValueError``."""
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    bad = [n for n in names if n not in VARIANTS]
    if bad or not names:
        raise ValueError(f"unknown variants {bad or names}; choose from {list(VARIANTS)}")
    return tuple(dict.fromkeys(names))


#: Default percentile for clipping calibration inputs, chosen on the validation subjects
#: (scripts/tune_calibration.py, scripts/cv_calibration.py, docs/benchmarks.md): z-scored IMU
#: inputs have heavy tails (-13..+15 std), and a min/max input scale then resolves only ~0.1 std.
DEFAULT_CALIBRATION_CLIP = 99.9


def calibration_inputs(splits: Splits, spec: Any) -> np.ndarray:
    """Model inputs of the training windows, computed by the shared input code."""
    return model_inputs(splits.train.raw, spec)


def clip_calibration(x: np.ndarray, percentile: float | None) -> tuple[np.ndarray, list[float] | None]:
    """Clip calibration inputs to the [100-p, p] percentiles of all their values, so the int8
    input scale covers the bulk of the data instead of its rare extremes (saturated at run time)."""
    if percentile is None or percentile >= 100:
        return x, None
    if not 50 < percentile < 100:
        raise ValueError(f"calibration clip percentile must lie in (50, 100], got {percentile}")
    lo, hi = np.percentile(x, [100 - percentile, percentile])
    return np.clip(x, lo, hi), [float(lo), float(hi)]


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
    check: dict[str, Any] | None


def quantize_int8(model: Any, inputs: np.ndarray, samples: int, clip: Clip, ranges: RangesChoice,
                  seed: int = 0) -> Int8Result:
    """Full-integer int8 calibrated on ``samples`` of ``inputs`` (model inputs of training
    windows); ``"auto"`` for ``clip`` or ``ranges`` picks among candidates on other windows."""
    if ranges not in RANGES_CHOICES:
        raise ValueError(f"unknown activation ranges {ranges!r}; choose from {list(RANGES_CHOICES)}")
    clips = CLIP_CANDIDATES if clip == "auto" else (clip,)
    rules: tuple[Ranges, ...] = RANGES if ranges == "auto" else (ranges,)
    order = np.random.default_rng(seed).permutation(len(inputs))
    results = []
    for c in clips:
        clipped, clip_range = clip_calibration(inputs, c)  # percentiles of all training windows
        calib = clipped[order[:samples]]
        results += [Int8Result(convert(model, "int8", calib, len(calib), seed, ranges=r), len(calib),
                               c if clip_range else None, clip_range, r, None) for r in rules]
    if len(results) == 1:
        return results[0]
    check = inputs[order[samples:samples + RANGES_CHECK_WINDOWS]]
    check = check if len(check) else inputs[order[:RANGES_CHECK_WINDOWS]]
    ref = model.predict(check, batch_size=512, verbose=0).argmax(1)
    agreement = []
    for res in results:
        with Classifier(res.content) as clf:
            agreement.append(float(np.mean(clf.predict_proba(check).argmax(1) == ref)))
    best = int(np.argmax(agreement))  # the first of equals
    tried = [{"clip_percentile": r.clip_percentile, "activation_ranges": r.ranges, "agreement": a}
             for r, a in zip(results, agreement)]
    return replace(results[best], check={"windows": len(check), "candidates": tried, "chosen": tried[best]})


def run_convert(
    source: str | Path,
    out: str | Path,
    *,
    variants: Sequence[str] = DEFAULT_VARIANTS,
    calibration_samples: int = 500,
    calibration_clip: Clip = "auto",
    activation_ranges: RangesChoice = "auto",
    max_drop_pp: float = 0.5,
    data: str | Splits | None = None,
    force: bool = False,
    seed: int = 0,
    echo: Echo = print,
) -> ConvertResult:
    """Convert a trained model to each variant, validate on the held-out subjects, write everything."""
    out = Path(out)
    refuse_existing(out, force)
    loaded = load_trained(source)
    spec = loaded.spec
    data = data if data is not None else loaded.config.get("data", "hapt")
    splits = load_splits(data, spec.window) if isinstance(data, str) else data
    if tuple(splits.test.class_names) != loaded.class_names:
        raise ModelError(f"model classes {loaded.class_names} differ from the data's {splits.test.class_names}")
    if splits.test.raw.shape[1] != spec.window.length:
        raise ModelError(f"model expects {spec.window.length}-sample windows, data has {splits.test.raw.shape[1]}")
    gate = Gate(max_drop_pp=max_drop_pp)
    x_test = model_inputs(splits.test.raw, spec)
    float_probs = loaded.model.predict(x_test, batch_size=512, verbose=0)
    float_rep = classification_report(splits.test.labels, float_probs.argmax(1), splits.test.class_names)
    echo(f"Float Keras model: accuracy {100 * float_rep['accuracy']:.2f}% on {len(x_test)} held-out windows")
    int8 = (quantize_int8(loaded.model, calibration_inputs(splits, spec), calibration_samples, calibration_clip,
                          activation_ranges, seed) if "int8" in variants else None)
    training = loaded.config
    run_id = str(training.get("run_id", "unknown"))
    arch = str(training.get("fit", {}).get("arch", loaded.model.name))
    files: dict[str, ModelFile] = {}
    contents: dict[str, bytes] = {}
    reports: dict[str, Any] = {}
    for v in variants:
        content = int8.content if v == "int8" and int8 else convert(loaded.model, v)
        rep, t_in, t_out = validate_variant(content, x_test, splits.test.labels, splits.test.class_names, float_probs,
                                  float_rep["accuracy"], gate)
        fname = f"model_{v}.tflite"
        rep["file"] = fname
        reports[v] = rep
        contents[v] = content
        files[v] = ModelFile(v, fname, sha256(content).hexdigest(), len(content), t_in, t_out)
        echo(f"{v:8s} {len(content) / 1024:7.1f} KiB  accuracy {100 * rep['accuracy']:.2f}%  "
             f"drop {rep['drop_pp']:+.2f} pp  agreement {100 * rep['agreement']:.2f}%  "
             f"invoke {rep['invoke_us']['p50']:.1f} µs  {'pass' if rep['passed'] else 'FAIL: ' + '; '.join(rep['failures'])}")
    micro_rep = None
    if "int8" in contents:
        micro_rep = micro.micro_check(contents["int8"], x_test)
        if micro_rep.get("runs"):
            echo(f"TFLM: arena {micro_rep['arena_bytes']} bytes, "
                 f"{'bit-exact' if micro_rep['bit_exact'] else 'NOT bit-exact'} vs LiteRT reference kernels")
        else:
            echo(f"TFLM: {micro_rep.get('reason')}")
    failures = [f"{v}: {f}" for v, r in reports.items() for f in r["failures"]]
    default = "int8" if "int8" in files else next(iter(files))
    versions = package_versions()
    model_id = f"{arch}-{run_id}-{files[default].sha256[:12]}"
    manifest = Manifest(
        directory=out, model_id=model_id, default_variant=default, files=files, labels=loaded.class_names,
        input_spec=spec,
        training={"run_id": run_id, "arch": arch, "source": str(loaded.path),
                  "metrics": _training_summary(loaded.path.parent)},
        versions={k: versions[k] for k in ("harlite", "tensorflow", "ai-edge-litert")},
    )
    report = {
        "schema": 1,
        "model_id": model_id,
        "source": {"model": str(loaded.path), "run_id": run_id, "arch": arch},
        "data": {"source": splits.source, "test_windows": len(x_test),
                 "test_subjects": sorted({int(s) for s in splits.test.subjects}),
                 "calibration_windows": int8.calibration_windows if int8 else 0,
                 "calibration_clip_percentile": int8.clip_percentile if int8 else None,
                 "calibration_clip_range": int8.clip_range if int8 else None,
                 "activation_ranges": int8.ranges if int8 else None,
                 "calibration_requested": {"clip_percentile": calibration_clip, "activation_ranges": activation_ranges},
                 "calibration_check": int8.check if int8 else None},
        "float": {"accuracy": float_rep["accuracy"], "macro_f1": float_rep["macro_f1"],
                  "per_class_recall": {k: v["recall"] for k, v in float_rep["per_class"].items()}},
        "variants": reports,
        "gate": {"passed": not failures, "max_drop_pp": max_drop_pp, "min_agreement": gate.min_agreement,
                 "failures": failures},
        "micro": micro_rep,
        "versions": versions,
    }
    with atomic_directory(out, force=force) as tmp:
        for v, content in contents.items():
            atomic_write_bytes(tmp / files[v].file, content)
        atomic_write_json(tmp / "model.json", manifest.to_dict())
        atomic_write_json(tmp / "report.json", report)
        atomic_write_text(tmp / "report.md", render_markdown(report))
        if "int8" in reports:
            r = reports["int8"]
            plot_confusion(r["confusion_matrix"], splits.test.class_names, tmp / "confusion_int8.png",
                           f"int8: accuracy {100 * r['accuracy']:.2f}% (float {100 * float_rep['accuracy']:.2f}%)")
    echo(f"Wrote {out} (manifest model.json, default {default}); gate {'passed' if not failures else 'FAILED'}")
    if failures:
        raise GateFailed(out, failures)
    return ConvertResult(out, report)


def _training_summary(run_dir: Path) -> dict[str, Any]:
    import json

    try:
        m = json.loads((run_dir / "metrics.json").read_text())
        return {"summary": m.get("summary"), "selected": m.get("selected")}
    except (OSError, ValueError):
        return {}
