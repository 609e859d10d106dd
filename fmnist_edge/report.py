"""Rendering: plots (and later tables) from plain records. matplotlib is imported lazily."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .rundir import atomic_path


def _figure(**kwargs):
    # A bare Figure draws with the Agg canvas: no display needed, no pyplot global state.
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def plot_training_curves(history: Sequence[dict[str, Any]], path: str | Path) -> None:
    """Loss and accuracy per epoch, training against validation, as one PNG."""
    epochs = [row["epoch"] for row in history]
    fig = _figure(figsize=(10, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for prefix, label in (("", "train"), ("val_", "validation")):
            values = [row.get(prefix + metric) for row in history]
            if any(v is not None for v in values):
                ax.plot(epochs, [np.nan if v is None else v for v in values], marker="o", label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)


def plot_confusion(matrix: np.ndarray, class_names: Sequence[str], path: str | Path) -> None:
    """Confusion matrix of the test set (rows: true class, columns: predicted), counts in the cells."""
    n = len(class_names)
    fig = _figure(figsize=(1.0 + 0.75 * n, 0.8 + 0.65 * n), layout="constrained")
    ax = fig.subplots()
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if matrix[i, j] > threshold else "black")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
