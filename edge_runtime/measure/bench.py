"""``har-edge bench``: what the device path costs on this machine, measured the way it runs.

* bare ``invoke`` latency (one window, quantised input already in place);
* the full per-window path: ``hop`` new samples -> ring buffer -> model inputs ->
  quantise -> invoke -> dequantise -> smoothing -> record, i.e. one
  :meth:`StreamClassifier.feed` call, and its ratio to bare invoke;
* replay throughput of the daemon loop (source -> stream -> sink) in samples/s;
* import + model-load time and resident memory, in a fresh process.

Every timing is taken after a warm-up, over many runs, reported as percentiles.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge_runtime.contract import model_inputs, sliding_windows
from edge_runtime.device.classifier import Classifier
from edge_runtime.device.daemon import Daemon
from edge_runtime.device.sinks import NullSink
from edge_runtime.device.sources import ArraySource
from edge_runtime.device.stream import StreamClassifier, StreamConfig
from edge_runtime.errors import DatasetError
from edge_runtime.manifest import Manifest, load_manifest
from edge_runtime.metrics import percentiles
from edge_runtime.qtyping import Variant
from edge_runtime.reports import BenchResult
from edge_runtime.sysinfo import describe_machine


def _summary(a: npt.NDArray[np.float64]) -> dict[str, float]:
    return {**percentiles(a), "mean": float(a.mean()), "n": int(a.size)}


def bench_stream(windows: int, rate: float) -> npt.NDArray[np.float32]:
    """A raw (n, 6) stream to time with: the held-out HAPT recordings if present, else a
    synthetic walking-like signal (the cost does not depend on the values)."""
    need = (windows + 2) * 64 + 128
    try:
        from edge_runtime.datasets.hapt import load_hapt

        data = load_hapt()
        stream = np.concatenate([r.stream for r in data.by_subjects(data.test_subjects)])
        reps = int(np.ceil(need / len(stream)))
        return np.concatenate([stream] * reps)[:need] if reps > 1 else stream[:max(need, len(stream))]
    except DatasetError:  # no data on this device: synthesise
        t = np.arange(need) / rate
        rng = np.random.default_rng(0)
        base = np.stack([np.sin(2 * np.pi * 1.8 * t + k) for k in range(6)], axis=1) * 0.3
        return (base + rng.normal(0, 0.05, base.shape) + [1, 0, 0, 0, 0, 0]).astype(np.float32)


def measure_startup(manifest_path: Path, variant: str | None) -> dict[str, float]:
    """Import + load time and RSS in a fresh interpreter (what a daemon start costs)."""
    code = (
        "import time, json\n"
        "t0 = time.perf_counter()\n"
        "from edge_runtime.device.classifier import Classifier\n"
        "from edge_runtime.manifest import load_manifest\n"
        "from edge_runtime.device.stream import StreamClassifier\n"
        "t1 = time.perf_counter()\n"
        f"m = load_manifest({str(manifest_path)!r})\n"
        f"c = Classifier.from_manifest(m, {variant!r})\n"
        "s = StreamClassifier(c, m)\n"
        "t2 = time.perf_counter()\n"
        "from edge_runtime.sysinfo import rss_mb\n"
        "print(json.dumps({'import_s': t1 - t0, 'load_s': t2 - t1, 'rss_mb': rss_mb()}))\n"
    )
    samples = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {k: float(np.median([s[k] for s in samples])) for k in samples[0]}


def run_bench(model: str | Path, windows: int = 2000, repeat: int = 5, variant: str | None = None,
              threads: int = 1, startup: bool = True) -> BenchResult:
    """Every measurement of the device path on this machine."""
    m: Manifest = load_manifest(model)
    spec = m.input_spec
    rate, hop = spec.window.sample_rate_hz, spec.window.hop
    stream = bench_stream(windows, rate)
    raw = sliding_windows(stream[: (windows - 1) * hop + spec.window.length], spec.window)
    with Classifier.from_manifest(m, variant, num_threads=threads) as clf:
        q = clf.quantize(model_inputs(raw, spec))
        for i in range(min(200, len(q))):  # warm-up
            clf.invoke_raw(q[i : i + 1])
        # 1) bare invoke, each call timed
        inv = np.empty(repeat * len(q))
        k = 0
        for _ in range(repeat):
            for i in range(len(q)):
                x = q[i : i + 1]
                t0 = time.perf_counter_ns()
                clf.invoke_raw(x)
                inv[k] = (time.perf_counter_ns() - t0) / 1e3
                k += 1
        # 2) full per-window path: one hop of new samples -> one record
        t = np.arange(len(stream)) / rate
        path = []
        for _ in range(repeat):
            sc = StreamClassifier(clf, m, StreamConfig())
            sc.feed(t[: spec.window.length - hop], stream[: spec.window.length - hop])
            for s in range(spec.window.length - hop, len(stream) - hop + 1, hop):
                t0 = time.perf_counter_ns()
                sc.feed(t[s : s + hop], stream[s : s + hop])
                path.append((time.perf_counter_ns() - t0) / 1e3)
        path_a = np.asarray(path[len(path) // (repeat * 10) :])
        # 3) replay throughput through the daemon loop (4096-sample reads, like a file source)
        rep_rates = []
        for _ in range(repeat):
            src = ArraySource([(t, stream)], rate, channels=len(spec.raw))
            d = Daemon(src, StreamClassifier(clf, m, StreamConfig()), NullSink())
            started = time.perf_counter()
            d.run(threading.Event())
            rep_rates.append(len(stream) / (time.perf_counter() - started))
    inv_p, path_p = _summary(inv), _summary(path_a)
    replay = float(np.median(rep_rates))
    entry = m.file(variant)
    cost = measure_startup(m.directory / "model.json", variant) if startup else {}
    import_s, load_s, rss = cost.get("import_s"), cost.get("load_s"), cost.get("rss_mb")
    return BenchResult(
        model_id=m.model_id, variant=Variant.parse(entry.variant), model_bytes=entry.bytes, threads=threads,
        invoke_us=inv_p, path_us=path_p, path_over_invoke=path_p["p50"] / inv_p["p50"],
        replay_samples_per_s=replay, replay_x_realtime=replay / rate, replay_samples=len(stream),
        windows=len(q), repeat=repeat, machine=describe_machine(), import_s=import_s, load_s=load_s, rss_mb=rss,
    )
