"""Validation of converted files through the device code path, against the float Keras model.

Held-out windows -> :func:`edge_runtime.contract.model_inputs` -> the device's
:class:`edge_runtime.device.classifier.Classifier` (quantise, invoke, dequantise): the same
code ``har-edge`` runs, so the accuracy reported here is the device's accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge_runtime.device.classifier import Classifier
from edge_runtime.manifest import TensorInfo
from edge_runtime.measure.modelinfo import invoke_latency_us, model_info
from edge_runtime.metrics import classification_report
from edge_runtime.reports import VariantReport

MIN_AGREEMENT = 0.98


@dataclass(frozen=True)
class Gate:
    """Pass/fail rule for a converted variant against the float model."""

    max_drop_pp: float = 0.5
    min_agreement: float = MIN_AGREEMENT
    #: Share of the held-out windows in the most frequent class: a model must beat always answering it.
    baseline: float = 0.0
    baseline_class: str = ""

    def check(self, drop_pp: float, agreement: float, accuracy: float = 1.0) -> list[str]:
        """Reasons the variant fails (empty when it passes)."""
        why = []
        if accuracy <= self.baseline:
            why.append(f"accuracy {100 * accuracy:.2f}% is no better than always answering "
                       f"{self.baseline_class!r} ({100 * self.baseline:.2f}% of the held-out windows)")
        if drop_pp > self.max_drop_pp:
            why.append(f"accuracy drop {drop_pp:.2f} pp > {self.max_drop_pp:.2f} pp")
        if agreement < self.min_agreement:
            why.append(f"top-1 agreement with float {100 * agreement:.2f}% < {100 * self.min_agreement:.0f}%")
        return why


def validate_variant(
    content: bytes,
    file: str,
    inputs: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int64],
    class_names: tuple[str, ...],
    float_probs: npt.NDArray[np.float32],
    float_accuracy: float,
    gate: Gate,
) -> tuple[VariantReport, TensorInfo, TensorInfo]:
    """Metrics of one converted file on held-out model inputs; returns (report, input and output
    tensor info for the manifest)."""
    with Classifier(content) as clf:
        probs = clf.predict_proba(inputs)
        t_in, t_out = clf.input, clf.output
    pred = probs.argmax(axis=1)
    rep = classification_report(labels, pred, class_names)
    drop_pp = 100.0 * (float_accuracy - rep["accuracy"])
    agreement = float(np.mean(pred == float_probs.argmax(axis=1)))
    diff = np.abs(probs - float_probs)
    info = model_info(content)
    failures = gate.check(drop_pp, agreement, rep["accuracy"])
    return VariantReport(
        file=file, bytes=len(content), accuracy=rep["accuracy"], macro_f1=rep["macro_f1"], drop_pp=drop_pp,
        agreement=agreement, prob_diff_mean=float(diff.mean()), prob_diff_max=float(diff.max()),
        per_class_recall={k: v["recall"] for k, v in rep["per_class"].items()},
        confusion_matrix=rep["confusion_matrix"], ops=list(info.ops), op_counts=info.op_counts, macs=info.macs,
        invoke_us=invoke_latency_us(content), passed=not failures, failures=failures,
    ), t_in, t_out
