"""The conversion job behind ``har-convert``: convert, validate, gate, write manifest and report.

:func:`run_convert` is a facade over the stages below. Everything lands in a temp directory
renamed into place at the end; a gate failure still writes the files (marked failed in the
report) and is signalled by :class:`edge_runtime.errors.GateFailed`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from convert import micro
from convert.calibration import Clip, Int8Result, calibration_inputs, quantize_int8
from convert.report import render_markdown
from convert.validate import Gate, validate_variant
from convert.variants import DEFAULT_VARIANTS, RangesChoice, convert
from edge_runtime.contract import model_inputs
from edge_runtime.datasets.catalog import load_splits
from edge_runtime.datasets.windows import Splits
from edge_runtime.errors import GateFailed, ModelError, UsageError
from edge_runtime.fileio import (
    atomic_directory,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    refuse_existing,
)
from edge_runtime.integrity import sha256
from edge_runtime.manifest import Manifest, ModelFile
from edge_runtime.metrics import classification_report
from edge_runtime.qtyping import Variant
from edge_runtime.reports import ConversionData, ConversionReport, FloatReference, GateResult, VariantReport
from edge_runtime.sysinfo import package_versions
from train.plots import plot_confusion
from train.run import LoadedModel, load_trained

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConvertResult:
    """Where the files went and what the report says."""

    out: Path
    report: ConversionReport


@dataclass(frozen=True)
class Reference:
    """The held-out windows as model inputs and the float Keras model's answers on them."""

    splits: Splits
    inputs: npt.NDArray[np.float32]
    probs: npt.NDArray[np.float32]
    report: dict[str, Any]


@dataclass(frozen=True)
class Converted:
    """One variant's file, manifest entry and validation."""

    content: bytes
    entry: ModelFile
    report: VariantReport


def parse_variants(spec: str | Sequence[str]) -> tuple[Variant, ...]:
    """``"int8,float16"`` -> (INT8, FLOAT16); unknown names raise :class:`UsageError`."""
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if not names:
        raise UsageError(f"no variants given; choose from {[v.value for v in Variant]}")
    bad = [n for n in names if n not in {v.value for v in Variant}]
    if bad:
        raise UsageError(f"unknown variants {bad}; choose from {[v.value for v in Variant]}")
    return tuple(dict.fromkeys(Variant(n) for n in names))


def held_out(loaded: LoadedModel, data: str | Splits | None) -> Splits:
    """The held-out split the model was trained with (or ``data``), checked against the model's classes
    and window; a data-set folder's split is recreated from the options in ``config.json``."""
    opts = loaded.config.get("data_options") or {}
    if data is None:
        data = loaded.config.get("data", "hapt")
    if isinstance(data, str):
        splits = load_splits(data, loaded.spec.window, classes=opts.get("classes"),
                             test_subjects=opts.get("test_subjects"), train_subjects=opts.get("train_subjects"))
    else:
        splits = data
    if tuple(splits.test.class_names) != loaded.class_names:
        raise ModelError(f"model classes {loaded.class_names} differ from the data's {splits.test.class_names}")
    if splits.test.raw.shape[1] != loaded.spec.window.length:
        raise ModelError(f"model expects {loaded.spec.window.length}-sample windows, "
                         f"data has {splits.test.raw.shape[1]}")
    return splits


def float_reference(loaded: LoadedModel, splits: Splits) -> Reference:
    """The float model's probabilities and report on the held-out windows."""
    x = model_inputs(splits.test.raw, loaded.spec)
    probs = loaded.model.predict(x, batch_size=512, verbose=0)
    rep = classification_report(splits.test.labels, probs.argmax(1), splits.test.class_names)
    log.info("Float Keras model: accuracy %.2f%% on %d held-out windows", 100 * rep["accuracy"], len(x))
    return Reference(splits, x, probs, rep)


def check_outputs(loaded: LoadedModel) -> None:
    """A model must have one output per class of its config, or its predictions cannot be labelled."""
    outputs = int(loaded.model.output_shape[-1])
    if outputs != len(loaded.class_names):
        raise ModelError(f"{loaded.path} has {outputs} outputs but its config names {len(loaded.class_names)} "
                         f"classes {list(loaded.class_names)}; its predictions could not be labelled")


