"""The harlite data-set format: a folder a person can write by hand or with a spreadsheet.

    my-data/
      dataset.json          what the recordings are (below)
      recordings/*.csv      one CSV per recording: a header row, a time column, one column per channel,
                            optionally a label column

``dataset.json``::

    {"format": "harlite-dataset", "schema": 1, "name": "my-data",
     "sample_rate_hz": 20,                       # or "timestamps": measured, every recording resampled to it
     "time_column": "t", "time_unit": "s",       # s, ms, us or ns
     "channels": [{"name": "acc_x", "unit": "m/s2", "group": "acc"}, ...],
     "classes": ["walking", "jogging", ...],
     "recordings": [
       {"file": "recordings/a.csv", "subject": "1600", "device": "phone", "label": "walking"},
       {"file": "recordings/b.csv", "subject": "1601", "label_column": "label"},
       {"file": "recordings/c.csv", "subject": "1602", "segments": [[0.0, 30.5, "walking"], [31.0, 60.0, "sitting"]]}
     ],
     "notes": "gravity included; phone in the right trouser pocket", "source": "...", "license": "..."}

Each recording carries one label, a label column (empty cells = unlabelled) or labelled time segments
(seconds from the recording's first sample, end exclusive). The data set's version is the SHA-256 of
``dataset.json`` and every recording file (:func:`content_hash`); it is written into ``metrics.json``,
``config.json`` and the model manifest. Numpy only, so ``har-edge eval`` can read it on a device.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_runtime.contract import TIME_UNITS, Channel, WindowSpec, canonical_unit, sliding_windows
from edge_runtime.datasets.windows import Splits, WindowSet
from edge_runtime.errors import DatasetError, UsageError
from edge_runtime.integrity import sha256

FORMAT = "harlite-dataset"
SCHEMA = 1
DESCRIPTION = "dataset.json"
#: Recordings whose median rate differs from the data set's by more than this are resampled on load.
RATE_TOLERANCE = 0.03
UNLABELLED = -1


@dataclass(frozen=True)
class FolderRecording:
    """One recording on the data set's uniform grid: (n, C) values and a class id per sample."""

    file: str
    subject: str
    device: str
    stream: npt.NDArray[np.float32]
    labels: npt.NDArray[np.int64]
    #: The file's own timing before it was put on the grid: median rate, jitter, pauses over 5 periods.
    measured_rate_hz: float = 0.0
    jitter_pct: float = 0.0
    pauses: int = 0


@dataclass(frozen=True)
class FolderDataset:
    """A loaded data set."""

    root: Path
    name: str
    rate_hz: float
    channels: tuple[Channel, ...]
    classes: tuple[str, ...]
    recordings: tuple[FolderRecording, ...]
    version: str
    description: dict[str, Any]

    @property
    def subjects(self) -> tuple[str, ...]:
        """Subjects in a stable order (numeric ids numerically)."""
        return tuple(sorted({r.subject for r in self.recordings}, key=_subject_key))


def _subject_key(s: str) -> tuple[int, int, str]:
    return (0, int(s), "") if s.isdigit() else (1, 0, s)


def subject_ids(subjects: Sequence[str]) -> dict[str, int]:
    """Integer ids for subjects: a numeric subject is its own number; others get 1_000_000 + their rank."""
    names = sorted({s for s in subjects if not s.isdigit()})
    return {s: int(s) if s.isdigit() else 1_000_000 + names.index(s) for s in subjects}


def is_dataset(path: str | Path) -> bool:
    """Whether ``path`` is a data-set folder (it holds ``dataset.json``)."""
    return (Path(path) / DESCRIPTION).is_file()


