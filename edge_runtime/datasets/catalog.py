"""Where data lives and what a ``--data`` value names.

The vendored HAPT file is looked up on a search path that works from a source checkout and
after ``pip install .`` alike; when it is nowhere, the error says exactly where to put it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from edge_runtime.contract import WindowSpec
from edge_runtime.errors import DatasetError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from edge_runtime.datasets.windows import Splits

DATA_DIR_ENV = "HARLITE_DATA_DIR"


def user_data_dir() -> Path:
    """``$XDG_DATA_HOME/harlite`` (default ``~/.local/share/harlite``): the per-user place for data."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "harlite"


def data_search_path() -> list[Path]:
    """``$HARLITE_DATA_DIR`` alone when set; else the source checkout's ``data/`` (found from this
    file, so any working directory works), ``./data`` and :func:`user_data_dir`."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return [Path(env)]
    checkout = Path(__file__).resolve().parents[2] / "data"
    return list(dict.fromkeys([checkout, Path.cwd() / "data", user_data_dir()]))


def find_data_file(name: str) -> Path:
    """The first ``name`` on :func:`data_search_path`; a :class:`DatasetError` that names every
    place searched and where to copy the file otherwise."""
    places = data_search_path()
    for d in places:
        if (d / name).is_file():
            return d / name
    raise DatasetError(
        f"{name} not found in {', '.join(str(p) for p in places)}; copy data/{name} from the harlite "
        f"source to {user_data_dir()}/ or point {DATA_DIR_ENV} at the folder holding it"
    )


def load_splits(spec: str, window: WindowSpec | None = None, *, window_text: str | None = None,
                hop_text: str | None = None, classes: str | None = None,
                test_subjects: Sequence[int] | None = None, train_subjects: Sequence[int] | None = None) -> Splits:
    """Parse a ``--data`` value: a data-set folder (``dataset.json`` inside), ``hapt``, ``hapt:PATH`` or
    ``uci-har:DIR_OR_ZIP``. ``window``/``hop``/``classes``/``test_subjects`` apply to folders; the built-in
    sets have their fixed protocol (``window`` fixes the window for all)."""
    from edge_runtime.datasets.folder import folder_splits, is_dataset
    from edge_runtime.datasets.hapt import hapt_splits
    from edge_runtime.datasets.uci_har import load_uci_har

    if is_dataset(spec):
        if window is not None:
            window_text, hop_text = str(window.length), str(window.hop)
        return folder_splits(spec, window_text, hop_text, classes, test_subjects, train_subjects)
    if classes or test_subjects or train_subjects or window_text or hop_text:
        raise UsageError("--classes, --test-subjects, --window and --hop apply to data-set folders; "
                         f"{spec!r} has a fixed protocol")
    window = window or WindowSpec()
    kind, _, arg = spec.partition(":")
    if kind == "hapt":
        return hapt_splits(arg or None, window)
    if kind == "uci-har":
        if not arg:
            raise DatasetError("--data uci-har needs a path: uci-har:DIR_OR_ZIP")
        return load_uci_har(arg, window)
    raise DatasetError(f"unknown data source {spec!r}; use a data-set folder (with dataset.json), hapt, "
                       "hapt:PATH or uci-har:DIR")
