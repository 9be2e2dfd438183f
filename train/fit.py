"""Fitting: one repeat of one architecture on raw windows, with augmentation and a schedule.

Model inputs come from :func:`edge_runtime.contract.model_inputs` only; augmentation
acts on raw windows before it, so training never builds inputs another way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from edge_runtime.contract import InputSpec, model_inputs
from edge_runtime.datasets.windows import WindowSet
from edge_runtime.errors import UsageError
from train.augment import Augmentation, augment
from train.models import CompactConfig, build, rehead

if TYPE_CHECKING:  # pragma: no cover
    import keras
    import tensorflow as tf

Distribute = Literal["none", "mirrored", "multiworker"]


@dataclass(frozen=True)
class FitConfig:
    """Everything that decides a training run; written to ``config.json``."""

    arch: str = "compact"
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3
    schedule: Literal["constant", "cosine"] = "constant"
    label_smoothing: float = 0.0
    #: None: ``raw6`` on the HAPT channels, ``raw`` on any others (see :func:`edge_runtime.contract.default_features`)
    features: str | None = None
    #: ``balanced`` weighs each class by n / (classes * its windows); ``auto`` does so when the training
    #: classes differ by more than CLASS_IMBALANCE in window count; ``none`` never.
    class_weight: Literal["auto", "balanced", "none"] = "auto"
    augmentation: Augmentation = field(default_factory=Augmentation)
    #: Fine-tune from this run directory's model.keras (its input spec is kept; the output layer is new).
    init_from: str | None = None
    repeats: int = 10
    seed: int = 0
    val_subjects: tuple[int, ...] = ()
    distribute: Distribute = "none"
    compact: CompactConfig = field(default_factory=CompactConfig)

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.repeats < 1:
            raise UsageError("epochs, batch size and repeats must be >= 1")
        if self.learning_rate <= 0:
            raise UsageError("learning rate must be > 0")
        if not 0 <= self.label_smoothing < 1:
            raise UsageError("label smoothing must lie in [0, 1)")
        if self.class_weight not in ("auto", "balanced", "none"):
            raise UsageError("class weight: auto, balanced or none")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["augmentation"] = vars(self.augmentation).copy()
        d["compact"] = {k: getattr(self.compact, k) for k in self.compact.__dataclass_fields__}
        d["compact"]["filters"] = list(self.compact.filters)
        d["val_subjects"] = list(self.val_subjects)
        return d


#: Per-architecture defaults. ``tutorial`` reproduces the seed exactly (adam, categorical
#: cross-entropy, 10 epochs, batch 32, 10 repeats). ``compact``'s were chosen on a validation
#: split of the training subjects (docs/benchmarks.md, scripts/tune_compact.py): round 1 the
#: training recipe and kernel 15, round 2 plain last two stages (same accuracy, an int8 file
#: a third the float32 size, faster XNNPACK int8).
ARCH_DEFAULTS: dict[str, FitConfig] = {
    "tutorial": FitConfig(arch="tutorial"),
    "compact": FitConfig(
        arch="compact",
        epochs=40,
        batch_size=64,
        learning_rate=3e-3,
        schedule="cosine",
        label_smoothing=0.1,
        augmentation=Augmentation(rotation_deg=45.0, scale=0.1, jitter=0.01),
        repeats=3,
        compact=CompactConfig(kernel=15, plain_stages=2, plain_kernel=5),
    ),
}


def config_for(arch: str, **overrides: Any) -> FitConfig:
    """The defaults of ``arch`` with the non-None ``overrides`` applied."""
    if arch not in ARCH_DEFAULTS:
        raise UsageError(f"unknown architecture {arch!r}; choose from {sorted(ARCH_DEFAULTS)}")
    return replace(ARCH_DEFAULTS[arch], **{k: v for k, v in overrides.items() if v is not None})


def default_val_subjects(train_subjects: np.ndarray) -> tuple[int, ...]:
    """Every fifth training subject (about 20 %), fixed so tuning runs are comparable."""
    subjects = sorted({int(s) for s in train_subjects})
    return tuple(subjects[2::5])


def make_strategy(kind: Distribute) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy for ``kind``; the default strategy for ``none``."""
    import tensorflow as tf

    if kind == "none":
        return tf.distribute.get_strategy()
    if kind == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if kind == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise UsageError(f"unknown distribution strategy {kind!r}")


