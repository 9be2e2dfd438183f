"""SHA-256 of model files and datasets, without loading OpenSSL where Python allows.

CPython's built-in SHA-256 (``_sha2`` from 3.12, ``_sha256`` before) gives the same digest;
importing ``hashlib`` loads OpenSSL's libcrypto, 3.6 MB of resident memory a daemon does
not otherwise need. Falls back to hashlib where Python was built without its own hashes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _sha256_factory() -> Callable[..., Any]:
    for module in ("_sha2", "_sha256"):
        try:
            factory: Callable[..., Any] = importlib.import_module(module).sha256
            return factory
        except (ImportError, AttributeError):
            continue
    import hashlib

    return hashlib.sha256


sha256 = _sha256_factory()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return str(h.hexdigest())
