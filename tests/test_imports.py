"""Importing edge_runtime (every module) must never load TensorFlow or Keras (click's import-set test)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import edge_runtime

FORBIDDEN = ("tensorflow", "keras", "tf_keras", "jax", "torch", "train", "convert")


def test_edge_runtime_imports_no_tensorflow() -> None:
    modules = sorted(m.name for m in pkgutil.iter_modules(edge_runtime.__path__, "edge_runtime."))
    assert "edge_runtime.contract" in modules
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    bad = [m for m in loaded if m.split(".")[0] in FORBIDDEN]
    assert not bad, f"edge_runtime pulled in {bad[:10]}"
