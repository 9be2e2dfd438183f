"""The training job behind ``har-train fit`` and ``har-train eval``.

A run directory holds ``model.keras`` (the repeat chosen on validation accuracy, never
on test), ``metrics.json``, ``history.csv``, ``config.json``, ``confusion.png``,
``training.png`` and ``tensorboard/``. It is written to a temp directory and renamed
into place at the end, so a killed run leaves no half-written run directory.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import platform
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.contract import InputSpec, fit_input_spec, unit_factor
from edge_runtime.datasets.catalog import load_splits
from edge_runtime.datasets.windows import Splits, WindowSet
from edge_runtime.errors import InputContractError, ModelError, UsageError
from edge_runtime.fileio import atomic_directory, atomic_write_json, atomic_write_text, refuse_existing
from edge_runtime.metrics import classification_report
from edge_runtime.reports import ClassScores, DataSummary, FitMetrics, FitSummary, RepeatResult, Selection
from edge_runtime.sysinfo import package_versions
from train.fit import FitConfig, Trained, fit_one, make_strategy, predict_classes
from train.plots import plot_confusion, plot_history

log = logging.getLogger(__name__)


def describe_devices() -> dict[str, Any]:
    """The devices TensorFlow trains on; GPUs get memory growth so they are shared politely."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass  # already initialised; harmless
    names = []
    for gpu in gpus:
        details = tf.config.experimental.get_device_details(gpu)
        names.append(details.get("device_name", gpu.name))
    return {
        "kind": "GPU" if gpus else "CPU",
        "gpus": names,
        "cpu": platform.processor() or platform.machine(),
        "logical_cpus": len(tf.config.list_logical_devices("CPU")),
    }


@dataclass(frozen=True)
class FitResult:
    """What ``har-train fit`` produced."""

    run_dir: Path
    metrics: FitMetrics


@dataclass(frozen=True)
class FitData:
    """The windows a run trains, validates and tests on, and the input spec fitted on the first."""

    splits: Splits
    fit: WindowSet
    val: WindowSet | None
    spec: InputSpec


def history_csv(histories: list[dict[str, list[float]]]) -> str:
    """Per-epoch metrics of every repeat as CSV."""
    keys = sorted({k for h in histories for k in h})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["repeat", "epoch", *keys])
    for r, h in enumerate(histories, start=1):
        n = max((len(v) for v in h.values()), default=0)
        for e in range(n):
            w.writerow([r, e + 1, *(f"{h[k][e]:.6f}" if k in h and e < len(h[k]) else "" for k in keys)])
    return buf.getvalue()


def split_validation(train: WindowSet, val_subjects: tuple[int, ...]) -> tuple[WindowSet, WindowSet | None]:
    """Hold the validation subjects out of the training windows."""
    if not val_subjects:
        return train, None
    missing = set(val_subjects) - {int(s) for s in train.subjects}
    if missing:
        raise UsageError(f"validation subjects {sorted(missing)} are not training subjects")
    mask = np.isin(train.subjects, np.asarray(val_subjects))
    return train.select(~mask), train.select(mask)


def pretrained_spec(run: str, splits: Splits) -> tuple[InputSpec, Splits]:
    """For fine-tuning: the pretrained run's input spec, and ``splits`` in that model's units. Its channels
    (by name), rate and window must be the data's; a mismatch is refused with what to change."""
    loaded = load_trained(run)
    spec = loaded.spec
    want, have = spec.raw_names, tuple(c.name for c in splits.channels)
    if want != have:
        raise UsageError(f"--init-from {run}: the model reads channels {list(want)}, the data has {list(have)}")
    if splits.window.sample_rate_hz != spec.window.sample_rate_hz or splits.window.length != spec.window.length:
        raise UsageError(f"--init-from {run}: the model reads {spec.window.length}-sample windows at "
                         f"{spec.window.sample_rate_hz:g} Hz, the data has {splits.window.length} at "
                         f"{splits.window.sample_rate_hz:g} Hz (import at --rate {spec.window.sample_rate_hz:g}, "
                         f"train with --window {spec.window.length})")
    try:
        scale = np.array([unit_factor(c.unit, m.unit) for c, m in zip(splits.channels, spec.raw)], np.float32)
    except InputContractError as exc:
        raise UsageError(f"--init-from {run}: {exc}") from None
    conv = [WindowSet(w.raw * scale, w.labels, w.subjects, w.class_names) for w in (splits.train, splits.test)]
    return spec, replace(splits, train=conv[0], test=conv[1], channels=spec.raw)


