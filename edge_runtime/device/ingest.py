"""Turning raw input records into checked samples: parsing, units, plausibility.

One sample is ``t`` (seconds) plus ``ax, ay, az, gx, gy, gz``. A record that cannot be
trusted is rejected with a reason and counted; it never raises out of the daemon loop.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from edge_runtime.errors import RecordRejected

STANDARD_GRAVITY = 9.80665
MAX_LINE_BYTES = 1024
#: Beyond these (after unit conversion) a value is not a phone IMU reading: phone
#: accelerometers saturate at 2-16 g, gyroscopes at about 35 rad/s (2000 deg/s).
MAX_ABS_ACC_G = 32.0
MAX_ABS_GYRO_RAD_S = 70.0
JSON_KEYS = ("ax", "ay", "az", "gx", "gy", "gz")
HEADER = "t,ax,ay,az,gx,gy,gz"

AccUnit = Literal["g", "m/s2"]
GyroUnit = Literal["rad/s", "deg/s"]


@dataclass(frozen=True)
class Units:
    """Units of the incoming accelerometer and gyroscope values."""

    acc: AccUnit = "g"
    gyro: GyroUnit = "rad/s"

    @property
    def scale(self) -> npt.NDArray[np.float64]:
        """Per-channel factors that convert to g and rad/s."""
        a = 1.0 if self.acc == "g" else 1.0 / STANDARD_GRAVITY
        g = 1.0 if self.gyro == "rad/s" else math.pi / 180.0
        return np.array([a, a, a, g, g, g])

    @property
    def identity(self) -> bool:
        return self.acc == "g" and self.gyro == "rad/s"



def parse_line(line: bytes) -> tuple[float, tuple[float, ...]] | None:
    """One CSV (``t,ax,ay,az,gx,gy,gz``) or JSON-lines record -> (t, 6 values) in input units.

    Returns None for lines to skip silently (blank, ``#`` comments, the CSV header);
    raises :class:`RecordRejected` for anything else that is not a sample.
    """
    if len(line) > MAX_LINE_BYTES:
        raise RecordRejected("too_long", f"{len(line)} bytes > {MAX_LINE_BYTES}")
    try:
        text = line.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise RecordRejected("bad_utf8") from None
    if not text or text.startswith("#"):
        return None
    if text.startswith("{"):
        try:
            obj = json.loads(text)
            t = obj["t"]
            vals = tuple(obj[k] for k in JSON_KEYS)
        except (ValueError, KeyError, TypeError):
            raise RecordRejected("bad_json", text[:80]) from None
        if isinstance(t, bool) or not isinstance(t, (int, float)) or any(
            isinstance(v, bool) or not isinstance(v, (int, float)) for v in vals
        ):
            raise RecordRejected("bad_json", "non-numeric value")
        return float(t), tuple(float(v) for v in vals)
    parts = text.split(",")
    if len(parts) != 7:
        if text.replace(" ", "").lower() == HEADER:
            return None
        raise RecordRejected("wrong_arity", f"{len(parts)} fields, want 7 (t,ax,ay,az,gx,gy,gz)")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        if text.replace(" ", "").lower() == HEADER:
            return None
        raise RecordRejected("not_a_number", text[:80]) from None
    return nums[0], tuple(nums[1:])


_LIMITS = np.array([MAX_ABS_ACC_G] * 3 + [MAX_ABS_GYRO_RAD_S] * 3)


def all_plausible(t: npt.NDArray[np.float64], x: npt.NDArray[np.floating]) -> bool:
    """Fast path: True when every sample is finite and in range (NaN fails the comparison)."""
    return bool(np.all(np.abs(x) <= _LIMITS)) and bool(np.isfinite(t).all())


def check_samples(
    t: npt.NDArray[np.float64], x: npt.NDArray[np.float64]
) -> npt.NDArray[np.str_ | np.object_]:
    """Reason per sample (``""`` for good ones) for converted samples: non-finite or absurd values."""
    reasons = np.full(len(t), "", dtype=object)
    finite = np.isfinite(x).all(axis=1) & np.isfinite(t)
    reasons[~finite] = "non_finite"
    with np.errstate(invalid="ignore"):
        absurd = finite & (
            (np.abs(x[:, :3]) > MAX_ABS_ACC_G).any(axis=1) | (np.abs(x[:, 3:]) > MAX_ABS_GYRO_RAD_S).any(axis=1)
        )
    reasons[absurd] = "out_of_range"
    return reasons
