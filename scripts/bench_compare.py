"""Compare harlite's device path with what users would otherwise run (needs the train extra;
ONNX Runtime via the ``onnx`` extra; tflite-runtime via ``--tflite-runtime-python``).

The same held-out windows go through every path; each path runs in its own process (so its
resident memory is its own), single-threaded, after a warm-up:

* Keras ``model.predict`` and a Keras call inside ``tf.function``;
* LiteRT float32 / float16 / int8 (the converted fixed batch-1 files, and flexible-batch
  conversions of the same model for batch 256);
* ONNX Runtime float (SavedModel -> tf2onnx CLI);
* tflite-runtime int8, if an interpreter with ``tflite_runtime`` is given (its wheels need numpy 1.x).

Reports single-window p50/p99, batch-256 throughput and RSS, each as a ratio to LiteRT int8,
into a marked section of ``docs/benchmarks.md`` plus ``docs/bench_compare.png``:

    python scripts/bench_compare.py --run runs/main/train --model runs/main/model
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.metrics import percentiles
from edge_runtime.sysinfo import describe_machine, package_versions, rss_mb

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench_compare:start -->", "<!-- bench_compare:end -->"
PATHS = ("keras_predict", "keras_tf_function", "litert_float32", "litert_float16", "litert_int8",
         "onnxruntime_float32", "tflite_runtime_int8")


def _rss_mb() -> float:
    return rss_mb() or float("nan")


def _pcts(a: list[float]) -> dict[str, float]:
    return percentiles(a, (50, 99))


def _time_single(fn: Any, xs: np.ndarray, repeat: int) -> dict[str, float]:
    for x in xs[:20]:
        fn(x[None])
    ts = []
    for _ in range(repeat):
        for x in xs:
            t0 = time.perf_counter_ns()
            fn(x[None])
            ts.append((time.perf_counter_ns() - t0) / 1e3)
    return _pcts(ts)


def _time_batch(fn: Any, xs: np.ndarray, batch: int, repeat: int) -> float:
    b = xs[:batch] if len(xs) >= batch else np.resize(xs, (batch, *xs.shape[1:]))
    fn(b)
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(b)
        ts.append(time.perf_counter() - t0)
    return batch / float(np.median(ts))  # windows per second


def worker(kind: str, artefacts: Path, inputs: Path, repeat: int) -> dict[str, Any]:
    """Run one path in this process and return its figures."""
    t_load = time.perf_counter()
    xs = np.load(inputs)
    if kind.startswith("keras"):
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        import keras

        model = keras.models.load_model(artefacts / "model.keras")
        if kind == "keras_predict":
            single = lambda x: model.predict(x, verbose=0)  # noqa: E731
            batch_fn = lambda b: model.predict(b, batch_size=len(b), verbose=0)  # noqa: E731
        else:
            f = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
            single = batch_fn = lambda x: f(tf.constant(x)).numpy()
        load_s = time.perf_counter() - t_load
        n_single = min(len(xs), 100 if kind == "keras_predict" else 500)
        res = {"single_us": _time_single(single, xs[:n_single], 1 if kind == "keras_predict" else repeat),
               "batch256_windows_per_s": _time_batch(batch_fn, xs, 256, repeat)}
    elif kind.startswith("litert") or kind == "tflite_runtime_int8":
        if kind == "tflite_runtime_int8":
            from tflite_runtime.interpreter import Interpreter
        else:
            from ai_edge_litert.interpreter import Interpreter
        variant = kind.rsplit("_", 1)[1]
        fixed = Interpreter(model_path=str(artefacts / f"model_{variant}.tflite"), num_threads=1)
        fixed.allocate_tensors()
        din, dout = fixed.get_input_details()[0], fixed.get_output_details()[0]
        scale, zp = din["quantization"]

        def prep(x: np.ndarray) -> np.ndarray:
            if din["dtype"] == np.int8:
                return np.clip(np.rint(x / scale) + zp, -128, 127).astype(np.int8)
            return x.astype(din["dtype"])

        def single(x: np.ndarray) -> np.ndarray:
            fixed.set_tensor(din["index"], prep(x))
            fixed.invoke()
            return fixed.get_tensor(dout["index"])

        flex_path = artefacts / f"flex_{variant}.tflite"
        batch_fn = None
        if flex_path.exists():
            flex = Interpreter(model_path=str(flex_path), num_threads=1)
            fin = flex.get_input_details()[0]
            flex.resize_tensor_input(fin["index"], [256, *xs.shape[1:]])
            flex.allocate_tensors()
            fin, fout = flex.get_input_details()[0], flex.get_output_details()[0]

            def batch_fn(b: np.ndarray) -> np.ndarray:
                flex.set_tensor(fin["index"], prep(b))
                flex.invoke()
                return flex.get_tensor(fout["index"])

        load_s = time.perf_counter() - t_load
        res = {"single_us": _time_single(single, xs, repeat),
               "batch1_loop_windows_per_s": _time_batch(lambda b: [single(x[None]) for x in b], xs, 256, repeat)}
        if batch_fn is not None:
            res["batch256_windows_per_s"] = _time_batch(batch_fn, xs, 256, repeat)
    elif kind == "onnxruntime_float32":
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(artefacts / "model.onnx"), so, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        single = batch_fn = lambda x: sess.run(None, {name: x.astype(np.float32)})[0]
        load_s = time.perf_counter() - t_load
        res = {"single_us": _time_single(single, xs, repeat), "batch256_windows_per_s": _time_batch(batch_fn, xs, 256, repeat)}
    else:
        raise ValueError(kind)
    res["rss_mb"] = _rss_mb()
    res["load_s"] = load_s
    return res


def prepare(run: Path, model_dir: Path, work: Path, windows: int) -> None:
    """Held-out model inputs, flexible-batch LiteRT files and the ONNX model, into ``work``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import shutil

    from convert.variants import convert
    from edge_runtime.contract import model_inputs
    from edge_runtime.datasets.catalog import load_splits
    from train.run import load_trained

    loaded = load_trained(run)
    splits = load_splits(loaded.config.get("data", "hapt"), loaded.spec.window)
    np.save(work / "inputs.npy", model_inputs(splits.test.raw[:windows], loaded.spec))
    calib = model_inputs(splits.train.raw, loaded.spec)
    shutil.copy(loaded.path, work / "model.keras")
    for v in ("float32", "float16", "int8"):
        shutil.copy(model_dir / f"model_{v}.tflite", work / f"model_{v}.tflite") if (model_dir / f"model_{v}.tflite").exists() \
            else (work / f"model_{v}.tflite").write_bytes(convert(loaded.model, v, calib))
        # flexible batch: the same conversion without the batch-1 wrapper
        (work / f"flex_{v}.tflite").write_bytes(convert(loaded.model, v, calib, fixed_batch=False))
    saved = work / "saved_model"
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        loaded.model.export(str(saved))
    subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--saved-model", str(saved), "--output",
                    str(work / "model.onnx"), "--opset", "17"], check=True, capture_output=True)


