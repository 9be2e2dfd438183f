"""Streaming evaluation (``har-edge eval``): replay whole recordings through the daemon.

Each held-out recording, transitions and unlabelled time included, goes through
:class:`edge_runtime.daemon.Daemon` exactly as ``har-edge run`` would process it. The
emitted labels are then scored against the HAPT labels table:

* window accuracy: the held-out windows the converter validates (cut inside labelled
  segments), through the same classifier;
* streaming accuracy: emitted records whose window lies wholly inside one labelled
  activity segment, per class too;
* switch delay: time from the start of a new activity until the emitted label first
  equals it;
* what unlabelled time and postural transitions are emitted as.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.classifier import Classifier
from edge_runtime.contract import model_inputs
from edge_runtime.daemon import Daemon
from edge_runtime.datasets import HaptData, Recording, load_hapt, segment_windows
from edge_runtime.errors import DatasetError
from edge_runtime.manifest import Manifest, load_manifest
from edge_runtime.metrics import classification_report
from edge_runtime.sources import ArraySource
from edge_runtime.stream import Record, StreamClassifier, StreamConfig

TRANSITION, UNLABELLED = "transition", "unlabelled"


class CollectSink:
    """Keeps records in memory (for evaluation and tests)."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def write(self, records: list[Record]) -> None:
        self.records.extend(records)

    def close(self) -> None:
        pass

    def stats(self) -> dict[str, int]:
        return {"written": len(self.records)}


def replay(recording: np.ndarray, clf: Classifier, manifest: Manifest, cfg: StreamConfig) -> tuple[list[Record], float]:
    """Run one raw (n, 6) recording at the model rate through the daemon; (records, wall seconds)."""
    rate = manifest.input_spec.window.sample_rate_hz
    t = np.arange(len(recording)) / rate
    sink = CollectSink()
    t0 = time.perf_counter()
    Daemon(ArraySource([(t, recording)], rate), StreamClassifier(clf, manifest, cfg), sink).run(threading.Event())
    return sink.records, time.perf_counter() - t0


def _sample_labels(rec: Recording) -> np.ndarray:
    lab = np.zeros(len(rec.stream), dtype=np.int64)
    for act, s, e in rec.segments:
        lab[s:e] = act
    return lab


def parse_subjects(spec: str, data: HaptData) -> list[int]:
    """``test``, ``train``, ``all`` or ``2,4,9``."""
    every = sorted({r.subject for r in data.recordings})
    if spec == "test":
        return sorted(data.test_subjects)
    if spec == "train":
        return [s for s in every if s not in data.test_subjects]
    if spec == "all":
        return every
    try:
        chosen = sorted({int(v) for v in spec.split(",") if v.strip()})
    except ValueError:
        raise DatasetError(f"--subjects takes test, train, all or ids like 2,4; got {spec!r}") from None
    missing = set(chosen) - set(every)
    if missing or not chosen:
        raise DatasetError(f"subjects {sorted(missing) or spec} are not in the data")
    return chosen


