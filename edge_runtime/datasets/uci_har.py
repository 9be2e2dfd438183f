"""The official UCI HAR v1.0 layout (folder or ``.zip``) read as raw windows. Numpy only."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge_runtime.contract import WindowSpec
from edge_runtime.datasets.windows import ACTIVITIES, Splits, WindowSet
from edge_runtime.errors import DatasetError

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

