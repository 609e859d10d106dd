"""Every deployed variant of trained runs against the ResNet-50 baseline: accuracy, size, MACs, latency, memory.

Trains nothing: give it run directories (exported and/or quantized), e.g.

    python benchmarks/edge_vs_baseline.py shipped/vgg198k-best shipped/edge-s-best

It runs `fmnist-edge bench` on them (untrained ResNet-50 baseline unless --baseline names a
trained run; 200 timed single-image runs on 1 thread) and writes
benchmarks/results/edge_vs_baseline.json (rows, machine, versions, method) and
edge_vs_baseline.md (the table and the command), and the two plots beside them.
Latency is noisy on a shared machine: compare ratios within one run.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from fmnist_edge.stages.benchmark import bench

RESULTS = Path(__file__).parent / "results"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--baseline", default="resnet50")
    parser.add_argument("--runs", dest="timed_runs", type=int, default=200)
    parser.add_argument("--threads", default="1")
    args = parser.parse_args()

    work = RESULTS / "edge_vs_baseline"
    result = bench(args.runs, baseline=args.baseline, runs=args.timed_runs,
                   threads=tuple(int(t) for t in args.threads.split(",")), out=work, plot=True,
                   progress="lines")
    command = "python benchmarks/edge_vs_baseline.py " + " ".join(sys.argv[1:])
    shutil.copyfile(result.json_path, RESULTS / "edge_vs_baseline.json")
    for plot in result.plots:
        shutil.copyfile(plot, RESULTS / plot.name)
    shutil.rmtree(work)  # the baseline .tflite (94 MB) is rebuilt on demand, never committed
    m = result.record
    (RESULTS / "edge_vs_baseline.md").write_text(
        f"Command: `{command}`\n\n{m['machine']['cpu']}, {m['machine']['cores']} cores; {m['method']}.\n\n"
        f"{result.table('md')}\n")
    print(result.table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
