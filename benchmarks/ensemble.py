"""How strong a teacher ensemble is: each run's test accuracy and the accuracy of their averaged
predictions, the soft targets `fmnist-edge train --teacher RUN --teacher RUN ...` distils from.

    python benchmarks/ensemble.py shipped/vgg-a-best shipped/vgg198k-best shipped/edge-s-best

Each run's saved Keras model scores the 10,000 official test images; the ensemble is the mean of
their probabilities (temperature 1), as distillation averages its teachers. Prints a table and writes
benchmarks/results/ensemble.json. (`fmnist-edge ensemble RUN RUN ...` builds the deployable
one-file version instead, whose output is the softmax of the members' mean logit.)
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from fmnist_edge.data import load_dataset
from fmnist_edge.artifacts.keras_files import load_run_model
from fmnist_edge.artifacts.provenance import record_header
from fmnist_edge.artifacts.rundir import RunDir

RESULTS = Path(__file__).parent / "results" / "ensemble.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    probabilities, rows, data = [], [], None
    for root in args.runs:
        run_dir = RunDir(root)
        settings = run_dir.read_finished_run()["settings"]
        data = data or load_dataset(settings.get("dataset", "fashion"), settings.get("data_dir"))
        model = load_run_model(run_dir.require_model(), settings["model"], data.image_shape, data.num_classes)
        p = model.predict(data.x_test[..., None].astype(np.float32) / 255.0, batch_size=500, verbose=0)
        probabilities.append(p)
        rows.append({"run": str(root), "model": settings["model"],
                     "test_accuracy": round(float((p.argmax(1) == data.y_test).mean()), 4)})
    mean = np.mean(probabilities, axis=0)
    result = {"benchmark": "ensemble", "command": "python benchmarks/ensemble.py " + " ".join(map(str, args.runs)),
              **record_header(), "runs": rows,
              "ensemble_test_accuracy": round(float((mean.argmax(1) == data.y_test).mean()), 4)}
    for row in rows:
        print(f"{row['run']:<32} {row['model']:<10} {100 * row['test_accuracy']:.2f}%")
    print(f"{'ensemble (mean of probabilities)':<43} {100 * result['ensemble_test_accuracy']:.2f}%")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
