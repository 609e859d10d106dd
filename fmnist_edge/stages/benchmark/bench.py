"""Accuracy, size and speed of every deployed variant, against the ResNet-50 baseline.

    result = fmnist_edge.bench(["runs/vgg"], baseline="resnet50", runs=200, threads=(1,))
    print(result.table())

A run directory contributes a row per artifact: its Keras model (the float reference), every
.tflite and .onnx in export/, and every optimized/<method>/model.tflite. A model file given
directly is one row. Each row is measured in a process of its own (see measure.py), once per
thread count, in its real runtime, on the full official test set.

The baseline row: `baseline="resnet50"` is the trained ResNet-50 of `shipped/resnet50-paper`
(beside the working folder, as in a checkout; its 94 MB float file does not ship in the
package), and where it is absent bench says so and stops, never substituting another model.
"resnet50-untrained" builds an untrained ResNet-50 and converts it to a float .tflite (needs
TensorFlow): its size, MACs and latency are real, its accuracy is reported as "untrained". A
run directory of a trained ResNet-50, or any .tflite/.onnx file, is measured like the other
rows; "none" leaves the baseline and its ratios out. Ratios compare every row with the baseline
row of the same thread count: x smaller (file bytes), x faster (p50 latency), and the accuracy
difference in points.

Without `out` (and without a run directory among the targets) bench writes nothing: the table
is the result.
"""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import FmnistEdgeError, RunDirError
from ...formats.inspection import tflite_macs
from ...artifacts.provenance import record_header
from ...progress import Progress
from ...artifacts.rundir import RunDir, run_lock
from ...files import atomic_path, read_json, write_json
from ...settings import TrainSettings

DEFAULT_RUNS = 200
DEFAULT_WARMUP = 20
DEFAULT_BATCH = 64
BASELINE_MODEL = "resnet50"
UNTRAINED_BASELINE = "resnet50-untrained"
NO_BASELINE = "none"
# The trained ResNet-50 of the repository (its float .tflite is in git, its Keras file is not), found from
# the working folder: what `--baseline resnet50` means, so every ratio also has an accuracy difference.
TRAINED_BASELINE_RUN = Path("shipped") / "resnet50-paper"
MODEL_SUFFIXES = (".tflite", ".onnx", ".keras")
TIMING_METHOD = ("single-image calls (set input, invoke, read output) timed one by one with time.perf_counter_ns "
                 "after {warmup} warm-up calls, {runs} timed runs; the first call timed apart; throughput at "
                 "batch {batch}; each model in a process of its own")


@dataclass
class Artifact:
    """One file to measure and what is known of it without running it."""

    model: str  # zoo name, or the file's stem
    format: str  # keras, an export format name, optimized/<method>, or the file suffix
    path: Path
    params: int | None
    macs: int | None
    dataset: str = "fashion"
    data_dir: str | None = None
    baseline: bool = False
    trained: bool = True

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size

    @property
    def gzip_bytes(self) -> int:
        return len(gzip.compress(self.path.read_bytes(), compresslevel=9))


@dataclass
class BenchResult:
    rows: list[dict[str, Any]]
    record: dict[str, Any]
    json_path: Path | None = None
    plots: list[Path] = field(default_factory=list)

    def table(self, fmt: str = "table") -> str:
        from .tables import render

        return render(self.rows, fmt)


