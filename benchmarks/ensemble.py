"""How strong a teacher ensemble is: each run's test accuracy and the accuracy of their averaged
predictions, the soft targets `fmnist-edge train --teacher RUN --teacher RUN ...` distils from.

    python benchmarks/ensemble.py shipped/vgg-a-best shipped/vgg198k-best shipped/edge-s-best

Each run's saved Keras model scores the 10,000 official test images and its validation split (the
seeded --val-split every fashion run of ours holds out, the same images for each: choose members on
it, never on the test column); the ensemble is the mean of their probabilities (temperature 1), as
distillation averages its teachers. Prints a table and writes
benchmarks/results/ensemble.json. (`fmnist-edge ensemble RUN RUN ...` builds the deployable
one-file version instead, whose output is the softmax of the members' mean logit.)
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from fmnist_edge.data import load_dataset
from fmnist_edge.data.fashion import split_train_val
from fmnist_edge.artifacts.keras_files import load_run_model
from fmnist_edge.artifacts.provenance import record_header
from fmnist_edge.artifacts.rundir import RunDir

RESULTS = Path(__file__).parent / "results" / "ensemble.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    probabilities, val_probabilities, rows, data, split = [], [], [], None, None
    for root in args.runs:
        run_dir = RunDir(root)
        run = run_dir.read_finished_run()
        settings = run["settings"]
        data = data or load_dataset(settings.get("dataset", "fashion"), settings.get("data_dir"))
        if split is None:
            split = (settings["val_split"], run["seed"])
            _, _, x_val, y_val = split_train_val(data.x_train, data.y_train, *split)
        elif (settings["val_split"], run["seed"]) != split:
            raise SystemExit(f"{root}: validation split {settings['val_split']} seed {run['seed']}, not "
                             f"{split[0]} seed {split[1]} as the first run's: the members must share it")
        model = load_run_model(run_dir.require_model(), settings["model"], data.image_shape, data.num_classes)
        p, pv = (model.predict(x[..., None].astype(np.float32) / 255.0, batch_size=500, verbose=0)
                 for x in (data.x_test, x_val))
        probabilities.append(p)
        val_probabilities.append(pv)
        rows.append({"run": str(root), "model": settings["model"],
                     "val_accuracy": round(float((pv.argmax(1) == y_val).mean()), 4),
                     "test_accuracy": round(float((p.argmax(1) == data.y_test).mean()), 4)})
    mean, val_mean = np.mean(probabilities, axis=0), np.mean(val_probabilities, axis=0)
    result = {"benchmark": "ensemble", "command": "python benchmarks/ensemble.py " + " ".join(map(str, args.runs)),
              **record_header(), "runs": rows,
              "ensemble_val_accuracy": round(float((val_mean.argmax(1) == y_val).mean()), 4),
              "ensemble_test_accuracy": round(float((mean.argmax(1) == data.y_test).mean()), 4)}
    print(f"{'run':<32} {'model':<10} {'val':>7} {'test':>7}")
    for row in rows:
        print(f"{row['run']:<32} {row['model']:<10} {100 * row['val_accuracy']:6.2f}% {100 * row['test_accuracy']:6.2f}%")
    print(f"{'ensemble (mean of probabilities)':<43} {100 * result['ensemble_val_accuracy']:6.2f}% "
          f"{100 * result['ensemble_test_accuracy']:6.2f}%")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
