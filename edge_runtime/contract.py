"""The model-input contract: what one model input is and how it is computed.

Training (``train``), conversion (``convert``) and the device (``edge_runtime``)
all call :func:`model_inputs` on raw sensor windows, so a model sees on the
device exactly the numbers it saw in training. Everything here is numpy only.

Raw stream: 6 channels at 50 Hz, accelerometer in g (gravity included) and
gyroscope in rad/s, in the order of :data:`RAW_CHANNELS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_runtime.errors import InputContractError

RAW_CHANNELS: tuple[str, ...] = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
RAW_UNITS: tuple[str, ...] = ("g", "g", "g", "rad/s", "rad/s", "rad/s")

#: Feature sets a model may be trained on; each maps to the channel names it yields.
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "raw6": RAW_CHANNELS,
    "raw6+norm": RAW_CHANNELS + ("acc_norm", "gyro_norm"),
}
DEFAULT_FEATURES = "raw6"
NORMALISATION = "zscore"
CONTRACT_VERSION = 1

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class WindowSpec:
    """Sample rate, window length and hop of the sliding windows a model reads."""

    sample_rate_hz: float = 50.0
    length: int = 128
    hop: int = 64

    def __post_init__(self) -> None:
        if self.sample_rate_hz <= 0:
            raise InputContractError(f"sample rate must be positive, got {self.sample_rate_hz}")
        if self.length < 1 or self.hop < 1:
            raise InputContractError(
                f"window length and hop must be >= 1, got length={self.length} hop={self.hop}"
            )

    @property
    def seconds(self) -> float:
        """Duration of one window in seconds."""
        return self.length / self.sample_rate_hz


@dataclass(frozen=True)
class InputSpec:
    """Everything needed to turn raw windows into model inputs, stored with each model.

    ``mean`` and ``std`` are per-channel statistics of the training windows' features,
    so serving normalises with the training set's numbers, never its own.
    """

    window: WindowSpec
    features: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    # float32 constants for model_inputs, computed once (not compared, not serialised)
    _mean32: FloatArray = field(init=False, repr=False, compare=False)
    _inv_std32: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.features not in FEATURE_SETS:
            raise InputContractError(
                f"unknown feature set {self.features!r}; known: {sorted(FEATURE_SETS)}"
            )
        n = len(FEATURE_SETS[self.features])
        if len(self.mean) != n or len(self.std) != n:
            raise InputContractError(
                f"feature set {self.features!r} has {n} channels but mean/std have "
                f"{len(self.mean)}/{len(self.std)} values"
            )
        if not all(np.isfinite(self.mean)) or not all(np.isfinite(s) and s > 0 for s in self.std):
            raise InputContractError("normalisation mean must be finite and std finite and > 0")
        mean32 = np.asarray(self.mean, dtype=np.float32)
        inv_std32 = (1.0 / np.asarray(self.std, dtype=np.float64)).astype(np.float32)
        mean32.flags.writeable = False
        inv_std32.flags.writeable = False
        object.__setattr__(self, "_mean32", mean32)
        object.__setattr__(self, "_inv_std32", inv_std32)

    @property
    def channels(self) -> tuple[str, ...]:
        """Names of the model-input channels, in order."""
        return FEATURE_SETS[self.features]

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of one model input: (window length, channels)."""
        return (self.window.length, len(self.channels))

    @property
    def preprocessing_id(self) -> str:
        """A stable id of the input code; a manifest records it so a runtime can refuse a mismatch."""
        return f"harlite-v{CONTRACT_VERSION}/{self.features}/{NORMALISATION}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (used in config.json and the model manifest)."""
        return {
            "preprocessing_id": self.preprocessing_id,
            "sample_rate_hz": self.window.sample_rate_hz,
            "window": self.window.length,
            "hop": self.window.hop,
            "raw_channels": list(RAW_CHANNELS),
            "raw_units": list(RAW_UNITS),
            "features": self.features,
            "channels": list(self.channels),
            "normalisation": {"kind": NORMALISATION, "mean": list(self.mean), "std": list(self.std)},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> InputSpec:
        """Inverse of :meth:`to_dict`; raises :class:`InputContractError` on a bad description."""
        try:
            spec = cls(
                window=WindowSpec(float(d["sample_rate_hz"]), int(d["window"]), int(d["hop"])),
                features=str(d["features"]),
                mean=tuple(float(v) for v in d["normalisation"]["mean"]),
                std=tuple(float(v) for v in d["normalisation"]["std"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputContractError(f"malformed input spec: {exc!r}") from exc
        pid = d.get("preprocessing_id")
        if pid is not None and pid != spec.preprocessing_id:
            raise InputContractError(
                f"preprocessing id {pid!r} is not supported by this runtime "
                f"(it computes {spec.preprocessing_id!r})"
            )
        return spec


def _check_raw(raw: npt.ArrayLike, ndim: int) -> FloatArray:
    arr = np.asarray(raw, dtype=np.float32)
    if arr.ndim != ndim or arr.shape[-1] != len(RAW_CHANNELS):
        want = "(samples, 6)" if ndim == 2 else "(windows, samples, 6)"
        raise InputContractError(f"raw data must have shape {want}, got {arr.shape}")
    return arr


def sliding_windows(stream: npt.ArrayLike, window: WindowSpec) -> FloatArray:
    """Cut a raw (samples, 6) stream into (n, length, 6) windows every ``hop`` samples.

    The first window starts at sample 0; a tail shorter than a window is dropped.
    Returns a copy, so later edits of ``stream`` do not leak into the windows.
    """
    arr = _check_raw(stream, 2)
    if arr.shape[0] < window.length:
        return np.empty((0, window.length, arr.shape[1]), dtype=np.float32)
    view = np.lib.stride_tricks.sliding_window_view(arr, window.length, axis=0)[:: window.hop]
    return np.ascontiguousarray(view.transpose(0, 2, 1))


def features(raw_windows: npt.ArrayLike, feature_set: str) -> FloatArray:
    """Un-normalised features of (n, length, 6) raw windows, float32, in channel order."""
    raw = _check_raw(raw_windows, 3)
    if feature_set == "raw6":
        return raw
    if feature_set == "raw6+norm":
        acc = np.sqrt(np.sum(raw[..., 0:3] * raw[..., 0:3], axis=-1, keepdims=True))
        gyr = np.sqrt(np.sum(raw[..., 3:6] * raw[..., 3:6], axis=-1, keepdims=True))
        return np.concatenate([raw, acc, gyr], axis=-1)
    raise InputContractError(f"unknown feature set {feature_set!r}; known: {sorted(FEATURE_SETS)}")


def fit_input_spec(
    raw_windows: npt.ArrayLike, feature_set: str = DEFAULT_FEATURES, window: WindowSpec | None = None
) -> InputSpec:
    """Compute the normalisation statistics on training windows (never on test data)."""
    feats = features(raw_windows, feature_set).astype(np.float64)
    if feats.shape[0] == 0:
        raise InputContractError("cannot fit normalisation on zero windows")
    win = window or WindowSpec(length=feats.shape[1])
    if feats.shape[1] != win.length:
        raise InputContractError(f"windows have {feats.shape[1]} samples, spec says {win.length}")
    flat = feats.reshape(-1, feats.shape[-1])
    std = np.maximum(flat.std(axis=0), 1e-6)
    return InputSpec(
        window=win,
        features=feature_set,
        mean=tuple(float(v) for v in flat.mean(axis=0)),
        std=tuple(float(v) for v in std),
    )


def model_inputs(raw_windows: npt.ArrayLike, spec: InputSpec) -> FloatArray:
    """Turn raw (n, length, 6) windows into normalised float32 model inputs (n, length, C).

    The single function training, conversion and the device use; keep it deterministic
    float32 arithmetic so runtime and training inputs match bit for bit.
    """
    feats = features(raw_windows, spec.features)
    if feats.shape[1] != spec.window.length:
        raise InputContractError(
            f"windows have {feats.shape[1]} samples, the model expects {spec.window.length}"
        )
    out = feats - spec._mean32
    out *= spec._inv_std32
    return out