def render(results: dict[str, Any], meta: dict[str, Any], command: str) -> str:
    base = results["litert_int8"]
    lines = [START, "", "### Device path vs the alternatives (`scripts/bench_compare.py`)", "",
             f"Command: `{command}`  ", f"Machine: {meta['machine']}  ", f"Versions: {meta['versions']}  ",
             f"Model: {meta['model']} ({meta['windows']} held-out windows; single thread everywhere; "
             "ratios are to LiteRT int8 fixed batch 1 in this run)", "",
             "| path | single window p50 | p99 | × int8 p50 | batch-256 windows/s | × int8 | RSS MB | × int8 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    b_thr = base.get("batch256_windows_per_s") or base["batch1_loop_windows_per_s"]
    for k, r in results.items():
        if "error" in r:
            lines.append(f"| {k} | — | — | — | — | — | — | — |  ({r['error']})")
            continue
        thr = r.get("batch256_windows_per_s")
        lines.append(
            f"| {k} | {r['single_us']['p50']:.1f} µs | {r['single_us']['p99']:.1f} µs | "
            f"{r['single_us']['p50'] / base['single_us']['p50']:.1f} | "
            + (f"{thr:,.0f} | {thr / b_thr:.2f} |" if thr else "— | — |")
            + f" {r['rss_mb']:.0f} | {r['rss_mb'] / base['rss_mb']:.1f} |")
    lines += ["", "LiteRT batch-256 throughput uses a flexible-batch conversion of the same model; the "
              "fixed batch-1 files looped over 256 windows give: " + ", ".join(
                  f"{k} {r['batch1_loop_windows_per_s']:,.0f}/s" for k, r in results.items()
                  if "batch1_loop_windows_per_s" in r) + ".", "", "![bar chart](bench_compare.png)", "", END]
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = {k: r for k, r in results.items() if "error" not in r}
    fig, ax = plt.subplots(figsize=(9, 4))
    names = list(ok)
    vals = [ok[k]["single_us"]["p50"] for k in names]
    ax.barh(names, vals, color=["C3" if k == "litert_int8" else "C0" for k in names])
    ax.set_xscale("log")
    ax.set_xlabel("single-window latency p50, µs (log scale, single thread)")
    for i, v in enumerate(vals):
        ax.text(v, i, f" {v:,.1f}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, help="training run dir (model.keras + config.json)")
    ap.add_argument("--model", type=Path, help="har-convert output dir")
    ap.add_argument("--windows", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--tflite-runtime-python", help="a python with tflite_runtime installed (numpy 1.x)")
    ap.add_argument("--docs", type=Path, default=ROOT / "docs" / "benchmarks.md")
    ap.add_argument("--worker", nargs=3, metavar=("KIND", "ARTEFACTS", "INPUTS"), help=argparse.SUPPRESS)
    ns = ap.parse_args(argv)
    if ns.worker:
        print(json.dumps(worker(ns.worker[0], Path(ns.worker[1]), Path(ns.worker[2]), ns.repeat)))
        return 0
    if ns.run is None or ns.model is None:
        ap.error("--run and --model are required")
    command = "python scripts/bench_compare.py " + " ".join(argv if argv is not None else sys.argv[1:])
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="harlite-bench-") as tmp:
        work = Path(tmp)
        prepare(ns.run, ns.model, work, ns.windows)
        for kind in PATHS:
            py = sys.executable
            if kind == "tflite_runtime_int8":
                if not ns.tflite_runtime_python:
                    results[kind] = {"error": "not run: pass --tflite-runtime-python (its wheels need numpy 1.x)"}
                    continue
                py = ns.tflite_runtime_python
            proc = subprocess.run([py, str(Path(__file__).resolve()), "--worker", kind, str(work), str(work / "inputs.npy"),
                                   "--repeat", str(ns.repeat)], capture_output=True, text=True,
                                  env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)})
            if proc.returncode != 0:
                results[kind] = {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:120]}
            else:
                results[kind] = json.loads(proc.stdout.strip().splitlines()[-1])
            r = results[kind]
            print(f"{kind:22s} " + (r.get("error") or f"p50 {r['single_us']['p50']:.1f} us, RSS {r['rss_mb']:.0f} MB"),
                  flush=True)
    vers = [f"{k} {v}" for k, v in package_versions(("tensorflow", "ai-edge-litert", "onnxruntime", "tf2onnx",
                                                        "numpy")).items() if k != "python"]

    mc = describe_machine()
    meta = {"machine": f"{mc['cpu']}, {mc['cores']} cores, {mc['os']}, Python {platform.python_version()}",
            "versions": ", ".join(vers), "model": str(ns.model), "windows": ns.windows}
    section = render(results, meta, command)
    ns.docs.parent.mkdir(parents=True, exist_ok=True)
    text = ns.docs.read_text() if ns.docs.exists() else "# Benchmarks\n"
    if START in text and END in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    ns.docs.write_text(text)
    plot(results, ns.docs.parent / "bench_compare.png")
    (ns.docs.parent / "bench_compare.json").write_text(json.dumps({"results": results, **meta}, indent=2))
    print(f"wrote {ns.docs} and {ns.docs.parent / 'bench_compare.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
