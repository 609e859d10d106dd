"""Training throughput of every zoo model on this machine, in images per second.

Each model trains on real Fashion-MNIST (or closet canvases for models whose default
input is 64x128) through the same tf.data pipeline `fmnist-edge train` uses, with
basic augmentation and Adam, in float32 and in bf16 mixed precision. Warm-up steps
(graph tracing, oneDNN kernel selection) are run first and not timed.

    python benchmarks/train_throughput.py                     # all models, both precisions
    python benchmarks/train_throughput.py --models vgg198k,edge-s --steps 20

Prints a table and writes benchmarks/results/train_throughput.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import time
from pathlib import Path

from fmnist_edge import _tf
from fmnist_edge.data import load_fashion_mnist, make_closet
from fmnist_edge.data.pipeline import make_dataset
from fmnist_edge.models import build_model, list_models
from fmnist_edge.machine import cpu_model, package_version
from fmnist_edge.training import _precision_policy

RESULTS = Path(__file__).parent / "results" / "train_throughput.json"


def measure(name: str, data, batch_size: int, steps: int, warmup: int, mixed: bool) -> dict:
    keras = _tf.keras()
    keras.utils.set_random_seed(0)
    ds = make_dataset(data.x_train, data.y_train, data.num_classes, batch_size, augment="basic", shuffle=True).repeat()
    with _precision_policy(mixed):
        net = build_model(name, data.image_shape, data.num_classes)
        net.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
        net.fit(ds, steps_per_epoch=warmup, epochs=1, verbose=0)
        start = time.perf_counter()
        net.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
        seconds = time.perf_counter() - start
    return {"model": name, "precision": "mixed_bfloat16" if mixed else "float32", "params": int(net.count_params()),
            "input_shape": list(data.image_shape), "batch_size": batch_size, "timed_steps": steps,
            "images_per_s": round(steps * batch_size / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(info.name for info in list_models()))
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30, help="timed training steps per model and precision")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--precisions", default="float32,bf16")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    fashion = load_fashion_mnist()
    closet = None
    infos = {info.name: info for info in list_models()}
    rows = []
    for name in args.models.split(","):
        data = fashion
        if tuple(infos[name].default_input_shape[:2]) != fashion.image_shape[:2]:
            closet = closet or make_closet(fashion, n_train=args.batch_size * (args.steps + args.warmup), n_test=10)
            data = closet
        for precision in args.precisions.split(","):
            row = measure(name, data, args.batch_size, args.steps, args.warmup, mixed=precision == "bf16")
            rows.append(row)
            print(f"{row['model']:<10} {row['precision']:<15} {row['params']:>11,} params  "
                  f"{row['images_per_s']:>8.1f} img/s", flush=True)

    result = {
        "benchmark": "train_throughput",
        "command": "python benchmarks/train_throughput.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "out"),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_model(), "platform": platform.platform()},
        "versions": {p: package_version(p) for p in ("tensorflow", "tf-keras")},
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
