"""Keras -> TFLite, one function per quantisation variant.

Every file has a fixed batch-1 input: XNNPACK then delegates the whole graph as one
partition, the streaming daemon feeds one window at a time, and batch evaluation simply
invokes it once per window (a few tens of microseconds each), so one file serves both.
"""

from __future__ import annotations

import contextlib
import io
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np
import numpy.typing as npt

from edge_runtime.errors import ModelError

if TYPE_CHECKING:  # pragma: no cover
    import keras

VARIANTS: tuple[str, ...] = ("int8", "float16", "dynamic", "float32")
DEFAULT_VARIANTS: tuple[str, ...] = ("int8", "float32")


class ConversionError(ModelError):
    """The TFLite converter failed for a variant."""


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


def _converter(model: keras.Model):  # type: ignore[no-untyped-def]
    import tensorflow as tf

    try:
        return tf.lite.TFLiteConverter.from_keras_model(model)
    except Exception:  # some graphs only convert through a SavedModel
        import tempfile

        tmp = tempfile.mkdtemp(prefix="harlite-savedmodel-")
        with contextlib.redirect_stdout(io.StringIO()):
            model.export(tmp)
        return tf.lite.TFLiteConverter.from_saved_model(tmp)


def convert(model: keras.Model, variant: str, calibration: npt.NDArray[np.float32] | None = None,
            calibration_samples: int = 500, seed: int = 0, fixed_batch: bool = True) -> bytes:
    """Convert ``model`` (any batch) to a batch-1 TFLite flatbuffer of ``variant``
    (``fixed_batch=False``: keep a flexible batch, for batch-throughput comparisons).

    ``int8`` is full-integer (int8 input and output, per-channel weights) calibrated on
    ``calibration``: model inputs of shuffled training windows from the shared input code.
    """
    import tensorflow as tf

    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {list(VARIANTS)}")
    conv = _converter(batch1(model) if fixed_batch else model)
    if variant == "int8":
        if calibration is None or len(calibration) == 0:
            raise ValueError("int8 conversion needs calibration windows")
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative(calibration, calibration_samples, seed)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    elif variant == "float16":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    elif variant == "dynamic":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Keras' export prints its signature
            return bytes(conv.convert())
    except Exception as exc:  # the converter raises ConverterError, RuntimeError, ValueError...
        raise ConversionError(f"{variant} conversion failed: {exc}") from exc
