"""Benchmark code works (CI smoke run); no absolute times are asserted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from edge_runtime.cli import main
from edge_runtime.device.classifier import Classifier
from edge_runtime.device.stream import StreamClassifier
from edge_runtime.manifest import load_manifest
from edge_runtime.measure.bench import run_bench
from edge_runtime.qtyping import ActivityRecord, Variant
from edge_runtime.reports import BenchResult

GOLDEN = Path(__file__).parent / "models" / "golden"


def test_bench_json_shape(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    res = CliRunner().invoke(main, ["bench", "--model", str(GOLDEN), "--windows", "50", "--repeat", "1",
                                    "--json", str(out)])
    assert res.exit_code == 0, res.output
    r = json.loads(out.read_text())
    assert r["schema"] == BenchResult.SCHEMA and BenchResult.from_dict(r).to_dict() == r
    assert r["invoke_us"]["n"] == 50  # every window of every repeat timed
    for key in ("p50", "p99"):
        assert r["invoke_us"][key] > 0 and r["path_us"][key] > 0
    # the per-window path contains one invoke plus the numpy around it: it cannot be faster
    assert r["path_over_invoke"] > 1.0
    assert r["replay_samples"] >= 49 * 64 + 128 and r["replay_samples_per_s"] > 0
    assert 1 < r["rss_mb"] < 500 and 0 < r["import_s"] < 60 and 0 < r["load_s"] < 60
    assert r["model_bytes"] == (GOLDEN / "model_int8.tflite").stat().st_size and r["variant"] == "int8"
    assert r["machine"]["cores"] >= 1 and "numpy" in r["machine"]["versions"]
    assert "bare invoke" in res.output and "per-window path" in res.output


def test_bench_library_without_startup() -> None:
    r = run_bench(GOLDEN, windows=20, repeat=1, startup=False, variant="float32")
    assert r.rss_mb is None and "rss_mb" not in r.to_dict() and r.windows == 20
    assert r.variant is Variant.FLOAT32 and r.model_bytes == (GOLDEN / "model_float32.tflite").stat().st_size


def test_per_window_path_benchmark(benchmark) -> None:
    m = load_manifest(GOLDEN)
    with Classifier.from_manifest(m) as clf:
        sc = StreamClassifier(clf, m)
        x = np.zeros((64, 6), np.float32)
        x[:, 0] = 1.0
        state = {"t": 0.0}

        def one_hop() -> list:
            t = state["t"] + np.arange(1, 65) / 50.0
            state["t"] = float(t[-1])
            return sc.feed(t, x)

        for _ in range(2):
            one_hop()
        recs = benchmark(one_hop)
    assert isinstance(recs[0], ActivityRecord)
