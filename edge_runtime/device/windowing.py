"""A ring-buffer windower: samples in, complete windows out every ``hop`` samples.

Each sample is written twice (at ``i % L`` and ``i % L + L``), so every window is one
contiguous slice of preallocated storage; no per-sample allocation. The windows it
emits equal :func:`edge_runtime.contract.sliding_windows` over the same stream, bit for bit.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


class RingWindower:
    """Collects (k, C) sample blocks with their timestamps; emits (n, L, C) windows."""

    def __init__(self, length: int, hop: int, channels: int = 6) -> None:
        if length < 1 or hop < 1:
            raise ValueError(f"window length and hop must be >= 1, got {length}, {hop}")
        self.length, self.hop, self.channels = length, hop, channels
        self._buf = np.zeros((2 * length, channels), dtype=np.float32)
        self._tbuf = np.zeros(2 * length, dtype=np.float64)
        self.reset()

    def reset(self) -> None:
        """Forget buffered samples (after a gap): the next window needs ``length`` fresh samples."""
        self._count = 0
        self._next_end = self.length

    @property
    def buffered(self) -> int:
        """Samples held toward the next window (at most ``length``)."""
        return min(self._count, self.length)

    def _write(self, x: npt.NDArray[np.float32], t: npt.NDArray[np.float64]) -> None:
        """Write at most ``length`` samples, as up to two contiguous slices per copy."""
        L, n = self.length, len(x)
        start = self._count % L
        first = min(n, L - start)
        for off, (xs, ts) in ((start, (x[:first], t[:first])), (0, (x[first:], t[first:]))):
            k = len(xs)
            if k:
                self._buf[off : off + k] = xs
                self._buf[off + L : off + L + k] = xs
                self._tbuf[off : off + k] = ts
                self._tbuf[off + L : off + L + k] = ts
        self._count += n

    def push(self, x: npt.NDArray[np.float32],
             t: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]:
        """Add samples; return the windows completed by them and each window's end time."""
        x = np.asarray(x, dtype=np.float32)
        t = np.asarray(t, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.channels or t.shape != (x.shape[0],):
            raise ValueError(f"expected (k, {self.channels}) samples and (k,) times, got {x.shape} and {t.shape}")
        wins: list[npt.NDArray[np.float32]] = []
        ends: list[float] = []
        pos = 0
        while pos < len(x):
            # Never write past the next window's end: its samples must not be overwritten yet.
            take = min(len(x) - pos, self._next_end - self._count, self.length)
            self._write(x[pos : pos + take], t[pos : pos + take])
            pos += take
            if self._count == self._next_end:
                s = (self._count - self.length) % self.length
                wins.append(self._buf[s : s + self.length].copy())
                ends.append(float(self._tbuf[s + self.length - 1]))
                self._next_end += self.hop
        if not wins:
            return np.empty((0, self.length, self.channels), np.float32), np.empty(0, np.float64)
        return (wins[0][None] if len(wins) == 1 else np.stack(wins)), np.asarray(ends)