def streaming_eval(model: str | Path | Manifest, data: str = "hapt", subjects: str = "test",
                   cfg: StreamConfig = StreamConfig(), timeline: Path | None = None) -> dict[str, Any]:
    """Evaluate a converted model on continuous held-out recordings; returns the JSON report."""
    manifest = model if isinstance(model, Manifest) else load_manifest(model)
    kind, _, path = data.partition(":")
    if kind != "hapt":
        raise DatasetError("streaming evaluation needs continuous recordings: use --data hapt or hapt:PATH")
    hapt = load_hapt(path or None)
    chosen = parse_subjects(subjects, hapt)
    recs = list(hapt.by_subjects(chosen))
    spec, labels = manifest.input_spec, manifest.labels
    win = spec.window
    # 1) window accuracy on the windows the converter validates, through the same classifier
    ws = segment_windows(HaptData(tuple(recs), hapt.activity_names, hapt.test_subjects), win)
    with Classifier.from_manifest(manifest) as clf:
        if tuple(ws.class_names) != tuple(labels):
            raise DatasetError(f"model labels {labels} differ from the data's {ws.class_names}")
        window_rep = classification_report(ws.labels, clf.predict_proba(model_inputs(ws.raw, spec)).argmax(1), labels)
        # 2) stream every recording through the daemon
        truth_all: list[int | str] = []
        pred_all: list[str] = []
        delays: list[float] = []
        missed = 0
        samples, wall = 0, 0.0
        timeline_data = None
        for rec in recs:
            records, secs = replay(rec.stream, clf, manifest, cfg)
            samples += len(rec.stream)
            wall += secs
            acts = [r for r in records if r["type"] == "activity"]
            lab = _sample_labels(rec)
            ends = np.array([int(round(r["t"] * win.sample_rate_hz)) for r in acts], dtype=np.int64)
            names = [r["label"] for r in acts]
            for e, name in zip(ends, names):
                span = lab[e - win.length + 1 : e + 1]
                if span[0] == span[-1] and 1 <= span[0] <= len(labels) and np.all(span == span[0]):
                    truth_all.append(int(span[0]) - 1)
                else:
                    centre = lab[e - win.length // 2]
                    truth_all.append(TRANSITION if centre > len(labels) else UNLABELLED)
                pred_all.append(name)
            prev_act = None
            for act, s, e in rec.segments:
                act = int(act)
                if act > len(labels):
                    continue
                if prev_act is not None and act != prev_act:
                    hit = np.nonzero((ends >= s) & (ends < e) & (np.array(names) == labels[act - 1]))[0]
                    if hit.size:
                        delays.append(float((ends[hit[0]] - s) / win.sample_rate_hz))
                    else:
                        missed += 1
                prev_act = act
            if timeline_data is None:
                timeline_data = (rec, ends, names, lab)
    labelled = [i for i, t in enumerate(truth_all) if isinstance(t, int)]
    y_true = np.array([truth_all[i] for i in labelled], dtype=np.int64)
    name_to_id = {n: i for i, n in enumerate(labels)}
    y_pred = np.array([name_to_id.get(pred_all[i], -1) for i in labelled], dtype=np.int64)
    known = y_pred >= 0
    stream_rep = classification_report(y_true[known], y_pred[known], labels) if known.any() else None
    n_lab = len(labelled)
    streaming_accuracy = float(np.sum(y_pred == y_true) / n_lab) if n_lab else 0.0
    per_class = {}
    for i, n in enumerate(labels):
        m = y_true == i
        per_class[n] = {"recall": float(np.mean(y_pred[m] == i)) if m.any() else 0.0, "support": int(m.sum()),
                        "window_recall": window_rep["per_class"][n]["recall"]}
    emitted = {}
    for kind_name in (TRANSITION, UNLABELLED):
        sel = [pred_all[i] for i, t in enumerate(truth_all) if t == kind_name]
        c = Counter(sel)
        emitted[kind_name] = {"windows": len(sel), "as": {k: round(v / len(sel), 4) for k, v in c.most_common()}
                              if sel else {}}
    report = {
        "model_id": manifest.model_id,
        "data": data, "subjects": chosen, "recordings": len(recs),
        "window_accuracy": window_rep["accuracy"],
        "window_macro_f1": window_rep["macro_f1"],
        "windows_validated": window_rep["n"],
        "streaming_accuracy": streaming_accuracy,
        "streaming_macro_f1": stream_rep["macro_f1"] if stream_rep else 0.0,
        "streaming_windows_labelled": n_lab,
        "unknown_on_labelled": float(np.mean(~known)) if n_lab else 0.0,
        "per_class": per_class,
        "switch_delay_s": {"median": float(np.median(delays)) if delays else None,
                           "p90": float(np.percentile(delays, 90)) if delays else None,
                           "switches": len(delays) + missed, "missed": missed},
        "emitted_during": emitted,
        "samples": samples, "wall_s": round(wall, 3),
        "samples_per_s": samples / wall if wall > 0 else 0.0,
        "stream": {"hop": cfg.hop or win.hop, "smooth": cfg.smoothing.window,
                   "min_confidence": cfg.smoothing.min_confidence, "min_dwell": cfg.smoothing.min_dwell},
    }
    if timeline is not None and timeline_data is not None:
        report["timeline"] = plot_timeline(timeline, timeline_data, labels, win.sample_rate_hz)
    return report


def plot_timeline(path: Path, data: tuple[Recording, np.ndarray, list[str], np.ndarray],
                  labels: tuple[str, ...], rate: float) -> str:
    """Truth vs emitted label over one recording; needs matplotlib (skipped with a note without it)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "skipped: matplotlib is not installed"
    rec, ends, names, lab = data
    rows = list(labels) + ["transition", "unlabelled", "unknown"]
    truth_row = np.where(lab == 0, len(labels) + 1, np.where(lab > len(labels), len(labels), lab - 1))
    fig, ax = plt.subplots(figsize=(14, 4))
    ax.plot(np.arange(len(lab)) / rate, truth_row, drawstyle="steps-post", lw=6, alpha=0.35, label="truth")
    pred_row = [rows.index(n) if n in rows else len(rows) - 1 for n in names]
    ax.plot(ends / rate, pred_row, drawstyle="steps-post", lw=1.5, color="C3", label="emitted")
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_xlabel("time (s)")
    ax.set_title(f"experiment {rec.experiment}, subject {rec.subject}")
    ax.legend(loc="upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)
