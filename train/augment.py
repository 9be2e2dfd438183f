"""Augmentation of raw IMU windows, applied before the shared input code.

Augmenting raw windows (not model inputs) keeps one code path from raw data to model
input. A random rotation, the same for accelerometer and gyroscope, mimics a phone worn
at a slightly different angle; scaling mimics sensor gain; jitter mimics noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Augmentation:
    """Strength of each random transform; zeros turn it off."""

    rotation_deg: float = 0.0
    scale: float = 0.0
    jitter: float = 0.0

    @property
    def active(self) -> bool:
        """Whether any transform is on."""
        return self.rotation_deg > 0 or self.scale > 0 or self.jitter > 0


def random_rotations(n: int, max_deg: float, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """``n`` rotation matrices about uniformly random axes by angles uniform in ±max_deg."""
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    theta = np.deg2rad(rng.uniform(-max_deg, max_deg, size=n))
    k = np.zeros((n, 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k[:, 1, 0], k[:, 2, 0], k[:, 2, 1] = axis[:, 2], -axis[:, 1], axis[:, 0]
    s, c = np.sin(theta)[:, None, None], np.cos(theta)[:, None, None]
    rot = np.eye(3)[None] + s * k + (1 - c) * (k @ k)  # Rodrigues
    return rot.astype(np.float32)


def augment(
    raw: npt.NDArray[np.float32], aug: Augmentation, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """A randomly transformed copy of (n, length, 6) raw windows."""
    out = np.array(raw, dtype=np.float32, copy=True)
    n = out.shape[0]
    if aug.rotation_deg > 0:
        rot = random_rotations(n, aug.rotation_deg, rng)
        out[..., 0:3] = np.einsum("nij,ntj->nti", rot, out[..., 0:3])
        out[..., 3:6] = np.einsum("nij,ntj->nti", rot, out[..., 3:6])
    if aug.scale > 0:
        out *= rng.uniform(1 - aug.scale, 1 + aug.scale, size=(n, 1, 6)).astype(np.float32)
    if aug.jitter > 0:
        out += rng.normal(0.0, aug.jitter, size=out.shape).astype(np.float32)
    return out
