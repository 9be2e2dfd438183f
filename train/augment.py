"""Augmentation of raw IMU windows, applied before the shared input code.

Augmenting raw windows (not model inputs) keeps one code path from raw data to model
input. A random rotation, the same for every 3-axis sensor of the window (accelerometer and
gyroscope turn together), mimics a phone worn at a slightly different angle; scaling mimics
sensor gain; jitter mimics noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge_runtime.contract import HAPT_CHANNELS, Channel, axis_groups


@dataclass(frozen=True)
class Augmentation:
    """Strength of each random transform; zeros turn it off."""

    rotation_deg: float = 0.0
    scale: float = 0.0
    jitter: float = 0.0
    #: Rotate about this device axis only ("x", "y" or "z"; None: a random axis per window). A phone in a
    #: trouser pocket turns about its long axis (y) but keeps it along the thigh, whose angle to gravity
    #: tells sitting from standing: rotating about every axis would erase that cue.
    rotation_axis: str | None = None
    #: Also turn half the windows upside down (180 degrees about an axis across ``rotation_axis``).
    flip: bool = False

    @property
    def active(self) -> bool:
        """Whether any transform is on."""
        return self.rotation_deg > 0 or self.scale > 0 or self.jitter > 0 or self.flip


def random_rotations(n: int, max_deg: float, rng: np.random.Generator,
                     axis_name: str | None = None) -> npt.NDArray[np.float32]:
    """``n`` rotation matrices by angles uniform in ±max_deg about uniformly random axes (or ``axis_name``)."""
    if axis_name is None:
        axis = rng.normal(size=(n, 3))
        axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    else:
        axis = np.zeros((n, 3))
        axis[:, "xyz".index(axis_name)] = 1.0
    theta = np.deg2rad(rng.uniform(-max_deg, max_deg, size=n))
    k = np.zeros((n, 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k[:, 1, 0], k[:, 2, 0], k[:, 2, 1] = axis[:, 2], -axis[:, 1], axis[:, 0]
    s, c = np.sin(theta)[:, None, None], np.cos(theta)[:, None, None]
    rot = np.eye(3)[None] + s * k + (1 - c) * (k @ k)  # Rodrigues
    return rot.astype(np.float32)


def _half_turn(axis: str) -> npt.NDArray[np.float32]:
    """180 degrees about ``axis``."""
    m = -np.eye(3, dtype=np.float32)
    i = "xyz".index(axis)
    m[i, i] = 1.0
    return m


def augment(
    raw: npt.NDArray[np.float32], aug: Augmentation, rng: np.random.Generator,
    channels: Sequence[Channel] = HAPT_CHANNELS,
) -> npt.NDArray[np.float32]:
    """A randomly transformed copy of (n, length, C) raw windows of ``channels``: one rotation per
    window turns every 3-axis group (accelerometer, gyroscope, ...) together; other channels are
    only scaled and jittered."""
    out = np.array(raw, dtype=np.float32, copy=True)
    n, c = out.shape[0], out.shape[-1]
    groups = list(axis_groups(channels).values())
    if (aug.rotation_deg > 0 or aug.flip) and groups:
        rot = random_rotations(n, aug.rotation_deg, rng, aug.rotation_axis)
        if aug.flip:
            across = "xyz"[("xyz".index(aug.rotation_axis or "y") + 2) % 3]
            turn = random_rotations(n, 0.0, rng, across)
            upside = np.asarray(rng.random(n) < 0.5)
            turn[upside] = random_rotations(int(upside.sum()), 0.0, rng, across) @ _half_turn(across)
            rot = rot @ turn
        for idx in groups:
            cols = list(idx)
            if cols == list(range(cols[0], cols[0] + 3)):  # contiguous x, y, z: rotate the slice in place
                out[..., cols[0]:cols[0] + 3] = np.einsum("nij,ntj->nti", rot, out[..., cols[0]:cols[0] + 3])
            else:
                out[..., cols] = np.einsum("nij,ntj->nti", rot, out[..., cols])
    if aug.scale > 0:
        out *= rng.uniform(1 - aug.scale, 1 + aug.scale, size=(n, 1, c)).astype(np.float32)
    if aug.jitter > 0:
        out += rng.normal(0.0, aug.jitter, size=out.shape).astype(np.float32)
    return out
