"""What the photo conversion leaves of a printed garment, and how hard the augmentation's print is.

    python benchmarks/print_pattern.py shipped/res-s-photo/export/model_int8.tflite shipped/res-s-swa/export/model_int8.tflite

The photo benchmark's "print" pictures (fmnist_edge.photo.render: square-wave stripes or checks 5-10% of
the garment's size apart) are rendered from validation garments with the tuning seed, as
`benchmarks/photos.py --tuning` renders them, and converted (docs/preprocessing.md). On each 28x28 result
it measures the print's period (the strongest frequency of the spectrum above 0.15 cycles a pixel) and how
dark the dark bands are (the 20th over the 90th percentile of the garment's lit pixels). Those sized the
print of `--augment photo` (fmnist_edge.data.pipeline: PHOTO_PRINT_PERIOD_PX, PHOTO_PRINT_DEPTH). Then
each model given scores validation garments plain and with the augmentation's print alone (every image,
drawn at the augmentation's ranges), beside its score on the converted print pictures, so a print that
is much easier than the pictures' shows. Prints a table and writes benchmarks/results/print_pattern.json.
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import photos  # noqa: E402  (the benchmark's own rendering and conversion)

from fmnist_edge import _tf  # noqa: E402
from fmnist_edge.artifacts.provenance import record_header  # noqa: E402
from fmnist_edge.data import load_fashion_mnist, pipeline, split_train_val  # noqa: E402
from fmnist_edge.files import write_json  # noqa: E402
from fmnist_edge.formats.runtime import load_model  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "print_pattern.json"
PICTURES = 200  # as many as a careless row of the photo benchmark
GARMENTS = 3000  # validation garments given the augmentation's print


def print_statistics(image: np.ndarray) -> tuple[float, float]:
    """(period in pixels, dark over bright level) of one converted 28x28 garment."""
    pixels = image.astype(np.float64)
    spectrum = np.abs(np.fft.fft2(pixels - pixels.mean()))
    fy, fx = np.fft.fftfreq(pixels.shape[0])[:, None], np.fft.fftfreq(pixels.shape[1])[None, :]
    radius = np.hypot(fy, fx)
    spectrum[radius < 0.15] = 0  # the garment's own shape lives below this
    strongest = np.unravel_index(spectrum.argmax(), spectrum.shape)
    lit = pixels[pixels > 20]
    return 1.0 / float(radius[strongest]), float(np.percentile(lit, 20) / np.percentile(lit, 90))


def augmentation_print(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """uint8 garments (N, H, W) with the augmentation's print on every one, stretched back to 255."""
    tf = _tf.tf()
    tf.random.set_seed(seed)
    n = len(images)

    def uniform(low, high):
        return tf.random.uniform([n], low, high)

    batch = tf.constant(images[..., None].astype(np.float32) / 255.0)
    out = pipeline.printed(batch, uniform(*pipeline.PHOTO_PRINT_DEPTH), uniform(*pipeline.PHOTO_PRINT_PERIOD_PX),
                           uniform(0.0, math.pi), uniform(0.0, 1.0), tf.random.uniform([n]) < 0.5).numpy()[..., 0]
    peak = np.maximum(out.max(axis=(1, 2), keepdims=True), 1e-6)
    return np.floor(out / peak * 255.0 + 0.5).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, help="deployed 28x28 garment models (.tflite)")
    args = parser.parse_args()
    data = load_fashion_mnist()
    _, _, x_val, y_val = split_train_val(data.x_train, data.y_train, 0.1, 0)
    start = len(x_val) // 2  # where the tuning set's careless rows begin
    garments, labels = x_val[start:start + PICTURES], y_val[start:start + PICTURES]
    with tempfile.TemporaryDirectory() as tmp:
        pictures = photos.render(garments, Path(tmp), photos.TUNING_SEED, start, "print")
        converted, found = photos.convert(pictures, (28, 28), "photo")
    stats = np.array([print_statistics(image) for image, ok in zip(converted, found) if ok])
    conversion = {"pictures": PICTURES, "garment_found": int(found.sum()),
                  "period_px_p10_p50_p90": [round(float(v), 2) for v in np.percentile(stats[:, 0], [10, 50, 90])],
                  "dark_over_bright_p10_p50_p90": [round(float(v), 2) for v in np.percentile(stats[:, 1], [10, 50, 90])]}
    print(f"converted print pictures: period {conversion['period_px_p10_p50_p90']} px (p10/p50/p90), dark over bright "
          f"{conversion['dark_over_bright_p10_p50_p90']}")
    print(f"augmentation: period {pipeline.PHOTO_PRINT_PERIOD_PX} px, dark bands at 1 - {pipeline.PHOTO_PRINT_DEPTH}")
    plain, printed = x_val[:GARMENTS], augmentation_print(x_val[:GARMENTS])
    rows = []
    for path in args.models:
        model = load_model(path, num_threads=1)

        def accuracy(images, truth):
            return round(100 * float((model.predict(images).argmax(1) == truth).mean()), 2)

        row = {"model": str(path), "validation_plain_percent": accuracy(plain, y_val[:GARMENTS]),
               "validation_augmentation_print_percent": accuracy(printed, y_val[:GARMENTS]),
               "print_pictures_percent": round(100 * float(((model.predict(converted).argmax(1) == labels) & found).mean()), 2)}
        rows.append(row)
        print(f"{row['model']:<50} plain {row['validation_plain_percent']:6.2f}%  augmentation's print "
              f"{row['validation_augmentation_print_percent']:6.2f}%  print pictures {row['print_pictures_percent']:6.2f}%")
    write_json(RESULTS, {"benchmark": "print_pattern", "command": "python benchmarks/print_pattern.py "
                         + " ".join(map(str, args.models)), **record_header(), "conversion": conversion,
                         "augmentation": {"period_px": list(pipeline.PHOTO_PRINT_PERIOD_PX),
                                          "depth": list(pipeline.PHOTO_PRINT_DEPTH), "garments": GARMENTS},
                         "rows": rows})
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