def majority_baseline(labels: npt.NDArray[np.int64], class_names: Sequence[str]) -> tuple[str, float]:
    """The most frequent held-out class and its share: what always answering it scores."""
    counts = np.bincount(labels, minlength=len(class_names))
    return class_names[int(counts.argmax())], float(counts.max() / max(counts.sum(), 1))


def convert_variants(loaded: LoadedModel, ref: Reference, variants: Sequence[Variant], int8: Int8Result | None,
                     gate: Gate) -> dict[Variant, Converted]:
    """Each variant converted and validated through the device classifier."""
    out = {}
    test = ref.splits.test
    for v in variants:
        content = int8.content if v is Variant.INT8 and int8 else convert(loaded.model, v)
        fname = f"model_{v}.tflite"
        rep, t_in, t_out = validate_variant(content, fname, ref.inputs, test.labels, test.class_names, ref.probs,
                                            ref.report["accuracy"], gate)
        out[v] = Converted(content, ModelFile(v, fname, sha256(content).hexdigest(), len(content), t_in, t_out), rep)
        log.info("%-8s %7.1f KiB  accuracy %.2f%%  drop %+.2f pp  agreement %.2f%%  invoke %.1f µs  %s", v,
                 len(content) / 1024, 100 * rep.accuracy, rep.drop_pp, 100 * rep.agreement, rep.invoke_us["p50"],
                 "pass" if rep.passed else "FAIL: " + "; ".join(rep.failures))
    return out


def check_micro(converted: dict[Variant, Converted], inputs: npt.NDArray[np.float32]) -> dict[str, Any] | None:
    """TFLite-Micro arena and bit-exactness of the int8 file, when there is one."""
    if Variant.INT8 not in converted:
        return None
    rep = micro.micro_check(converted[Variant.INT8].content, inputs)
    if rep.get("runs"):
        log.info("TFLM: arena %s bytes, %s vs LiteRT reference kernels", rep["arena_bytes"],
                 "bit-exact" if rep["bit_exact"] else "NOT bit-exact")
    else:
        log.info("TFLM: %s", rep.get("reason"))
    return rep


def build_manifest(out: Path, loaded: LoadedModel, converted: dict[Variant, Converted]) -> Manifest:
    """``model.json``: the files with hashes and tensors, labels, input spec, training run."""
    run_id = str(loaded.config.get("run_id", "unknown"))
    arch = str(loaded.config.get("fit", {}).get("arch", loaded.model.name))
    default = Variant.INT8 if Variant.INT8 in converted else next(iter(converted))
    versions = package_versions(("harlite", "tensorflow", "ai-edge-litert"), missing="not installed")
    return Manifest(
        directory=out, model_id=f"{arch}-{run_id}-{converted[default].entry.sha256[:12]}", default_variant=default,
        files={v: c.entry for v, c in converted.items()}, labels=loaded.class_names, input_spec=loaded.spec,
        training={"run_id": run_id, "arch": arch, "source": str(loaded.path),
                  "metrics": training_summary(loaded.path.parent),
                  **({"data_version": loaded.config["data_version"]} if loaded.config.get("data_version") else {}),
                  **({"data_options": loaded.config["data_options"]} if loaded.config.get("data_options") else {})},
        versions={k: versions[k] for k in ("harlite", "tensorflow", "ai-edge-litert")},
    )


