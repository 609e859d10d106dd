"""Every quantize method on trained runs: deployed accuracy, drop, size, gzip size, sparsity.

Trains nothing: give it run directories trained with the best recipe, e.g.

    fmnist-edge train --model vgg198k --mixed-precision --out runs/vgg198k-best
    python benchmarks/quantize.py runs/vgg198k-best [runs/edge-s-best ...]

Each method writes RUN/optimized/<method>/ (replacing an earlier one). Accuracy is the
deployed .tflite's, in LiteRT, on the full official test set. The budget is opened
wide (100 points) so every method is measured; the targets below are judged here:

    int8 QAT drop            <= 0.2 points
    50% pruning + int8 drop  <= 0.5 points
    int8 size                <= 28% of the float .tflite

Prints a Markdown table and writes benchmarks/results/quantize.json and quantize.md.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fmnist_edge.stages.quantize import METHODS, quantize
from fmnist_edge.artifacts.provenance import record_header
from fmnist_edge.stages.train import Run

RESULTS = Path(__file__).parent / "results"
TARGETS = {  # method -> (metric, limit, description)
    "qat": ("drop_pp", 0.2, "int8 QAT drop <= 0.2 points"),
    "prune+qat": ("drop_pp", 0.5, "50% pruning + int8 drop <= 0.5 points"),
    "ptq-int8": ("size_vs_float", 0.28, "int8 size <= 28% of float"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--methods", default=",".join(m for m in METHODS if m != "auto"))
    parser.add_argument("--epochs", type=int, default=None,
                        help="fine-tuning epochs for prune and qat (default: each method's own, as the CLI)")
    parser.add_argument("--sparsity", type=float, default=0.5)
    parser.add_argument("--calibration", type=int, default=500)
    args = parser.parse_args()

    rows = []
    for run_dir in args.runs:
        run = Run.load(run_dir)
        for method in args.methods.split(","):
            result = quantize(run_dir, method, force=True, progress="lines", epochs=args.epochs,
                              sparsity=args.sparsity, calibration=args.calibration, max_drop=100.0)
            m = result.metrics
            row = {"run": str(run_dir), "model": run.settings.model, "method": method,
                   "float_accuracy": m["float_accuracy"], "accuracy": m["accuracy"], "drop_pp": m["drop_pp"],
                   "size_bytes": m["size_bytes"], "gzip_bytes": m["gzip_bytes"], "size_vs_float": m["size_vs_float"],
                   "sparsity": (m.get("sparsity") or {}).get("overall"), "epochs": m["settings"]["epochs"],
                   "wall_time_s": m["wall_time_s"]}
            if method in TARGETS:
                key, limit, text = TARGETS[method]
                row["target"] = text
                row["target_met"] = row[key] <= limit
            rows.append(row)
            print(f"{row['model']} {method}: {100 * row['accuracy']:.2f}% (drop {row['drop_pp']:+.2f}), "
                  f"{row['size_bytes']:,} B", flush=True)

    table = _markdown(rows)
    command = "python benchmarks/quantize.py " + " ".join(sys.argv[1:])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "quantize.json").write_text(json.dumps({
        "benchmark": "quantize", "command": command,
        **record_header(),
        "rows": rows}, indent=2) + "\n")
    (RESULTS / "quantize.md").write_text(f"Command: `{command}`\n\n{table}\n")
    print(table)
    return 0


def _markdown(rows: list[dict]) -> str:
    lines = ["| model | method | epochs | float acc | deployed acc | drop (pp) | size (B) | gzip (B) | vs float | sparsity "
             "| target |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        sparsity = f"{100 * r['sparsity']:.1f}%" if r["sparsity"] is not None else ""
        target = f"{r['target']}: {'met' if r['target_met'] else 'MISSED'}" if "target" in r else ""
        lines.append(f"| {r['model']} | {r['method']} | {r['epochs'] or ''} | {100 * r['float_accuracy']:.2f}% | {100 * r['accuracy']:.2f}% | "
                     f"{r['drop_pp']:+.2f} | {r['size_bytes']:,} | {r['gzip_bytes']:,} | {100 * r['size_vs_float']:.1f}% | "
                     f"{sparsity} | {target} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
