"""The model-input contract: what one model input is and how it is computed.

Training (``train``), conversion (``convert``) and the device (``edge_runtime``)
all call :func:`model_inputs` on raw sensor windows, so a model sees on the
device exactly the numbers it saw in training. Everything here is numpy only.

Nothing about the sensors is a constant: a model's raw channels (names, units, 3-axis sensor
groups), sample rate, window, hop and classes come from its data set and are recorded in
``config.json`` and the manifest. The HAPT default is 6 channels at 50 Hz, accelerometer in g
(gravity included) and gyroscope in rad/s (:data:`HAPT_CHANNELS`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from edge_runtime.errors import InputContractError


class Channel(NamedTuple):
    """One raw input channel: its name, unit and 3-axis sensor group (``acc``, ``gyro``, ``mag``; ``""``
    for a channel that belongs to none). A group's three channels rotate together in augmentation and
    under an axis map; they are ordered x, y, z by the last letter of their names."""

    name: str
    unit: str
    group: str = ""

    def to_dict(self) -> dict[str, str]:
        """The JSON form used in data sets and manifests."""
        return {"name": self.name, "unit": self.unit, "group": self.group}


HAPT_CHANNELS: tuple[Channel, ...] = (
    Channel("acc_x", "g", "acc"), Channel("acc_y", "g", "acc"), Channel("acc_z", "g", "acc"),
    Channel("gyro_x", "rad/s", "gyro"), Channel("gyro_y", "rad/s", "gyro"), Channel("gyro_z", "rad/s", "gyro"),
)
RAW_CHANNELS: tuple[str, ...] = tuple(c.name for c in HAPT_CHANNELS)
RAW_UNITS: tuple[str, ...] = tuple(c.unit for c in HAPT_CHANNELS)

#: Feature sets: ``raw`` (the raw channels), ``raw+norm`` (plus the magnitude of every 3-axis group).
#: ``raw6`` and ``raw6+norm`` are the same on exactly the six HAPT channels (the names earlier models
#: were saved with; the HAPT default keeps them, so its manifests are unchanged).
FEATURE_SETS: tuple[str, ...] = ("raw", "raw+norm", "raw6", "raw6+norm")
DEFAULT_FEATURES = "raw6"
NORMALISATION = "zscore"
CONTRACT_VERSION = 1
#: Below this standard deviation (in the channel's unit) a training channel carries no signal.
MIN_STD = 1e-6

#: Seconds per timestamp unit, for data sets, device input and importers alike.
TIME_UNITS: dict[str, float] = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
#: Units a device may convert between: name -> (quantity, factor to the quantity's SI unit).
_UNITS: dict[str, tuple[str, float]] = {
    "g": ("acceleration", 9.80665), "m/s2": ("acceleration", 1.0),
    "rad/s": ("angular velocity", 1.0), "deg/s": ("angular velocity", math.pi / 180.0),
    "ut": ("magnetic field", 1e-6), "t": ("magnetic field", 1.0),
}
_UNIT_SPELLINGS = {"m/s^2": "m/s2", "m/s²": "m/s2", "ms^-2": "m/s2", "m s-2": "m/s2", "°/s": "deg/s", "dps": "deg/s",
                   "degree/s": "deg/s", "rad s-1": "rad/s", "µt": "ut", "microtesla": "ut", "gravity": "g"}

FloatArray = npt.NDArray[np.float32]


def canonical_unit(unit: str) -> str:
    """``m/s^2``, ``m/s²`` -> ``m/s2``; ``°/s``, ``dps`` -> ``deg/s``; other spellings kept as given."""
    u = unit.strip().lower()
    return _UNIT_SPELLINGS.get(u, u if u in _UNITS else unit.strip())


def unit_factor(src: str, dst: str) -> float:
    """The factor that turns values in ``src`` into ``dst`` (1 for equal units); an
    :class:`InputContractError` when they measure different quantities or are unknown."""
    a, b = canonical_unit(src), canonical_unit(dst)
    if a == b:
        return 1.0
    if a not in _UNITS or b not in _UNITS or _UNITS[a][0] != _UNITS[b][0]:
        raise InputContractError(f"cannot convert {src!r} to {dst!r}")
    return _UNITS[a][1] / _UNITS[b][1]


def axis_groups(channels: Sequence[Channel]) -> dict[str, tuple[int, int, int]]:
    """The indices (x, y, z) of every group that has exactly three channels ending in x, y and z."""
    out: dict[str, tuple[int, int, int]] = {}
    for g in dict.fromkeys(c.group for c in channels if c.group):
        members = {c.name[-1].lower(): i for i, c in enumerate(channels) if c.group == g}
        if len(members) == 3 and set(members) == {"x", "y", "z"}:
            out[g] = (members["x"], members["y"], members["z"])
    return out


def feature_names(channels: Sequence[Channel], feature_set: str) -> tuple[str, ...]:
    """Names of the model-input channels that ``feature_set`` yields from ``channels``."""
    if feature_set not in FEATURE_SETS:
        raise InputContractError(f"unknown feature set {feature_set!r}; known: {list(FEATURE_SETS)}")
    if feature_set.startswith("raw6") and tuple(channels) != HAPT_CHANNELS:
        raise InputContractError(f"feature set {feature_set!r} needs the six HAPT channels; use "
                                 f"{feature_set.replace('raw6', 'raw')!r} for {[c.name for c in channels]}")
    names = tuple(c.name for c in channels)
    if feature_set.endswith("+norm"):
        names += tuple(f"{g}_norm" for g in axis_groups(channels))
    return names


def default_features(channels: Sequence[Channel]) -> str:
    """``raw6`` on the HAPT channels (as before), ``raw`` otherwise."""
    return "raw6" if tuple(channels) == HAPT_CHANNELS else "raw"


def channels_from_dict(d: Mapping[str, Any]) -> tuple[Channel, ...]:
    """Raw channels of a saved input spec; specs written before channels had groups infer them
    from the names (``acc_*`` -> ``acc``), and those without channel lists are HAPT's six."""
    names = d.get("raw_channels")
    if names is None:
        return HAPT_CHANNELS
    units = d.get("raw_units") or [""] * len(names)
    groups = d.get("raw_groups") or [str(n).split("_")[0] if str(n).split("_")[0] in ("acc", "gyro", "mag") else ""
                                     for n in names]
    if not (len(names) == len(units) == len(groups)) or not names:
        raise InputContractError("raw_channels, raw_units and raw_groups must be non-empty and of equal length")
    return tuple(Channel(str(n), str(u), str(g)) for n, u, g in zip(names, units, groups))


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
    raw: tuple[Channel, ...] = HAPT_CHANNELS
    # float32 constants for model_inputs, computed once (not compared, not serialised)
    _mean32: FloatArray = field(init=False, repr=False, compare=False)
    _inv_std32: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(feature_names(self.raw, self.features))
        if len({c.name for c in self.raw}) != len(self.raw):
            raise InputContractError(f"duplicate raw channel names: {[c.name for c in self.raw]}")
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
        return feature_names(self.raw, self.features)

    @property
    def raw_names(self) -> tuple[str, ...]:
        """Names of the raw channels a device must deliver, in order."""
        return tuple(c.name for c in self.raw)

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
            "raw_channels": [c.name for c in self.raw],
            "raw_units": [c.unit for c in self.raw],
            "raw_groups": [c.group for c in self.raw],
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
                raw=channels_from_dict(d),
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


