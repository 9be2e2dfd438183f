"""The vendored HAPT raw streams (``data/hapt_raw.npz``): continuous recordings and their
labelled segments, cut into UCI-HAR-protocol windows. Numpy only."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge_runtime.contract import WindowSpec, sliding_windows
from edge_runtime.datasets.catalog import find_data_file
from edge_runtime.datasets.windows import Splits, WindowSet
from edge_runtime.errors import DatasetError
from edge_runtime.integrity import sha256_file

#: SHA-256 of the vendored ``data/hapt_raw.npz`` (see data/ATTRIBUTION.md).
HAPT_SHA256 = "6afbbbe5bfc67eb5c4649b0226930af9f33edeb37beb161eeac7d158be6924a8"
HAPT_FILE = "hapt_raw.npz"
HAPT_TEST_SUBJECTS: tuple[int, ...] = (2, 4, 9, 10, 12, 13, 18, 20, 24)
_STREAM_KEY = re.compile(r"^acc_exp(\d+)_user(\d+)$")


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


def default_hapt_path() -> Path:
    """Where the vendored HAPT streams are (see :func:`edge_runtime.datasets.catalog.find_data_file`)."""
    return find_data_file(HAPT_FILE)


def load_hapt(path: str | Path | None = None, *, verify: bool | None = None) -> HaptData:
    """Read HAPT raw streams from an ``.npz`` in the layout of ``data/hapt_raw.npz``.

    The vendored file is checked against :data:`HAPT_SHA256` (``verify`` defaults to
    true for it); another file of the same layout is checked for structure only.
    """
    p = Path(path) if path is not None else default_hapt_path()
    if verify is None:
        verify = path is None
    if not p.is_file():
        raise DatasetError(f"HAPT data not found at {p}")
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
    file = Path(path) if path else default_hapt_path()
    version = "sha256:" + (HAPT_SHA256 if path is None else sha256_file(file))
    return Splits(ws.select(~test), ws.select(test), f"hapt:{file}", window=window, version=version)