def build_report(manifest: Manifest, loaded: LoadedModel, ref: Reference, converted: dict[Variant, Converted],
                 int8: Int8Result | None, requested: dict[str, Any], gate: Gate,
                 micro_rep: dict[str, Any] | None) -> ConversionReport:
    """``report.json``: data and calibration, the float reference, each variant, the gate."""
    failures = [f"{v}: {f}" for v, c in converted.items() for f in c.report.failures]
    test = ref.splits.test
    return ConversionReport(
        model_id=manifest.model_id,
        source={"model": str(loaded.path), "run_id": manifest.training["run_id"], "arch": manifest.training["arch"]},
        data=ConversionData(
            source=ref.splits.source, test_windows=len(ref.inputs),
            test_subjects=sorted({int(s) for s in test.subjects}),
            calibration_windows=int8.calibration_windows if int8 else 0,
            calibration_clip_percentile=int8.clip_percentile if int8 else None,
            calibration_clip_range=int8.clip_range if int8 else None,
            activation_ranges=int8.ranges if int8 else None, calibration_requested=requested,
            calibration_check=int8.check if int8 else None),
        float=FloatReference(ref.report["accuracy"], ref.report["macro_f1"],
                             {k: v["recall"] for k, v in ref.report["per_class"].items()}),
        variants={str(v): c.report for v, c in converted.items()},
        gate=GateResult(not failures, gate.max_drop_pp, gate.min_agreement, failures,
                        majority_class=gate.baseline_class, majority_share=gate.baseline),
        micro=micro_rep,
        versions=package_versions(("harlite", "tensorflow", "keras", "numpy", "ai-edge-litert"),
                                  missing="not installed"),
    )


def write_outputs(out: Path, force: bool, converted: dict[Variant, Converted], manifest: Manifest,
                  report: ConversionReport, class_names: tuple[str, ...]) -> None:
    """Every file into a temp directory, renamed over ``out`` at the end."""
    with atomic_directory(out, force=force) as tmp:
        for c in converted.values():
            atomic_write_bytes(tmp / c.entry.file, c.content)
        atomic_write_json(tmp / "model.json", manifest.to_dict())
        atomic_write_json(tmp / "report.json", report.to_dict())
        atomic_write_text(tmp / "report.md", render_markdown(report))
        if Variant.INT8 in converted:
            r = converted[Variant.INT8].report
            plot_confusion(r.confusion_matrix, class_names, tmp / "confusion_int8.png",
                           f"int8: accuracy {100 * r.accuracy:.2f}% (float {100 * report.float.accuracy:.2f}%)")


def run_convert(
    source: str | Path,
    out: str | Path,
    *,
    variants: Sequence[Variant | str] = DEFAULT_VARIANTS,
    calibration_samples: int = 500,
    calibration_clip: Clip = "auto",
    activation_ranges: RangesChoice = "auto",
    max_drop_pp: float = 0.5,
    data: str | Splits | None = None,
    force: bool = False,
    seed: int = 0,
) -> ConvertResult:
    """Convert a trained model to each variant, validate on the held-out subjects, write everything."""
    out, chosen = Path(out), parse_variants([str(v) for v in variants])
    refuse_existing(out, force)
    loaded = load_trained(source)
    check_outputs(loaded)
    ref = float_reference(loaded, held_out(loaded, data))
    int8 = (quantize_int8(loaded.model, calibration_inputs(ref.splits, loaded.spec), calibration_samples,
                          calibration_clip, activation_ranges, seed) if Variant.INT8 in chosen else None)
    majority = majority_baseline(ref.splits.test.labels, ref.splits.test.class_names)
    gate = Gate(max_drop_pp=max_drop_pp, baseline=majority[1], baseline_class=majority[0])
    converted = convert_variants(loaded, ref, chosen, int8, gate)
    micro_rep = check_micro(converted, ref.inputs)
    manifest = build_manifest(out, loaded, converted)
    requested = {"clip_percentile": calibration_clip, "activation_ranges": activation_ranges}
    report = build_report(manifest, loaded, ref, converted, int8, requested, gate, micro_rep)
    write_outputs(out, force, converted, manifest, report, ref.splits.test.class_names)
    log.info("Wrote %s (manifest model.json, default %s); gate %s", out, manifest.default_variant,
             "passed" if report.gate.passed else "FAILED")
    if not report.gate.passed:
        raise GateFailed(out, report.gate.failures)
    return ConvertResult(out, report)


def training_summary(run_dir: Path) -> dict[str, Any]:
    """The training run's summary and selection, for the manifest (empty when unreadable)."""
    try:
        m = json.loads((run_dir / "metrics.json").read_text())
        return {"summary": m.get("summary"), "selected": m.get("selected")}
    except (OSError, ValueError):
        return {}
