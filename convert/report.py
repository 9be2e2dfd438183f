"""``report.json`` / ``report.md`` / ``confusion_int8.png`` of a conversion."""

from __future__ import annotations

from edge_runtime.reports import ConversionData, ConversionReport


def _pct(v: float) -> str:
    return f"{100 * v:.2f}%"


def render_markdown(report: ConversionReport) -> str:
    """The report a person reads first: one table, then per-class deltas, then MCU readiness."""
    fl, gate, variants = report.float, report.gate, report.variants
    lines = [
        f"# Conversion report: {report.model_id}",
        "",
        f"**Gate: {'PASSED' if gate.passed else 'FAILED'}** (max drop {gate.max_drop_pp:.2f} pp, "
        f"min agreement {100 * gate.min_agreement:.0f}%"
        + (f", must beat always answering {gate.majority_class!r}: {100 * gate.majority_share:.2f}%"
           if gate.majority_share is not None else "") + ")"
        + ("" if gate.passed else " — " + "; ".join(gate.failures)),
        "",
        f"Held-out data: {report.data.source}, {report.data.test_windows} windows of subjects "
        f"{report.data.test_subjects}. Validated through `edge_runtime.device.classifier.Classifier` "
        "(the device code path), one batch-1 invoke per window.",
        "",
        _calibration_line(report.data),
        "",
        "| variant | file | size | accuracy | drop | agreement with float | macro-F1 | invoke p50 (1 thread) | gate |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
        f"| Keras float | {report.source['model']} | | {_pct(fl.accuracy)} | | | {_pct(fl.macro_f1)} | | |",
    ]
    for name, v in variants.items():
        lines.append(
            f"| {name} | {v.file} | {v.bytes / 1024:.1f} KiB | {_pct(v.accuracy)} | {v.drop_pp:+.2f} pp | "
            f"{_pct(v.agreement)} | {_pct(v.macro_f1)} | {v.invoke_us['p50']:.1f} µs | "
            f"{'pass' if v.passed else 'FAIL'} |"
        )
    lines += ["", "## Per-class recall (variant minus float, pp)", "",
              "| class | float | " + " | ".join(variants) + " |",
              "|---|---:|" + "---:|" * len(variants)]
    for c, recall in fl.per_class_recall.items():
        cells = [f"{100 * (v.per_class_recall[c] - recall):+.2f}" for v in variants.values()]
        lines.append(f"| {c} | {_pct(recall)} | " + " | ".join(cells) + " |")
    lines += ["", "## Model", ""]
    for name, v in variants.items():
        lines.append(f"- {name}: {v.macs:,} MACs; prob. diff vs float mean {v.prob_diff_mean:.4f} / max "
                     f"{v.prob_diff_max:.4f}; ops {', '.join(f'{k}×{n}' for k, n in v.op_counts.items())}")
    if "int8" in variants and "float32" in variants:
        ratio = variants["int8"].bytes / variants["float32"].bytes
        lines.append(f"- int8 file is {100 * ratio:.1f}% of the float32 file")
    mcu = report.micro
    lines += ["", "## MCU readiness (TFLite Micro)", ""]
    if not mcu:
        lines.append("Not checked (no int8 variant).")
    elif not mcu.get("available"):
        lines.append(f"Not checked: {mcu.get('reason')}.")
    elif not mcu.get("runs"):
        lines.append(f"**Does not run under TFLM**: {mcu.get('reason')}.")
    else:
        lines.append(
            f"Smallest tensor arena: **{mcu['arena_bytes']:,} bytes**. TFLM vs LiteRT reference kernels on "
            f"{mcu['windows']} windows: {'bit-exact' if mcu['bit_exact'] else 'NOT bit-exact'} "
            f"({mcu['mismatched_values']} differing int8 outputs, max |diff| {mcu['max_abs_diff']}), "
            f"top-1 agreement {_pct(mcu['top1_agreement'])}."
        )
    lines += ["", f"Versions: {', '.join(f'{k} {v}' for k, v in report.versions.items())}", ""]
    return "\n".join(lines)


def _calibration_line(d: ConversionData) -> str:
    """How the int8 file was calibrated, and what ``auto`` compared, in one paragraph."""
    if not d.calibration_windows or d.activation_ranges is None:
        return "No int8 variant."
    r = d.calibration_clip_range
    clip = (f"inputs clipped to their {d.calibration_clip_percentile} percentile range "
            f"({r[0]:.2f} .. {r[1]:.2f}; values beyond saturate on the device)" if r else "inputs unclipped")
    rule = {"mean": "the mean of each window's min and max", "minmax": "min/max over all windows"}[d.activation_ranges]
    line = f"int8 calibration: {d.calibration_windows} shuffled training windows, {clip}; activation ranges: {rule}."
    check = d.calibration_check
    if check:
        tried = ", ".join(f"clip {c.clip_percentile} + {c.activation_ranges}: {100 * c.agreement:.1f}%"
                          for c in check.candidates)
        line += (f" Chosen automatically by top-1 agreement with float on {check.windows} other training windows "
                 f"({tried}).")
    return line
