"""Print the main job's summary from the JSON files it wrote: ``python scripts/summary.py runs/main``.

Reads them through the typed reports of :mod:`edge_runtime.qtyping`, so a renamed key fails here
loudly instead of printing a wrong number.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from edge_runtime.reports import ConversionReport, FitMetrics, StreamEvalReport


def main(out: Path) -> int:
    metrics = FitMetrics.from_dict(json.loads((out / "train" / "metrics.json").read_text()))
    report = ConversionReport.from_dict(json.loads((out / "model" / "report.json").read_text()))
    ev = StreamEvalReport.from_dict(json.loads((out / "eval.json").read_text()))
    final = json.loads((out / "stream.jsonl").read_text().splitlines()[-1])
    if final.get("type") != "stats" or not final.get("final"):
        print(f"error: {out}/stream.jsonl does not end with the daemon's final stats record", file=sys.stderr)
        return 1
    s, i8 = metrics.summary, report.variants["int8"]
    print("\n=== harlite main job ===")
    print(f"float test accuracy   {100 * s.test_accuracy_mean:.2f} ± {100 * s.test_accuracy_std:.2f}% "
          f"over {s.repeats} repeats (model.keras = repeat {metrics.selected.repeat}: "
          f"{100 * report.float.accuracy:.2f}%)")
    print(f"int8 test accuracy    {100 * i8.accuracy:.2f}% (drop {i8.drop_pp:+.2f} pp, agreement "
          f"{100 * i8.agreement:.2f}%, {i8.bytes / 1024:.1f} KiB, gate "
          f"{'passed' if report.gate.passed else 'FAILED'})")
    print(f"streaming accuracy    {100 * ev.streaming_accuracy:.2f}% on held-out recordings "
          f"(window accuracy {100 * ev.window_accuracy:.2f}%), {ev.samples_per_s:,.0f} samples/s")
    print(f"int8 invoke latency   p50 {i8.invoke_us['p50']:.1f} µs (1 thread); daemon on subject 2: "
          f"{final['windows']} windows, p50 {final['latency_us']['p50']} µs, {final['malformed']} malformed")
    print(f"artefacts             {out}/train (model.keras, metrics.json, plots), {out}/model (model.json, "
          f"*.tflite, report.md), {out}/eval.json, {out}/timeline.png, {out}/stream.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/main")))