def bench(targets: list[str | Path], *, baseline: str | Path = BASELINE_MODEL, runs: int = DEFAULT_RUNS,
          warmup: int = DEFAULT_WARMUP, threads: tuple[int, ...] = (1,), batch: int = DEFAULT_BATCH,
          out: str | Path | None = None, plot: bool = False, zoo: bool = False,
          progress: "str | Progress" = "none") -> BenchResult:
    """Measure every artifact of `targets` (run directories or model files) and the baseline.

    Args:
        targets: run directories and/or .tflite/.onnx/.keras files.
        baseline: "resnet50" (untrained, built here) or a trained ResNet-50 run directory.
        runs, warmup: timed and discarded single-image calls per row.
        threads: a row per thread count.
        batch: batch size of the throughput measurement.
        out: folder for bench.json and plots/ (default: the first run directory given).
        plot: write accuracy-vs-size and accuracy-vs-latency PNGs.
        zoo: add every model of the package's zoo (each on the dataset its manifest names).
        progress: "auto", "bar", "lines", "none" or a `Progress`: a bar over the measurements (with "lines",
            a line as each begins).
    """
    if runs < 1 or warmup < 0 or batch < 1 or not threads or min(threads) < 1:
        raise FmnistEdgeError("--runs, --batch and --threads must be at least 1, --warmup at least 0")
    if not targets and not zoo:
        raise FmnistEdgeError("nothing to bench: give run directories or model files")
    artifacts = [a for t in targets for a in collect(Path(t))] + (zoo_artifacts() if zoo else [])
    out_dir = Path(out) if out is not None else next((Path(t) for t in targets if Path(t).is_dir()), None)
    if plot and out_dir is None:
        raise FmnistEdgeError("--plot writes PNG files: give --out FOLDER")
    with tempfile.TemporaryDirectory(prefix="fmnist-edge-bench-") as scratch:
        base = baseline_artifact(baseline, (out_dir or Path(scratch)) / "baseline")
        if base is not None:
            artifacts.insert(0, base)
        rows = _measure_all(artifacts, runs, warmup, threads, batch, Progress.of(progress))
    _add_ratios(rows)
    notes = _int8_notes(rows)

    record = {
        "benchmark": "bench",
        **record_header(),
        "command": "fmnist-edge bench " + " ".join([*map(str, targets), *(["--zoo"] if zoo else [])]),
        "method": TIMING_METHOD.format(warmup=warmup, runs=runs, batch=batch),
        "clock": "time.perf_counter_ns",
        "settings": {"runs": runs, "warmup": warmup, "threads": list(threads), "batch": batch,
                     "baseline": str(baseline)},
        "rows": rows,
        "notes": notes,
    }
    if out_dir is None:
        return BenchResult(rows, record)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "bench.json"
    with run_lock(out_dir, "bench"):
        write_json(json_path, record)
        plots = []
        if plot:
            from ...artifacts.plots import plot_bench

            plots = plot_bench(rows, out_dir / "plots")
    return BenchResult(rows, record, json_path, plots)


def _file_macs(path: Path) -> int:
    try:
        return tflite_macs(path.read_bytes())
    except FmnistEdgeError as exc:
        raise FmnistEdgeError(f"{path}: {exc}") from None


def collect(target: Path) -> list[Artifact]:
    """The artifacts of a run directory, or the one model file `target` is."""
    if target.is_file():
        if target.suffix not in (".tflite", ".onnx"):
            raise FmnistEdgeError(f"{target}: bench takes run directories, .tflite or .onnx files")
        macs = _file_macs(target) if target.suffix == ".tflite" else None
        return [Artifact(target.stem, target.suffix.lstrip("."), target, None, macs)]
    if not target.is_dir():
        raise RunDirError(f"{target}: no such run directory or model file")
    run_dir = RunDir(target)
    settings = TrainSettings.from_dict(run_dir.read_run()["settings"])
    metrics = read_json(run_dir.metrics) if run_dir.metrics.exists() else {}
    params = metrics.get("params")
    # The Keras model is loaded in the measuring process, after the baseline's rows: refuse it here first.
    from ...artifacts.keras_files import check_keras_file

    check_keras_file(run_dir.require_model())
    files = [("keras", run_dir.require_model())]
    # export/model.json names every exported file and its format: bench reads the record, not the exporter.
    exported = read_json(run_dir.export_record) if run_dir.export_record.is_file() else {}
    for name, entry in exported.get("formats", {}).items():
        path = run_dir.export / entry["file"]
        if path.suffix in (".tflite", ".onnx") and path.is_file():
            files.append((name, path))
    for method, path in run_dir.optimized_files:
        files.append((f"optimized/{method}", path))
    tflites = [p for _, p in files if p.suffix == ".tflite"]
    macs = _file_macs(tflites[0]) if tflites else _macs_of_keras(run_dir, settings)
    return [Artifact(settings.model, fmt, path, params, macs, settings.dataset, settings.data_dir)
            for fmt, path in files]


