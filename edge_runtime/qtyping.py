"""Shared types of the device path: the ``Variant`` enum and the typed records the daemon writes.

In the spirit of ai-edge-quantizer's ``qtyping.py``: one small module a reader opens to see what
flows through the runtime. Each record has ``to_dict()`` giving the JSON keys of the records
stream (unchanged from the earlier dict-based code, so consumers keep working). The reports of
training, conversion and measurement live in :mod:`edge_runtime.reports`: they are many frozen
dataclasses, and creating them costs ~45 ms of import time a daemon does not need to pay.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, NamedTuple

from edge_runtime.errors import UsageError


class Variant(str, Enum):
    """A converted model file's numeric format."""

    INT8 = "int8"
    FLOAT16 = "float16"
    DYNAMIC = "dynamic"
    FLOAT32 = "float32"

    def __str__(self) -> str:  # f"model_{v}.tflite" must read model_int8.tflite on every Python
        return self.value

    @classmethod
    def parse(cls, name: str | Variant) -> Variant:
        """The variant called ``name``; :class:`UsageError` naming the choices otherwise."""
        try:
            return cls(name)
        except ValueError:
            raise UsageError(f"unknown variant {name!r}; choose from {[v.value for v in cls]}") from None


# --- records: what the daemon writes, one JSON object per line ------------------------------
# Immutable typed tuples rather than dataclasses: one is made per classified window, and a
# NamedTuple is ~4x cheaper to create (0.5 vs 2 us) and ~6x cheaper to define at start-up.

RECORD_SCHEMA = 1


class ActivityRecord(NamedTuple):
    """One classified window; ``t`` is the window's end in stream seconds."""

    t: float
    label: str
    confidence: float
    model_id: str
    latency_us: float
    probs: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the records stream."""
        d: dict[str, Any] = {"type": "activity", "t": self.t, "label": self.label, "confidence": self.confidence,
                             "model_id": self.model_id, "latency_us": self.latency_us}
        if self.probs is not None:
            d["probs"] = self.probs
        return d


class ChangeRecord(NamedTuple):
    """The emitted label changed (``from_`` is None for the first label after a start or gap)."""

    t: float
    from_: str | None
    to: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the records stream."""
        return {"type": "change", "t": self.t, "from": self.from_, "to": self.to}


class GapRecord(NamedTuple):
    """A timestamp jump beyond ``--max-gap`` reset the window at ``t``."""

    t: float
    gap_s: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the records stream."""
        return {"type": "gap", "t": self.t, "gap_s": self.gap_s}


class StatsRecord(NamedTuple):
    """Counters of the daemon: periodic, and once at exit with ``final`` set."""

    final: bool
    t_wall: float
    uptime_s: float
    samples_in: int
    samples_used: int
    windows: int
    windows_per_s: float
    latency_us: dict[str, float]
    malformed: int
    rejected: dict[str, int]
    gaps: int
    internal_errors: int
    sink: dict[str, int]
    #: What the first samples said about the input (timestamp unit, rate, resampled); None before.
    input: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the records stream."""
        return {"type": "stats", **self._asdict()}


Record = ActivityRecord | ChangeRecord | GapRecord | StatsRecord
