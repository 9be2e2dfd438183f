"""``har-edge record``: a live source -> labelled recordings in the harlite data-set format.

So that record -> train -> convert -> deploy works on one device with no other tool. Samples are
parsed exactly as ``har-edge run`` parses them (columns by name, bad records counted), timestamps
turned into seconds (unit from the first samples, or given), and appended to one CSV per session
with a label column. The label can change while recording: a line written to the ``--control``
file (e.g. ``echo sitting >> ctl``) or SIGUSR1, which steps to the next of ``--labels``. At the end
(EOF or SIGINT/SIGTERM) ``dataset.json`` is written atomically, adding this session to what the
folder already holds, so several sessions (and devices) build up one data set.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_runtime.contract import Channel
from edge_runtime.device.daemon import stop_on_signals
from edge_runtime.device.ingest import LineParser, guess_time_unit, time_unit_factor
from edge_runtime.device.sources import Source
from edge_runtime.errors import DatasetError, NothingClassified, UsageError

log = logging.getLogger(__name__)
POLL_S = 0.2
PROBE = 32


@dataclass
class RecordStats:
    """What a recording session wrote."""

    samples: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    seconds_per_label: Counter[str] = field(default_factory=Counter)
    file: str = ""
    labels_seen: list[str] = field(default_factory=list)


class LabelControl:
    """The current label: set from new lines of a control file, or stepped through ``labels`` on SIGUSR1."""

    def __init__(self, first: str, labels: Sequence[str] = (), control: Path | None = None) -> None:
        self.current = first
        self._cycle = list(labels) or [first]
        self._control = control
        self._offset = control.stat().st_size if control is not None and control.exists() else 0
        self._step = threading.Event()

    def request_step(self) -> None:
        """Signal handler side: the next label of the cycle at the next poll."""
        self._step.set()

    def poll(self) -> str:
        """The label now (after reading any new control lines or a pending step)."""
        if self._step.is_set():
            self._step.clear()
            i = self._cycle.index(self.current) if self.current in self._cycle else -1
            self._set(self._cycle[(i + 1) % len(self._cycle)], "SIGUSR1")
        if self._control is not None and self._control.exists():
            with open(self._control, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read(4096)
            complete = data[: data.rfind(b"\n") + 1]
            self._offset += len(complete)
            for line in complete.decode("utf-8", "replace").splitlines():
                if line.strip():
                    self._set(line.strip(), str(self._control))
        return self.current

    def _set(self, label: str, why: str) -> None:
        if label != self.current:
            log.info("label: %s -> %s (%s)", self.current, label, why)
            self.current = label


@contextmanager
def _label_signal(control: LabelControl) -> Iterator[None]:
    """SIGUSR1 steps the label (main thread only; SIGINT/SIGTERM are the daemon's ``stop_on_signals``)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGUSR1, lambda *_: control.request_step())
    try:
        yield
    finally:
        signal.signal(signal.SIGUSR1, old)


def record(source: Source, parser: LineParser, out: Path, channels: Sequence[Channel], subject: str,
           control: LabelControl, *, device: str = "", time_unit: str = "auto",
           stop: threading.Event | None = None) -> RecordStats:
    """Record until EOF or ``stop``; returns what was written. Raises :class:`NothingClassified` (exit 8)
    when no sample arrived."""
    if not subject.strip():
        raise UsageError("--subject must not be empty")
    stop = stop or threading.Event()
    out.mkdir(parents=True, exist_ok=True)
    rel = f"recordings/{time.strftime('%Y%m%dT%H%M%S')}_{subject}.csv"
    path = out / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    stats = RecordStats(file=rel)
    scale: float | None = None if time_unit == "auto" else time_unit_factor(time_unit)
    pending: list[tuple[npt.NDArray[np.float64], npt.NDArray[Any], str]] = []
    t_prev = -np.inf
    try:
        fh = open(path, "w", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise DatasetError(f"cannot write {path}: {exc}") from None
    with closing(source), fh, stop_on_signals(stop), _label_signal(control), _no_empty_file(path, stats):
        fh.write(",".join(["t", *(c.name for c in channels), "label"]) + "\n")

        def write(t: npt.NDArray[np.float64], x: npt.NDArray[Any], label: str) -> None:
            nonlocal t_prev
            assert scale is not None
            ts = t * scale
            keep = np.isfinite(ts) & np.isfinite(x).all(axis=1)
            order_ok = np.diff(np.r_[t_prev, ts[keep]]) > 0
            rows = np.flatnonzero(keep)[order_ok]
            stats.rejected["non_finite"] += int((~keep).sum())
            stats.rejected["out_of_order"] += int((~order_ok).sum())
            for i in rows:
                fh.write(f"{ts[i]:.6f}," + ",".join(f"{v:.7g}" for v in x[i]) + f",{label}\n")
            if len(rows):
                t_prev = float(ts[rows[-1]])
                stats.samples += len(rows)
                if label not in stats.labels_seen:
                    stats.labels_seen.append(label)
            fh.flush()

        while not stop.is_set():
            batch = source.read(POLL_S)
            label = control.poll()
            if batch is None:
                break
            for reason, n in batch.rejected.items():
                stats.rejected[reason] += n
            if not len(batch.t):
                continue
            if scale is None:
                pending.append((batch.t, batch.x, label))
                if sum(len(p[0]) for p in pending) < PROBE:
                    continue
                scale = time_unit_factor(guess_time_unit(np.concatenate([p[0] for p in pending]), 50.0))
                for p in pending:
                    write(*p)
                pending.clear()
            else:
                write(batch.t, batch.x, label)
        if pending:
            scale = time_unit_factor(guess_time_unit(np.concatenate([p[0] for p in pending]), 50.0))
            for p in pending:
                write(*p)
    if stats.samples == 0:
        path.unlink(missing_ok=True)
        raise NothingClassified(f"nothing recorded: no usable sample arrived ({dict(stats.rejected) or 'no input'})")
    _add_to_description(out, rel, subject, device, channels, stats.labels_seen)
    log.info("recorded %d samples to %s (labels %s; rejected %s)", stats.samples, path, stats.labels_seen,
             dict(stats.rejected))
    return stats


@contextmanager
def _no_empty_file(path: Path, stats: RecordStats) -> Iterator[None]:
    """A session that fails before its first sample leaves no header-only file behind."""
    try:
        yield
    except BaseException:
        if stats.samples == 0:
            path.unlink(missing_ok=True)
        raise


def _add_to_description(out: Path, rel: str, subject: str, device: str, channels: Sequence[Channel],
                        labels: list[str]) -> None:
    from edge_runtime.datasets.folder import DESCRIPTION, description, parse_description
    from edge_runtime.fileio import atomic_write_text

    entry = {"file": rel, "subject": subject, "device": device, "label_column": "label"}
    if (out / DESCRIPTION).exists():
        doc = parse_description(out)
        if [c["name"] for c in doc["channels"]] != [c.name for c in channels]:
            raise DatasetError(f"{out}: its channels {[c['name'] for c in doc['channels']]} differ from this "
                               f"recording's {[c.name for c in channels]}; record into another folder")
        doc["classes"] = list(dict.fromkeys([*doc["classes"], *labels]))
        doc["recordings"].append(entry)
    else:
        doc = description(out.name, "timestamps", channels, list(dict.fromkeys(labels)) + (
            ["other"] if len(set(labels)) < 2 else []), [entry], notes="recorded with har-edge record")
    atomic_write_text(out / DESCRIPTION, json.dumps(doc, indent=2) + "\n")
