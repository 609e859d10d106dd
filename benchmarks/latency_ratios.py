"""How far does each latency ratio of budget.toml move between repeats, and under load?

    python benchmarks/latency_ratios.py                        # 5 repeats, machine as it is
    python benchmarks/latency_ratios.py --load 1 --out benchmarks/results/latency_ratios_loaded.json
    python benchmarks/latency_ratios.py --pair fmnist_edge/zoo/res-s.tflite fmnist_edge/zoo/vgg-a.tflite 2.0 \
        --out benchmarks/results/latency_res_s_vs_vgg_a.json   # one pair instead of the budget's

For every [[model]] of the budget with a max_latency_ratio (or each `--pair FILE REFERENCE LIMIT`: a
target that is no CI gate, such as the 250 KB model's latency against vgg-a's), measures the ratio `check` judges
(`interleaved_latency_ratio`: the median over alternating rounds of the file and its reference
in one process, one thread each) `--repeats` times, optionally with `--load` busy-looping
processes running beside it, and writes each repeat's ratio with the CPU it ran on. The limits
in budget.toml are set from these spreads (on every CPU seen) with a margin.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
from pathlib import Path

import numpy as np

from fmnist_edge.stages.benchmark.budget import LATENCY_CALLS, LATENCY_ROUNDS, read_budget
from fmnist_edge.stages.benchmark.measure import interleaved_latency_ratio
from fmnist_edge.data import load_dataset
from fmnist_edge.artifacts.provenance import record_header
from fmnist_edge.files import write_json

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "latency_ratios.json"


def _busy() -> None:
    while True:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=Path, default=ROOT / "budget.toml")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--load", type=int, default=0, help="busy-looping processes beside the measurement")
    parser.add_argument("--pair", nargs=3, action="append", metavar=("FILE", "REFERENCE", "LIMIT"),
                        help="time FILE against REFERENCE (fashion test image) instead of the budget's ratios")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    if args.pair:
        entries = [{"name": f"{Path(file).name} against {Path(reference).name}", "file": file,
                    "reference": reference, "max_latency_ratio": float(limit)} for file, reference, limit in args.pair]
    else:
        entries = [e for e in read_budget(args.budget) if "max_latency_ratio" in e]
    images = {}
    loaders = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(args.load)]
    for process in loaders:
        process.start()
    rows = []
    try:
        for entry in entries:
            dataset = entry.get("dataset", "fashion")
            if dataset not in images:
                images[dataset] = load_dataset(dataset).x_test[:1, ..., None]
            ratios = []
            for _ in range(args.repeats):
                timed = interleaved_latency_ratio(entry["file"], entry["reference"], images[dataset],
                                                  rounds=LATENCY_ROUNDS, calls=LATENCY_CALLS)
                ratios.append(round(timed["ratio"], 4))
            rows.append({"name": entry["name"], "limit": entry["max_latency_ratio"], "ratios": ratios,
                         "min": min(ratios), "max": max(ratios), "median": round(float(np.median(ratios)), 4),
                         "p50_ms": round(timed["p50_ms"], 4),
                         "reference_p50_ms": round(timed["reference_p50_ms"], 4)})
            print(f"{entry['name']}: {min(ratios):.3f}-{max(ratios):.3f} (limit {entry['max_latency_ratio']})",
                  flush=True)
    finally:
        for process in loaders:
            process.terminate()
    pairs = "".join(f" --pair {file} {reference} {limit}" for file, reference, limit in args.pair or [])
    command = "python benchmarks/latency_ratios.py" + pairs + (
        f" --repeats {args.repeats}" if args.repeats != 5 else "") + (
        f" --load {args.load}" if args.load else "") + (f" --out {args.out}" if args.out != RESULTS else "")
    write_json(args.out, {
        **record_header(),
        "command": command,
        "load_processes": args.load, "repeats": args.repeats, "rounds": LATENCY_ROUNDS, "calls": LATENCY_CALLS,
        "rows": rows,
    })
    print(json.dumps({"written": str(args.out)}))


if __name__ == "__main__":
    main()
