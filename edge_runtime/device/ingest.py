"""Turning raw input records into checked samples: columns by name, units, axes, plausibility.

A sample is a timestamp plus one value per raw channel of the model, in the model's channel
order. CSV and JSON-lines columns are found by name (the model's channel names or common short
forms such as ``ax``/``gx``), in any order, extra columns ignored; a header-less CSV is read in a
given column order (default ``t`` then the model's channels). A record that cannot be trusted is
rejected with a reason and counted; it never raises out of the daemon loop. Only a header that
lacks a channel the model needs is fatal: nothing could be classified.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from edge_runtime.contract import TIME_UNITS, Channel, axis_groups, unit_factor
from edge_runtime.errors import InputContractError, RecordRejected, UsageError

STANDARD_GRAVITY = 9.80665
MAX_LINE_BYTES = 1024
#: Beyond these a value is not a phone/wearable IMU reading: accelerometers saturate at 2-16 g,
#: gyroscopes at about 35 rad/s (2000 deg/s). Other channels are only checked for being finite.
MAX_ABS_ACC_G = 32.0
MAX_ABS_GYRO_RAD_S = 70.0
#: A JSON number beyond this is an overflow or a corrupted record, not a reading or a timestamp.
MAX_ABS_NUMBER = 1e300
TIME_NAMES = ("t", "time", "timestamp", "ts")
#: Legacy positional layout (and its header) of the six HAPT channels.
HEADER = "t,ax,ay,az,gx,gy,gz"

_SHORT = {"acc": "a", "gyro": "g", "mag": "m"}


def _norm(name: str) -> str:
    return re.sub(r"[\s\"'_.\-]", "", name.strip().lower())


def aliases(name: str) -> set[str]:
    """Header names accepted for channel ``name`` (normalised: lower case, no separators):
    ``acc_x`` also as ``ax``, ``accx``, ``accelx``, ``accelerometerx``; ``gyro_x`` as ``gx``, ``gyrx``."""
    out = {_norm(name)}
    m = re.fullmatch(r"(acc|gyro|mag)_([xyz])", name.lower())
    if m:
        group, axis = m.groups()
        out |= {_SHORT[group] + axis, group + axis}
        out |= {"accel" + axis, "accelerometer" + axis} if group == "acc" else set()
        out |= {"gyr" + axis, "gyroscope" + axis} if group == "gyro" else set()
        out |= {"magnetometer" + axis} if group == "mag" else set()
    return out


def _number(v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise RecordRejected("bad_json", "non-numeric value")
    if isinstance(v, int) and abs(v) > MAX_ABS_NUMBER:
        raise RecordRejected("bad_json", "integer out of range")
    return float(v)


class LineParser:
    """Parses CSV or JSON-lines records into (t, values in model channel order).

    ``columns`` names the columns of a header-less CSV (default: ``t`` then the channels); a
    header line, when one comes, replaces it. Stateful only in that column mapping.
    """

    def __init__(self, channels: Sequence[str], columns: Sequence[str] | None = None) -> None:
        self.channels = tuple(channels)
        self._aliases = [aliases(c) for c in self.channels]
        self._index: tuple[int, ...] = ()
        self._width = 0
        self.header: tuple[str, ...] | None = None
        self._map(tuple(columns) if columns else ("t", *self.channels), from_header=False)
        self._json_keys: dict[frozenset[str], tuple[str, ...]] = {}

    def _find(self, names: Sequence[str], what: str) -> tuple[int, ...]:
        normed = [_norm(n) for n in names]
        t_idx = next((i for i, n in enumerate(normed) if n in TIME_NAMES), None)
        idx, missing = [], []
        for ch, al in zip(self.channels, self._aliases):
            hits = [i for i, n in enumerate(normed) if n in al]
            if hits:
                idx.append(hits[0])
            else:
                missing.append(ch)
        if t_idx is None or missing:
            lack = (["a time column (t, time or timestamp)"] if t_idx is None else []) + missing
            raise InputContractError(
                f"{what} {','.join(names)!r} has no column for {', '.join(lack)}; the model needs "
                f"t,{','.join(self.channels)} (names in any order; short forms like ax/gx work; "
                "--columns names the columns of input without a header)")
        return (t_idx, *idx)

    def _map(self, names: tuple[str, ...], from_header: bool) -> None:
        self._index = self._find(names, "input header" if from_header else "--columns")
        self._width = len(names)
        if from_header:
            self.header = names

    def parse(self, line: bytes) -> tuple[float, tuple[float, ...]] | None:
        """One record -> (t, values); None for lines to skip silently (blank, ``#`` comments, a header);
        :class:`RecordRejected` for anything else that is not a sample. A first header that lacks a
        channel raises :class:`InputContractError`."""
        if len(line) > MAX_LINE_BYTES:
            raise RecordRejected("too_long", f"{len(line)} bytes > {MAX_LINE_BYTES}")
        try:
            text = line.decode("utf-8").strip().lstrip("\ufeff")
        except UnicodeDecodeError:
            raise RecordRejected("bad_utf8") from None
        if not text or text.startswith("#"):
            return None
        if text.startswith("{"):
            return self._parse_json(text)
        parts = text.split(",")
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            self._header_or_reject(parts, text)
            return None
        if len(nums) < self._width:
            raise RecordRejected("wrong_arity", f"{len(nums)} fields, want {self._width}")
        if len(nums) > self._width and self.header is not None:
            raise RecordRejected("wrong_arity", f"{len(nums)} fields, header has {self._width}")
        if len(nums) > self._width:
            raise RecordRejected("wrong_arity", f"{len(nums)} fields, want {self._width} "
                                                f"({','.join(('t', *self.channels))})")
        t_i, *ch = self._index
        return nums[t_i], tuple(nums[i] for i in ch)

    def _header_or_reject(self, parts: list[str], text: str) -> None:
        """A line that names a time column is a header (it re-maps the columns); anything else that is
        not numeric is a bad record. Only the input's first header can be fatal."""
        names = tuple(p.strip().strip("\"'") for p in parts)
        if not any(_norm(n) in TIME_NAMES for n in names):
            raise RecordRejected("not_a_number", text[:80])
        try:
            self._map(names, from_header=True)
        except InputContractError:
            if self.header is None:
                raise  # the input's own header lacks a channel: nothing could be classified
            raise RecordRejected("bad_header", text[:80]) from None

    def _parse_json(self, text: str) -> tuple[float, tuple[float, ...]]:
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):
            raise RecordRejected("bad_json", text[:80]) from None
        if not isinstance(obj, dict):
            raise RecordRejected("bad_json", "not an object")
        keys = frozenset(obj)
        names = self._json_keys.get(keys)
        if names is None:
            try:
                idx = self._find(list(obj), "JSON record with keys")
            except InputContractError as exc:
                raise RecordRejected("missing_key", str(exc)[:120]) from None
            ordered = list(obj)
            names = tuple(ordered[i] for i in idx)
            if len(self._json_keys) < 64:
                self._json_keys[keys] = names
        t = _number(obj[names[0]])
        return t, tuple(_number(obj[k]) for k in names[1:])