def zoo_artifacts() -> list[Artifact]:
    """The package's zoo models, each named as in the zoo and scored on the dataset its manifest records."""
    from ... import zoo

    return [Artifact(m.name, "tflite-int8", path, None, _file_macs(path), m.record["dataset"])
            for m in zoo.list_models() for path in [m.verified_path()]]


def baseline_artifact(baseline: str | Path, cache: Path) -> Artifact | None:
    """The baseline row's artifact (see the module docstring), or None for "none"."""
    name = str(baseline)
    if name == NO_BASELINE:
        return None
    if name == BASELINE_MODEL:
        if not (RunDir(TRAINED_BASELINE_RUN).export / "model_fp32.tflite").is_file():
            raise FmnistEdgeError(f"--baseline resnet50: the trained ResNet-50 ({TRAINED_BASELINE_RUN}/export/"
                                  f"model_fp32.tflite) is not here; run from the repository, or give --baseline "
                                  f"resnet50-untrained, --baseline FILE (.tflite/.onnx) or --baseline none")
        baseline = TRAINED_BASELINE_RUN
    if name == UNTRAINED_BASELINE:
        path = cache / "resnet50-untrained-fp32.tflite"
        if not path.is_file():  # weights do not change size or speed; build and convert once per folder
            from ...formats.conversion import to_tflite
            from ...models import build_model

            with atomic_path(path) as tmp:
                tmp.write_bytes(to_tflite(build_model(BASELINE_MODEL), "fp32"))
        return Artifact(BASELINE_MODEL, "tflite-fp32", path, _params_of(BASELINE_MODEL), _file_macs(path),
                        baseline=True, trained=False)
    given = Path(baseline)
    if given.is_file():
        (artifact,) = collect(given)
        artifact.baseline = True
        return artifact
    if not given.is_dir():
        raise FmnistEdgeError(f"--baseline {baseline}: no such file or run directory; give resnet50, "
                              f"resnet50-untrained, a .tflite/.onnx file, a run directory or none")
    run = RunDir(given)
    settings = TrainSettings.from_dict(run.read_run()["settings"])
    # The exported float file is the baseline; the Keras model may be absent (ResNet-50's is too big for git).
    path = run.export / "model_fp32.tflite"
    if not path.is_file():
        raise FmnistEdgeError(f"{run.root}: the baseline run needs export/model_fp32.tflite "
                              f"(fmnist-edge export {run.root} --format tflite-fp32)")
    params = (read_json(run.metrics) if run.metrics.exists() else {}).get("params")
    return Artifact(settings.model, "tflite-fp32", path, params, _file_macs(path), settings.dataset, settings.data_dir,
                    baseline=True)


def _params_of(model_name: str) -> int:
    from ...models import build_model

    return int(build_model(model_name).count_params())


def _macs_of_keras(run_dir: RunDir, settings: TrainSettings) -> int:
    from ...formats.conversion import to_tflite
    from ...artifacts.keras_files import load_float32_model

    contract = run_dir.input_contract()
    if contract is None:  # a run from before run.json recorded its input: the dataset tells
        from ...data import load_dataset

        data = load_dataset(settings.dataset, settings.data_dir)
        contract = data.image_shape, data.num_classes
    model = load_float32_model(run_dir.model, settings.model, *contract)
    return tflite_macs(to_tflite(model, "fp32"))


