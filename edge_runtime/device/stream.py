"""The streaming pipeline the device runs: samples in, activity records out.

    samples (t, one value per raw channel, input units) -> clock (timestamp unit, measured
    rate) -> units and axis map -> plausibility -> timestamp order / gaps -> resampling to the
    model rate when the input's differs -> ring-buffer windows -> model_inputs (the shared
    contract) -> Classifier (quantise, invoke, dequantise) -> smoothing -> records

``har-edge run``, ``har-edge eval`` and the benchmarks all drive this one class, so what
is measured is what runs.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from edge_runtime.contract import model_inputs
from edge_runtime.device.classifier import Classifier
from edge_runtime.device.ingest import (
    Units,
    all_plausible,
    check_samples,
    guess_time_unit,
    input_transform,
    plausibility_limits,
    time_unit_factor,
)
from edge_runtime.device.resampling import Resampler
from edge_runtime.device.smoothing import UNKNOWN, Smoother, SmoothingConfig
from edge_runtime.device.windowing import RingWindower
from edge_runtime.errors import InputContractError, UsageError
from edge_runtime.manifest import Manifest
from edge_runtime.metrics import percentiles
from edge_runtime.qtyping import ActivityRecord, ChangeRecord, GapRecord, Record

LATENCY_RING = 4096
#: Samples looked at before the timestamp unit and the input rate are decided.
PROBE_SAMPLES = 32
#: An input rate within this fraction of the model's is taken as the model's (no resampling).
RATE_TOLERANCE = 0.03
Segment = tuple[npt.NDArray[np.float64], npt.NDArray[Any], "float | None"]
TimeUnit = Literal["s", "ms", "us", "ns", "auto"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamConfig:
    """How the stream is read and smoothed. ``input_rate_hz`` None: measured from the timestamps;
    ``hop`` None: the model's; ``time_unit`` ``auto``: from the spacing of the first timestamps."""

    units: Units = field(default_factory=Units)
    input_rate_hz: float | None = None
    max_gap_s: float | None = None
    hop: int | None = None
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    include_probs: bool = False
    time_unit: TimeUnit = "auto"
    axis_map: str | None = None
    on_rate_mismatch: Literal["resample", "refuse"] = "resample"

    def __post_init__(self) -> None:
        if self.input_rate_hz is not None and not 0 < self.input_rate_hz <= 1e5:
            raise UsageError("input rate must lie in (0, 100000] Hz")
        if self.max_gap_s is not None and not self.max_gap_s > 0:
            raise UsageError("max gap must be > 0 s")
        if self.hop is not None and self.hop < 1:
            raise UsageError("hop must be >= 1 sample")
        if self.time_unit != "auto":
            time_unit_factor(self.time_unit)
        if self.on_rate_mismatch not in ("resample", "refuse"):
            raise UsageError("on rate mismatch: resample or refuse")


class Clock(NamedTuple):
    """What the first samples said about the input: timestamp unit, rate, whether it is resampled."""

    time_unit: str
    rate_hz: float
    measured: bool
    resampled: bool

    def to_dict(self) -> dict[str, Any]:
        """For the stats record."""
        return {"time_unit": self.time_unit, "rate_hz": round(self.rate_hz, 3), "measured": self.measured,
                "resampled": self.resampled}


