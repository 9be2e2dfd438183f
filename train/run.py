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
import platform
import time
import uuid
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edge_runtime.contract import InputSpec, fit_input_spec
from edge_runtime.datasets import Splits, WindowSet, load_splits
from edge_runtime.errors import ModelError
from edge_runtime.fileio import atomic_directory, atomic_write_json, atomic_write_text, refuse_existing
from edge_runtime.metrics import classification_report
from train.fit import FitConfig, fit_one, make_strategy, predict_classes
from train.plots import plot_confusion, plot_history

Echo = Callable[[str], None]
METRICS_SCHEMA = 1


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide a result."""
    out = {"python": platform.python_version()}
    for name in ("harlite", "tensorflow", "keras", "numpy", "ai-edge-litert"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


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
    metrics: dict[str, Any]


def _history_csv(histories: list[dict[str, list[float]]]) -> str:
    keys = sorted({k for h in histories for k in h})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["repeat", "epoch", *keys])
    for r, h in enumerate(histories, start=1):
        n = max((len(v) for v in h.values()), default=0)
        for e in range(n):
            w.writerow([r, e + 1, *(f"{h[k][e]:.6f}" if k in h and e < len(h[k]) else "" for k in keys)])
    return buf.getvalue()


def _split_validation(train: WindowSet, val_subjects: tuple[int, ...]) -> tuple[WindowSet, WindowSet | None]:
    if not val_subjects:
        return train, None
    missing = set(val_subjects) - {int(s) for s in train.subjects}
    if missing:
        raise ValueError(f"validation subjects {sorted(missing)} are not training subjects")
    mask = np.isin(train.subjects, np.asarray(val_subjects))
    return train.select(~mask), train.select(mask)


def run_fit(
    cfg: FitConfig,
    data: str | Splits,
    out: str | Path,
    *,
    force: bool = False,
    echo: Echo = print,
    verbose: int | str = "auto",
) -> FitResult:
    """Train ``cfg.repeats`` repeats, evaluate each on the held-out subjects, write the run dir."""
    import keras

    out = Path(out)
    refuse_existing(out, force)  # before hours of training, not after
    splits = load_splits(data) if isinstance(data, str) else data
    device = describe_devices()
    echo(f"Training on {device['kind']}" + (f": {', '.join(device['gpus'])}" if device["gpus"] else
                                             f" ({device['logical_cpus']} logical device(s))"))
    fit_set, val_set = _split_validation(splits.train, cfg.val_subjects)
    spec = fit_input_spec(fit_set.raw, cfg.features)
    echo(f"Data {splits.source}: {len(fit_set)} train / {len(val_set) if val_set else 0} validation / "
         f"{len(splits.test)} test windows, input {spec.shape} ({spec.preprocessing_id})")
    strategy = make_strategy(cfg.distribute)
    if cfg.distribute != "none":
        echo(f"Distribution: {type(strategy).__name__} over {strategy.num_replicas_in_sync} replica(s)")
    t_start = time.perf_counter()
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    with atomic_directory(out, force=force) as tmp:
        repeats: list[dict[str, Any]] = []
        histories: list[dict[str, list[float]]] = []
        best: tuple[float, int, keras.Model] | None = None
        for r in range(cfg.repeats):
            seed = cfg.seed + r
            tb = keras.callbacks.TensorBoard(log_dir=str(tmp / "tensorboard" / f"repeat_{r + 1}"))
            trained = fit_one(cfg, fit_set, spec, seed, val=val_set, callbacks=[tb], verbose=verbose,
                              strategy=strategy)
            test_rep = classification_report(
                splits.test.labels, predict_classes(trained.model, splits.test.raw, spec), splits.test.class_names
            )
            val_acc = None
            if val_set is not None:
                val_acc = classification_report(
                    val_set.labels, predict_classes(trained.model, val_set.raw, spec), val_set.class_names
                )["accuracy"]
            histories.append(trained.history)
            repeats.append({
                "repeat": r + 1, "seed": seed, "wall_s": round(trained.wall_s, 2),
                "test_accuracy": test_rep["accuracy"], "test_macro_f1": test_rep["macro_f1"],
                "val_accuracy": val_acc, "per_class": test_rep["per_class"],
                "confusion_matrix": test_rep["confusion_matrix"],
            })
            echo(f">#{r + 1}: {100 * test_rep['accuracy']:.3f}"
                 + (f"  (validation {100 * val_acc:.3f})" if val_acc is not None else ""))
            # Select on validation accuracy only; with no validation split, the first repeat.
            key = val_acc if val_acc is not None else (1.0 if r == 0 else -1.0)
            if best is None or key > best[0]:
                best = (key, r, trained.model)
        assert best is not None
        accs = np.array([rep["test_accuracy"] for rep in repeats])
        echo(str([round(float(100 * a), 3) for a in accs]))
        echo(f"Accuracy: {100 * accs.mean():.3f}% (+/-{100 * accs.std():.3f})")
        sel = repeats[best[1]]
        best[2].save(tmp / "model.keras")
        vals = [rep["val_accuracy"] for rep in repeats if rep["val_accuracy"] is not None]
        rule = "highest validation accuracy" if vals else "first repeat (no validation split)"
        metrics = {
            "schema": METRICS_SCHEMA,
            "run_id": run_id,
            "summary": {
                "test_accuracy_mean": float(accs.mean()),
                "test_accuracy_std": float(accs.std()),
                "test_accuracy_min": float(accs.min()),
                "test_accuracy_max": float(accs.max()),
                "test_macro_f1_mean": float(np.mean([rep["test_macro_f1"] for rep in repeats])),
                "val_accuracy_mean": float(np.mean(vals)) if vals else None,
                "repeats": cfg.repeats,
            },
            "selected": {
                "repeat": sel["repeat"], "seed": sel["seed"], "test_accuracy": sel["test_accuracy"],
                "rule": rule,
            },
            "repeats": repeats,
            "data": {
                "source": splits.source, "train_windows": len(fit_set),
                "val_windows": len(val_set) if val_set else 0, "test_windows": len(splits.test),
                "train_subjects": sorted({int(s) for s in fit_set.subjects}),
                "val_subjects": list(cfg.val_subjects),
                "test_subjects": sorted({int(s) for s in splits.test.subjects}),
                "class_names": list(splits.test.class_names),
            },
            "params": int(best[2].count_params()),
            "device": device,
            "versions": package_versions(),
            "wall_s": round(time.perf_counter() - t_start, 2),
        }
        config = {"run_id": run_id, "fit": cfg.to_dict(), "data": splits.source,
                  "input_spec": spec.to_dict(), "class_names": list(splits.test.class_names)}
        atomic_write_json(tmp / "metrics.json", metrics)
        atomic_write_json(tmp / "config.json", config)
        atomic_write_text(tmp / "history.csv", _history_csv(histories))
        plot_confusion(sel["confusion_matrix"], splits.test.class_names, tmp / "confusion.png",
                       f"{cfg.arch}, repeat {sel['repeat']}: test accuracy {100 * sel['test_accuracy']:.2f}%")
        plot_history(histories, tmp / "training.png")
    echo(f"Wrote {out} (model.keras = repeat {sel['repeat']}, {rule})")
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


def run_eval(model_path: str | Path, data: str | Splits, echo: Echo = print) -> dict[str, Any]:
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
    echo(f"{loaded.path} on {splits.source} ({rep['n']} test windows)")
    echo(f"Accuracy: {100 * rep['accuracy']:.3f}%  macro-F1: {100 * rep['macro_f1']:.3f}%")
    for name, pc in rep["per_class"].items():
        echo(f"  {name:20s} precision {100 * pc['precision']:6.2f}  recall {100 * pc['recall']:6.2f}  "
             f"n={pc['support']}")
    return rep
