"""Training throughput of the compact models, against a plain tf_keras script measured in the same run.

Every figure is images per second over one full training epoch (the second of two, so graph
tracing and oneDNN's kernel selection are not counted), on the 54,000 training images the
best recipe trains on, batch 128:

- `plain script`: the reference, written here as a newcomer would write it: a VGG of 32/64/96
  filters with BN, shift + flip by Keras preprocessing layers in a batch-level `tf.data` map,
  Adam, `model.fit`, bf16;
- `toolkit`: `fmnist_edge.train(...)` itself, the model's recipe augmentation (and `none`, and
  `photo`, to price them), validation and per-epoch checkpoints included in the run but not in
  the training img/s (run.json's own figure, which `fmnist-edge train` prints);
- `toolkit, full epoch`: the same run's epoch wall time, validation and checkpointing included;
- `toolkit, N step(s) per execution` (`--steps-per-execution N`): the recipe's run with another
  number of training steps per call of Keras' compiled function than training's default;
- `bare fit`: the ceiling: the same model, `fit` on float batches cached in memory, no augmentation.

This machine is shared and noisy: compare the ratios within one run, not absolute figures
across runs. With `--repeats N` every row and the plain script are measured once per round, in
turn; each row's ratio is taken against the same round's plain script and the table shows the
median over the rounds, with the smallest and largest ratio.

    python benchmarks/train_throughput.py                       # vgg198k, vgg-a, edge-s
    python benchmarks/train_throughput.py --models vgg-a --limit 12000
    python benchmarks/train_throughput.py --models vgg-a --precisions bf16 --augments basic,none \
        --no-bare-fit --repeats 5 --out benchmarks/results/train_throughput_vgg_a_repeats.json

Prints a table and writes benchmarks/results/train_throughput.json.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from fmnist_edge import _tf
from fmnist_edge.data import load_fashion_mnist, split_train_val
from fmnist_edge.artifacts.provenance import record_header
from fmnist_edge.models import build_model
from fmnist_edge.fitting.loop import precision_policy
from fmnist_edge.stages import train as training

RESULTS = Path(__file__).parent / "results" / "train_throughput.json"

# What each model trains with under --recipe best: its precision(s) and augmentation.
PLAN = {
    "vgg198k": {"precisions": ["bf16"], "augments": ["basic", "none"]},
    "vgg-a": {"precisions": ["bf16", "float32"], "augments": ["basic", "none", "photo"]},
    "edge-s": {"precisions": ["float32", "bf16"], "augments": ["basic", "none"]},
}


def _epoch_timer():
    """A Keras callback that keeps each epoch's wall time in `.seconds`."""

    class EpochTimer(_tf.keras().callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    return EpochTimer()


def plain_script(x, y, epochs: int) -> float:
    """The reference: what a plain tf_keras script of the same recipe does. img/s of the last epoch."""
    tf, keras = _tf.tf(), _tf.keras()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        augment = keras.Sequential([keras.layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant"),
                                    keras.layers.RandomFlip("horizontal")])
        ds = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x)).batch(128)
              .map(lambda a, b: (augment(tf.cast(a, tf.float32)[..., None] / 255.0, training=True), tf.one_hot(b, 10)),
                   num_parallel_calls=tf.data.AUTOTUNE)
              .prefetch(tf.data.AUTOTUNE))
        inputs = keras.Input((28, 28, 1))
        h = inputs
        for stage, filters in enumerate((32, 64, 96)):
            for _ in range(2):
                h = keras.layers.Conv2D(filters, 3, padding="same")(h)
                h = keras.layers.BatchNormalization()(h)
                h = keras.layers.ReLU()(h)
            h = keras.layers.MaxPooling2D()(h) if stage < 2 else keras.layers.GlobalAveragePooling2D()(h)
        outputs = keras.layers.Activation("softmax", dtype="float32")(keras.layers.Dense(10)(h))
        model = keras.Model(inputs, outputs)
        model.compile(keras.optimizers.Adam(1e-3), "categorical_crossentropy", metrics=["accuracy"])
        timer = _epoch_timer()
        model.fit(ds, epochs=epochs, verbose=0, callbacks=[timer])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return len(x) / timer.seconds[-1]


def bare_fit(name: str, x, y, mixed: bool, epochs: int) -> float:
    """The ceiling: the model alone, fed float batches cached in memory, no augmentation."""
    tf, keras = _tf.tf(), _tf.keras()
    ds = (tf.data.Dataset.from_tensor_slices((x[..., None].astype(np.float32) / 255.0,
                                              np.eye(10, dtype=np.float32)[y]))
          .batch(128).cache().prefetch(tf.data.AUTOTUNE))
    with precision_policy(mixed):
        model = build_model(name)
        model.compile(keras.optimizers.Adam(1e-3), "categorical_crossentropy", metrics=["accuracy"])
        timer = _epoch_timer()
        model.fit(ds, epochs=epochs, verbose=0, callbacks=[timer])
    return len(x) / timer.seconds[-1]