def prepare_data(cfg: FitConfig, data: str | Splits) -> FitData:
    """Load the data, hold out the validation subjects and fit normalisation on the rest (or, when
    fine-tuning, take the pretrained model's)."""
    splits = load_splits(data) if isinstance(data, str) else data
    if cfg.init_from:
        spec, splits = pretrained_spec(cfg.init_from, splits)
        fit_set, val_set = split_validation(splits.train, cfg.val_subjects)
        log.info("Fine-tuning %s (its normalisation and layers; a new %d-class output layer)", cfg.init_from,
                 len(splits.test.class_names))
    else:
        fit_set, val_set = split_validation(splits.train, cfg.val_subjects)
        spec = fit_input_spec(fit_set.raw, cfg.features, splits.window, splits.channels)
    log.info("Data %s: %d train / %d validation / %d test windows, input %s (%s)", splits.source, len(fit_set),
             len(val_set) if val_set else 0, len(splits.test), spec.shape, spec.preprocessing_id)
    return FitData(splits, fit_set, val_set, spec)


def score_repeat(r: int, trained: Trained, d: FitData) -> RepeatResult:
    """Test metrics (and validation accuracy) of one trained repeat."""
    test = d.splits.test
    rep = classification_report(test.labels, predict_classes(trained.model, test.raw, d.spec), test.class_names)
    val_acc = None
    if d.val is not None:
        val_acc = classification_report(d.val.labels, predict_classes(trained.model, d.val.raw, d.spec),
                                        d.val.class_names)["accuracy"]
    log.info(">#%d: %.3f%s", r + 1, 100 * rep["accuracy"],
             f"  (validation {100 * val_acc:.3f})" if val_acc is not None else "")
    return RepeatResult(r + 1, trained.seed, round(trained.wall_s, 2), rep["accuracy"], rep["macro_f1"], val_acc,
                        {k: ClassScores(**v) for k, v in rep["per_class"].items()}, rep["confusion_matrix"])


def select_repeat(results: list[RepeatResult]) -> tuple[int, str]:
    """The repeat with the best validation accuracy (never test); without validation, the first."""
    if all(r.val_accuracy is None for r in results):
        return 0, "first repeat (no validation split)"
    return int(np.argmax([r.val_accuracy if r.val_accuracy is not None else -1.0 for r in results])), \
        "highest validation accuracy"


def fit_metrics(run_id: str, cfg: FitConfig, d: FitData, results: list[RepeatResult], best: int, rule: str,
                params: int, device: dict[str, Any], wall_s: float) -> FitMetrics:
    """``metrics.json`` of the run."""
    accs = np.array([r.test_accuracy for r in results])
    vals = [r.val_accuracy for r in results if r.val_accuracy is not None]
    sel = results[best]
    return FitMetrics(
        run_id=run_id,
        summary=FitSummary(float(accs.mean()), float(accs.std()), float(accs.min()), float(accs.max()),
                           float(np.mean([r.test_macro_f1 for r in results])),
                           float(np.mean(vals)) if vals else None, cfg.repeats),
        selected=Selection(sel.repeat, sel.seed, sel.test_accuracy, rule),
        repeats=results,
        data=DataSummary(d.splits.source, len(d.fit), len(d.val) if d.val else 0, len(d.splits.test),
                         sorted({int(s) for s in d.fit.subjects}), list(cfg.val_subjects),
                         sorted({int(s) for s in d.splits.test.subjects}), list(d.splits.test.class_names),
                         version=d.splits.version, options=d.splits.options or None),
        params=params, device=device,
        versions=package_versions(("harlite", "tensorflow", "keras", "numpy", "ai-edge-litert"),
                                  missing="not installed"),
        wall_s=round(wall_s, 2),
    )


def write_run(tmp: Path, cfg: FitConfig, d: FitData, metrics: FitMetrics, model: Any,
              histories: list[dict[str, list[float]]]) -> None:
    """The run directory's files (TensorBoard logs are already there)."""
    sel = metrics.repeats[metrics.selected.repeat - 1]
    model.save(tmp / "model.keras")
    config = {"run_id": metrics.run_id, "fit": cfg.to_dict(), "data": d.splits.source,
              "data_version": d.splits.version, "data_options": d.splits.options,
              "input_spec": d.spec.to_dict(), "class_names": list(d.splits.test.class_names)}
    atomic_write_json(tmp / "metrics.json", metrics.to_dict())
    atomic_write_json(tmp / "config.json", config)
    atomic_write_text(tmp / "history.csv", history_csv(histories))
    plot_confusion(sel.confusion_matrix, d.splits.test.class_names, tmp / "confusion.png",
                   f"{cfg.arch}, repeat {sel.repeat}: test accuracy {100 * sel.test_accuracy:.2f}%")
    plot_history(histories, tmp / "training.png")


