"""Separately clocked sensor streams -> one uniform grid at the model rate.

Each stream is sorted, cleared of repeated timestamps and split at gaps; when its own rate is
above the target it is low-pass filtered (zero-phase Butterworth below the target's Nyquist
frequency, scipy) before linear interpolation onto the grid, so downsampling does not alias.
Grid points are kept only where every stream has data; the result is one or more segments.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)
F64 = npt.NDArray[np.float64]
#: A pause longer than this many target periods (and at least MIN_GAP_S) splits a stream.
GAP_PERIODS = 10
MIN_GAP_S = 0.5
#: Filter cut-off as a fraction of the target Nyquist frequency, and the filter order.
CUTOFF = 0.9
ORDER = 4


@dataclass(frozen=True)
class Stream:
    """One sensor's samples: times in seconds, (n, k) values."""

    t: F64
    x: F64


@dataclass(frozen=True)
class AlignReport:
    """What alignment did, for the import log."""

    duplicates: int
    gaps: int
    filtered: bool


def clean(s: Stream) -> tuple[Stream, int]:
    """Sorted by time, finite rows only, repeated timestamps dropped (the first kept)."""
    ok = np.isfinite(s.t) & np.isfinite(s.x).all(axis=1)
    t, x = s.t[ok], s.x[ok]
    order = np.argsort(t, kind="stable")
    t, x = t[order], x[order]
    keep = np.r_[True, np.diff(t) > 0]
    return Stream(t[keep], x[keep]), int((~keep).sum() + (~ok).sum())


def runs(t: F64, max_gap: float) -> list[tuple[int, int]]:
    """Index ranges [start, end) without a pause longer than ``max_gap``."""
    cuts = np.flatnonzero(np.diff(t) > max_gap) + 1
    bounds = np.r_[0, cuts, len(t)]
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds) if b - a >= 2]


def antialias(t: F64, x: F64, rate: float) -> tuple[F64, bool]:
    """``x`` low-passed below ``rate``'s Nyquist frequency when its own rate is higher (filtered on a
    uniform grid at its own median rate, then read back at its own times)."""
    from scipy.signal import butter, sosfiltfilt

    native = 1.0 / float(np.median(np.diff(t)))
    if native <= rate * 1.05 or len(t) < 3 * (ORDER + 1) * 3:
        return x, False
    grid = t[0] + np.arange(int((t[-1] - t[0]) * native) + 1) / native
    u = np.stack([np.interp(grid, t, x[:, c]) for c in range(x.shape[1])], axis=1)
    sos = butter(ORDER, CUTOFF * 0.5 * rate, fs=native, output="sos")
    f = sosfiltfilt(sos, u, axis=0)
    return np.stack([np.interp(t, grid, f[:, c]) for c in range(x.shape[1])], axis=1), True


def align(streams: list[Stream], rate: float) -> tuple[list[tuple[F64, F64]], AlignReport]:
    """Segments (grid times, (n, sum of k) values) where every stream has data, at ``rate``."""
    max_gap = max(MIN_GAP_S, GAP_PERIODS / rate)
    cleaned, dups, filtered = [], 0, False
    for s in streams:
        c, d = clean(s)
        dups += d
        if len(c.t) < 2:
            return [], AlignReport(dups, 0, False)
        cleaned.append(c)
    start = max(float(c.t[0]) for c in cleaned)
    end = min(float(c.t[-1]) for c in cleaned)
    if end <= start:
        return [], AlignReport(dups, 0, False)
    grid = start + np.arange(int(np.floor((end - start) * rate)) + 1) / rate
    valid = np.ones(len(grid), dtype=bool)
    cols: list[F64] = []
    gaps = 0
    for c in cleaned:
        covered = np.zeros(len(grid), dtype=bool)
        values = np.zeros((len(grid), c.x.shape[1]))
        rr = runs(c.t, max_gap)
        gaps += max(0, len(rr) - 1)
        for a, b in rr:
            xs, did = antialias(c.t[a:b], c.x[a:b], rate)
            filtered |= did
            m = (grid >= c.t[a]) & (grid <= c.t[b - 1])
            covered |= m
            values[m] = np.stack([np.interp(grid[m], c.t[a:b], xs[:, k]) for k in range(xs.shape[1])], axis=1)
        valid &= covered
        cols.append(values)
    x = np.concatenate(cols, axis=1)
    edges = np.flatnonzero(np.diff(valid.astype(np.int8))) + 1
    segs = []
    for a, b in zip(np.r_[0, edges], np.r_[edges, len(grid)]):
        if valid[a] and b - a >= 2:
            segs.append((grid[a:b], x[a:b]))
    return segs, AlignReport(dups, gaps, filtered)