def _check_raw(raw: npt.ArrayLike, ndim: int, channels: int | None = None) -> FloatArray:
    arr = np.asarray(raw, dtype=np.float32)
    if arr.ndim != ndim or (channels is not None and arr.shape[-1] != channels):
        c = channels if channels is not None else "C"
        want = f"(samples, {c})" if ndim == 2 else f"(windows, samples, {c})"
        raise InputContractError(f"raw data must have shape {want}, got {arr.shape}")
    return arr


def sliding_windows(stream: npt.ArrayLike, window: WindowSpec) -> FloatArray:
    """Cut a raw (samples, C) stream into (n, length, C) windows every ``hop`` samples.

    The first window starts at sample 0; a tail shorter than a window is dropped.
    Returns a copy, so later edits of ``stream`` do not leak into the windows.
    """
    arr = _check_raw(stream, 2)
    if arr.shape[0] < window.length:
        return np.empty((0, window.length, arr.shape[1]), dtype=np.float32)
    view = np.lib.stride_tricks.sliding_window_view(arr, window.length, axis=0)[:: window.hop]
    return np.ascontiguousarray(view.transpose(0, 2, 1))


def features(raw_windows: npt.ArrayLike, feature_set: str, raw: Sequence[Channel] = HAPT_CHANNELS) -> FloatArray:
    """Un-normalised features of (n, length, C) raw windows of channels ``raw``, float32, in channel order."""
    names = feature_names(raw, feature_set)
    arr = _check_raw(raw_windows, 3, len(raw))
    if len(names) == len(raw):
        return arr
    norms = [np.sqrt(np.sum(arr[..., list(idx)] * arr[..., list(idx)], axis=-1, keepdims=True))
             for idx in axis_groups(raw).values()]
    return np.concatenate([arr, *norms], axis=-1)


def fit_input_spec(
    raw_windows: npt.ArrayLike, feature_set: str | None = None, window: WindowSpec | None = None,
    raw: Sequence[Channel] = HAPT_CHANNELS,
) -> InputSpec:
    """Compute the normalisation statistics on training windows (never on test data); a channel
    with (near-)zero variance is refused, since z-scoring would only magnify its noise."""
    channels = tuple(raw)
    feature_set = feature_set or default_features(channels)
    feats = features(raw_windows, feature_set, channels).astype(np.float64)
    if feats.shape[0] == 0:
        raise InputContractError("cannot fit normalisation on zero windows")
    win = window or WindowSpec(length=feats.shape[1])
    if feats.shape[1] != win.length:
        raise InputContractError(f"windows have {feats.shape[1]} samples, spec says {win.length}")
    flat = feats.reshape(-1, feats.shape[-1])
    std = flat.std(axis=0)
    flat_names = feature_names(channels, feature_set)
    dead = [f"{n} (std {s:.1e})" for n, s in zip(flat_names, std) if not s > MIN_STD]
    if dead:
        raise InputContractError(
            f"channel(s) {', '.join(dead)} carry no signal in the training data (a missing sensor recorded as "
            "zeros?); drop them from the data set (e.g. an accelerometer-only import) instead of training on them"
        )
    return InputSpec(
        window=win,
        features=feature_set,
        mean=tuple(float(v) for v in flat.mean(axis=0)),
        std=tuple(float(v) for v in std),
        raw=channels,
    )


def model_inputs(raw_windows: npt.ArrayLike, spec: InputSpec) -> FloatArray:
    """Turn raw (n, length, C) windows into normalised float32 model inputs (n, length, features).

    The single function training, conversion and the device use; keep it deterministic
    float32 arithmetic so runtime and training inputs match bit for bit.
    """
    feats = features(raw_windows, spec.features, spec.raw)
    if feats.shape[1] != spec.window.length:
        raise InputContractError(
            f"windows have {feats.shape[1]} samples, the model expects {spec.window.length}"
        )
    out = feats - spec._mean32
    out *= spec._inv_std32
    return out
