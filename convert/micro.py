"""MCU readiness: run the int8 model under the TFLite-Micro interpreter (extra ``micro``).

Finds the smallest tensor arena that lets TFLM allocate and invoke the model, and
checks TFLM's int8 outputs against LiteRT's reference kernels (BUILTIN_REF) bit for bit.
Every TFLM call runs in a child process: a failed allocation can leave TFLM's Python
wrapper unusable, and a native crash must fail the check, not the converter.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_runtime.device.classifier import Classifier

ARENA_GRANULE = 256


def available() -> bool:
    """Whether the ``tflite-micro`` package is installed."""
    return importlib.util.find_spec("tflite_micro") is not None


def _run_worker(model: Path, arena: int, inputs: Path | None = None, outputs: Path | None = None) -> bool:
    cmd = [sys.executable, "-m", "convert.micro", str(model), str(arena)]
    if inputs is not None and outputs is not None:
        cmd += [str(inputs), str(outputs)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=300)
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0


def smallest_arena(model: Path, hi: int = 1 << 20) -> int | None:
    """Smallest arena (multiple of 256 bytes) with which TFLM allocates and invokes, or None."""
    if not _run_worker(model, hi):
        return None
    lo = 0  # known to fail (or untested zero)
    while hi - lo > ARENA_GRANULE:
        mid = (lo + hi) // 2 // ARENA_GRANULE * ARENA_GRANULE
        if mid <= lo:
            break
        if _run_worker(model, mid):
            hi = mid
        else:
            lo = mid
    return hi


def micro_check(content: bytes, inputs: npt.NDArray[np.float32], windows: int = 300) -> dict[str, Any]:
    """Arena size and a bit-exact comparison of TFLM against LiteRT's reference kernels."""
    if not available():
        return {"available": False, "reason": "tflite-micro is not installed (pip install 'harlite[micro]')"}
    x = np.asarray(inputs[:windows], np.float32)
    with Classifier(content, reference_kernels=True) as ref:
        q = ref.quantize(x)
        expected = ref.predict_raw_outputs(x)
    with tempfile.TemporaryDirectory(prefix="harlite-micro-") as tmp:
        model = Path(tmp) / "model.tflite"
        model.write_bytes(content)
        arena = smallest_arena(model)
        if arena is None:
            return {"available": True, "runs": False, "reason": "TFLM could not allocate or invoke the model"}
        np.save(Path(tmp) / "in.npy", q)
        ok = _run_worker(model, arena, Path(tmp) / "in.npy", Path(tmp) / "out.npy")
        if not ok:
            return {"available": True, "runs": False, "arena_bytes": arena, "reason": "TFLM failed on real windows"}
        got = np.load(Path(tmp) / "out.npy")
    diff = np.abs(got.astype(np.int32) - expected.astype(np.int32))
    return {
        "available": True,
        "runs": True,
        "arena_bytes": int(arena),
        "windows": len(x),
        "bit_exact": bool(diff.max(initial=0) == 0),
        "mismatched_values": int((diff > 0).sum()),
        "max_abs_diff": int(diff.max(initial=0)),
        "top1_agreement": float(np.mean(got.argmax(1) == expected.argmax(1))) if len(x) else 1.0,
    }


def _worker(argv: list[str]) -> int:
    from tflite_micro.python.tflite_micro import runtime

    model, arena = Path(argv[0]), int(argv[1])
    interp = runtime.Interpreter.from_bytes(model.read_bytes(), arena_size=arena)
    detail = interp.get_input_details(0)
    if len(argv) < 4:
        interp.set_input(np.zeros(detail["shape"], detail["dtype"]), 0)
        interp.invoke()
        return 0
    q = np.load(argv[2])
    outs = []
    for i in range(len(q)):
        interp.set_input(q[i : i + 1], 0)
        interp.invoke()
        outs.append(np.array(interp.get_output(0))[0])
    np.save(argv[3], np.stack(outs))
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1:]))
