"""The photo benchmark: deployed models on camera-like pictures of official *test* garments.

Renders a deterministic set of pictures (fmnist_edge.photo.render: sizes 200-1,200 px and
several aspect ratios, coloured garments on tinted light and dark walls, lighting gradients,
texture, soft shadows, sensor noise, off-centre placement, the garment covering 30-90% of the
short side, rotation up to 10 degrees, blur, JPEG quality 60-90), saves each as JPEG, and
classifies them through `predict`'s own path (decode, the conversion of docs/preprocessing.md,
the runtime). A picture where no garment is found counts as wrong.

The conversion's constants and the photo augmentation were tuned on pictures rendered from
validation garments (held out of the official *training* set) with another seed; the pictures
reported here are never used for tuning.

    python benchmarks/photos.py                                # every zoo model for garments, 1,000 pictures
    python benchmarks/photos.py runs/x/export/model_int8.tflite --count 300
    python benchmarks/photos.py --tuning                       # the tuning set (never reported)

Careless pictures: a row per condition of fmnist_edge.photo.render.CARELESS (a crooked phone, a
vignette with a flash hot spot, a printed garment, a slanted shot, a strong background texture, a
second small object at the edge, the garment running off an edge, a small low-quality messenger
copy), each --careless-count pictures (default 200) of the second half of the official test set
(images 5,000 on), each garment on top of the same base rendering.

The tuning set (--tuning) renders the same kinds of pictures from validation garments (the 6,000
training images every run holds out, seed 0 split) with another seed, and writes photos_tuning.json:
tune the conversion and the augmentation on it, never on the pictures reported.

Also times the preprocessing (decode + conversion) of 1,000 x 1,000 JPEGs on one core (CPU time, which
another process on the machine does not inflate, and wall time), and
scores the same files with the resize-only conversion predict used before (for comparison).
Prints a table and writes benchmarks/results/photos.json.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from fmnist_edge import zoo
from fmnist_edge.data import load_fashion_mnist, split_train_val
from fmnist_edge.photo.render import CARELESS, render_photos
from fmnist_edge.errors import DataError
from fmnist_edge.artifacts.provenance import record_header
from fmnist_edge.photo.decode import read_model_inputs
from fmnist_edge.formats.runtime import load_model

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "photos.json"
TUNING_RESULTS = ROOT / "benchmarks" / "results" / "photos_tuning.json"
SEED = 2026  # the reported pictures; tuning uses seed 99 on validation garments
TUNING_SEED = 99
CONDITIONS = ("polarity", "size", "background", "blur")
CARELESS_START = 5000  # careless pictures come from the second half of the official test set


def render(garments: np.ndarray, folder: Path, seed: int, start: int = 0, careless: str | None = None) -> list[dict]:
    pictures = []
    for photo in render_photos(garments, seed=seed, start=start, careless=careless):
        path = folder / f"{careless or 'base'}_{photo.index:05d}.jpg"
        path.write_bytes(photo.jpeg_bytes())
        pictures.append({"path": path, **photo.conditions})
    return pictures


def resize_only(path: Path) -> np.ndarray:
    """What predict did before the photo conversion: grey, negate by the border, pad to square, resize."""
    from PIL import Image, ImageOps

    grey = np.asarray(Image.open(path).convert("L"))
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if border.mean() >= 128:
        grey = 255 - grey
        border = 255 - border
    fitted = ImageOps.pad(Image.fromarray(grey), (28, 28), method=Image.Resampling.LANCZOS,
                          color=int(np.median(border)))
    return np.asarray(fitted, np.uint8)


def convert(pictures: list[dict], size: tuple[int, int], conversion: str) -> tuple[np.ndarray, np.ndarray]:
    """Every picture as the model's input (zeros where no garment is found) and whether a garment was found."""
    images, found = [], []
    for picture in pictures:
        try:
            image = read_model_inputs(picture["path"], size)[0].image if conversion == "photo" else \
                resize_only(picture["path"])
            found.append(True)
        except DataError:
            image = np.zeros(size, np.uint8)
            found.append(False)
        images.append(image)
    return np.stack(images), np.array(found)


def score(model_path: Path, pictures: list[dict], labels: np.ndarray, conversion: str, converted: dict,
          picture_set: str) -> dict:
    """Top-1 of one model on the pictures (`picture_set`: "base" or a careless condition); `converted` keeps each
    set's inputs for the next model (the conversion depends on the model's input size, nothing else of it)."""
    model = load_model(model_path, num_threads=1)
    size = tuple(model.input_shape[:2])
    key = (picture_set, size, conversion)
    if key not in converted:
        converted[key] = convert(pictures, size, conversion)
    images, found = converted[key]
    predicted = model.predict(images).argmax(axis=1)
    correct = (predicted == labels) & found
    by_condition: dict[str, dict[str, float]] = {}
    for condition in CONDITIONS:
        groups = defaultdict(list)
        for picture, ok in zip(pictures, correct):
            groups[picture[condition]].append(ok)
        by_condition[condition] = {value: round(100 * float(np.mean(oks)), 2) for value, oks in sorted(groups.items())}
    return {"model": str(model_path.relative_to(ROOT) if model_path.is_relative_to(ROOT) else model_path),
            "zoo": model_path.stem if model_path.parent == zoo.ZOO_DIR else None,
            "conversion": conversion, "pictures": len(pictures), "top1_percent": round(100 * float(correct.mean()), 2),
            "no_garment_found": int(len(found) - sum(found)), "by_condition": by_condition}


