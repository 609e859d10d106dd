"""Is a run's gap between training and validation accuracy in its weights or in its BatchNorm statistics?

    python benchmarks/bn_recalibration.py runs/cnn-bn-paper

Scores the run's saved model (its best epoch) on the official test set twice: as saved, and after
re-estimating every BatchNormalization layer's moving mean and variance from clean training images
(no augmentation, no dropout), layer by layer in network order, each from the activations the
already re-estimated layers before it produce. The weights do not change. A large rise means the
moving averages, not the learned weights, were what held the model back: they trail weights that
move fast (as when L2 shrinks the kernels a BatchNorm follows, raising the effective learning rate).
Prints both figures and writes benchmarks/results/bn_recalibration.json.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fmnist_edge.data import load_dataset
from fmnist_edge.artifacts.keras_files import load_float32_model
from fmnist_edge.artifacts.provenance import record_header
from fmnist_edge.artifacts.rundir import RunDir
from fmnist_edge.files import write_json

RESULTS = Path(__file__).parent / "results" / "bn_recalibration.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--images", type=int, default=10000, help="training images to estimate the statistics from")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    from fmnist_edge import _tf

    keras = _tf.keras()
    run_dir = RunDir(args.run)
    settings = run_dir.read_finished_run()["settings"]
    data = load_dataset(settings.get("dataset", "fashion"), settings.get("data_dir"))
    model = load_float32_model(run_dir.require_model(), settings["model"], data.image_shape, data.num_classes)
    x_test = data.x_test[..., None].astype(np.float32) / 255.0
    x_fit = data.x_train[: args.images, ..., None].astype(np.float32) / 255.0

    def test_accuracy() -> float:
        return float((model.predict(x_test, batch_size=500, verbose=0).argmax(1) == data.y_test).mean())

    as_saved = test_accuracy()
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in layers:  # in network order: each sees the inputs the re-estimated layers before it give
        probe = keras.Model(model.input, layer.input)
        # Summed chunk by chunk, in float64: a closet layer's inputs for 10,000 canvases would take 10 GB.
        count, total, squares = 0, 0.0, 0.0
        for start in range(0, len(x_fit), 500):
            inputs = probe(x_fit[start:start + 500], training=False).numpy().astype(np.float64)
            inputs = inputs.reshape(-1, inputs.shape[-1])
            count, total, squares = count + len(inputs), total + inputs.sum(0), squares + (inputs ** 2).sum(0)
        mean = total / count
        layer.moving_mean.assign(mean)
        layer.moving_variance.assign(np.maximum(squares / count - mean ** 2, 0.0))
    recalibrated = test_accuracy()

    command = f"python benchmarks/bn_recalibration.py {args.run}" + (f" --out {args.out}" if args.out != RESULTS else "")
    result = {"benchmark": "bn_recalibration", "command": command,
              **record_header(), "run": str(args.run),
              "model": settings["model"], "batchnorm_layers": len(layers), "images": len(x_fit),
              "test_accuracy_as_saved": round(as_saved, 4), "test_accuracy_recalibrated": round(recalibrated, 4)}
    print(f"{args.run}: {settings['model']}, {len(layers)} BatchNorm layers")
    print(f"test accuracy as saved:                      {100 * as_saved:.2f}%")
    print(f"with statistics re-estimated ({len(x_fit):,} images): {100 * recalibrated:.2f}%")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, result)  # write then rename
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