class Units(NamedTuple):
    """Units of the incoming accelerometer and gyroscope values; None = the model's own units."""

    acc: str | None = None
    gyro: str | None = None

    def scale(self, channels: Sequence[Channel]) -> npt.NDArray[np.float64]:
        """Per-channel factors from the input units to the model's units."""
        out = np.ones(len(channels))
        for i, c in enumerate(channels):
            given = self.acc if c.group == "acc" else self.gyro if c.group == "gyro" else None
            if given is not None:
                try:
                    out[i] = unit_factor(given, c.unit)
                except InputContractError as exc:
                    raise UsageError(f"input unit {given!r} for {c.name}: {exc} (the model's unit is {c.unit!r})") \
                        from None
        return out


def parse_axis_map(spec: str) -> dict[str, tuple[str, float]]:
    """``x=-y,y=x,z=z`` -> {new axis: (source axis, sign)}; every axis exactly once."""
    out: dict[str, tuple[str, float]] = {}
    for item in (p.strip() for p in spec.split(",") if p.strip()):
        m = re.fullmatch(r"([xyz])\s*=\s*([+-]?)\s*([xyz])", item.lower())
        if not m or m.group(1) in out:
            raise UsageError(f"axis map {spec!r}: use three items like x=-y,y=x,z=z")
        out[m.group(1)] = (m.group(3), -1.0 if m.group(2) == "-" else 1.0)
    if set(out) != {"x", "y", "z"} or {s for s, _ in out.values()} != {"x", "y", "z"}:
        raise UsageError(f"axis map {spec!r}: each of x, y and z must appear once on each side")
    return out