def time_preprocessing(garments: np.ndarray, folder: Path, runs: int = 3) -> dict:
    """Milliseconds to decode and convert a 1,000 x 1,000 JPEG on one core (this loop is single-threaded):
    the median and p90 of the process's CPU time, which a training run beside it does not inflate, and of
    the wall time, which it does."""
    from PIL import Image

    paths = []
    for photo in render_photos(garments, seed=SEED + 1):
        path = folder / f"square{photo.index}.jpg"
        photo.image.resize((1000, 1000), Image.Resampling.BILINEAR).save(path, quality=photo.jpeg_quality)
        paths.append(path)
    read_model_inputs(paths[0], (28, 28))  # warm-up: imports, Pillow's plugins
    cpu, wall = [], []
    for _ in range(runs):
        for path in paths:
            started, cpu_started = time.perf_counter(), time.process_time()
            try:
                read_model_inputs(path, (28, 28))
            except DataError:
                pass
            cpu.append(time.process_time() - cpu_started)
            wall.append(time.perf_counter() - started)
    return {"pictures": len(paths), "runs": runs,
            "cpu_median_ms": round(1000 * float(np.median(cpu)), 2), "cpu_p90_ms": round(1000 * float(np.percentile(cpu, 90)), 2),
            "median_ms": round(1000 * float(np.median(wall)), 2), "p90_ms": round(1000 * float(np.percentile(wall, 90)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", type=Path,
                        help="deployed models (default: every zoo model for 28x28 garments)")
    parser.add_argument("--count", type=int, default=1000, help="pictures, from the first official test images")
    parser.add_argument("--careless-count", type=int, default=200, help="pictures per careless condition")
    parser.add_argument("--tuning", action="store_true",
                        help="render from validation garments with the tuning seed; write photos_tuning.json")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    models = args.models or [m.verified_path() for m in zoo.list_models() if m.record.get("dataset", "fashion") == "fashion"]
    data = load_fashion_mnist()
    if args.tuning:  # validation garments: the held-out part of the training set, as every run splits it
        _, _, x_val, y_val = split_train_val(data.x_train, data.y_train, 0.1, 0)
        pool_x, pool_y, seed, careless_start = x_val, y_val, TUNING_SEED, len(x_val) // 2
    else:
        pool_x, pool_y, seed, careless_start = data.x_test, data.y_test, SEED, CARELESS_START
    garments, labels = pool_x[:args.count], pool_y[:args.count]
    careless_slice = slice(careless_start, careless_start + args.careless_count)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pictures = render(garments, folder, seed)
        careless = {c: render(pool_x[careless_slice], folder, seed, careless_start, c) for c in CARELESS}
        rows, converted = [], {}
        for model in models:
            for conversion in ("photo", "resize-only"):
                row = score(model.resolve(), pictures, labels, conversion, converted, "base")
                if conversion == "photo":
                    row["careless"] = {c: score(model.resolve(), careless[c], pool_y[careless_slice], conversion,
                                                converted, c)["top1_percent"] for c in CARELESS}
                    row["careless_overall_percent"] = round(float(np.mean(list(row["careless"].values()))), 2)
                rows.append(row)
                extra = ("  careless " + " ".join(f"{c} {v:.1f}" for c, v in row["careless"].items())
                         if "careless" in row else "")
                print(f"{row['model']:<50} {conversion:<12} {row['top1_percent']:6.2f}%  "
                      f"(no garment found: {row['no_garment_found']}){extra}", flush=True)
        timing = time_preprocessing(garments[:50], folder)
    print(f"decode + conversion of a 1,000 x 1,000 JPEG, one core: CPU time median {timing['cpu_median_ms']} ms, "
          f"p90 {timing['cpu_p90_ms']} ms; wall time median {timing['median_ms']} ms, p90 {timing['p90_ms']} ms")
    options = [str(m) for m in args.models] + [f"--count {args.count}"] + (
        [f"--careless-count {args.careless_count}"] if args.careless_count != 200 else []) + (
        ["--tuning"] if args.tuning else [])
    result = {
        "benchmark": "photos_tuning" if args.tuning else "photos",
        "command": "python benchmarks/photos.py " + " ".join(options),
        **record_header(),
        "seed": seed,
        "garments": ("validation images (seed-0 split of the training set) " if args.tuning else "official test images ")
                    + f"0..{args.count - 1}; careless rows {careless_slice.start}..{careless_slice.stop - 1}",
        "rows": rows, "preprocessing_1000px_jpeg": timing,
    }
    out = args.out or (TUNING_RESULTS if args.tuning else RESULTS)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
