"""What each device-side package pulls in, checked in a fresh interpreter (click's
``tests/test_imports.py`` pattern): an allow-list, so a new heavy dependency fails here
instead of bloating the daemon's start-up and memory."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import edge_runtime

#: Top-level packages a device-side module may import: the standard library, numpy, click,
#: LiteRT (or its tflite-runtime fallback) and harlite's own runtime.
ALLOWED_THIRD_PARTY = {"numpy", "click", "ai_edge_litert", "tflite_runtime", "edge_runtime"}
STDLIB = set(sys.stdlib_module_names) | {"__main__", "__future__", "_distutils_hack"}


def _modules() -> list[str]:
    names = ["edge_runtime"]
    for info in pkgutil.walk_packages(edge_runtime.__path__, "edge_runtime."):
        names.append(info.name)
    return sorted(names)


def _loaded_after_import(module: str) -> list[str]:
    code = f"import importlib, json, sys\nimportlib.import_module({module!r})\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return list(json.loads(out.stdout))


def test_every_room_is_listed() -> None:
    mods = _modules()
    for room in ("edge_runtime.device", "edge_runtime.datasets", "edge_runtime.measure", "edge_runtime.qtyping",
                 "edge_runtime.errors", "edge_runtime.device.resampling"):
        assert room in mods


@pytest.mark.parametrize("module", _modules())
def test_device_side_imports_only_the_allow_list(module: str) -> None:
    tops = {m.split(".")[0] for m in _loaded_after_import(module)}
    foreign = sorted(t for t in tops - STDLIB - ALLOWED_THIRD_PARTY if not t.startswith("_"))
    assert not foreign, f"importing {module} pulled in {foreign}"


@pytest.mark.parametrize("package", ["edge_runtime", "edge_runtime.device", "edge_runtime.datasets",
                                     "edge_runtime.measure"])
def test_package_inits_are_light(package: str) -> None:
    # a room's __init__ imports nothing: the daemon's start-up must not pay for rooms it does not use
    loaded = _loaded_after_import(package)
    ours = sorted(m for m in loaded if m.startswith("edge_runtime"))
    assert ours == sorted({"edge_runtime", package}), ours
    assert "numpy" not in loaded
