"""``--distribute mirrored`` on CPU: TensorFlow's CPU is split into two logical devices
in a fresh interpreter (it must happen before TensorFlow initialises)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow


def test_mirrored_strategy_on_two_logical_cpus(tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import json, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
        from click.testing import CliRunner
        from train.cli import main
        res = CliRunner().invoke(main, ["fit", "--arch", "tutorial", "--epochs", "2", "--repeats", "1",
            "--distribute", "mirrored", "--val-subjects", "none", "--quiet",
            "--data", "hapt", "--out", {str(tmp_path / "run")!r}])
        print(json.dumps({{"code": res.exit_code, "out": res.output}}))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["code"] == 0, res["out"]
    assert "MirroredStrategy over 2 replica(s)" in res["out"]
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["device"]["logical_cpus"] == 2 and m["summary"]["test_accuracy_mean"] > 0.6


def test_multiworker_strategy_single_worker(uci_dir: Path, tmp_path: Path) -> None:
    # Without TF_CONFIG, MultiWorkerMirroredStrategy runs as one worker; the option must not crash.
    proc = subprocess.run(
        [sys.executable, "-m", "train.cli", "fit", "--arch", "tutorial", "--epochs", "1", "--repeats", "1",
         "--distribute", "multiworker", "--val-subjects", "none", "--quiet", "--data", f"uci-har:{uci_dir}",
         "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "CollectiveAllReduceStrategy over 1 replica(s)" in proc.stderr  # a log line
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["summary"]["repeats"] == 1
