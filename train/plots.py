"""PNG plots of a training run (matplotlib, headless Agg backend)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edge_runtime.measure.plotting import pyplot as _plt


def plot_confusion(cm: Sequence[Sequence[int]], class_names: Sequence[str], path: Path, title: str) -> None:
    """Row-normalised confusion matrix with counts in the cells."""
    plt = _plt()
    m = np.asarray(cm, dtype=np.float64)
    rows = np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.imshow(m / rows, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(class_names)), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if m[i, j] / rows[i, 0] > 0.5 else "black")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_history(histories: Sequence[dict[str, list[float]]], path: Path) -> None:
    """Loss and accuracy per epoch for every repeat (validation dashed)."""
    plt = _plt()
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(11, 4))
    for i, h in enumerate(histories):
        color = f"C{i % 10}"
        epochs = np.arange(1, len(h.get("loss", [])) + 1)
        ax_l.plot(epochs, h.get("loss", []), color=color, label=f"repeat {i + 1}")
        ax_a.plot(epochs, h.get("accuracy", []), color=color)
        if "val_loss" in h:
            ax_l.plot(epochs, h["val_loss"], color=color, ls="--")
            ax_a.plot(epochs, h["val_accuracy"], color=color, ls="--")
    ax_l.set(xlabel="epoch", ylabel="loss", title="loss (dashed: validation)")
    ax_a.set(xlabel="epoch", ylabel="accuracy", title="accuracy (dashed: validation)")
    if histories:
        ax_l.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
