"""Smoothing of the per-window posterior into a stable activity label.

Moving average of the last ``k`` probability vectors, a confidence threshold below
which the label is ``unknown``, and a minimum dwell: a new label must win ``min_dwell``
windows in a row before it replaces the current one (hysteresis against flicker).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge_runtime.errors import UsageError

UNKNOWN = -1


@dataclass(frozen=True)
class SmoothingConfig:
    """``window``: windows averaged; ``min_confidence``: below -> unknown; ``min_dwell``: windows a
    new label must lead before it is emitted."""

    window: int = 1
    min_confidence: float = 0.0
    min_dwell: int = 1

    def __post_init__(self) -> None:
        if self.window < 1 or self.min_dwell < 1:
            raise UsageError("smoothing window and min dwell must be >= 1")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise UsageError("min confidence must lie in [0, 1]")


class Smoother:
    """Feeds one probability vector per window; reports the current label and whether it changed."""

    def __init__(self, n_classes: int, cfg: SmoothingConfig = SmoothingConfig()) -> None:
        self.cfg = cfg
        self.n_classes = n_classes
        self._hist = np.zeros((cfg.window, n_classes), dtype=np.float64)
        self.reset()

    def reset(self) -> None:
        """Forget history (after a gap in the input)."""
        self._hist[:] = 0
        self._n = 0
        self.label: int | None = None
        self._candidate: int | None = None
        self._run = 0

    def update(self, probs: npt.NDArray[np.float32]) -> tuple[int, float, bool]:
        """Add one window's probabilities; return (label or UNKNOWN, its smoothed confidence, changed)."""
        if self.cfg.window == 1:  # no averaging: skip the history
            avg = probs
        else:
            self._hist[self._n % self.cfg.window] = probs
            avg = self._hist[: min(self._n + 1, self.cfg.window)].mean(axis=0)
        self._n += 1
        top = int(avg.argmax())
        cand = top if avg[top] >= self.cfg.min_confidence else UNKNOWN
        if cand == self._candidate:
            self._run += 1
        else:
            self._candidate, self._run = cand, 1
        prev = self.label
        if prev is None or (cand != prev and self._run >= self.cfg.min_dwell):
            self.label = cand
        label = self.label
        assert label is not None  # set above on the first update
        changed = label != prev  # the first label after a reset counts as a change
        conf = float(avg[label]) if label != UNKNOWN else float(avg[top])
        return label, conf, changed