def content_hash(root: Path, files: Sequence[str]) -> str:
    """``sha256:<hex>`` over ``dataset.json`` and every recording (names and bytes), in sorted order."""
    h = sha256()
    for rel in [DESCRIPTION, *sorted(set(files))]:
        h.update(rel.encode() + b"\0")
        with open(root / rel, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    return "sha256:" + str(h.hexdigest())


def _field(d: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in d:
        raise DatasetError(f"{where}: missing {key!r}")
    v = d[key]
    if not isinstance(v, kind) or isinstance(v, bool):
        raise DatasetError(f"{where}: {key!r} must be {getattr(kind, '__name__', kind)}, got {type(v).__name__}")
    return v


def parse_description(root: Path) -> dict[str, Any]:
    """``dataset.json``, checked for the fields every reader needs."""
    p = root / DESCRIPTION
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DatasetError(f"{p}: not a readable JSON description ({exc})") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise DatasetError(f"{p}: not a harlite data set (\"format\" must be {FORMAT!r})")
    if not isinstance(d.get("schema"), int) or d["schema"] > SCHEMA:
        raise DatasetError(f"{p}: schema {d.get('schema')!r} is not supported (this harlite reads {SCHEMA})")
    chans = _field(d, "channels", list, str(p))
    if not chans:
        raise DatasetError(f"{p}: no channels")
    classes = _field(d, "classes", list, str(p))
    if len(classes) < 2 or len(set(map(str, classes))) != len(classes):
        raise DatasetError(f"{p}: \"classes\" must name at least two distinct classes")
    _field(d, "recordings", list, str(p))
    rate = d.get("sample_rate_hz")
    if rate != "timestamps" and not (isinstance(rate, (int, float)) and not isinstance(rate, bool)
                                     and math.isfinite(rate) and 0 < rate <= 1e5):
        raise DatasetError(f"{p}: sample_rate_hz must be a rate in Hz or \"timestamps\", got {rate!r}")
    if d.get("time_unit", "s") not in TIME_UNITS:
        raise DatasetError(f"{p}: time_unit must be one of {list(TIME_UNITS)}")
    return d


def _channels(d: dict[str, Any], where: str) -> tuple[Channel, ...]:
    out = []
    for i, c in enumerate(d["channels"]):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"]:
            raise DatasetError(f"{where}: channel {i} needs a \"name\"")
        out.append(Channel(c["name"], canonical_unit(str(c.get("unit", ""))), str(c.get("group", ""))))
    if len({c.name for c in out}) != len(out):
        raise DatasetError(f"{where}: channel names repeat")
    return tuple(out)


def _read_csv(path: Path, columns: Sequence[str], label_column: str | None) -> tuple[npt.NDArray[np.float64],
                                                                                      list[str] | None]:
    """Numeric columns by header name (float64, (n, len(columns))) and the label column as text."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            header = [h.strip().strip('"') for h in fh.readline().rstrip("\r\n").split(",")]
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from None
    missing = [c for c in columns if c not in header] + (
        [label_column] if label_column and label_column not in header else [])
    if missing:
        raise DatasetError(f"{path}: no column {', '.join(map(repr, missing))} in its header {header}")
    idx = [header.index(c) for c in columns]
    try:
        values = np.loadtxt(path, delimiter=",", skiprows=1, usecols=idx, dtype=np.float64, ndmin=2,
                            encoding="utf-8-sig")
    except ValueError as exc:
        raise DatasetError(f"{path}: {exc}") from None
    labels = None
    if label_column:
        raw = np.loadtxt(path, delimiter=",", skiprows=1, usecols=[header.index(label_column)], dtype=str,
                         ndmin=1, encoding="utf-8-sig", comments=None)
        labels = [s.strip().strip('"') for s in raw.tolist()]
    if not np.isfinite(values).all():
        bad = int(np.argwhere(~np.isfinite(values))[0][0]) + 2
        raise DatasetError(f"{path}: line {bad} holds NaN, Inf or an empty cell")
    return values, labels


def _uniform(t: npt.NDArray[np.float64], x: npt.NDArray[np.float64], rate: float,
             where: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """The recording on a uniform grid at ``rate`` (linear interpolation when its own rate differs or
    jitters); returns grid times, values and, for each grid point, the index of the nearest sample."""
    if len(t) < 2:
        raise DatasetError(f"{where}: fewer than two samples")
    d = np.diff(t)
    if (d <= 0).any():
        i = int(np.argmax(d <= 0)) + 2
        raise DatasetError(f"{where}: timestamps must increase (line {i} does not)")
    if abs(float(np.median(d)) * rate - 1.0) <= RATE_TOLERANCE and np.ptp(d) <= 0.5 / rate:
        return t, x, np.arange(len(t))
    grid = t[0] + np.arange(math.floor((t[-1] - t[0]) * rate) + 1) / rate
    out = np.stack([np.interp(grid, t, x[:, c]) for c in range(x.shape[1])], axis=1)
    nearest = np.clip(np.searchsorted(t, grid), 0, len(t) - 1)
    return grid, out, nearest


def load_folder(path: str | Path) -> FolderDataset:
    """Read a data-set folder; every defect is a :class:`DatasetError` naming the file and field."""
    root = Path(path)
    if not is_dataset(root):
        raise DatasetError(f"{root}: no {DESCRIPTION}; a harlite data set is a folder with {DESCRIPTION} and CSV "
                           "recordings (see README, 'Your own data')")
    d = parse_description(root)
    where = str(root / DESCRIPTION)
    channels = _channels(d, where)
    classes = tuple(str(c) for c in d["classes"])
    cls_id = {c: i for i, c in enumerate(classes)}
    tcol, tscale = str(d.get("time_column", "t")), TIME_UNITS[d.get("time_unit", "s")]
    entries = d["recordings"]
    rates = []
    loaded = []
    for i, r in enumerate(entries):
        w = f"{where}: recording {i}"
        if not isinstance(r, dict):
            raise DatasetError(f"{w}: must be an object")
        rel = str(_field(r, "file", str, w))
        fpath = (root / rel).resolve()
        if root.resolve() not in fpath.parents or not fpath.is_file():
            raise DatasetError(f"{w}: file {rel!r} is not a file inside the data set")
        subject = str(_field(r, "subject", (str, int), w))
        label_col = r.get("label_column")
        values, text_labels = _read_csv(fpath, [tcol, *(c.name for c in channels)],
                                        str(label_col) if label_col else None)
        t = values[:, 0] * tscale
        steps = np.diff(t)
        if len(steps) and (steps > 0).any():
            rates.append(1.0 / float(np.median(steps[steps > 0])))
        loaded.append((rel, subject, str(r.get("device", "")), t, values[:, 1:], r, text_labels))
    if not loaded:
        raise DatasetError(f"{where}: no recordings")
    rate = float(np.median(rates)) if d["sample_rate_hz"] == "timestamps" else float(d["sample_rate_hz"])
    recs = []
    for rel, subject, device, t, x, r, text_labels in loaded:
        w = f"{root / rel}"
        grid, xs, nearest = _uniform(t, x, rate, w)
        labels = np.full(len(grid), UNLABELLED, dtype=np.int64)
        if "label" in r:
            lab = str(r["label"])
            if lab not in cls_id:
                raise DatasetError(f"{w}: label {lab!r} is not one of the classes {list(classes)}")
            labels[:] = cls_id[lab]
        elif text_labels is not None:
            unknown = sorted({s for s in text_labels if s and s not in cls_id})
            if unknown:
                raise DatasetError(f"{w}: labels {unknown[:5]} are not among the classes {list(classes)}")
            per_sample = np.array([cls_id.get(s, UNLABELLED) for s in text_labels], dtype=np.int64)
            labels = per_sample[nearest]
        elif "segments" in r:
            rel_t = grid - grid[0]
            for k, seg in enumerate(r["segments"]):
                if not (isinstance(seg, list) and len(seg) == 3 and str(seg[2]) in cls_id
                        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in seg[:2])
                        and seg[0] < seg[1]):
                    raise DatasetError(f"{w}: segment {k} must be [start_s, end_s, class] with a known class")
                labels[(rel_t >= seg[0]) & (rel_t < seg[1])] = cls_id[str(seg[2])]
        else:
            raise DatasetError(f"{w}: give \"label\", \"label_column\" or \"segments\"")
        steps = np.diff(t)
        med = float(np.median(steps))
        recs.append(FolderRecording(rel, subject, device, xs.astype(np.float32), labels, 1.0 / med,
                                    float(100 * np.std(steps) / med), int((steps > 5 * med).sum())))
    version = content_hash(root, [r.file for r in recs])
    return FolderDataset(root, str(d.get("name", root.name)), rate, channels, classes, tuple(recs), version, d)


# --- classes: select, merge, rename -----------------------------------------------------------


def class_mapping(spec: str | None, classes: Sequence[str]) -> tuple[tuple[str, ...], dict[int, int]]:
    """``walking,stairs=upstairs+downstairs,still=sitting`` -> (output class names, {data class id: output
    id}); None keeps every class. Classes a spec does not name are dropped."""
    if not spec:
        return tuple(classes), {i: i for i in range(len(classes))}
    names: list[str] = []
    mapping: dict[int, int] = {}
    for item in (p.strip() for p in spec.split(",") if p.strip()):
        new, _, srcs = item.partition("=")
        new = new.strip()
        sources = [s.strip() for s in (srcs.split("+") if srcs else [new]) if s.strip()]
        unknown = [s for s in sources if s not in classes]
        if unknown or not new:
            raise UsageError(f"--classes {spec!r}: {unknown or item!r} not in the data's classes {list(classes)}")
        if new in names:
            raise UsageError(f"--classes {spec!r}: {new!r} named twice")
        names.append(new)
        for s in sources:
            if classes.index(s) in mapping:
                raise UsageError(f"--classes {spec!r}: {s!r} used twice")
            mapping[classes.index(s)] = len(names) - 1
    if len(names) < 2:
        raise UsageError(f"--classes {spec!r}: a classifier needs at least two classes")
    return tuple(names), mapping


def parse_window(text: str | None, rate: float, default_s: float = 2.56) -> int:
    """``128`` (samples) or ``2.56s`` (seconds, rounded to samples at ``rate``); None: ``default_s``."""
    if text is None:
        return max(2, round(default_s * rate))
    m = re.fullmatch(r"\s*([\d.]+)\s*(s?)\s*", text)
    if not m:
        raise UsageError(f"window/hop {text!r}: give samples (128) or seconds (2.56s)")
    v = float(m.group(1))
    n = round(v * rate) if m.group(2) else int(v)
    if n < 1 or (not m.group(2) and v != int(v)):
        raise UsageError(f"window/hop {text!r}: must be at least one whole sample")
    return n


def folder_windows(ds: FolderDataset, window: WindowSpec, mapping: dict[int, int],
                   names: tuple[str, ...]) -> WindowSet:
    """Windows of ``window.length`` samples every ``window.hop`` inside each run of one label."""
    ids = subject_ids([r.subject for r in ds.recordings])
    raws, labels, subjects = [], [], []
    for rec in ds.recordings:
        lab = rec.labels
        edges = np.flatnonzero(np.diff(lab)) + 1
        for s, e in zip(np.r_[0, edges], np.r_[edges, len(lab)]):
            c = int(lab[s])
            if c == UNLABELLED or c not in mapping:
                continue
            w = sliding_windows(rec.stream[s:e], window)
            if len(w):
                raws.append(w)
                labels.append(np.full(len(w), mapping[c], np.int64))
                subjects.append(np.full(len(w), ids[rec.subject], np.int64))
    if not raws:
        raise DatasetError(f"{ds.root}: no labelled run is long enough for one {window.length}-sample window")
    return WindowSet(np.concatenate(raws), np.concatenate(labels), np.concatenate(subjects), names)


def default_test_subjects(subjects: Sequence[int]) -> tuple[int, ...]:
    """About a fifth of the subjects, every fifth from the third (at least one when there are two or more)."""
    s = sorted(subjects)
    if len(s) < 2:
        raise DatasetError(f"a subject-wise split needs at least two subjects; the data has {s}")
    return tuple(s[2::5] or s[-1:])


def folder_splits(path: str | Path, window: str | None = None, hop: str | None = None, classes: str | None = None,
                  test_subjects: Sequence[int] | None = None, train_subjects: Sequence[int] | None = None) -> Splits:
    """A data-set folder as subject-wise train/test windows (test: ``test_subjects`` or a fifth; train:
    ``train_subjects`` or all the others)."""
    ds = load_folder(path)
    length = parse_window(window, ds.rate_hz)
    spec = WindowSpec(ds.rate_hz, length, parse_window(hop, ds.rate_hz) if hop else max(1, length // 2))
    names, mapping = class_mapping(classes, ds.classes)
    ws = folder_windows(ds, spec, mapping, names)
    every = sorted({int(s) for s in ws.subjects})
    test = tuple(test_subjects) if test_subjects else default_test_subjects(every)
    missing = sorted(set(test) - set(every))
    if missing:
        raise DatasetError(f"test subjects {missing} have no windows in {ds.root} (subjects: {every})")
    mask = np.isin(ws.subjects, np.asarray(test))
    train = ~mask
    if train_subjects:
        bad = sorted((set(train_subjects) - set(every)) | (set(train_subjects) & set(test)))
        if bad:
            raise DatasetError(f"training subjects {bad} are test subjects or have no windows")
        train &= np.isin(ws.subjects, np.asarray(train_subjects))
    if not train.any():
        raise DatasetError("every subject is a test subject: nothing is left to train on")
    options = {"window": length, "hop": spec.hop, "classes": classes, "test_subjects": sorted(test)}
    if train_subjects:
        options["train_subjects"] = sorted(train_subjects)
    return Splits(ws.select(train), ws.select(mask), f"{ds.root}", channels=ds.channels, window=spec,
                  version=ds.version, options=options)


# --- writing: importers and har-edge record produce this format --------------------------------


def write_recording(path: Path, t: npt.NDArray[np.float64], x: npt.NDArray[Any], channels: Sequence[Channel],
                    labels: Sequence[str] | None = None, time_column: str = "t") -> None:
    """One recording as CSV: a header, then ``t`` (seconds, 6 decimals), the channels (float32 precision)
    and an optional label column."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = [np.char.mod("%.6f", np.asarray(t, np.float64))]
    cols += [np.char.mod("%.7g", np.asarray(x[:, i], np.float64)) for i in range(len(channels))]
    header = [time_column, *(c.name for c in channels)]
    if labels is not None:
        cols.append(np.asarray(labels, dtype=str))
        header.append("label")
    rows = cols[0]
    for c in cols[1:]:
        rows = np.char.add(np.char.add(rows, ","), c)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(",".join(header) + "\n")
        fh.write("\n".join(rows.tolist()) + ("\n" if len(rows) else ""))


def description(name: str, rate: float | str, channels: Sequence[Channel], classes: Sequence[str],
                recordings: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A ``dataset.json`` document (``extra``: source, license, notes, gravity, ...)."""
    return {"format": FORMAT, "schema": SCHEMA, "name": name, "sample_rate_hz": rate, "time_column": "t",
            "time_unit": "s", "channels": [c.to_dict() for c in channels], "classes": list(classes),
            "recordings": recordings, **extra}


def write_description(root: Path, doc: dict[str, Any]) -> None:
    """Write ``dataset.json`` (pretty, stable key order for people and diffs)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / DESCRIPTION).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
