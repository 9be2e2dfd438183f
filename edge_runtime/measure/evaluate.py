"""Streaming evaluation (``har-edge eval``): replay whole recordings through the daemon.

Each held-out recording, transitions and unlabelled time included, goes through
:class:`edge_runtime.device.daemon.Daemon` exactly as ``har-edge run`` would process it. The
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

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_runtime.contract import WindowSpec, model_inputs
from edge_runtime.datasets.hapt import HaptData, Recording, load_hapt, segment_windows
from edge_runtime.datasets.subjects import SubjectSelection, parse_subjects
from edge_runtime.device.classifier import Classifier
from edge_runtime.device.daemon import Daemon
from edge_runtime.device.sinks import MemorySink
from edge_runtime.device.sources import ArraySource
from edge_runtime.device.stream import StreamClassifier, StreamConfig
from edge_runtime.errors import DatasetError
from edge_runtime.manifest import Manifest, load_manifest
from edge_runtime.metrics import classification_report, percentiles
from edge_runtime.qtyping import ActivityRecord, Record
from edge_runtime.reports import EmittedDuring, StreamClassScores, StreamEvalReport, StreamSettings, SwitchDelay

TRANSITION, UNLABELLED = "transition", "unlabelled"
SUBJECT_KEYWORDS = ("test", "train", "all")
log = logging.getLogger(__name__)
I64 = npt.NDArray[np.int64]


def replay(recording: npt.NDArray[Any], clf: Classifier, manifest: Manifest,
           cfg: StreamConfig) -> tuple[list[Record], float]:
    """Run one raw (n, 6) recording at the model rate through the daemon; (records, wall seconds)."""
    rate = manifest.input_spec.window.sample_rate_hz
    t = np.arange(len(recording)) / rate
    sink = MemorySink()
    t0 = time.perf_counter()
    src = ArraySource([(t, recording)], rate, channels=len(manifest.input_spec.raw))
    Daemon(src, StreamClassifier(clf, manifest, cfg), sink).run(threading.Event())
    return sink.records, time.perf_counter() - t0


def sample_labels(rec: Recording) -> I64:
    """The activity id of every sample of ``rec`` (0 = unlabelled)."""
    lab = np.zeros(len(rec.stream), dtype=np.int64)
    for act, s, e in rec.segments:
        lab[s:e] = act
    return lab


def select_recordings(hapt: HaptData, subjects: SubjectSelection) -> tuple[list[int], list[Recording]]:
    """The chosen subjects (``test``, ``train``, ``all`` or ids) and their recordings."""
    every = sorted({r.subject for r in hapt.recordings})
    named = {"test": hapt.test_subjects, "train": [s for s in every if s not in hapt.test_subjects], "all": every}
    chosen = list(subjects.resolve(every, named))
    return chosen, list(hapt.by_subjects(chosen))


@dataclass
class StreamScores:
    """What the replays produced, gathered over recordings."""

    truth: list[int | str] = field(default_factory=list)
    pred: list[str] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    missed: int = 0
    samples: int = 0
    wall_s: float = 0.0
    first: tuple[Recording, I64, list[str], I64] | None = None


def score_recording(rec: Recording, records: list[Record], labels: tuple[str, ...], win: WindowSpec,
                    acc: StreamScores) -> None:
    """Label each emitted window with its truth (a class id, transition or unlabelled) and time each
    switch to a new activity until the emitted label first follows it."""
    acts = [r for r in records if isinstance(r, ActivityRecord)]
    lab = sample_labels(rec)
    ends = np.array([round(r.t * win.sample_rate_hz) for r in acts], dtype=np.int64)
    names = [r.label for r in acts]
    for e, name in zip(ends, names):
        span = lab[e - win.length + 1 : e + 1]
        if span[0] == span[-1] and 1 <= span[0] <= len(labels) and np.all(span == span[0]):
            acc.truth.append(int(span[0]) - 1)
        else:
            acc.truth.append(TRANSITION if lab[e - win.length // 2] > len(labels) else UNLABELLED)
        acc.pred.append(name)
    prev_act = None
    for act, s, e in rec.segments:
        if int(act) > len(labels):
            continue
        if prev_act is not None and int(act) != prev_act:
            hit = np.nonzero((ends >= s) & (ends < e) & (np.array(names) == labels[int(act) - 1]))[0]
            if hit.size:
                acc.delays.append(float((ends[hit[0]] - s) / win.sample_rate_hz))
            else:
                acc.missed += 1
        prev_act = int(act)
    if acc.first is None:
        acc.first = (rec, ends, names, lab)


def streaming_scores(acc: StreamScores, labels: tuple[str, ...],
                     window_recall: dict[str, float]) -> dict[str, Any]:
    """Streaming accuracy, macro-F1, per-class recall and what unlabelled time was emitted as."""
    labelled = [i for i, t in enumerate(acc.truth) if isinstance(t, int)]
    y_true = np.array([acc.truth[i] for i in labelled], dtype=np.int64)
    name_to_id = {n: i for i, n in enumerate(labels)}
    y_pred = np.array([name_to_id.get(acc.pred[i], -1) for i in labelled], dtype=np.int64)
    known = y_pred >= 0
    n_lab = len(labelled)
    per_class = {n: StreamClassScores(float(np.mean(y_pred[y_true == i] == i)) if (y_true == i).any() else 0.0,
                                      int((y_true == i).sum()), window_recall[n]) for i, n in enumerate(labels)}
    emitted = {}
    for kind in (TRANSITION, UNLABELLED):
        sel = Counter(p for p, t in zip(acc.pred, acc.truth) if t == kind)
        total = sum(sel.values())
        emitted[kind] = EmittedDuring(total, {k: round(v / total, 4) for k, v in sel.most_common()})
    return {
        "streaming_accuracy": float(np.sum(y_pred == y_true) / n_lab) if n_lab else 0.0,
        "streaming_macro_f1": classification_report(y_true[known], y_pred[known], labels)["macro_f1"]
        if known.any() else 0.0,
        "streaming_windows_labelled": n_lab,
        "unknown_on_labelled": float(np.mean(~known)) if n_lab else 0.0,
        "per_class": per_class,
        "emitted_during": emitted,
    }


def folder_as_recordings(path: str, manifest: Manifest) -> HaptData:
    """A data-set folder's recordings in the model's units, with labelled segments of the model's classes
    (the split and class mapping it was trained with, from the manifest); other time is unlabelled."""
    from edge_runtime.contract import unit_factor
    from edge_runtime.datasets.folder import class_mapping, load_folder, subject_ids

    ds = load_folder(path)
    spec = manifest.input_spec
    if ds.rate_hz != spec.window.sample_rate_hz or [c.name for c in ds.channels] != list(spec.raw_names):
        raise DatasetError(f"{path}: {ds.rate_hz:g} Hz, channels {[c.name for c in ds.channels]}; the model reads "
                           f"{spec.window.sample_rate_hz:g} Hz, {list(spec.raw_names)}")
    scale = np.array([unit_factor(c.unit, m.unit) for c, m in zip(ds.channels, spec.raw)], np.float32)
    opts = manifest.training.get("data_options") or {}
    names, mapping = class_mapping(opts.get("classes"), ds.classes)
    if tuple(names) != tuple(manifest.labels):
        raise DatasetError(f"the model's classes {list(manifest.labels)} are not the data's {list(names)}")
    ids = subject_ids([r.subject for r in ds.recordings])
    recs = []
    for i, r in enumerate(ds.recordings):
        lab = np.array([mapping.get(int(v), -1) + 1 for v in r.labels])  # 0: unlabelled
        edges = np.flatnonzero(np.diff(lab)) + 1
        segs = [(int(lab[a]), int(a), int(b)) for a, b in zip(np.r_[0, edges], np.r_[edges, len(lab)]) if lab[a] > 0]
        recs.append(Recording(i + 1, ids[r.subject], r.stream * scale,
                              np.asarray(segs, dtype=np.int64).reshape(-1, 3)))
    test = tuple(opts.get("test_subjects") or ())
    return HaptData(tuple(recs), tuple(names), test)


def streaming_eval(model: str | Path | Manifest, data: str = "hapt", subjects: SubjectSelection | str = "test",
                   cfg: StreamConfig | None = None, timeline: Path | None = None) -> StreamEvalReport:
    """Evaluate a converted model on continuous held-out recordings (HAPT or a data-set folder)."""
    from edge_runtime.datasets.folder import is_dataset

    cfg = cfg or StreamConfig()
    manifest = model if isinstance(model, Manifest) else load_manifest(model)
    kind, _, path = data.partition(":")
    if is_dataset(data):
        hapt = folder_as_recordings(data, manifest)
    elif kind == "hapt":
        hapt = load_hapt(path or None)
    else:
        raise DatasetError("streaming evaluation needs continuous recordings: a data-set folder, hapt or hapt:PATH")
    sel = subjects if isinstance(subjects, SubjectSelection) else parse_subjects(subjects, SUBJECT_KEYWORDS)
    chosen, recs = select_recordings(hapt, sel)
    spec, labels, win = manifest.input_spec, manifest.labels, manifest.input_spec.window
    ws = segment_windows(HaptData(tuple(recs), hapt.activity_names, hapt.test_subjects), win,
                         tuple(range(1, len(labels) + 1)))
    if tuple(ws.class_names) != tuple(labels):
        raise DatasetError(f"model labels {labels} differ from the data's {ws.class_names}")
    acc = StreamScores()
    with Classifier.from_manifest(manifest) as clf:
        window_rep = classification_report(ws.labels, clf.predict_proba(model_inputs(ws.raw, spec)).argmax(1), labels)
        for rec in recs:
            records, secs = replay(rec.stream, clf, manifest, cfg)
            acc.samples += len(rec.stream)
            acc.wall_s += secs
            score_recording(rec, records, labels, win, acc)
    delay = percentiles(acc.delays, (50, 90)) if acc.delays else {"p50": None, "p90": None}
    note = None
    if timeline is not None and acc.first is not None:
        note = plot_timeline(timeline, acc.first, labels, win.sample_rate_hz)
    return StreamEvalReport(
        model_id=manifest.model_id, data=data, subjects=chosen, recordings=len(recs),
        window_accuracy=window_rep["accuracy"], window_macro_f1=window_rep["macro_f1"],
        windows_validated=window_rep["n"],
        **streaming_scores(acc, labels, {n: v["recall"] for n, v in window_rep["per_class"].items()}),
        switch_delay_s=SwitchDelay(delay["p50"], delay["p90"], len(acc.delays) + acc.missed, acc.missed),
        samples=acc.samples, wall_s=round(acc.wall_s, 3),
        samples_per_s=acc.samples / acc.wall_s if acc.wall_s > 0 else 0.0,
        stream=StreamSettings(cfg.hop or win.hop, cfg.smoothing.window, cfg.smoothing.min_confidence,
                              cfg.smoothing.min_dwell),
        timeline=note,
    )


def plot_timeline(path: Path, data: tuple[Recording, I64, list[str], I64], labels: tuple[str, ...],
                  rate: float) -> str:
    """Truth vs emitted label over one recording; returns the file written, or why none was."""
    try:
        from edge_runtime.measure.plotting import pyplot

        plt = pyplot()
    except ImportError:
        log.warning("timeline not drawn: matplotlib is not installed")
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
