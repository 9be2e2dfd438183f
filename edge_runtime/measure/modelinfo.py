"""What a TFLite file holds and costs: op list, multiply-accumulates, invoke latency.

Numpy + LiteRT only, so the converter's report and the device benchmark share it.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge_runtime.device.litert import make_interpreter
from edge_runtime.metrics import percentiles


@dataclass(frozen=True)
class ModelInfo:
    """Static facts of a model file."""

    bytes: int
    ops: tuple[str, ...]
    op_counts: dict[str, int]
    macs: int


def _ops(interp: Any) -> list[dict[str, Any]]:
    try:
        return list(interp._get_ops_details())  # the only op listing the Python API offers
    except AttributeError:  # pragma: no cover - older runtimes
        return []


def model_info(content: bytes) -> ModelInfo:
    """Ops in execution order (without the delegate node) and MACs of conv/depthwise/FC ops.

    MACs: CONV_2D out_elems*kh*kw*in_ch; DEPTHWISE_CONV_2D out_elems*kh*kw;
    FULLY_CONNECTED out_elems*in_features (weights' shapes from the file).
    """
    interp = make_interpreter(content, num_threads=1, reference_kernels=True)
    interp.allocate_tensors()
    shapes = {d["index"]: tuple(int(v) for v in d["shape"]) for d in interp.get_tensor_details()}
    ops, macs = [], 0
    for op in _ops(interp):
        name = op["op_name"]
        if name == "DELEGATE":
            continue
        ops.append(name)
        ins, outs = list(op["inputs"]), list(op["outputs"])
        if not outs or len(ins) < 2 or ins[1] < 0:
            continue
        out_elems = int(np.prod(shapes.get(outs[0], (0,))))
        w = shapes.get(ins[1], ())
        if name == "CONV_2D" and len(w) == 4:
            macs += out_elems * w[1] * w[2] * w[3]
        elif name == "DEPTHWISE_CONV_2D" and len(w) == 4:
            macs += out_elems * w[1] * w[2]
        elif name == "FULLY_CONNECTED" and len(w) == 2:
            macs += out_elems * w[1]
    return ModelInfo(len(content), tuple(ops), dict(Counter(ops)), int(macs))


def invoke_latency_us(content: bytes, runs: int = 200, repeats: int = 15, num_threads: int = 1) -> dict[str, float]:
    """Bare invoke latency of a batch-1 model: median/p90/p99 over ``repeats`` timed loops
    of ``runs`` invokes each (per-invoke means), after a warm-up."""
    interp = make_interpreter(content, num_threads=num_threads)
    interp.allocate_tensors()
    d = interp.get_input_details()[0]
    x = np.zeros(d["shape"], dtype=d["dtype"])
    interp.set_tensor(d["index"], x)
    for _ in range(max(50, runs // 4)):
        interp.invoke()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(runs):
            interp.invoke()
        samples.append((time.perf_counter() - t0) / runs * 1e6)
    return {**percentiles(samples), "runs": runs * repeats}
