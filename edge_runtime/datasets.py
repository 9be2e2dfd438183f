"""Readers for the embedded HAPT raw streams and the official UCI HAR layout.

Numpy only, so the device-side evaluation (``har-edge eval``) reads exactly the
windows that training and conversion use. Every failure names the file at fault.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import numpy.typing as npt

from edge_runtime.contract import WindowSpec, sliding_windows
from edge_runtime.errors import DatasetError
from edge_runtime.integrity import sha256_file

#: SHA-256 of the vendored ``data/hapt_raw.npz`` (see data/ATTRIBUTION.md).
HAPT_SHA256 = "6afbbbe5bfc67eb5c4649b0226930af9f33edeb37beb161eeac7d158be6924a8"
HAPT_TEST_SUBJECTS: tuple[int, ...] = (2, 4, 9, 10, 12, 13, 18, 20, 24)
#: Class names of the UCI HAR protocol (HAPT activities 1-6), index = class id.
ACTIVITIES: tuple[str, ...] = (
    "WALKING",
    "WALKING_UPSTAIRS",
    "WALKING_DOWNSTAIRS",
    "SITTING",
    "STANDING",
    "LAYING",
)
_STREAM_KEY = re.compile(r"^acc_exp(\d+)_user(\d+)$")


def default_data_dir() -> Path:
    """``$HARLITE_DATA_DIR`` if set, else the repository's ``data/`` folder."""
    env = os.environ.get("HARLITE_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "data"


def default_hapt_path() -> Path:
    """Where the vendored HAPT streams live."""
    return default_data_dir() / "hapt_raw.npz"


@dataclass(frozen=True)
class WindowSet:
    """Labelled raw windows: ``raw`` is (n, length, 6) float32 in g and rad/s."""

    raw: npt.NDArray[np.float32]
    labels: npt.NDArray[np.int64]
    subjects: npt.NDArray[np.int64]
    class_names: tuple[str, ...] = ACTIVITIES

    def __post_init__(self) -> None:
        n = self.raw.shape[0]
        if self.labels.shape != (n,) or self.subjects.shape != (n,):
            raise DatasetError(
                f"window set arrays disagree: raw {self.raw.shape}, labels {self.labels.shape}, "
                f"subjects {self.subjects.shape}"
            )

    def __len__(self) -> int:
        return int(self.raw.shape[0])

    def select(self, mask: npt.NDArray[np.bool_]) -> WindowSet:
        """The windows where ``mask`` is true."""
        return WindowSet(self.raw[mask], self.labels[mask], self.subjects[mask], self.class_names)

    def by_subjects(self, subjects: tuple[int, ...] | list[int]) -> WindowSet:
        """The windows of the given subjects."""
        return self.select(np.isin(self.subjects, np.asarray(subjects)))


@dataclass(frozen=True)
class Splits:
    """A train/test split of one dataset, by subject."""

    train: WindowSet
    test: WindowSet
    source: str


@dataclass(frozen=True)
class Recording:
    """One continuous HAPT experiment: raw (samples, 6) stream plus its labelled segments."""

    experiment: int
    subject: int
    stream: npt.NDArray[np.float32]
    #: (k, 3) rows of activity id (1..12), start, end as 0-based half-open sample indices.
    segments: npt.NDArray[np.int64]


@dataclass(frozen=True)
class HaptData:
    """All HAPT recordings plus the activity names (index = activity id - 1)."""

    recordings: tuple[Recording, ...]
    activity_names: tuple[str, ...]
    test_subjects: tuple[int, ...]

    def by_subjects(self, subjects: tuple[int, ...] | list[int]) -> Iterator[Recording]:
        """The recordings of the given subjects, in experiment order."""
        wanted = set(subjects)
        return (r for r in self.recordings if r.subject in wanted)


def load_hapt(path: str | Path | None = None, *, verify: bool | None = None) -> HaptData:
    """Read HAPT raw streams from an ``.npz`` in the layout of ``data/hapt_raw.npz``.

    The vendored file is checked against :data:`HAPT_SHA256` (``verify`` defaults to
    true for it); another file of the same layout is checked for structure only.
    """
    p = Path(path) if path is not None else default_hapt_path()
    if verify is None:
        verify = path is None
    if not p.is_file():
        raise DatasetError(
            f"HAPT data not found at {p}; set HARLITE_DATA_DIR or pass --data hapt:PATH"
        )
    if verify:
        digest = sha256_file(p)
        if digest != HAPT_SHA256:
            raise DatasetError(
                f"{p}: sha256 {digest} does not match the vendored HAPT file {HAPT_SHA256} "
                "(corrupt or a git-lfs pointer?)"
            )
    try:
        with np.load(p, allow_pickle=False) as npz:
            files = set(npz.files)
            if "labels" not in files:
                raise DatasetError(f"{p}: no 'labels' array")
            labels = np.asarray(npz["labels"], dtype=np.int64)
            names = (
                tuple(str(s) for s in npz["activity_names"])
                if "activity_names" in files
                else tuple(f"ACTIVITY_{i}" for i in range(1, 13))
            )
            test = (
                tuple(int(s) for s in npz["hapt_test_subjects"])
                if "hapt_test_subjects" in files
                else HAPT_TEST_SUBJECTS
            )
            recordings = []
            for key in sorted(files):
                m = _STREAM_KEY.match(key)
                if not m:
                    continue
                exp, user = int(m.group(1)), int(m.group(2))
                gkey = f"gyro_exp{m.group(1)}_user{m.group(2)}"
                if gkey not in files:
                    raise DatasetError(f"{p}: {key} has no matching {gkey}")
                acc, gyro = np.asarray(npz[key]), np.asarray(npz[gkey])
                if acc.ndim != 2 or acc.shape[1] != 3 or acc.shape != gyro.shape:
                    raise DatasetError(
                        f"{p}: {key} {acc.shape} / {gkey} {gyro.shape} must both be (N, 3)"
                    )
                stream = np.concatenate([acc, gyro], axis=1).astype(np.float32)
                if not np.isfinite(stream).all():
                    raise DatasetError(f"{p}: {key}/{gkey} hold NaN or Inf")
                recordings.append((exp, user, stream))
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{p}: not a readable .npz file ({exc})") from exc
    if not recordings:
        raise DatasetError(f"{p}: no acc_expEE_userUU streams")
    if labels.ndim != 2 or labels.shape[1] != 5:
        raise DatasetError(f"{p}: labels must be (rows, 5), got {labels.shape}")
    out = []
    for exp, user, stream in recordings:
        rows = labels[labels[:, 0] == exp]
        if rows.size and not np.all(rows[:, 1] == user):
            raise DatasetError(f"{p}: labels of experiment {exp} name another user")
        seg = np.stack([rows[:, 2], rows[:, 3] - 1, rows[:, 4]], axis=1) if rows.size else np.empty((0, 3), np.int64)
        bad = (seg[:, 1] < 0) | (seg[:, 2] > len(stream)) | (seg[:, 2] <= seg[:, 1])
        if bad.any():
            raise DatasetError(f"{p}: experiment {exp} has a label segment outside its stream: {seg[bad][0]}")
        out.append(Recording(exp, user, stream, seg.astype(np.int64)))
    out.sort(key=lambda r: r.experiment)
    return HaptData(tuple(out), names, test)


def segment_windows(
    data: HaptData, window: WindowSpec = WindowSpec(), activities: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
) -> WindowSet:
    """UCI-HAR protocol windows: ``window.length`` samples every ``window.hop`` inside each
    labelled segment of the given activities; class id = position in ``activities``."""
    class_of = {a: i for i, a in enumerate(activities)}
    raws, labels, subjects = [], [], []
    for rec in data.recordings:
        for act, start, end in rec.segments:
            if int(act) not in class_of:
                continue
            w = sliding_windows(rec.stream[start:end], window)
            if len(w):
                raws.append(w)
                labels.append(np.full(len(w), class_of[int(act)], np.int64))
                subjects.append(np.full(len(w), rec.subject, np.int64))
    if not raws:
        raise DatasetError("no labelled segment is long enough for one window")
    names = tuple(data.activity_names[a - 1] for a in activities)
    return WindowSet(np.concatenate(raws), np.concatenate(labels), np.concatenate(subjects), names)


def hapt_splits(path: str | Path | None = None, window: WindowSpec = WindowSpec()) -> Splits:
    """HAPT windows split into the official 21 train / 9 test subjects."""
    data = load_hapt(path)
    ws = segment_windows(data, window)
    test = np.isin(ws.subjects, np.asarray(data.test_subjects))
    return Splits(ws.select(~test), ws.select(test), f"hapt:{path or default_hapt_path()}")


# --- UCI HAR v1.0 layout -------------------------------------------------------------

#: Inertial-signal files mapped onto the raw contract: total_acc is in g with gravity
#: included (= raw accelerometer), body_gyro in rad/s (= gyroscope).
UCI_SIGNALS: tuple[str, ...] = (
    "total_acc_x", "total_acc_y", "total_acc_z", "body_gyro_x", "body_gyro_y", "body_gyro_z",
)


class _UciSource:
    """Reads member files of a UCI HAR folder or ``.zip`` by their path under the dataset root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        if root.is_file():
            try:
                self._zip = zipfile.ZipFile(root)
            except zipfile.BadZipFile as exc:
                raise DatasetError(f"{root}: not a zip file ({exc})") from exc
            names = self._zip.namelist()
            hits = [n for n in names if n.endswith("train/y_train.txt") and "__MACOSX" not in n]
            if not hits:
                self._zip.close()
                raise DatasetError(f"{root}: no train/y_train.txt inside the zip; not a UCI HAR archive")
            self._prefix = hits[0][: -len("train/y_train.txt")]
        elif root.is_dir():
            if not (root / "train").is_dir() and (root / "UCI HAR Dataset").is_dir():
                self.root = root / "UCI HAR Dataset"
        else:
            raise DatasetError(f"UCI HAR dataset not found at {root}")

    def __enter__(self) -> _UciSource:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._zip is not None:
            self._zip.close()

    def read(self, rel: str) -> tuple[str, bytes]:
        if self._zip is not None:
            name = self._prefix + rel
            try:
                return f"{self.root}!{name}", self._zip.read(name)
            except KeyError as exc:
                raise DatasetError(f"{self.root}: missing {name}") from exc
        path = self.root / rel
        if not path.is_file():
            raise DatasetError(f"missing {path}")
        return str(path), path.read_bytes()


def _read_table(src: _UciSource, rel: str, cols: int | None) -> npt.NDArray[np.float64]:
    where, data = src.read(rel)
    try:
        arr = np.loadtxt(io.BytesIO(data), dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise DatasetError(f"{where}: malformed ({exc})") from exc
    if arr.size == 0:
        raise DatasetError(f"{where}: empty")
    if cols is not None and arr.shape[1] != cols:
        raise DatasetError(f"{where}: expected {cols} columns per row, got {arr.shape[1]}")
    if not np.isfinite(arr).all():
        raise DatasetError(f"{where}: holds NaN or Inf")
    return arr


def _uci_group(src: _UciSource, group: str, length: int) -> WindowSet:
    y = _read_table(src, f"{group}/y_{group}.txt", 1)[:, 0]
    subj = _read_table(src, f"{group}/subject_{group}.txt", 1)[:, 0]
    chans = [
        _read_table(src, f"{group}/Inertial Signals/{sig}_{group}.txt", length) for sig in UCI_SIGNALS
    ]
    n = len(y)
    for sig, arr in zip(UCI_SIGNALS, chans):
        if arr.shape[0] != n:
            raise DatasetError(
                f"{src.root}: {group}/Inertial Signals/{sig}_{group}.txt has {arr.shape[0]} rows, "
                f"y_{group}.txt has {n}"
            )
    if len(subj) != n:
        raise DatasetError(f"{src.root}: subject_{group}.txt has {len(subj)} rows, y_{group}.txt has {n}")
    if not np.all((y >= 1) & (y <= 6) & (y == np.round(y))):
        raise DatasetError(f"{src.root}: y_{group}.txt must hold activity ids 1..6")
    raw = np.stack(chans, axis=-1).astype(np.float32)
    return WindowSet(raw, y.astype(np.int64) - 1, subj.astype(np.int64), ACTIVITIES)


def load_uci_har(path: str | Path, window: WindowSpec = WindowSpec()) -> Splits:
    """Read the official UCI HAR v1.0 layout (folder or ``.zip``) as raw windows.

    Uses ``total_acc`` (g) and ``body_gyro`` (rad/s) so the windows follow the same raw
    contract as the HAPT streams.
    """
    root = Path(path)
    with _UciSource(root) as src:
        train = _uci_group(src, "train", window.length)
        test = _uci_group(src, "test", window.length)
    return Splits(train, test, f"uci-har:{root}")


def load_splits(spec: str, window: WindowSpec = WindowSpec()) -> Splits:
    """Parse a ``--data`` value: ``hapt``, ``hapt:PATH`` or ``uci-har:DIR_OR_ZIP``."""
    kind, _, arg = spec.partition(":")
    if kind == "hapt":
        return hapt_splits(arg or None, window)
    if kind == "uci-har":
        if not arg:
            raise DatasetError("--data uci-har needs a path: uci-har:DIR_OR_ZIP")
        return load_uci_har(arg, window)
    raise DatasetError(f"unknown data source {spec!r}; use hapt, hapt:PATH or uci-har:DIR")
