"""Does averaging a garment with its mirror image help? (test-time flip: the model sees the picture and
its left-right mirror, and the two predictions are averaged)

    python benchmarks/flip_average.py shipped/res-t-best shipped/res-s-swa shipped/res-m-swa

Every garment class of Fashion-MNIST is left-right symmetric in kind, and the training recipes flip at
random, so a mirror is a second, free opinion; it would cost twice the multiply-accumulates in a file of
the same bytes. Each run's deployed int8 file (export/model_int8.tflite, through LiteRT) scores its own
validation split (decide on this column) and the 10,000 official test images, each plain, mirrored and
averaged (mean of probabilities); its float model (TensorFlow) the test images plain and averaged.
Prints a table and writes benchmarks/results/flip_average.json. `fmnist-edge export RUN --format
tflite-int8-mirror` writes the averaging file itself.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fmnist_edge.artifacts.provenance import record_header
from fmnist_edge.artifacts.run_data import open_run
from fmnist_edge.contract import float_pixels
from fmnist_edge.files import write_json
from fmnist_edge.formats.runtime import load_model

RESULTS = Path(__file__).parent / "results" / "flip_average.json"


def scores(predict, images: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy of `predict` on uint8 images (N, H, W), on their mirrors, and of the two averaged."""
    plain = predict(images)
    mirrored = predict(np.ascontiguousarray(images[:, :, ::-1]))

    def accuracy(p):
        return round(float((p.argmax(1) == labels).mean()), 4)

    return {"plain": accuracy(plain), "mirrored": accuracy(mirrored), "averaged": accuracy(plain + mirrored)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    rows = []
    for root in args.runs:
        run = open_run(root)
        model = load_model(run.run_dir.root / "export" / "model_int8.tflite", num_threads=1)
        float_model = run.float_model()

        def predict_float(images):
            return float_model.predict(float_pixels(images[..., None]), batch_size=256, verbose=0)

        float_test = scores(predict_float, run.data.x_test, run.data.y_test)
        rows.append({"run": str(root), "model": run.settings.model,
                     "validation": scores(model.predict, run.view.x_val, run.view.y_val),
                     "test": scores(model.predict, run.data.x_test, run.data.y_test),
                     "float_test": {k: float_test[k] for k in ("plain", "averaged")}})
    result = {"benchmark": "flip_average", "command": "python benchmarks/flip_average.py " + " ".join(map(str, args.runs)),
              **record_header(), "file": "export/model_int8.tflite", "runs": rows}
    print(f"{'int8 file of':<24} {'val plain':>9} {'mirrored':>9} {'averaged':>9}   {'test plain':>10} {'mirrored':>9} "
          f"{'averaged':>9}   {'float test':>10} {'averaged':>9}")
    for row in rows:
        v, t, f = row["validation"], row["test"], row["float_test"]
        print(f"{row['run']:<24} {100 * v['plain']:8.2f}% {100 * v['mirrored']:8.2f}% {100 * v['averaged']:8.2f}%   "
              f"{100 * t['plain']:9.2f}% {100 * t['mirrored']:8.2f}% {100 * t['averaged']:8.2f}%   "
              f"{100 * f['plain']:9.2f}% {100 * f['averaged']:8.2f}%")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, result)  # written beside, then renamed: never half a file
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
