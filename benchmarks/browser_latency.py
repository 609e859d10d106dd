"""In-browser latency of the web demo's model against the Python runtime's, on the same file.

The page (fmnist_edge/demo/page/, served by `fmnist-edge demo`'s server) runs the batch-1 int8 .tflite in
LiteRT.js on wasm/XNNPACK in Debian's headless Chromium; each timed run is what the page does per
picture: make the input tensor, run, copy the output back. The Python side times the same file in
ai-edge-litert (set the input, invoke, read the output), one image per call. Both: 20 untimed
warm-up runs, then the median and p90 of 200 single-image runs.

    python benchmarks/browser_latency.py                     # the shipped photo model
    python benchmarks/browser_latency.py runs/x/export --runs 500

Prints a table and writes benchmarks/results/browser_latency.json.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from fmnist_edge.demo import headless_chromium, open_page, page_model, serving

from fmnist_edge.artifacts.provenance import record_header
from fmnist_edge.formats.runtime import TFLiteModel

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EXPORT = ROOT / "shipped" / "res-s-photo" / "export"  # the demos' model, the zoo's res-s-photo
RESULTS = ROOT / "benchmarks" / "results" / "browser_latency.json"
WARMUP = 20


def python_latency(path: Path, runs: int, threads: int | None) -> list[float]:
    model = TFLiteModel(path, num_threads=threads)
    image = np.zeros((1, *model.input_shape), np.uint8)
    for _ in range(WARMUP):
        model.run(image)
    times = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        model.run(image)
        times.append((time.perf_counter_ns() - start) / 1e6)
    return times


def summary(times: list[float]) -> dict:
    return {"median_ms": round(float(np.median(times)), 4), "p90_ms": round(float(np.percentile(times, 90)), 4),
            "runs": len(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export_dir", nargs="?", default=str(DEFAULT_EXPORT))
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    # the file the page loads (page_model: the uint8 batch-1 file that looks most often)
    exported = json.loads((Path(args.export_dir) / "model.json").read_text())
    model_path = Path(args.export_dir) / page_model(exported)["file"]

    with serving(args.export_dir) as address, headless_chromium() as browser:
        page = open_page(browser, address, blocked := [])
        browser_times = page.evaluate(f"window.closet.latency({args.runs}, {WARMUP})")
        isolated, cores = page.evaluate("[self.crossOriginIsolated, navigator.hardwareConcurrency]")
        version = browser.version
    assert not blocked, blocked

    rows = {
        "LiteRT.js 2.5.3, wasm (Chromium)": summary(browser_times),
        "ai-edge-litert, default threads": summary(python_latency(model_path, args.runs, None)),
        "ai-edge-litert, 1 thread": summary(python_latency(model_path, args.runs, 1)),
    }
    record = {
        "model": str(model_path.relative_to(ROOT) if model_path.is_relative_to(ROOT) else model_path),
        "size_bytes": model_path.stat().st_size, "rows": rows,
        "browser": f"Chromium {version} headless", "cross_origin_isolated": isolated, "browser_cores": cores,
        **record_header(), "command": "python benchmarks/browser_latency.py",
    }
    print(f"{record['model']} ({record['size_bytes']:,} B), single-image latency, {args.runs} runs:")
    for name, row in rows.items():
        print(f"  {name:<36} median {row['median_ms']:.3f} ms   p90 {row['p90_ms']:.3f} ms")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(f"-> {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
