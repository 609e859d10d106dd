"""The main job as one call (`fmnist-edge pipeline`): train, quantize, export every format, bench against the baseline.

    result = fmnist_edge.pipeline("vgg198k", "runs/quickstart", epochs=3, mixed_precision=True)
    print(result.bench.table())

Each step is the same function its own command calls, with the same checks: a broken
accuracy-drop budget stops the job at quantize (exit 3), a failed export check at export.
Everything lands in the run directory: the model and its plots, optimized/<method>/,
export/, bench.json and plots/bench_*.png.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .stages.benchmark import BenchResult, bench
from .stages.benchmark.bench import BASELINE_MODEL, DEFAULT_RUNS
from .progress import Progress

PIPELINE_BENCH_RUNS = DEFAULT_RUNS // 2  # the main job's bench is a first look; `bench` itself times 200 runs


@dataclass(frozen=True)
class PipelineResult:
    run: Any  # stages.train.Run
    optimized: Any  # stages.quantize.Optimized
    exported: Any  # stages.export.Exported
    bench: BenchResult


def pipeline(model: str | None, out: str | Path, *, force: bool = False, method: str = "qat",
             quantize_epochs: int | None = None, max_drop: float | None = None, formats: str | list[str] = "all",
             baseline: str | Path = BASELINE_MODEL, runs: int = PIPELINE_BENCH_RUNS, threads: tuple[int, ...] = (1,),
             progress: "str | Progress" = "auto", **train_options: Any) -> PipelineResult:
    """Train `model` into `out`, quantize it with `method`, export `formats` and bench the run.

    progress: "auto", "bar", "lines", "none" or a `Progress`: every step's, through one.
    train_options are `train`'s (epochs, lr, mixed_precision, limit, ...).
    """
    from .stages.export import export
    from .stages.quantize import quantize
    from .stages.train import train

    progress = Progress.of(progress)
    progress.line("[1/4] train")
    run = train(model, out, force=force, progress=progress, **train_options)
    progress.line(run.summary())
    progress.line(f"[2/4] quantize ({method})")
    optimized = quantize(run.path, method, force=True, progress=progress, epochs=quantize_epochs, max_drop=max_drop)
    progress.line(optimized.summary())
    progress.line("[3/4] export")
    exported = export(run.path, formats, force=True, progress=progress)
    progress.line(exported.summary())
    progress.line("[4/4] bench")
    result = bench([run.path], baseline=baseline, runs=runs, threads=threads, plot=True, progress=progress)
    return PipelineResult(run, optimized, exported, result)