class StreamClassifier:
    """Stateful: feed it blocks of samples in arrival order, get records back; :meth:`finish` at the end."""

    def __init__(self, classifier: Classifier, manifest: Manifest, cfg: StreamConfig = StreamConfig()) -> None:
        self.clf, self.manifest, self.cfg = classifier, manifest, cfg
        self.spec = manifest.input_spec
        self.channels = len(self.spec.raw)
        self.rate = self.spec.window.sample_rate_hz
        self.hop = cfg.hop or self.spec.window.hop
        self.max_gap_s = cfg.max_gap_s or max(0.2, 5.0 / (cfg.input_rate_hz or self.rate))
        self._matrix = input_transform(self.spec.raw, cfg.units, cfg.axis_map)
        self._limits = plausibility_limits(self.spec.raw)
        self._resampler: Resampler | None = None
        self.clock: Clock | None = None
        self._t_scale = 1.0
        self._pending: list[tuple[npt.NDArray[np.float64], npt.NDArray[Any]]] = []
        self._pending_n = 0
        self.windower = RingWindower(self.spec.window.length, self.hop, self.channels)
        self.smoother = Smoother(len(manifest.labels), cfg.smoothing)
        self.labels = manifest.labels
        self.model_id = manifest.model_id
        self.rejected: Counter[str] = Counter()
        self.samples_in = 0
        self.samples_used = 0
        self.windows = 0
        self.gaps = 0
        self._latencies = np.zeros(LATENCY_RING)
        self._t_last: float | None = None

    # --- bookkeeping -------------------------------------------------------------------
    def reject(self, reason: str, n: int = 1) -> None:
        """Count records rejected before they became samples (parse errors)."""
        self.rejected[reason] += n

    def latency_percentiles(self) -> dict[str, float]:
        """p50/p99 of the most recent invoke latencies, microseconds."""
        return percentiles(self._latencies[: min(self.windows, LATENCY_RING)], (50, 99))

    def _reset(self) -> None:
        self.windower.reset()
        self.smoother.reset()
        if self._resampler is not None:
            self._resampler.reset()

    # --- the clock: timestamp unit and input rate, decided on the first samples ---------
    def _decide_clock(self, t: npt.NDArray[np.float64]) -> None:
        cfg = self.cfg
        unit = guess_time_unit(t, self.rate) if cfg.time_unit == "auto" else cfg.time_unit
        self._t_scale = time_unit_factor(unit)
        d = np.diff(t[np.isfinite(t)]) * self._t_scale
        d = d[(d > 0) & (d <= 2.0)]
        measured = cfg.input_rate_hz is None and len(d) > 0
        rate = cfg.input_rate_hz or (1.0 / float(np.median(d)) if len(d) else self.rate)
        mismatch = abs(rate / self.rate - 1.0) > (RATE_TOLERANCE if measured else 1e-9)
        if mismatch and cfg.on_rate_mismatch == "refuse":
            raise InputContractError(
                f"the input runs at {rate:.2f} Hz ({'measured from its timestamps' if measured else '--input-rate'}) "
                f"but the model at {self.rate:g} Hz; resample it (the default) or record at the model's rate")
        self._resampler = Resampler(self.rate) if mismatch else None
        if cfg.max_gap_s is None:
            self.max_gap_s = max(0.2, 5.0 / rate)
        self.clock = Clock(unit, rate, measured, mismatch)
        log.log(logging.INFO if unit != "s" or mismatch else logging.DEBUG,
                "input: timestamps in %s, %.2f Hz %s%s", unit, rate, "measured" if measured else "given",
                f"; resampling to the model's {self.rate:g} Hz" if mismatch else "")

    # --- the pipeline ------------------------------------------------------------------
    def feed(self, times: npt.ArrayLike, samples: npt.ArrayLike) -> list[Record]:
        """Process samples (times in the input's unit, values in input units) in arrival order."""
        t: npt.NDArray[np.float64] = np.asarray(times, dtype=np.float64).reshape(-1)
        x: npt.NDArray[Any] = np.asarray(samples)
        if x.ndim != 2 or x.shape != (len(t), self.channels):
            self.reject("wrong_arity", len(t) or 1)
            return []
        self.samples_in += len(t)
        if self.clock is None:
            self._pending.append((t, x))
            self._pending_n += len(t)
            if self._pending_n < PROBE_SAMPLES:
                return []
            return self._release()
        return self._process(t, x)

    def finish(self) -> list[Record]:
        """At the end of input: process what is still held for the clock decision."""
        return self._release() if self._pending else []

    def _release(self) -> list[Record]:
        t = np.concatenate([p[0] for p in self._pending])
        x = np.concatenate([p[1] for p in self._pending])
        self._pending, self._pending_n = [], 0
        xx = x if self._matrix is None else x.astype(np.float64) @ self._matrix.T
        with np.errstate(invalid="ignore"):
            good = np.isfinite(t) & (np.abs(xx) <= self._limits).all(axis=1)
        self._decide_clock(t[good])  # on the samples that will be used: a rejected one's time says nothing
        return self._process(t, x)

    def _process(self, t: npt.NDArray[np.float64], x: npt.NDArray[Any]) -> list[Record]:
        if self._t_scale != 1.0:
            t = t * self._t_scale
        if self._matrix is not None:
            x = x.astype(np.float64) @ self._matrix.T
        if not all_plausible(t, x, self._limits):
            reasons = check_samples(t, x, self._limits)
            bad = reasons != ""
            for r, n in Counter(reasons[bad].tolist()).items():
                self.rejected[r] += n
            t, x = t[~bad], x[~bad]
        records: list[Record] = []
        for seg_t, seg_x, gap in self._segments(t, x):
            if gap is not None:
                self.gaps += 1
                self._reset()
                records.append(GapRecord(float(seg_t[0]), round(gap, 6)))
            if self._resampler is not None:
                seg_t, seg_x = self._resampler.push(seg_t, seg_x.astype(np.float64))
            self.samples_used += len(seg_t)
            wins, ends = self.windower.push(seg_x, seg_t)
            if len(wins):
                self._classify(wins, ends, records)
        return records

    def _segments(self, t: npt.NDArray[np.float64], x: npt.NDArray[Any]) -> Iterator[Segment]:
        """Split into runs of strictly increasing, gap-free timestamps; drop small backward steps
        (out-of-order or duplicate samples); a jump beyond ``max_gap_s`` either way starts a new run."""
        if len(t) == 0:
            return
        prev = self._t_last
        first_ok = prev is None or 0 < t[0] - prev <= self.max_gap_s
        dt = t[1:] - t[:-1]
        if first_ok and (len(dt) == 0 or (dt.min() > 0 and dt.max() <= self.max_gap_s)):  # the common case
            self._t_last = float(t[-1])
            yield t, x, None
            return
        keep: list[int] = []
        gap: float | None = None
        for i, ti in enumerate(t.tolist()):
            if prev is not None:
                d = ti - prev
                if -self.max_gap_s <= d <= 0:
                    self.rejected["out_of_order"] += 1
                    continue
                if abs(d) > self.max_gap_s:
                    if keep:
                        yield t[keep], x[keep], gap
                    keep, gap = [], d
            keep.append(i)
            prev = ti
        self._t_last = prev
        if keep:
            yield t[keep], x[keep], gap

    def _classify(self, wins: npt.NDArray[np.float32], ends: npt.NDArray[np.float64], records: list[Record]) -> None:
        q = self.clf.quantize(model_inputs(wins, self.spec))
        for i in range(len(wins)):
            t0 = time.perf_counter()
            raw = self.clf.invoke_raw(q[i : i + 1])
            lat_us = (time.perf_counter() - t0) * 1e6
            self._latencies[self.windows % LATENCY_RING] = lat_us
            self.windows += 1
            probs = self.clf.dequantize(raw[0])
            prev = self.smoother.label
            label, conf, changed = self.smoother.update(probs)
            name = self.labels[label] if label != UNKNOWN else "unknown"
            records.append(ActivityRecord(
                float(ends[i]), name, round(conf, 4), self.model_id, round(lat_us, 1),
                {n: round(float(p), 4) for n, p in zip(self.labels, probs)} if self.cfg.include_probs else None))
            if changed:
                frm = None if prev is None else (self.labels[prev] if prev != UNKNOWN else "unknown")
                records.append(ChangeRecord(float(ends[i]), frm, name))