def run_fit(cfg: FitConfig, data: str | Splits, out: str | Path, *, force: bool = False,
            verbose: int | str = "auto") -> FitResult:
    """Train ``cfg.repeats`` repeats, evaluate each on the held-out subjects, write the run dir."""
    import keras

    out = Path(out)
    refuse_existing(out, force)  # before hours of training, not after
    d = prepare_data(cfg, data)
    device = describe_devices()
    log.info("Training on %s", f"{device['kind']}: {', '.join(device['gpus'])}" if device["gpus"]
             else f"{device['kind']} ({device['logical_cpus']} logical device(s))")
    strategy = make_strategy(cfg.distribute)
    if cfg.distribute != "none":
        log.info("Distribution: %s over %d replica(s)", type(strategy).__name__, strategy.num_replicas_in_sync)
    t_start = time.perf_counter()
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    with atomic_directory(out, force=force) as tmp:
        models, results, histories = [], [], []
        for r in range(cfg.repeats):
            tb = keras.callbacks.TensorBoard(log_dir=str(tmp / "tensorboard" / f"repeat_{r + 1}"))
            trained = fit_one(cfg, d.fit, d.spec, cfg.seed + r, val=d.val, callbacks=[tb], verbose=verbose,
                              strategy=strategy)
            results.append(score_repeat(r, trained, d))
            histories.append(trained.history)
            models.append(trained.model)
        best, rule = select_repeat(results)
        metrics = fit_metrics(run_id, cfg, d, results, best, rule, int(models[best].count_params()), device,
                              time.perf_counter() - t_start)
        log.info("%s", [round(100 * r.test_accuracy, 3) for r in results])
        log.info("Accuracy: %.3f%% (+/-%.3f)", 100 * metrics.summary.test_accuracy_mean,
                 100 * metrics.summary.test_accuracy_std)
        write_run(tmp, cfg, d, metrics, models[best], histories)
    log.info("Wrote %s (model.keras = repeat %d, %s)", out, best + 1, rule)
    return FitResult(out, metrics)


@dataclass(frozen=True)
class LoadedModel:
    """A Keras model with the input spec and class names it was trained with."""

    model: Any
    spec: InputSpec
    class_names: tuple[str, ...]
    config: dict[str, Any]
    path: Path


def load_trained(path: str | Path) -> LoadedModel:
    """Load ``model.keras`` (or a run dir holding one) and its ``config.json``."""
    p = Path(path)
    model_path = p / "model.keras" if p.is_dir() else p
    if not model_path.is_file():
        raise ModelError(f"no Keras model at {model_path}")
    if model_path.suffix != ".keras":
        raise ModelError(f"{model_path} is not a .keras file")
    cfg_path = model_path.parent / "config.json"
    try:
        config = json.loads(cfg_path.read_text())
        spec = InputSpec.from_dict(config["input_spec"])
        names = tuple(config["class_names"])
    except FileNotFoundError as exc:
        raise ModelError(f"{cfg_path} is missing; it holds the model's input spec") from exc
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ModelError(f"{cfg_path} is malformed: {exc!r}") from exc
    import keras

    try:
        model = keras.models.load_model(model_path)
    except Exception as exc:  # Keras raises many types for a corrupt archive
        raise ModelError(f"cannot load {model_path}: {exc}") from exc
    want = (None, *spec.shape)
    if tuple(model.input_shape) != want:
        raise ModelError(f"{model_path} takes input {model.input_shape}, its config says {want}")
    return LoadedModel(model, spec, names, config, model_path)


def run_eval(model_path: str | Path, data: str | Splits) -> dict[str, Any]:
    """Evaluate a trained model on the held-out split of ``data``; returns the report."""
    loaded = load_trained(model_path)
    splits = load_splits(data) if isinstance(data, str) else data
    if len(loaded.class_names) != len(splits.test.class_names):
        raise ModelError(
            f"model has {len(loaded.class_names)} classes, data {splits.source} has {len(splits.test.class_names)}"
        )
    rep = classification_report(
        splits.test.labels, predict_classes(loaded.model, splits.test.raw, loaded.spec), splits.test.class_names
    )
    return rep