def measure_artifact(artifact: Artifact, runs: int, warmup: int, threads: int, batch: int) -> dict[str, Any]:
    """Measure one artifact in a fresh Python process (measure.py); a failure there is a one-line error here."""
    spec = {"path": str(artifact.path), "runs": runs, "warmup": warmup, "threads": threads, "batch": batch,
            "dataset": artifact.dataset, "data_dir": artifact.data_dir, "model": artifact.model,
            "accuracy": artifact.trained}
    done = subprocess.run([sys.executable, "-m", "fmnist_edge.stages.benchmark.measure", json.dumps(spec)],
                          capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else {"error": done.stderr.strip().splitlines()[-1:]}
    except json.JSONDecodeError:
        result = {"error": lines[-1]}
    if done.returncode != 0 or "error" in result:
        raise FmnistEdgeError(f"bench: measuring failed: {result.get('error') or done.stderr.strip()[-300:]}")
    return result


def _measure_all(artifacts: list[Artifact], runs: int, warmup: int, threads: tuple[int, ...], batch: int,
                 progress: Progress) -> list[dict[str, Any]]:
    rows = []
    with progress.task("measuring", len(threads) * len(artifacts), announce=True) as task:
        for n_threads in threads:
            for artifact in artifacts:
                task.start(f"{artifact.model} {artifact.format} ({n_threads} thread{'s' if n_threads > 1 else ''})")
                rows.append(_row(artifact, measure_artifact(artifact, runs, warmup, n_threads, batch), n_threads))
                task.advance()
    return rows


def _row(artifact: Artifact, measured: dict[str, Any], threads: int) -> dict[str, Any]:
    return {"model": artifact.model, "format": artifact.format, "path": str(artifact.path), "dataset": artifact.dataset,
            "baseline": artifact.baseline, "trained": artifact.trained, "threads": threads,
            "params": artifact.params, "size_bytes": artifact.size_bytes, "gzip_bytes": artifact.gzip_bytes,
            "macs": artifact.macs, **measured}


def _int8_notes(rows: list[dict[str, Any]]) -> list[str]:
    """For every integer .tflite benched beside its float file (same folder, same thread count): its latency as a
    multiple of the float file's, kept in the row as "x_float_latency", and a note where int8 is not faster on
    this CPU (depthwise layers on some x86 CPUs): what `check` leaves ungated."""
    notes = []
    for row in rows:
        path = Path(row["path"])
        if path.suffix != ".tflite" or "int8" not in path.stem:
            continue
        float_path = str(path.with_name("model_fp32.tflite"))
        twin = next((r for r in rows if r["path"] == float_path and r["threads"] == row["threads"]), None)
        if twin is None:
            continue
        ratio = row["latency_ms"]["p50"] / twin["latency_ms"]["p50"]
        row["x_float_latency"] = round(ratio, 3)
        if ratio >= 1.0:
            notes.append(f"{row['model']} {row['format']}: {ratio:.2f}x the p50 latency of its float file at "
                         f"{row['threads']} thread(s): int8 is not faster on this CPU")
    return notes


def _add_ratios(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        base = next((r for r in rows if r["baseline"] and r["threads"] == row["threads"]), None)
        if base is None:  # --baseline none
            row["x_smaller"] = row["x_faster"] = row["accuracy_diff_pp"] = None
            continue
        row["x_smaller"] = round(base["size_bytes"] / row["size_bytes"], 2)
        row["x_faster"] = round(base["latency_ms"]["p50"] / row["latency_ms"]["p50"], 2)
        # Points of accuracy compare only on the same test set: a closet-price model has none against a
        # Fashion-MNIST baseline, its size and speed ratios stand.
        row["accuracy_diff_pp"] = (None if row["accuracy"] is None or base["accuracy"] is None
                                   or row["dataset"] != base["dataset"]
                                   else round(100 * (row["accuracy"] - base["accuracy"]), 2))