@dataclass
class Trained:
    """One fitted repeat."""

    model: keras.Model
    history: dict[str, list[float]]
    seed: int
    wall_s: float


#: Largest/smallest training class size above which ``class_weight="auto"`` balances the loss.
CLASS_IMBALANCE = 1.5


def class_weights(labels: np.ndarray, n_classes: int, rule: str) -> dict[int, float] | None:
    """Loss weight per class id (None: unweighted); a class without windows gets weight 0."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    present = counts[counts > 0]
    if rule == "none" or (rule == "auto" and present.max() <= CLASS_IMBALANCE * present.min()):
        return None
    w = np.where(counts > 0, counts.sum() / (len(present) * np.maximum(counts, 1)), 0.0)
    return {i: float(v) for i, v in enumerate(w)}


def _one_hot(labels: np.ndarray, n: int) -> np.ndarray:
    return np.asarray(np.eye(n, dtype=np.float32)[labels])


def fit_one(
    cfg: FitConfig,
    train: WindowSet,
    spec: InputSpec,
    seed: int,
    val: WindowSet | None = None,
    callbacks: list[Any] | None = None,
    verbose: int | str = "auto",
    strategy: tf.distribute.Strategy | None = None,
) -> Trained:
    """Train one repeat of ``cfg.arch`` from scratch with ``seed``."""
    import keras

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    n_classes = len(train.class_names)
    strategy = strategy or make_strategy(cfg.distribute)
    steps = int(np.ceil(len(train) / cfg.batch_size))
    with strategy.scope():
        if cfg.init_from:
            model = rehead(keras.models.load_model(Path(cfg.init_from) / "model.keras"), n_classes)
        else:
            model = build(cfg.arch, spec.shape, n_classes, cfg.compact)
        lr: float | keras.optimizers.schedules.LearningRateSchedule = cfg.learning_rate
        if cfg.schedule == "cosine":
            lr = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, cfg.epochs * steps, alpha=0.01)
        model.compile(
            optimizer=keras.optimizers.Adam(lr),
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing),
            metrics=["accuracy"],
        )
    y = _one_hot(train.labels, n_classes)
    weights = class_weights(train.labels, n_classes, cfg.class_weight)
    val_data = None
    if val is not None and len(val):
        val_data = (model_inputs(val.raw, spec), _one_hot(val.labels, n_classes))
    t0 = time.perf_counter()
    history: dict[str, list[float]] = {}
    if cfg.augmentation.active:
        # Fresh random transforms every epoch, computed in numpy on raw windows.
        for epoch in range(cfg.epochs):
            x = model_inputs(augment(train.raw, cfg.augmentation, rng, spec.raw), spec)
            h = model.fit(
                x, y, batch_size=cfg.batch_size, epochs=epoch + 1, initial_epoch=epoch,
                validation_data=val_data, callbacks=callbacks, verbose=verbose, shuffle=True, class_weight=weights,
            )
            for k, v in h.history.items():
                history.setdefault(k, []).extend(float(a) for a in v)
    else:
        h = model.fit(
            model_inputs(train.raw, spec), y, batch_size=cfg.batch_size, epochs=cfg.epochs,
            validation_data=val_data, callbacks=callbacks, verbose=verbose, shuffle=True, class_weight=weights,
        )
        history = {k: [float(a) for a in v] for k, v in h.history.items()}
    return Trained(model, history, seed, time.perf_counter() - t0)


def predict_classes(model: keras.Model, raw: np.ndarray, spec: InputSpec, batch_size: int = 512) -> np.ndarray:
    """Argmax class ids for raw windows, through the shared input code."""
    probs = model.predict(model_inputs(raw, spec), batch_size=batch_size, verbose=0)
    return np.asarray(np.argmax(probs, axis=1))

