"""Find the first op where TFLite Micro and LiteRT's reference kernels disagree (needs the
``micro`` and ``train`` extras).

For every op k of a converted int8 model, the graph is cut after op k (its output becomes
the graph output), and both interpreters run the cut model on the same quantised held-out
windows. The first op with differing values is where the two runtimes' kernels differ.

    python scripts/micro_bisect.py runs/main/model [--windows 300]
"""

from __future__ import annotations

import argparse
import copy
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from edge_runtime.contract import model_inputs
from edge_runtime.datasets.catalog import load_splits
from edge_runtime.device.classifier import Classifier
from edge_runtime.device.litert import make_interpreter
from edge_runtime.manifest import load_manifest


def main(model_dir: str, windows: int) -> int:
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils
    from tflite_micro.python.tflite_micro import runtime

    manifest = load_manifest(model_dir)
    content = manifest.read_model("int8")
    splits = load_splits("hapt", manifest.input_spec.window)
    with Classifier(content) as clf:
        q = clf.quantize(model_inputs(splits.test.raw[:windows], manifest.input_spec))
    base = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in base.operatorCodes]
    print(f"{model_dir}: {len(q)} held-out windows; differing int8 values of each op's output, TFLM vs BUILTIN_REF")
    for k, op in enumerate(base.subgraphs[0].operators):
        cut = copy.deepcopy(base)
        graph = cut.subgraphs[0]
        graph.operators = graph.operators[: k + 1]
        graph.outputs = [int(op.outputs[0])]
        cut.signatureDefs = None
        b = bytes(flatbuffer_utils.convert_object_to_bytearray(cut))
        ref = make_interpreter(b, reference_kernels=True)
        ref.allocate_tensors()
        micro = runtime.Interpreter.from_bytes(b, arena_size=1 << 20)
        i_in, i_out = ref.get_input_details()[0]["index"], ref.get_output_details()[0]["index"]
        differ = worst = 0
        for w in range(len(q)):
            ref.set_tensor(i_in, q[w : w + 1])
            ref.invoke()
            micro.set_input(q[w : w + 1], 0)
            micro.invoke()
            d = np.abs(ref.get_tensor(i_out).astype(np.int32) - np.asarray(micro.get_output(0)).astype(np.int32))
            differ += int((d > 0).sum())
            worst = max(worst, int(d.max()))
        print(f"op {k:2d} {op_names.get(codes[op.opcodeIndex], '?'):20s} differing values {differ:5d}  max {worst} LSB",
              flush=True)
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="a har-convert output directory")
    ap.add_argument("--windows", type=int, default=300)
    ns = ap.parse_args()
    sys.exit(main(ns.model, ns.windows))
