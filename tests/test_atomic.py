"""Writes are atomic: a process killed mid-write leaves the old file/directory or the new one,
never a partial one (converter and trainer outputs go through these helpers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from edge_runtime.errors import OutputExistsError
from edge_runtime.fileio import atomic_directory, atomic_write_bytes, atomic_write_json

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from edge_runtime.fileio import atomic_write_bytes, atomic_directory
    target, mode = Path(sys.argv[1]), sys.argv[2]
    i = 0
    print("ready", flush=True)
    while True:
        i = i % 250 + 1
        blob = bytes([i]) * (4 << 20)
        if mode == "file":
            atomic_write_bytes(target, blob)
        else:
            with atomic_directory(target, force=True) as tmp:
                for k in range(4):
                    (tmp / f"part{k}").write_bytes(blob[: 1 << 20])
""")


@pytest.mark.parametrize("mode", ["file", "dir"])
def test_kill_mid_write_leaves_no_partial_output(tmp_path: Path, mode: str) -> None:
    target = tmp_path / ("out.bin" if mode == "file" else "outdir")
    for delay in (0.05, 0.13, 0.31, 0.57):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target), mode], stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if mode == "file":
            if target.exists():
                data = target.read_bytes()
                assert len(data) == 4 << 20 and data == bytes([data[0]]) * len(data)
        elif target.exists():
            parts = sorted(target.iterdir())
            assert [p.name for p in parts] == ["part0", "part1", "part2", "part3"]
            first = parts[0].read_bytes()
            assert all(p.read_bytes() == first for p in parts) and len(first) == 1 << 20


def test_atomic_directory_failure_and_force(tmp_path: Path) -> None:
    target = tmp_path / "d"
    with atomic_directory(target) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(OutputExistsError):
        with atomic_directory(target):
            pass
    with pytest.raises(RuntimeError):
        with atomic_directory(target, force=True) as tmp:
            (tmp / "a").write_text("2")
            raise RuntimeError("boom")
    assert (target / "a").read_text() == "1"  # the old one survives a failed rewrite
    with atomic_directory(target, force=True) as tmp:
        (tmp / "b").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]  # no temp dirs left behind
    assert oct(target.stat().st_mode & 0o777) == oct(0o777 & ~_umask())


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def test_atomic_file_permissions_and_json(tmp_path: Path) -> None:
    atomic_write_json(tmp_path / "x.json", {"b": 1, "a": [1.5]})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": [1.5], "b": 1}
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == 0o666 & ~_umask()
    atomic_write_bytes(tmp_path / "x.json", b"{}")
    assert (tmp_path / "x.json").read_bytes() == b"{}"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


@pytest.mark.slow
def test_trainer_killed_mid_run_leaves_no_run_dir(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "train.cli", "fit", "--arch", "tutorial", "--epochs", "50",
                             "--repeats", "1", "--quiet", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until training has started writing into its temp dir
        if "train.run: Data " in line:
            break
    time.sleep(3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert all(name.startswith(".run.partial-") for name in leftovers)
