"""The streaming pipeline the device runs: samples in, activity records out.

    samples (t, 6 values, input units) -> units -> plausibility -> timestamp order / gaps
    -> resampling to the model rate -> ring-buffer windows -> model_inputs (the shared
    contract) -> Classifier (quantise, invoke, dequantise) -> smoothing -> records

``har-edge run``, ``har-edge eval`` and the benchmarks all drive this one class, so what
is measured is what runs.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_runtime.contract import model_inputs
from edge_runtime.device.classifier import Classifier
from edge_runtime.device.ingest import Units, all_plausible, check_samples
from edge_runtime.device.resampling import Resampler
from edge_runtime.device.smoothing import UNKNOWN, Smoother, SmoothingConfig
from edge_runtime.device.windowing import RingWindower
from edge_runtime.errors import UsageError
from edge_runtime.manifest import Manifest
from edge_runtime.metrics import percentiles
from edge_runtime.qtyping import ActivityRecord, ChangeRecord, GapRecord, Record

LATENCY_RING = 4096
Segment = tuple[npt.NDArray[np.float64], npt.NDArray[Any], "float | None"]


@dataclass(frozen=True)
class StreamConfig:
    """How the stream is read and smoothed; ``hop``/``input_rate_hz`` None = the model's."""

    units: Units = field(default_factory=Units)
    input_rate_hz: float | None = None
    max_gap_s: float | None = None
    hop: int | None = None
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    include_probs: bool = False

    def __post_init__(self) -> None:
        if self.input_rate_hz is not None and not self.input_rate_hz > 0:
            raise UsageError("input rate must be > 0 Hz")
        if self.max_gap_s is not None and not self.max_gap_s > 0:
            raise UsageError("max gap must be > 0 s")
        if self.hop is not None and self.hop < 1:
            raise UsageError("hop must be >= 1 sample")


class StreamClassifier:
    """Stateful: feed it blocks of samples in arrival order, get records back."""

    def __init__(self, classifier: Classifier, manifest: Manifest, cfg: StreamConfig = StreamConfig()) -> None:
        self.clf, self.manifest, self.cfg = classifier, manifest, cfg
        self.spec = manifest.input_spec
        rate = self.spec.window.sample_rate_hz
        self.hop = cfg.hop or self.spec.window.hop
        self.max_gap_s = cfg.max_gap_s or max(0.2, 5.0 / (cfg.input_rate_hz or rate))
        resample = cfg.input_rate_hz is not None and abs(cfg.input_rate_hz - rate) > 1e-9
        self._resampler = Resampler(rate) if resample else None
        self._scale = None if cfg.units.identity else cfg.units.scale
        self.windower = RingWindower(self.spec.window.length, self.hop, 6)
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

    # --- the pipeline ------------------------------------------------------------------
    def feed(self, times: npt.ArrayLike, samples: npt.ArrayLike) -> list[Record]:
        """Process samples (times in seconds, values in input units) in arrival order."""
        t: npt.NDArray[np.float64] = np.asarray(times, dtype=np.float64).reshape(-1)
        x: npt.NDArray[Any] = np.asarray(samples)
        if x.ndim != 2 or x.shape != (len(t), 6):
            self.reject("wrong_arity", len(t) or 1)
            return []
        self.samples_in += len(t)
        if self._scale is not None:
            x = x.astype(np.float64) * self._scale
        if not all_plausible(t, x):
            reasons = check_samples(t, x)
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
