"""Keras -> TFLite, one function per quantisation variant.

Every file has a fixed batch-1 input: XNNPACK then delegates the whole graph as one
partition, the streaming daemon feeds one window at a time, and batch evaluation simply
invokes it once per window (a few tens of microseconds each), so one file serves both.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from edge_runtime.errors import ConversionError, UsageError
from edge_runtime.qtyping import Variant

if TYPE_CHECKING:  # pragma: no cover
    import keras

DEFAULT_VARIANTS: tuple[Variant, ...] = (Variant.INT8, Variant.FLOAT32)

#: How int8 activation ranges are set from the calibration windows. ``minmax`` is the TFLite
#: calibrator's own rule (the extremes over all windows); ``mean`` averages each window's
#: min and max per tensor, so a single outlying window cannot widen a range and coarsen its
#: scale for every window (the ranges QAT's moving averages converge to). The graph input
#: keeps the range of the (clipped) calibration data in both cases. ``auto`` (har-convert's
#: default, :func:`convert.pipeline.quantize_int8`) tries both and keeps the better one.
Ranges = Literal["minmax", "mean"]
RANGES: tuple[Ranges, ...] = ("minmax", "mean")
RangesChoice = Literal["auto", "minmax", "mean"]
RANGES_CHOICES: tuple[RangesChoice, ...] = ("auto", "minmax", "mean")



def batch1(model: keras.Model) -> keras.Model:
    """The same layers and weights behind a fixed batch-1 input."""
    import keras

    inp = keras.Input(shape=model.input_shape[1:], batch_size=1, name="window")
    return keras.Model(inp, model(inp), name=f"{model.name}_b1")


def representative(windows: npt.NDArray[np.float32], n: int, seed: int) -> Callable[[], Iterator[list[np.ndarray]]]:
    """A representative-dataset generator over ``n`` shuffled model inputs, one per step."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(windows))[:n]
    sample = np.asarray(windows[idx], dtype=np.float32)

    def gen() -> Iterator[list[np.ndarray]]:
        for x in sample:
            yield [x[None]]

    return gen


def averaged_ranges(calibrated: bytes, inputs: Iterator[list[np.ndarray]]) -> bytes:
    """Rewrite the min/max the TFLite calibrator stored on each activation tensor of
    ``calibrated`` (a float model from ``_experimental_calibrate_only``) with the mean over
    ``inputs`` of every window's own min and max; graph inputs and outputs keep theirs.

    This runs the calibrated float model in LiteRT with all tensors preserved: tensor
    indices in the interpreter are those of the flatbuffer.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    from edge_runtime.device.litert import Interpreter

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(calibrated))
    graph = model.subgraphs[0]
    keep = set(graph.inputs) | set(graph.outputs)
    tracked = [i for i, t in enumerate(graph.tensors)
               if t.quantization is not None and t.quantization.min is not None and len(t.quantization.min) == 1
               and i not in keep]
    with warnings.catch_warnings():  # "preserve_all_tensors is meant for debugging"
        warnings.simplefilter("ignore", UserWarning)
        interp = Interpreter(model_content=calibrated, experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    (inp,) = interp.get_input_details()
    extremes = []
    for (x,) in inputs:
        interp.set_tensor(inp["index"], np.asarray(x, dtype=inp["dtype"]))
        interp.invoke()
        extremes.append([(a.min(), a.max()) for a in map(interp.get_tensor, tracked)])
    if not extremes:
        raise ValueError("no calibration windows")
    lo, hi = np.asarray(extremes, dtype=np.float64).mean(axis=0).T  # (windows, tensors, 2) -> per tensor
    for k, i in enumerate(tracked):
        q = graph.tensors[i].quantization
        q.min, q.max = [min(float(lo[k]), 0.0)], [max(float(hi[k]), 0.0)]  # the range must contain 0
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _converter(model: keras.Model) -> Any:
    import tensorflow as tf

    try:
        return tf.lite.TFLiteConverter.from_keras_model(model)
    except Exception:  # some graphs only convert through a SavedModel
        import tempfile

        tmp = tempfile.mkdtemp(prefix="harlite-savedmodel-")
        with contextlib.redirect_stdout(io.StringIO()):
            model.export(tmp)
        return tf.lite.TFLiteConverter.from_saved_model(tmp)


def convert(model: keras.Model, variant: str | Variant, calibration: npt.NDArray[np.float32] | None = None,
            calibration_samples: int = 500, seed: int = 0, fixed_batch: bool = True,
            ranges: Ranges = "minmax") -> bytes:
    """Convert ``model`` (any batch) to a batch-1 TFLite flatbuffer of ``variant``
    (``fixed_batch=False``: keep a flexible batch, for batch-throughput comparisons).

    ``int8`` is full-integer (int8 input and output, per-channel weights) calibrated on
    ``calibration``: model inputs of shuffled training windows from the shared input code,
    with activation ranges set by ``ranges`` (see :data:`Ranges`).
    """
    import tensorflow as tf

    variant = Variant.parse(variant)
    if ranges not in RANGES:
        raise UsageError(f"unknown activation ranges {ranges!r}; choose from {list(RANGES)}")
    conv = _converter(batch1(model) if fixed_batch else model)
    if variant is Variant.INT8:
        if calibration is None or len(calibration) == 0:
            raise UsageError("int8 conversion needs calibration windows")
        rep = representative(calibration, calibration_samples, seed)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = rep
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
        if ranges == "mean":
            return _quantize_with_averaged_ranges(conv, rep)
    elif variant is Variant.FLOAT16:
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    elif variant is Variant.DYNAMIC:
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Keras' export prints its signature
            return bytes(conv.convert())
    except Exception as exc:  # the converter raises ConverterError, RuntimeError, ValueError...
        raise ConversionError(f"{variant} conversion failed: {exc}") from exc


def _quantize_with_averaged_ranges(conv: Any, rep: Callable[[], Iterator[list[np.ndarray]]]) -> bytes:
    """Calibrate only, average the ranges, then quantise as the converter itself would
    (TF's QuantizationDebugger takes the same two private steps)."""
    import tensorflow as tf
    from tensorflow.lite.python.convert import mlir_quantize

    conv._experimental_calibrate_only = True
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "statistics for quantized inputs ... not specified"
            calibrated = averaged_ranges(bytes(conv.convert()), rep())
            return bytes(mlir_quantize(calibrated, fully_quantize=True,
                                       input_data_type=tf.int8, output_data_type=tf.int8))
    except Exception as exc:
        raise ConversionError(f"int8 conversion failed: {exc}") from exc
