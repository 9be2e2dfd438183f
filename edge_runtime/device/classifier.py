"""The classifier around the LiteRT interpreter: float model inputs in, probabilities out.

It quantises inputs with the input tensor's scale/zero-point and dequantises outputs, so
int8 and float models look the same to callers. This is the code the device runs, and
the code the converter validates with.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_runtime.device.litert import make_interpreter
from edge_runtime.errors import ModelError
from edge_runtime.manifest import Manifest, TensorInfo, load_manifest

_DTYPES = {np.int8: "int8", np.uint8: "uint8", np.float32: "float32", np.float16: "float16"}


def tensor_info(detail: dict[str, Any]) -> TensorInfo:
    """A :class:`TensorInfo` from an interpreter tensor detail."""
    scale, zp = detail.get("quantization", (0.0, 0))
    return TensorInfo(tuple(int(v) for v in detail["shape"]), _DTYPES.get(detail["dtype"], str(detail["dtype"])),
                      float(scale), int(zp))


class Classifier:
    """Runs one TFLite model a window at a time (batch 1, the streaming shape).

    Use as a context manager; :meth:`close` drops the interpreter deterministically.
    """

    def __init__(self, model_content: bytes, *, num_threads: int = 1, reference_kernels: bool = False) -> None:
        try:
            self._interp = make_interpreter(model_content, num_threads, reference_kernels)
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"LiteRT cannot load this model: {exc}") from exc
        ins, outs = self._interp.get_input_details(), self._interp.get_output_details()
        if len(ins) != 1 or len(outs) != 1:
            raise ModelError(f"expected one input and one output tensor, got {len(ins)} and {len(outs)}")
        self.input, self.output = tensor_info(ins[0]), tensor_info(outs[0])
        if self.input.shape[0] != 1 or len(self.input.shape) != 3:
            raise ModelError(f"expected a batch-1 (1, samples, channels) input, got {self.input.shape}")
        self._in_idx, self._out_idx = ins[0]["index"], outs[0]["index"]
        self._in_dtype = ins[0]["dtype"]
        self._out_dtype = outs[0]["dtype"]
        if self.input.quantized:
            self._in_inv_scale = np.float32(1.0 / self.input.scale)
            self._in_zp = np.float32(self.input.zero_point)
            info = np.iinfo(self._in_dtype)
            self._in_lo, self._in_hi = np.float32(info.min), np.float32(info.max)
        if self.output.quantized:
            self._out_zp = np.float32(self.output.zero_point)
            self._out_scale = np.float32(self.output.scale)
        self.n_classes = int(self.output.shape[-1])

    @classmethod
    def from_manifest(cls, manifest: Manifest | str | Path, variant: str | None = None,
                      num_threads: int = 1) -> Classifier:
        """Load through a manifest, checking the model file's SHA-256 first."""
        m = manifest if isinstance(manifest, Manifest) else load_manifest(manifest)
        return cls(m.read_model(variant), num_threads=num_threads)

    def __enter__(self) -> Classifier:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Release the interpreter."""
        self._interp = None

    def quantize(self, x: npt.NDArray[np.float32]) -> npt.NDArray[Any]:
        """Model inputs in the input tensor's dtype (int8: round(x/scale)+zp, saturated)."""
        if not self.input.quantized:
            return np.asarray(x, dtype=self._in_dtype)
        q = np.asarray(x, np.float32) * self._in_inv_scale
        np.rint(q, out=q)
        q += self._in_zp
        np.clip(q, self._in_lo, self._in_hi, out=q)
        out: npt.NDArray[Any] = q.astype(self._in_dtype)
        return out

    def dequantize(self, y: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        """Output tensor values as float32 probabilities."""
        if not self.output.quantized:
            return np.asarray(y, dtype=np.float32)
        out = y.astype(np.float32)
        out -= self._out_zp
        out *= self._out_scale
        return out

    def invoke_raw(self, q: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """One invoke on an already quantised (1, samples, channels) tensor; returns the raw output."""
        if self._interp is None:
            raise ModelError("classifier is closed")
        self._interp.set_tensor(self._in_idx, q)
        self._interp.invoke()
        out: npt.NDArray[Any] = self._interp.get_tensor(self._out_idx)
        return out

    def predict_raw_outputs(self, inputs: npt.NDArray[np.float32]) -> npt.NDArray[Any]:
        """The raw (quantised, for int8) outputs (n, classes) for model inputs (n, samples, channels),
        one invoke each; for bit-exact comparisons."""
        x = np.asarray(inputs, dtype=np.float32)
        if x.ndim != 3 or x.shape[1:] != self.input.shape[1:]:
            raise ModelError(f"model inputs must be (n, {self.input.shape[1]}, {self.input.shape[2]}), got {x.shape}")
        q = self.quantize(x)
        out = np.empty((x.shape[0], self.n_classes), dtype=self._out_dtype)
        for i in range(x.shape[0]):
            out[i] = self.invoke_raw(q[i : i + 1])[0]
        return out

    def predict_proba(self, inputs: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Probabilities (n, classes) for model inputs (n, samples, channels)."""
        return self.dequantize(self.predict_raw_outputs(inputs))
