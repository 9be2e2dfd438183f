"""Shared fixtures: slices of the real embedded data and a UCI-HAR-layout fixture made from them."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from edge_runtime.datasets.hapt import HaptData, hapt_splits, load_hapt
from edge_runtime.datasets.uci_har import UCI_SIGNALS
from edge_runtime.datasets.windows import Splits


@pytest.fixture(scope="session")
def hapt() -> HaptData:
    return load_hapt()


@pytest.fixture(scope="session")
def hapt_split() -> Splits:
    return hapt_splits()


@pytest.fixture(scope="session")
def small_split(hapt_split: Splits) -> Splits:
    """A few hundred windows from two training and one test subject: enough to fit in seconds."""
    rng = np.random.default_rng(0)
    tr = hapt_split.train.by_subjects([1, 3, 5])
    tr = tr.select(rng.random(len(tr)) < 0.5)
    te = hapt_split.test.by_subjects([2])
    te = te.select(rng.random(len(te)) < 0.5)
    return Splits(tr, te, "hapt-slice")


def write_uci_layout(root: Path, split: Splits, n_train: int = 40, n_test: int = 20) -> Path:
    """Write real HAPT windows in the official UCI HAR v1.0 layout under ``root/UCI HAR Dataset``."""
    base = root / "UCI HAR Dataset"
    for group, ws, n in (("train", split.train, n_train), ("test", split.test, n_test)):
        idx = np.linspace(0, len(ws) - 1, n).astype(int)
        sig_dir = base / group / "Inertial Signals"
        sig_dir.mkdir(parents=True)
        for c, sig in enumerate(UCI_SIGNALS):
            np.savetxt(sig_dir / f"{sig}_{group}.txt", ws.raw[idx, :, c], fmt="%.8e")
        # The body_acc files exist in the real layout; harlite does not need them.
        for axis in "xyz":
            np.savetxt(sig_dir / f"body_acc_{axis}_{group}.txt", ws.raw[idx, :, 0] * 0, fmt="%.8e")
        np.savetxt(base / group / f"y_{group}.txt", ws.labels[idx] + 1, fmt="%d")
        np.savetxt(base / group / f"subject_{group}.txt", ws.subjects[idx], fmt="%d")
    return base


@pytest.fixture()
def uci_dir(tmp_path: Path, hapt_split: Splits) -> Path:
    return write_uci_layout(tmp_path, hapt_split)


@pytest.fixture()
def uci_zip(tmp_path: Path, uci_dir: Path) -> Path:
    zpath = tmp_path / "UCI HAR Dataset.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in sorted(uci_dir.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(uci_dir.parent).as_posix())
    return zpath
