"""``har-train`` through click's CliRunner, on a UCI-HAR-layout fixture of real windows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("tensorflow")

from edge_runtime.errors import ExitCode
from train.cli import main

pytestmark = pytest.mark.slow


def test_fit_and_eval_cli(uci_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "run"
    args = ["fit", "--arch", "tutorial", "--data", f"uci-har:{uci_dir}", "--epochs", "1", "--repeats", "2",
            "--val-subjects", "none", "--out", str(out), "--quiet"]
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "Training on CPU" in res.output or "Training on GPU" in res.output
    assert "Accuracy: " in res.output and "(+/-" in res.output
    m = json.loads((out / "metrics.json").read_text())
    assert m["summary"]["repeats"] == 2 and m["data"]["test_windows"] == 20
    assert m["selected"]["rule"].startswith("first repeat")
    again = runner.invoke(main, args)
    assert again.exit_code == ExitCode.OUTPUT_EXISTS and "--force" in again.output
    assert runner.invoke(main, args + ["--force"]).exit_code == 0
    ev = runner.invoke(main, ["eval", str(out), "--data", f"uci-har:{uci_dir}"])
    assert ev.exit_code == 0, ev.output
    assert "Accuracy: " in ev.output and "WALKING" in ev.output


def test_cli_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["fit", "--data", f"uci-har:{tmp_path / 'nope'}", "--out", str(tmp_path / "r")])
    assert res.exit_code == ExitCode.DATA_ERROR and "not found" in res.output
    res = runner.invoke(main, ["eval", str(tmp_path / "missing.keras")])
    assert res.exit_code == ExitCode.MODEL_ERROR and "no Keras model" in res.output
    res = runner.invoke(main, ["fit", "--val-subjects", "a,b", "--out", str(tmp_path / "r")])
    assert res.exit_code == ExitCode.USAGE
    res = runner.invoke(main, ["fit", "--val-subjects", "2", "--out", str(tmp_path / "r")])
    assert res.exit_code == ExitCode.USAGE and "not training subjects" in res.output
    assert not (tmp_path / "r").exists()
