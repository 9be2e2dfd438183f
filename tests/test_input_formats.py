"""Ordinary input files a device meets: columns in any order, other timestamp units, other rates,
a rotated mounting, header-less files, and inputs that cannot work (a clear error, never exit 0)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge_runtime.datasets.hapt import HaptData
from edge_runtime.errors import ExitCode

GOLDEN = Path(__file__).parent / "models" / "golden"
HAR_EDGE = [sys.executable, "-m", "edge_runtime.cli"]
KEYS = ("ax", "ay", "az", "gx", "gy", "gz")


@pytest.fixture(scope="module")
def rec(hapt: HaptData) -> np.ndarray:
    return next(hapt.by_subjects([2])).stream[:1500].astype(np.float64)


def write_csv(path: Path, t: np.ndarray, x: np.ndarray, cols: list[str], header: bool = True,
              tfmt: str = "{:.2f}") -> Path:
    order = [KEYS.index(c) for c in cols[1:]]
    lines = [",".join(cols)] if header else []
    lines += [tfmt.format(ti) + "," + ",".join(repr(float(row[i])) for i in order) for ti, row in zip(t, x)]
    path.write_text("\n".join(lines) + "\n")
    return path


def activities(path: Path, *extra: str) -> tuple[list[dict], dict, subprocess.CompletedProcess[str]]:
    out = path.with_suffix(".out.jsonl")
    out.unlink(missing_ok=True)  # the file sink appends
    res = subprocess.run(HAR_EDGE + ["run", "--model", str(GOLDEN), "--source", f"file:{path}", "--sink",
                                     f"file:{out}", *extra], capture_output=True, text=True, timeout=120)
    recs = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    acts = [{k: r[k] for k in ("t", "label", "confidence")} for r in recs if r["type"] == "activity"]
    final = recs[-1] if recs else {}
    return acts, final, res


@pytest.fixture(scope="module")
def canonical(rec: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    p = write_csv(tmp_path_factory.mktemp("c") / "canonical.csv", np.arange(len(rec)) / 50, rec, ["t", *KEYS])
    acts, final, res = activities(p)
    assert res.returncode == 0, res.stderr
    assert len(acts) == (1500 - 128) // 64 + 1 and final["input"] == {
        "time_unit": "s", "rate_hz": 50.0, "measured": True, "resampled": False}
    return acts


def test_columns_in_any_order_and_extra_columns(rec: np.ndarray, canonical: list[dict], tmp_path: Path) -> None:
    p = write_csv(tmp_path / "perm.csv", np.arange(len(rec)) / 50, rec, ["t", "gx", "gy", "gz", "ax", "ay", "az"])
    assert activities(p)[0] == canonical
    # long names, another time column name, an extra column the model does not use
    lines = ["timestamp,temperature,gyro_z,acc_x,gyro_x,acc_z,acc_y,gyro_y"]
    lines += [f"{i / 50:.2f},21.5," + ",".join(repr(float(r[k])) for k in (5, 0, 3, 2, 1, 4)) for i, r in enumerate(rec)]
    (tmp_path / "long.csv").write_text("\n".join(lines) + "\n")
    assert activities(tmp_path / "long.csv")[0] == canonical


@pytest.mark.parametrize(("unit", "scale", "fmt"), [("ms", 1e3, "{:.0f}"), ("us", 1e6, "{:.0f}"),
                                                    ("ns", 1e9, "{:.0f}")])
def test_timestamps_in_other_units_are_detected(rec: np.ndarray, canonical: list[dict], tmp_path: Path,
                                                unit: str, scale: float, fmt: str) -> None:
    epoch = {"ms": 1.7e12, "us": 1.7e15, "ns": 1.7e18}[unit]  # a Unix epoch in that unit
    p = write_csv(tmp_path / f"{unit}.csv", epoch + np.arange(len(rec)) / 50 * scale, rec, ["t", *KEYS], tfmt=fmt)
    acts, final, res = activities(p)
    assert res.returncode == 0, res.stderr
    assert final["input"]["time_unit"] == unit and not final["input"]["resampled"] and final["gaps"] == 0
    assert [(a["label"], a["confidence"]) for a in acts] == [(a["label"], a["confidence"]) for a in canonical]
    if unit == "ms":  # stream seconds: only the epoch offset differs
        np.testing.assert_allclose([a["t"] - epoch / 1e3 for a in acts], [a["t"] for a in canonical], atol=1e-3)
    forced = activities(p, "--time-unit", "s")  # told seconds, the gaps say every sample is a new segment
    assert forced[2].returncode == ExitCode.NOTHING_CLASSIFIED and "no window was classified" in forced[2].stderr


def test_another_rate_is_measured_and_resampled_or_refused(rec: np.ndarray, tmp_path: Path) -> None:
    t100 = np.arange(2 * len(rec) - 1) / 100.0
    x100 = np.stack([np.interp(t100, np.arange(len(rec)) / 50, rec[:, c]) for c in range(6)], axis=1)
    p = write_csv(tmp_path / "r100.csv", t100, x100, ["t", *KEYS], tfmt="{:.3f}")
    acts, final, res = activities(p)
    assert res.returncode == 0, res.stderr
    assert final["input"]["rate_hz"] == pytest.approx(100.0) and final["input"]["resampled"] is True
    assert len(acts) == (1500 - 128) // 64 + 1 and "resampling to the model's 50 Hz" in res.stderr
    refused = activities(p, "--on-rate-mismatch", "refuse")[2]
    assert refused.returncode == ExitCode.DATA_ERROR and "100.00 Hz" in refused.stderr and "50 Hz" in refused.stderr


def test_axis_map_undoes_a_rotated_mounting(rec: np.ndarray, canonical: list[dict], tmp_path: Path) -> None:
    # the device is mounted turned 90 degrees about z: its x is the model's y, its y the model's -x
    turned = rec.copy()
    for g in (0, 3):
        turned[:, g], turned[:, g + 1] = -rec[:, g + 1], rec[:, g]
    p = write_csv(tmp_path / "turned.csv", np.arange(len(rec)) / 50, turned, ["t", *KEYS])
    assert activities(p)[0] != canonical
    assert activities(p, "--axis-map", "x=y,y=-x,z=z")[0] == canonical
    bad = activities(p, "--axis-map", "x=y,y=y,z=z")[2]
    assert bad.returncode == ExitCode.USAGE and "axis map" in bad.stderr


def test_headerless_input_with_a_column_list(rec: np.ndarray, canonical: list[dict], tmp_path: Path) -> None:
    cols = ["t", "gz", "gy", "gx", "az", "ay", "ax"]
    p = write_csv(tmp_path / "bare.csv", np.arange(len(rec)) / 50, rec, cols, header=False)
    assert activities(p, "--columns", ",".join(cols))[0] == canonical
    wrong = activities(p)[0]  # read as t,ax,...: other numbers, other labels
    assert wrong != canonical


def test_a_header_without_a_needed_channel_is_a_clear_error(rec: np.ndarray, tmp_path: Path) -> None:
    p = write_csv(tmp_path / "acc.csv", np.arange(len(rec)) / 50, rec[:, :3], ["t", "ax", "ay", "az"])
    acts, _, res = activities(p)
    assert res.returncode == ExitCode.DATA_ERROR and not acts
    assert "has no column for gyro_x, gyro_y, gyro_z" in res.stderr


def test_too_little_input_ends_with_exit_8_and_the_reason(rec: np.ndarray, tmp_path: Path) -> None:
    p = write_csv(tmp_path / "short.csv", np.arange(100) / 50, rec[:100], ["t", *KEYS])
    _, final, res = activities(p)
    assert res.returncode == ExitCode.NOTHING_CLASSIFIED and final["windows"] == 0 and final["final"] is True
    assert "100 samples read" in res.stderr and "needs 128 consecutive samples at 50 Hz" in res.stderr


def test_json_lines_with_long_key_names(rec: np.ndarray, canonical: list[dict], tmp_path: Path) -> None:
    names = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
    lines = [json.dumps({"time": i / 50, **{n: float(v) for n, v in zip(names, row)}, "battery": 0.9})
             for i, row in enumerate(rec)]
    (tmp_path / "long.jsonl").write_text("\n".join(lines) + "\n")
    assert activities(tmp_path / "long.jsonl")[0] == canonical


def test_units_can_be_given_for_the_input(rec: np.ndarray, canonical: list[dict], tmp_path: Path) -> None:
    si = rec * np.array([9.80665] * 3 + [180 / np.pi] * 3)
    p = write_csv(tmp_path / "si.csv", np.arange(len(rec)) / 50, si, ["t", *KEYS])
    acts = activities(p, "--acc-unit", "m/s2", "--gyro-unit", "deg/s")[0]
    assert [a["label"] for a in acts] == [a["label"] for a in canonical]
    np.testing.assert_allclose([a["confidence"] for a in acts], [a["confidence"] for a in canonical], atol=0.02)
