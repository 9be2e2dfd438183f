"""Typed reports: what training (``metrics.json``), conversion (``report.json``), streaming
evaluation (``eval.json``) and the benchmark (``bench.json``) produce.

Frozen dataclasses whose ``to_dict()`` gives the JSON keys written to disk (unchanged from the
earlier dict-based code, so scripts reading those files keep working). Top-level reports carry a
``schema`` number; ``from_dict()`` reads their files back and refuses a newer schema. Kept apart
from :mod:`edge_runtime.qtyping` so the daemon does not pay for creating these classes at start-up.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, TypeVar, Union

from edge_runtime.qtyping import Variant

T = TypeVar("T", bound="JsonRecord")


# --- generic JSON conversion of report dataclasses -----------------------------------------


def _key(f: dataclasses.Field[Any]) -> str:
    return str(f.metadata.get("key", f.name))


def to_plain(obj: Any) -> Any:
    """Dataclasses, enums, paths and containers as JSON-ready values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if v is None and f.metadata.get("omit_none"):
                continue
            out[_key(f)] = to_plain(v)
        return out
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, dict):
        return {str(to_plain(k)): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    return obj


def _build(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        arms = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _build(arms[0], value) if len(arms) == 1 else value
    if origin is dict:
        _, vt = typing.get_args(tp)
        return {k: _build(vt, v) for k, v in dict(value).items()}
    if origin in (list, tuple):
        args = typing.get_args(tp)
        items = [_build(args[0], v) for v in value] if args else list(value)
        return tuple(items) if origin is tuple else items
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _from_plain(tp, value)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(value)
    return value


def _from_plain(cls: type[Any], d: Any) -> Any:
    if not isinstance(d, dict):
        raise ValueError(f"{cls.__name__}: expected a JSON object, got {type(d).__name__}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        k = _key(f)
        if k in d:
            kwargs[f.name] = _build(hints[f.name], d[k])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ValueError(f"{cls.__name__}: missing key {k!r}")
    return cls(**kwargs)


class JsonRecord:
    """Mixin of the report dataclasses: ``to_dict`` and, for files, ``from_dict`` with a schema check."""

    SCHEMA: ClassVar[int] = 1

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = to_plain(self)
        return out

    @classmethod
    def from_dict(cls: type[T], d: Any) -> T:
        """Read a report written by this or an older harlite; ``ValueError`` on a newer schema or bad shape."""
        schema = d.get("schema", 1) if isinstance(d, dict) else None
        if not isinstance(schema, int) or schema > cls.SCHEMA:
            raise ValueError(f"{cls.__name__}: schema {schema!r} is newer than this harlite reads ({cls.SCHEMA})")
        built: T = _from_plain(cls, d)
        return built


# --- training: metrics.json -------------------------------------------------------------------


@dataclass(frozen=True)
class ClassScores:
    """Precision, recall and F1 of one class, fractions 0-1."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class RepeatResult:
    """One training repeat, scored on the held-out subjects."""

    repeat: int
    seed: int
    wall_s: float
    test_accuracy: float
    test_macro_f1: float
    val_accuracy: float | None
    per_class: dict[str, ClassScores]
    confusion_matrix: list[list[int]]


@dataclass(frozen=True)
class FitSummary:
    """Mean and spread over the repeats."""

    test_accuracy_mean: float
    test_accuracy_std: float
    test_accuracy_min: float
    test_accuracy_max: float
    test_macro_f1_mean: float
    val_accuracy_mean: float | None
    repeats: int


@dataclass(frozen=True)
class Selection:
    """Which repeat became ``model.keras`` and by which rule (never test accuracy)."""

    repeat: int
    seed: int
    test_accuracy: float
    rule: str


@dataclass(frozen=True)
class DataSummary:
    """The windows and subjects a run used."""

    source: str
    train_windows: int
    val_windows: int
    test_windows: int
    train_subjects: list[int]
    val_subjects: list[int]
    test_subjects: list[int]
    class_names: list[str]
    #: The data set's content hash (``sha256:...``) and the options that recreate the split.
    version: str | None = field(default=None, metadata={"omit_none": True})
    options: dict[str, Any] | None = field(default=None, metadata={"omit_none": True})


@dataclass(frozen=True)
class FitMetrics(JsonRecord):
    """``metrics.json`` of a training run."""

    run_id: str
    summary: FitSummary
    selected: Selection
    repeats: list[RepeatResult]
    data: DataSummary
    params: int
    device: dict[str, Any]
    versions: dict[str, str]
    wall_s: float
    schema: int = 1


# --- conversion: report.json ------------------------------------------------------------------


@dataclass(frozen=True)
class VariantReport:
    """One converted file validated through the device classifier against the float model."""

    file: str
    bytes: int
    accuracy: float
    macro_f1: float
    drop_pp: float
    agreement: float
    prob_diff_mean: float
    prob_diff_max: float
    per_class_recall: dict[str, float]
    confusion_matrix: list[list[int]]
    ops: list[str]
    op_counts: dict[str, int]
    macs: int
    invoke_us: dict[str, float]
    passed: bool
    failures: list[str]


@dataclass(frozen=True)
class CalibrationCandidate:
    """One int8 calibration tried by ``auto`` and its top-1 agreement with float."""

    clip_percentile: float | None
    activation_ranges: str
    agreement: float


@dataclass(frozen=True)
class CalibrationCheck:
    """How ``auto`` calibration chose: candidates scored on training windows not used to calibrate."""

    windows: int
    candidates: list[CalibrationCandidate]
    chosen: CalibrationCandidate


@dataclass(frozen=True)
class ConversionData:
    """Held-out data and int8 calibration of a conversion."""

    source: str
    test_windows: int
    test_subjects: list[int]
    calibration_windows: int
    calibration_clip_percentile: float | None
    calibration_clip_range: list[float] | None
    activation_ranges: str | None
    calibration_requested: dict[str, Any]
    calibration_check: CalibrationCheck | None


@dataclass(frozen=True)
class FloatReference:
    """The float Keras model on the same held-out windows."""

    accuracy: float
    macro_f1: float
    per_class_recall: dict[str, float]


@dataclass(frozen=True)
class GateResult:
    """The accuracy gate over every variant."""

    passed: bool
    max_drop_pp: float
    min_agreement: float
    failures: list[str]
    #: The most frequent held-out class and its share (absent in reports written before it was gated).
    majority_class: str | None = field(default=None, metadata={"omit_none": True})
    majority_share: float | None = field(default=None, metadata={"omit_none": True})


@dataclass(frozen=True)
class ConversionReport(JsonRecord):
    """``report.json`` of a conversion."""

    model_id: str
    source: dict[str, str]
    data: ConversionData
    float: FloatReference
    variants: dict[str, VariantReport]
    gate: GateResult
    micro: dict[str, Any] | None
    versions: dict[str, str]
    schema: int = 1


# --- measurement: eval.json, bench.json -------------------------------------------------------


@dataclass(frozen=True)
class SwitchDelay:
    """Seconds from an activity's start until the emitted label first equals it."""

    median: float | None
    p90: float | None
    switches: int
    missed: int


@dataclass(frozen=True)
class StreamClassScores:
    """Per-class recall of the stream and of the validated windows."""

    recall: float
    support: int
    window_recall: float


@dataclass(frozen=True)
class EmittedDuring:
    """What unlabelled or transition time was emitted as (fractions of its windows)."""

    windows: int
    as_: dict[str, float] = field(metadata={"key": "as"})


@dataclass(frozen=True)
class StreamSettings:
    """The smoothing and hop a streaming evaluation ran with."""

    hop: int
    smooth: int
    min_confidence: float
    min_dwell: int


@dataclass(frozen=True)
class StreamEvalReport(JsonRecord):
    """``har-edge eval --json``: held-out recordings replayed through the daemon and scored."""

    model_id: str
    data: str
    subjects: list[int]
    recordings: int
    window_accuracy: float
    window_macro_f1: float
    windows_validated: int
    streaming_accuracy: float
    streaming_macro_f1: float
    streaming_windows_labelled: int
    unknown_on_labelled: float
    per_class: dict[str, StreamClassScores]
    switch_delay_s: SwitchDelay
    emitted_during: dict[str, EmittedDuring]
    samples: int
    wall_s: float
    samples_per_s: float
    stream: StreamSettings
    timeline: str | None = field(default=None, metadata={"omit_none": True})
    schema: int = 1


@dataclass(frozen=True)
class BenchResult(JsonRecord):
    """``har-edge bench --json``: the device path's cost on this machine."""

    model_id: str
    variant: Variant
    model_bytes: int
    threads: int
    invoke_us: dict[str, float]
    path_us: dict[str, float]
    path_over_invoke: float
    replay_samples_per_s: float
    replay_x_realtime: float
    replay_samples: int
    windows: int
    repeat: int
    machine: dict[str, Any]
    #: A daemon's start in a fresh interpreter (absent when not measured).
    import_s: float | None = field(default=None, metadata={"omit_none": True})
    load_s: float | None = field(default=None, metadata={"omit_none": True})
    rss_mb: float | None = field(default=None, metadata={"omit_none": True})
    schema: int = 1
