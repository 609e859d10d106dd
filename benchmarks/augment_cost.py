"""What each augmentation level costs the input pipeline, against the training step it feeds.

For each level of `--augment` (fmnist_edge.data.pipeline): the seconds to produce one epoch of
batches of the 54,000 training images (batch 128, the pipeline alone, as `fit` pulls it), and the
seconds one epoch of training steps takes for a model on cached float batches (no augmentation),
so the share is the pipeline's time over the steps' time. tf.data runs beside the steps on the same
two cores, so the share is what a level takes away from training at most.

    python benchmarks/augment_cost.py                      # res-s, every level
    python benchmarks/augment_cost.py --model vgg-a --limit 12800

Prints a table and writes benchmarks/results/augment_cost.json.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from fmnist_edge import _tf
from fmnist_edge.artifacts.provenance import record_header
from fmnist_edge.data import load_fashion_mnist, split_train_val
from fmnist_edge.data.pipeline import make_dataset
from fmnist_edge.models import build_model
from fmnist_edge.settings import AUGMENTATIONS

RESULTS = Path(__file__).parent / "results" / "augment_cost.json"
BATCH = 128


def pipeline_seconds(x, y, augment: str, repeats: int) -> float:
    """The best of `repeats` full passes over the batches (the first pass traces the graph: not counted)."""
    ds = make_dataset(x, y, 10, BATCH, augment=augment, shuffle=True, seed=0)
    for _ in ds.take(2):
        pass
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in ds:
            pass
        best = min(best, time.perf_counter() - start)
    return best


def step_seconds(model_name: str, x, y, steps: int) -> float:
    """Seconds per training step of the model on one cached float batch, scaled to the epoch's steps."""
    tf, keras = _tf.tf(), _tf.keras()
    model = build_model(model_name)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="categorical_crossentropy")
    images = tf.constant(x[:BATCH, ..., None] / 255.0, tf.float32)
    labels = tf.one_hot(y[:BATCH], 10)
    for _ in range(5):
        model.train_on_batch(images, labels)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(images, labels)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="res-s")
    parser.add_argument("--limit", type=int, default=None, help="training images (default: all 54,000)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--steps", type=int, default=40, help="timed training steps")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    data = load_fashion_mnist()
    x, y, _, _ = split_train_val(data.x_train, data.y_train, 0.1, 0)
    x, y = x[:args.limit], y[:args.limit]
    batches = int(np.ceil(len(x) / BATCH))
    step = step_seconds(args.model, x, y, args.steps)
    rows = []
    for augment in AUGMENTATIONS:
        seconds = pipeline_seconds(x, y, augment, args.repeats)
        rows.append({"augment": augment, "pipeline_s_per_epoch": round(seconds, 2),
                     "pipeline_ms_per_batch": round(1000 * seconds / batches, 2),
                     "share_of_step_time_percent": round(100 * seconds / (step * batches), 1)})
        print(f"{augment:<8} pipeline {seconds:6.2f} s/epoch ({rows[-1]['pipeline_ms_per_batch']:.2f} ms/batch), "
              f"{rows[-1]['share_of_step_time_percent']:.1f}% of {args.model}'s training steps", flush=True)
    print(f"{args.model}: {1000 * step:.1f} ms per step of {BATCH}, {step * batches:.1f} s per epoch of steps")
    record = {"benchmark": "augment_cost", **record_header(),
              "command": "python benchmarks/augment_cost.py" + (f" --model {args.model}" if args.model != "res-s" else "")
              + (f" --limit {args.limit}" if args.limit else ""),
              "model": args.model, "images": len(x), "batch": BATCH, "step_ms": round(1000 * step, 2),
              "steps_s_per_epoch": round(step * batches, 2), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
