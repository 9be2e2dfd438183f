"""The one place that imports a TFLite interpreter: ai-edge-litert, else tflite-runtime."""

from __future__ import annotations

from typing import Any

try:  # the maintained package: XNNPACK int8 kernels, numpy 2
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    BACKEND = "ai-edge-litert"
except ImportError:  # pragma: no cover - exercised only where LiteRT is absent
    try:
        from tflite_runtime.interpreter import Interpreter, OpResolverType

        BACKEND = "tflite-runtime"
    except ImportError as exc:
        raise ImportError(
            "harlite's runtime needs ai-edge-litert (pip install ai-edge-litert) or tflite-runtime"
        ) from exc

__all__ = ["BACKEND", "Interpreter", "OpResolverType", "make_interpreter"]


def make_interpreter(model_content: bytes, num_threads: int = 1, reference_kernels: bool = False) -> Any:
    """An interpreter over an in-memory model; ``reference_kernels`` picks the slow, exact
    BUILTIN_REF kernels (used to check optimised int8 results bit for bit)."""
    kwargs: dict[str, Any] = {"model_content": model_content, "num_threads": num_threads}
    if reference_kernels:
        kwargs["experimental_op_resolver_type"] = OpResolverType.BUILTIN_REF
    return Interpreter(**kwargs)
