"""``har-edge record``: live input -> labelled recordings in the data-set format, label changes included."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from edge_runtime.datasets.folder import folder_splits, load_folder
from edge_runtime.datasets.hapt import HaptData
from edge_runtime.errors import ExitCode

HAR_EDGE = [sys.executable, "-m", "edge_runtime.cli"]


def _lines(x: np.ndarray, t0_ms: float) -> list[str]:
    return [f"{t0_ms + 20 * i:.0f}," + ",".join(f"{v:.6f}" for v in row) for i, row in enumerate(x)]


def _start(out: Path, *extra: str) -> subprocess.Popen[str]:
    p = subprocess.Popen(HAR_EDGE + ["record", "--out", str(out), "--acc-unit", "g", *extra],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdin is not None
    p.stdin.write("t,ax,ay,az,gx,gy,gz\n")
    return p


def _feed(p: subprocess.Popen[str], lines: list[str]) -> None:
    assert p.stdin is not None
    p.stdin.write("\n".join(lines) + "\n")
    p.stdin.flush()
    time.sleep(0.8)  # the recorder polls every 0.2 s


def test_control_file_and_signal_change_the_label(hapt: HaptData, tmp_path: Path) -> None:
    x = next(hapt.by_subjects([2])).stream[:3000].astype(np.float64)
    out, ctl = tmp_path / "ds", tmp_path / "ctl"
    ctl.write_text("")
    p = _start(out, "--label", "walking", "--subject", "alice", "--control", str(ctl))
    _feed(p, _lines(x[:1500], 1.7e12))
    with open(ctl, "a") as fh:
        fh.write("sitting\n")
    time.sleep(0.5)
    _feed(p, _lines(x[1500:], 1.7e12 + 30000))
    _, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    ds = load_folder(out)
    (rec,) = ds.recordings
    assert set(ds.classes) == {"walking", "sitting"} and rec.subject == "alice" and len(rec.stream) == 3000
    first, last = ds.classes[int(rec.labels[0])], ds.classes[int(rec.labels[-1])]
    assert (first, last) == ("walking", "sitting") and "label: walking -> sitting" in err
    # a second session, another subject, switched by SIGUSR1, extends the same data set
    p = _start(out, "--label", "standing", "--labels", "standing,walking", "--subject", "bob")
    _feed(p, _lines(x[:1500], 5e11))
    p.send_signal(signal.SIGUSR1)
    time.sleep(0.5)
    _feed(p, _lines(x[1500:], 5e11 + 30000))
    _, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    ds = load_folder(out)
    assert len(ds.recordings) == 2 and ds.subjects == ("alice", "bob") and "standing" in ds.classes
    sp = folder_splits(out, test_subjects=[1_000_001])  # bob: names map to ids from 1,000,000 in order
    assert len(sp.train) and len(sp.test)


def test_nothing_recorded_is_exit_8(tmp_path: Path) -> None:
    res = subprocess.run(HAR_EDGE + ["record", "--out", str(tmp_path / "d"), "--label", "x", "--subject", "1"],
                         input="t,ax,ay,az,gx,gy,gz\n", capture_output=True, text=True, timeout=30)
    assert res.returncode == ExitCode.NOTHING_CLASSIFIED and "nothing recorded" in res.stderr
    assert not (tmp_path / "d" / "dataset.json").exists()


def test_a_header_without_a_needed_channel_leaves_nothing_behind(tmp_path: Path) -> None:
    res = subprocess.run(HAR_EDGE + ["record", "--out", str(tmp_path / "d"), "--label", "x", "--subject", "1"],
                         input="t,ax,ay,az\n0,1,0,0\n", capture_output=True, text=True, timeout=30)
    assert res.returncode == ExitCode.DATA_ERROR and "has no column for gyro_x" in res.stderr
    assert not list((tmp_path / "d" / "recordings").glob("*.csv")) and not (tmp_path / "d" / "dataset.json").exists()
