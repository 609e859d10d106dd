"""What a closet-price model can reach if it only had to name each garment: the price accuracy of
a single-garment classifier applied to every pasted garment at its known place.

    python benchmarks/closet_ceiling.py shipped/vgg-a-best/export/model_int8.tflite

The closet test canvases (`fmnist-edge data closet`'s default, seed 0) record which official test
image sits where. Each of those images goes through the given 28x28 model; its answer is the
priced class with the highest score (shirts, shoes and bags never appear on a canvas), and the
canvas's predicted total is the sum of those prices. A canvas is right only when the total is, so
one garment named wrong costs the whole canvas: with a per-garment accuracy p and n garments the
price accuracy is about p**n. This is the ceiling of a model that recognises garments as well as the
given one, with localisation for free; a closet model must recognise better to go above it.
Prints a table and writes benchmarks/results/closet_ceiling.json.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fmnist_edge.data import load_dataset
from fmnist_edge.data.closet import MIN_TOTAL, PRICES
from fmnist_edge.artifacts.provenance import record_header
from fmnist_edge.files import write_json
from fmnist_edge.formats.runtime import load_model

RESULTS = Path(__file__).parent / "results" / "closet_ceiling.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path, help="28x28 Fashion-MNIST .tflite or .onnx files")
    parser.add_argument("--data-dir", type=Path, help="a closet dataset folder (default: build the default one)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    fashion = load_dataset("fashion")
    closet = load_dataset("closet", args.data_dir)
    items = closet.meta["test_items"]  # (N, 4) official test indices, -1 padded
    present = items >= 0
    garments = items[present]  # the official test index of every pasted garment
    counts = present.sum(1)
    priced = np.array(sorted(PRICES))
    price_of = np.array([PRICES[k] for k in priced])

    rows = []
    for path in args.models:
        scores = load_model(path).predict(fashion.x_test)
        named = priced[scores[:, priced].argmax(1)]  # the best of the priced classes, per test image
        prices = np.zeros(items.shape, dtype=np.int64)
        prices[present] = price_of[named[garments]]
        canvas_ok = prices.sum(1) - MIN_TOTAL == closet.y_test
        row = {
            "model": str(path),
            "garment_accuracy": round(float((named[garments] == fashion.y_test[garments]).mean()), 4),
            "price_accuracy": round(float(canvas_ok.mean()), 4),
            "by_garment_count": {int(n): round(float(canvas_ok[counts == n].mean()), 4) for n in np.unique(counts)},
        }
        rows.append(row)
        by_count = "  ".join(f"{n} garments {100 * a:.2f}%" for n, a in row["by_garment_count"].items())
        print(f"{str(path):<52} garments {100 * row['garment_accuracy']:.2f}%  "
              f"price {100 * row['price_accuracy']:.2f}%  ({by_count})")
    result = {
        "benchmark": "closet_ceiling",
        "command": "python benchmarks/closet_ceiling.py " + " ".join(map(str, args.models))
                   + (f" --data-dir {args.data_dir}" if args.data_dir else ""),
        **record_header(),
        "test_canvases": int(len(closet.y_test)),
        "garments": int(len(garments)),
        "models": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, result)  # write then rename
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
