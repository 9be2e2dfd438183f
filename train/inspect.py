"""``har-data inspect``: what a data set holds, before training on it.

Minutes per class and per subject, each recording's measured rate and timestamp jitter, pauses,
and a units check: the median accelerometer magnitude of the data set should be about 1 g
(9.81 m/s^2) when gravity is included; a value near 0 means gravity was removed, and one
near 9.81 declared as ``g`` (or 1 declared as ``m/s2``) means the unit is wrong.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.contract import unit_factor
from edge_runtime.datasets.folder import UNLABELLED, load_folder


def units_check(acc_norm_median: float, unit: str) -> str:
    """A sentence on whether the accelerometer's median magnitude fits its declared unit."""
    g = acc_norm_median * unit_factor(unit, "g")
    if 0.8 <= g <= 1.25:
        return f"ok: median |acc| {acc_norm_median:.3g} {unit} = {g:.2f} g (gravity included)"
    if g < 0.3:
        return (f"check: median |acc| is {g:.2f} g: gravity looks removed (linear acceleration); a model "
                "trained on it needs input without gravity too")
    return f"check: median |acc| is {g:.2f} g, far from 1 g: is the unit {unit!r} right?"


def inspect_dataset(path: str | Path, plot: Path | None = None) -> dict[str, Any]:
    """The summary as a JSON-ready dict; draws ``plot`` (the first recording) when given."""
    ds = load_folder(path)
    per_class: defaultdict[str, float] = defaultdict(float)
    per_subject: defaultdict[str, float] = defaultdict(float)
    unlabelled = 0.0
    for rec in ds.recordings:
        counts = np.bincount(rec.labels[rec.labels != UNLABELLED], minlength=len(ds.classes))
        for i, n in enumerate(counts):
            per_class[ds.classes[i]] += n / ds.rate_hz / 60
        per_subject[rec.subject] += len(rec.labels) / ds.rate_hz / 60
        unlabelled += float((rec.labels == UNLABELLED).sum()) / ds.rate_hz / 60
    rates = np.array([r.measured_rate_hz for r in ds.recordings])
    acc = [i for i, c in enumerate(ds.channels) if c.group == "acc"]
    check = "no accelerometer group"
    if len(acc) == 3:
        norms = np.concatenate([np.linalg.norm(r.stream[:, acc], axis=1) for r in ds.recordings])
        check = units_check(float(np.median(norms)), ds.channels[acc[0]].unit)
    summary: dict[str, Any] = {
        "name": ds.name, "version": ds.version, "rate_hz": ds.rate_hz,
        "channels": [c.to_dict() for c in ds.channels], "recordings": len(ds.recordings),
        "subjects": len(per_subject), "minutes_per_class": {k: round(v, 2) for k, v in sorted(per_class.items())},
        "minutes_per_subject": {k: round(v, 2) for k, v in sorted(per_subject.items())},
        "unlabelled_minutes": round(unlabelled, 2),
        "measured_rate_hz": {"min": float(rates.min()), "median": float(np.median(rates)), "max": float(rates.max())},
        "jitter_pct_median": float(np.median([r.jitter_pct for r in ds.recordings])),
        "pauses": int(sum(r.pauses for r in ds.recordings)), "units": check,
    }
    if plot is not None:
        summary["plot"] = _plot(ds.recordings[0].stream, ds, plot)
    return summary


def _plot(x: np.ndarray, ds: Any, path: Path) -> str:
    from edge_runtime.measure.plotting import pyplot

    plt = pyplot()
    n = min(len(x), int(20 * ds.rate_hz))
    fig, ax = plt.subplots(len(ds.channels), 1, figsize=(11, 1.4 * len(ds.channels)), sharex=True)
    for i, c in enumerate(ds.channels):
        a = ax[i] if len(ds.channels) > 1 else ax
        a.plot(np.arange(n) / ds.rate_hz, x[:n, i], lw=0.8)
        a.set_ylabel(f"{c.name}\n({c.unit})", fontsize=7)
    fig.suptitle(f"{ds.name}: {ds.recordings[0].file}, first {n / ds.rate_hz:.0f} s", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return str(path)


def render(s: dict[str, Any]) -> str:
    """The summary as text for a terminal."""
    lines = [f"{s['name']} ({s['version'][:19]}...): {s['recordings']} recordings, {s['subjects']} subjects, "
             f"{s['rate_hz']:g} Hz, channels {', '.join(c['name'] + ' [' + c['unit'] + ']' for c in s['channels'])}",
             f"measured rate per recording: min {s['measured_rate_hz']['min']:.2f}, median "
             f"{s['measured_rate_hz']['median']:.2f}, max {s['measured_rate_hz']['max']:.2f} Hz; median jitter "
             f"{s['jitter_pct_median']:.1f} %; {s['pauses']} pauses; {s['unlabelled_minutes']:.1f} unlabelled minutes",
             f"units: {s['units']}", "minutes per class:"]
    lines += [f"  {k:20s} {v:8.1f}" for k, v in s["minutes_per_class"].items()]
    lines.append("minutes per subject: " + ", ".join(f"{k} {v:.1f}" for k, v in s["minutes_per_subject"].items()))
    if "plot" in s:
        lines.append(f"plot: {s['plot']}")
    return "\n".join(lines)



