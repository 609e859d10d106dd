"""Rendering: plots from plain records. matplotlib is imported lazily."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..files import atomic_path


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


def _format_kind(fmt: str) -> tuple[str, str]:
    """(legend name, marker) of a bench format: the marker tells the kind, the colour the model."""
    if fmt.startswith("optimized/"):
        return "optimized variant", "^"
    if "int8" in fmt or fmt == "tflite":
        return "int8", "o"
    if fmt in ("tflite-fp16", "tflite-dynamic"):
        return "fp16 / dynamic-range", "v"
    return "float (Keras, fp32, ONNX)", "s"


def plot_bench(rows: Sequence[dict[str, Any]], folder: str | Path) -> list[Path]:
    """Accuracy against file size and against p50 latency (log scales), Pareto front marked, baseline highlighted.

    One PNG per x-axis; with several thread counts, latency uses the first one. Colour tells the model,
    the marker the kind of file (legends for both); only Pareto-front points are labelled, and a label
    that would land on an earlier one is left out, so no text overlaps. A trained baseline is a point
    (a red star); an untrained one has no accuracy and is drawn as a vertical line at its size or latency.
    Only rows on the baseline's dataset are drawn.
    """
    folder = Path(folder)
    threads = rows[0]["threads"] if rows else 1
    # One test set per plot: the baseline's. Models of another task (closet price) are in the table only.
    task = next((r["dataset"] for r in rows if r["baseline"]), None)
    rows = [r for r in rows if r["threads"] == threads and r["dataset"] == task]
    models = list(dict.fromkeys(r["model"] for r in rows if not r["baseline"]))
    colours = {m: f"C{i % 10}" for i, m in enumerate(models)}
    paths = []
    for key, label, name in (("size_bytes", "file size (bytes, log scale)", "bench_accuracy_vs_size.png"),
                             ("p50", f"p50 latency, 1 image, {threads} thread(s) (ms, log scale)",
                              "bench_accuracy_vs_latency.png")):
        value = (lambda r: r["latency_ms"]["p50"]) if key == "p50" else (lambda r: r[key])
        fig = _figure(figsize=(8, 5), layout="constrained")
        ax = fig.subplots()
        ax.set_xscale("log")
        scored = [r for r in rows if r["accuracy"] is not None]
        for r in scored:
            if r["baseline"]:
                ax.scatter(value(r), 100 * r["accuracy"], s=160, color="tab:red", marker="*", zorder=3)
            else:
                ax.scatter(value(r), 100 * r["accuracy"], s=30, color=colours[r["model"]],
                           marker=_format_kind(r["format"])[1], zorder=3)
        front = pareto_front([(value(r), r["accuracy"]) for r in scored])
        if front:
            xs, ys = zip(*[(value(scored[i]), 100 * scored[i]["accuracy"]) for i in front])
            ax.step(xs, ys, where="post", color="tab:green", linewidth=1.2, zorder=2)
        for r in rows:
            if r["baseline"] and r["accuracy"] is None:
                ax.axvline(value(r), color="tab:red", linestyle="--")
        fig.canvas.draw()  # fixes the limits, so label positions can be compared in pixels
        placed: list[np.ndarray] = []
        labelled = [scored[i] for i in front] + [r for r in scored if r["baseline"] and r not in front]
        for r in labelled:  # above-right of the point, else below-right; skipped if both would overlap
            at = ax.transData.transform((value(r), 100 * r["accuracy"]))
            for dy in (3, -11):
                spot = at + (0, dy * fig.dpi / 72)
                if not any(abs(spot[0] - p[0]) < 110 and abs(spot[1] - p[1]) < 11 for p in placed):
                    placed.append(spot)
                    ax.annotate(f"{r['model']} {r['format']}", (value(r), 100 * r["accuracy"]), fontsize=7,
                                xytext=(5, dy), textcoords="offset points")
                    break
        handles = [ax.scatter([], [], color=colours[m], marker="o", label=m) for m in models]
        handles += [ax.scatter([], [], color="grey", marker=marker, label=kind)
                    for kind, marker in dict(_format_kind(r["format"]) for r in rows if not r["baseline"]).items()]
        handles.append(ax.plot([], [], color="tab:green", label="Pareto front")[0])
        for r in rows:
            if r["baseline"]:
                handles.append(ax.plot([], [], color="tab:red", linestyle="--", label=f"{r['model']} baseline (untrained)")[0]
                               if r["accuracy"] is None else
                               ax.scatter([], [], color="tab:red", marker="*", s=80, label=f"{r['model']} baseline"))
        ax.set_xlabel(label)
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(handles=handles, fontsize=7, loc="best")  # placed where it hides the fewest points
        path = folder / name
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100)
        paths.append(path)
    return paths


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats (smaller-or-equal cost and higher-or-equal accuracy,
    one of them strictly), ordered by cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front
