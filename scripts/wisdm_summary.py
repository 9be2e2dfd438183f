"""Summarise runs/wisdm (scripts/wisdm_experiments.sh) as a Markdown table of held-out accuracy."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from edge_runtime.reports import ConversionReport, FitMetrics


def main(out: Path) -> int:
    print("| model | data | classes | channels | float test accuracy (mean ± std) | per repeat | validation |")
    print("|---|---|---:|---:|---:|---|---:|")
    for run in sorted(p for p in out.iterdir() if (p / "metrics.json").is_file()):
        m = FitMetrics.from_dict(json.loads((run / "metrics.json").read_text()))
        cfg = json.loads((run / "config.json").read_text())
        s = m.summary
        reps = ", ".join(f"{100 * r.test_accuracy:.2f}" for r in m.repeats)
        val = f"{100 * s.val_accuracy_mean:.2f} %" if s.val_accuracy_mean is not None else ""
        print(f"| {run.name} | {Path(cfg['data']).name} | {len(m.data.class_names)} | "
              f"{len(cfg['input_spec']['raw_channels'])} | {100 * s.test_accuracy_mean:.2f} ± "
              f"{100 * s.test_accuracy_std:.2f} % | {reps} | {val} |")
    for model in sorted(p for p in out.iterdir() if (p / "report.json").is_file()):
        r = ConversionReport.from_dict(json.loads((model / "report.json").read_text()))
        for v, rep in r.variants.items():
            print(f"\n{model.name} {v}: accuracy {100 * rep.accuracy:.2f} % (float {100 * r.float.accuracy:.2f} %, "
                  f"drop {rep.drop_pp:+.2f} pp, agreement {100 * rep.agreement:.2f} %), {rep.bytes / 1024:.1f} KiB, "
                  f"gate {'passed' if r.gate.passed else 'FAILED'}")
    dc = out / "device_check.txt"
    if dc.exists():
        print("\n" + dc.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/wisdm")))