def input_transform(channels: Sequence[Channel], units: Units, axis_map: str | None) -> npt.NDArray[np.float64] | None:
    """One (C, C) matrix from input values to model values (units, then the axis map applied to
    every 3-axis group); None when it is the identity."""
    m = np.diag(units.scale(channels))
    if axis_map:
        amap = parse_axis_map(axis_map)
        perm = np.eye(len(channels))
        for idx in axis_groups(channels).values():
            axes = dict(zip("xyz", idx))
            for new, (src, sign) in amap.items():
                perm[axes[new], :] = 0.0
                perm[axes[new], axes[src]] = sign
        m = perm @ m
    return None if np.array_equal(m, np.eye(len(channels))) else m


def plausibility_limits(channels: Sequence[Channel]) -> npt.NDArray[np.float64]:
    """Largest plausible |value| per channel in the model's units (inf: only finiteness is checked)."""
    out = np.full(len(channels), np.inf)
    for i, c in enumerate(channels):
        for limit, unit in ((MAX_ABS_ACC_G, "g"), (MAX_ABS_GYRO_RAD_S, "rad/s")):
            try:
                out[i] = limit * unit_factor(unit, c.unit)
            except InputContractError:
                continue
    return out


def time_unit_factor(unit: str) -> float:
    """Seconds per timestamp unit (``s``, ``ms``, ``us``, ``ns``)."""
    try:
        return TIME_UNITS[unit]
    except KeyError:
        raise UsageError(f"time unit {unit!r}: use s, ms, us, ns or auto") from None


def guess_time_unit(t: npt.NDArray[np.float64], rate_hz: float) -> str:
    """The timestamp unit that makes the median spacing of ``t`` a plausible sampling period:
    the unit whose period is closest (in log ratio) to the model's, among 0.5 Hz .. 20 kHz."""
    d = np.diff(t[np.isfinite(t)])
    d = d[d > 0]
    if len(d) == 0:
        return "s"
    step = float(np.median(d))
    best, score = "s", math.inf
    for unit, factor in TIME_UNITS.items():
        period = step * factor
        if 5e-5 <= period <= 2.0:
            s = abs(math.log(period * rate_hz))
            if s < score:
                best, score = unit, s
    return best


def check_samples(t: npt.NDArray[np.float64], x: npt.NDArray[np.floating], limits: npt.NDArray[np.float64]
                  ) -> npt.NDArray[np.object_]:
    """Reason per sample (``""`` for good ones): non-finite or beyond a channel's plausible range."""
    reasons = np.full(len(t), "", dtype=object)
    finite = np.isfinite(x).all(axis=1) & np.isfinite(t)
    reasons[~finite] = "non_finite"
    with np.errstate(invalid="ignore"):
        absurd = finite & (np.abs(x) > limits).any(axis=1)
    reasons[absurd] = "out_of_range"
    return reasons


def all_plausible(t: npt.NDArray[np.float64], x: npt.NDArray[np.floating], limits: npt.NDArray[np.float64]) -> bool:
    """Fast path: True when every sample is finite and in range (NaN fails the comparison)."""
    return bool(np.all(np.abs(x) <= limits)) and bool(np.isfinite(t).all())