def toolkit(name: str, mixed: bool, augment: str, epochs: int, limit: int | None,
            steps_per_execution: int | None = None) -> tuple[float, float]:
    """`fmnist_edge.train` itself: (training img/s of the last epoch, img/s over that epoch's wall time).
    `steps_per_execution`: in place of training's own STEPS_PER_EXECUTION, to price it."""
    default = training.STEPS_PER_EXECUTION
    training.STEPS_PER_EXECUTION = steps_per_execution or default
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run = training.train(name, Path(tmp) / "run", epochs=epochs, mixed_precision=mixed, augment=augment,
                                 limit=limit, progress="none")
    finally:
        training.STEPS_PER_EXECUTION = default
    last = run.record["history"][-1]
    return last["train_images_per_s"], run.record["data"]["train"] / last["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(PLAN))
    parser.add_argument("--epochs", type=int, default=2, help="epochs per measurement; the last one is timed")
    parser.add_argument("--limit", type=int, default=None, help="first N training images (default: all 60,000)")
    parser.add_argument("--precisions", default=None, help="only these precisions (bf16,float32); default: the plan's")
    parser.add_argument("--augments", default=None, help="only these augmentations; default: the plan's")
    parser.add_argument("--no-bare-fit", action="store_true", help="skip the bare-fit ceiling")
    parser.add_argument("--steps-per-execution", default=None, metavar="LIST",
                        help="also measure the recipe's augmentation with these steps per execution (e.g. 1), "
                             "against training's default")
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds; each round measures the plain script and every row once, in turn, so each "
                             "ratio compares figures taken minutes apart; the table shows medians")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    data = load_fashion_mnist()
    x_all, y_all = data.x_train[:args.limit] if args.limit else data.x_train, \
        data.y_train[:args.limit] if args.limit else data.y_train
    x, y, _, _ = split_train_val(x_all, y_all, 0.1, 0)  # the images the best recipe trains on

    # Each measurement: (label, function returning {what: img/s}).
    plain = {"model": "vgg 32/64/96", "precision": "bf16", "augment": "basic"}
    measurements = [(plain, lambda: {"plain script": plain_script(x, y, args.epochs)})]
    for name in args.models.split(","):
        plan = PLAN[name]
        for precision in plan["precisions"]:
            if args.precisions and precision not in args.precisions.split(","):
                continue
            mixed = precision == "bf16"
            augments = plan["augments"] if precision == plan["precisions"][0] else plan["augments"][:1]
            for augment in augments:
                if args.augments and augment not in args.augments.split(","):
                    continue
                measurements.append(({"model": name, "precision": precision, "augment": augment},
                                     lambda n=name, m=mixed, a=augment: dict(zip(
                                         ("toolkit", "toolkit, full epoch (val + checkpoint)"),
                                         toolkit(n, m, a, args.epochs, args.limit)))))
            for steps in (args.steps_per_execution or "").split(",") if args.steps_per_execution else []:
                measurements.append(({"model": name, "precision": precision, "augment": augments[0]},
                                     lambda n=name, m=mixed, a=augments[0], k=int(steps): {
                                         f"toolkit, {k} step(s) per execution": toolkit(n, m, a, args.epochs,
                                                                                        args.limit, k)[0]}))
            if not args.no_bare_fit:
                measurements.append(({"model": name, "precision": precision, "augment": "none"},
                                     lambda n=name, m=mixed: {"bare fit": bare_fit(n, x, y, m, args.epochs)}))

    samples: dict[tuple, list[float]] = {}  # (what, model, precision, augment) -> img/s per round
    for round_index in range(args.repeats):
        for label, measure in measurements:
            for what, rate in measure().items():
                key = (what, label["model"], label["precision"], label["augment"])
                samples.setdefault(key, []).append(rate)
                print(f"round {round_index + 1}/{args.repeats}  {what:<38} {label['model']:<12} "
                      f"{label['precision']:<8} {label['augment']:<6} {rate:>8.0f} img/s", flush=True)

    reference = samples[("plain script", *plain.values())]
    rows = []
    for (what, model, precision, augment), rates in samples.items():
        ratios = [rate / ref for rate, ref in zip(rates, reference)]  # each against the same round's script
        rows.append({"what": what, "model": model, "precision": precision, "augment": augment,
                     "images_per_s": round(float(np.median(rates)), 1), "vs_plain_script": round(float(np.median(ratios)), 2),
                     "rounds_images_per_s": [round(r, 1) for r in rates],
                     "rounds_vs_plain_script": [round(r, 3) for r in ratios]})
    for row in rows:  # the price of augmentation: the same run with --augment none, round by round
        if row["what"] == "toolkit" and row["augment"] != "none":
            unaugmented = next((r for r in rows if r["what"] == "toolkit" and r["model"] == row["model"]
                                and r["precision"] == row["precision"] and r["augment"] == "none"), None)
            if unaugmented:
                costs = [1 - a / b for a, b in zip(row["rounds_images_per_s"], unaugmented["rounds_images_per_s"])]
                row["augment_cost_percent"] = round(100 * float(np.median(costs)), 1)

    print()
    print(f"{'what':<38} {'model':<12} {'precision':<9} {'augment':<8} {'img/s':>7} {'x plain':>8} "
          f"{'min..max':>11} {'aug cost':>9}")
    for row in rows:
        cost = f"{row['augment_cost_percent']:.1f}%" if "augment_cost_percent" in row else ""
        spread = f"{min(row['rounds_vs_plain_script']):.2f}..{max(row['rounds_vs_plain_script']):.2f}"
        print(f"{row['what']:<38} {row['model']:<12} {row['precision']:<9} {row['augment']:<8} "
              f"{row['images_per_s']:>7.0f} {row['vs_plain_script']:>7.2f}x {spread:>11} {cost:>9}")
    _write(args.out, args, {"benchmark": "train_throughput", "train_images": len(x), "batch_size": 128,
                            "rounds": args.repeats, "rows": rows})


def _write(out: Path, args, result: dict) -> None:
    options = " ".join(f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}")
                       for k, v in vars(args).items() if k != "out" and v not in (None, False))
    result = {"benchmark": result.pop("benchmark"), "command": f"python benchmarks/train_throughput.py {options}",
              **record_header()} | result
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
