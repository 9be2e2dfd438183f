"""Resampling a timestamped stream onto the model's uniform grid, block by block.

Linear interpolation between consecutive samples, carried across blocks (the last sample of
one block interpolates towards the first of the next), so the grid does not depend on how the
input was chunked. The stream classifier resets it at every gap.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from edge_runtime.errors import UsageError

F64 = npt.NDArray[np.float64]


class Resampler:
    """Linear interpolation of a stream onto ``t0 + k / rate_hz``, where ``t0`` is its first sample."""

    def __init__(self, rate_hz: float) -> None:
        if not rate_hz > 0:
            raise UsageError(f"resampling rate must be > 0 Hz, got {rate_hz}")
        self.period = 1.0 / rate_hz
        self.reset()

    def reset(self) -> None:
        """Forget the previous sample: the next block starts a new grid at its first timestamp."""
        self._t_prev: float | None = None
        self._x_prev: F64 | None = None
        self._t_next = 0.0

    def push(self, t: F64, x: F64) -> tuple[F64, F64]:
        """Grid times and interpolated (k, C) values reachable with the samples so far."""
        if len(t) == 0:
            return t, x
        if self._t_prev is None or self._x_prev is None:
            self._t_next = float(t[0])
            tt, xx = t, x
        else:
            tt = np.concatenate([[self._t_prev], t])
            xx = np.concatenate([self._x_prev[None], x])
        n = int(np.floor((tt[-1] - self._t_next) / self.period + 1e-9)) + 1
        self._t_prev, self._x_prev = float(t[-1]), x[-1].copy()
        if n <= 0:
            return np.empty(0), np.empty((0, x.shape[1]))
        grid: F64 = self._t_next + np.arange(n, dtype=np.float64) * self.period
        self._t_next = float(grid[-1] + self.period)
        out = np.stack([np.interp(grid, tt, xx[:, c]) for c in range(x.shape[1])], axis=1)
        return grid, np.asarray(out, dtype=np.float64)
