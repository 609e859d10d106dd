"""`fmnist-edge check`: hold model files to the limits a budget file sets. The CI gate.

    # budget.toml
    [[model]]
    name = "vgg198k int8 (QAT)"
    file = "shipped/vgg198k-best/optimized/qat/model.tflite"
    source = "shipped/vgg198k-best"    # the float model the drop is measured against (a run or a float file)
    max_drop = 0.2                      # points: source accuracy minus this file's accuracy
    min_accuracy = 0.93                 # as a fraction
    max_size_bytes = 230_000
    max_latency_ratio = 0.5             # single-image latency / `reference`'s, timed in alternating rounds here
    reference = "shipped/vgg198k-best/export/model_fp32.tflite"

Every limit is optional, but a model needs at least one. `dataset = "closet"` scores a
closet-price model (default "fashion"). Accuracies are measured here, on the
full official test set, in the file's own runtime (a run directory's Keras model in
TensorFlow); nothing is read from earlier records. Paths are relative to the budget file.

A latency limit is a ratio, never milliseconds: machines of one kind differ in CPU from day to day.
The ratio is the median over alternating rounds of both files in one process
(`measure.interleaved_latency_ratio`), so a load that comes and goes hits both alike; set a limit
from the spread measured on every CPU seen, with a margin, and leave out a ratio that is not below 1
on every CPU (int8 is not faster everywhere: say so in bench instead). `latency_needs = "avx512_vnni"`
names the CPU feature a ratio holds on (an int8 file is faster than its float one only where the CPU
has int8 dot-product instructions; on an AVX2-only CPU the ratios were 1.0-1.45): on a CPU without it
the ratio is still measured and printed, as a NOTE that says why it is not judged.

An entry whose file is one of the package's zoo files is held, besides its limits, to the accuracy the
zoo manifest publishes for it: the file must score exactly that (one more line, `zoo_record`).

The result is one line per limit, with the measured value and PASS or FAIL. `check` exits 0
when every limit holds, 1 when any fails, 2 when the budget itself is wrong (a missing file,
an unknown key, a value of the wrong type).
"""
from __future__ import annotations

import hashlib
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

from ...artifacts.provenance import SPEED_FEATURES, cpu_features
from ...errors import FmnistEdgeError
from ...progress import Progress
from ...settings import DATASETS, TrainSettings, accuracy_drop

LIMITS = {"max_drop": float, "min_accuracy": float, "max_size_bytes": int, "max_latency_ratio": float}
KEYS = {"name": str, "file": str, "source": str, "reference": str, "dataset": str, "latency_needs": str, **LIMITS}
LATENCY_ROUNDS = 25  # alternating rounds per latency ratio; the median ratio is judged
LATENCY_CALLS = 20  # single-image calls per file and round


class BudgetError(FmnistEdgeError):
    """The budget file is missing, malformed or names files that do not exist (exit 2)."""


@dataclass(frozen=True)
class Verdict:
    model: str
    limit: str
    measured: float
    allowed: float
    passed: bool
    text: str
    judged: bool = True  # False: measured and reported, but this CPU lacks what the limit holds on

    def line(self) -> str:
        return f"{'NOTE' if not self.judged else 'PASS' if self.passed else 'FAIL'}  {self.model}: {self.text}"


def read_budget(path: str | Path) -> list[dict[str, Any]]:
    """The [[model]] entries of a budget file, validated, with paths resolved against the file's folder."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BudgetError(f"{path}: no such budget file") from None
    except IsADirectoryError:
        raise BudgetError(f"{path}: is a folder; give the budget file (e.g. budget.toml)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BudgetError(f"{path}: not valid TOML ({exc})") from None
    extra = set(document) - {"model"}
    if extra:
        raise BudgetError(f"{path}: unknown table {sorted(extra)[0]!r}; a budget holds [[model]] entries only")
    models = document.get("model")
    if not isinstance(models, list) or not models:
        raise BudgetError(f"{path}: no [[model]] entries")
    entries = []
    for i, entry in enumerate(models, start=1):
        if not isinstance(entry, dict):
            raise BudgetError(f"{path}: model {i} is {entry!r}, not a table; write each model as a [[model]] table")
        where = f"{path}: model {i}" + (f" ({entry['name']})" if isinstance(entry.get("name"), str) else "")
        for key, value in entry.items():
            if key not in KEYS:
                raise BudgetError(f"{where}: unknown key {key!r}; allowed: {', '.join(KEYS)}")
            if not _has_type(value, KEYS[key]):
                kind = "a number" if KEYS[key] is float else "an integer" if KEYS[key] is int else "a string"
                raise BudgetError(f"{where}: {key} must be {kind}, got {value!r}")
        for key in LIMITS:
            if key in entry and not (math.isfinite(entry[key]) and entry[key] > 0 or key == "max_drop"
                                     and math.isfinite(entry[key])):
                raise BudgetError(f"{where}: {key} must be a finite number{' above 0' if key != 'max_drop' else ''}, "
                                  f"got {entry[key]!r}")
        if "min_accuracy" in entry and entry["min_accuracy"] > 1:
            raise BudgetError(f"{where}: min_accuracy is a fraction (0.93 for 93%), got {entry['min_accuracy']!r}")
        if entry.get("dataset", TrainSettings.dataset) not in DATASETS:
            raise BudgetError(f"{where}: dataset must be one of {', '.join(DATASETS)}, got {entry['dataset']!r}")
        if "file" not in entry:
            raise BudgetError(f"{where}: needs a file")
        if not any(key in entry for key in LIMITS):
            raise BudgetError(f"{where}: sets no limit (one of {', '.join(LIMITS)})")
        if "max_drop" in entry and "source" not in entry:
            raise BudgetError(f"{where}: max_drop needs a source (the float model it is measured against)")
        if "max_latency_ratio" in entry and "reference" not in entry:
            raise BudgetError(f"{where}: max_latency_ratio needs a reference file")
        if "latency_needs" in entry and "max_latency_ratio" not in entry:
            raise BudgetError(f"{where}: latency_needs qualifies a max_latency_ratio, and there is none")
        if "latency_needs" in entry and entry["latency_needs"] not in SPEED_FEATURES:
            raise BudgetError(f"{where}: latency_needs must be one of {', '.join(SPEED_FEATURES)}, got "
                              f"{entry['latency_needs']!r}")
        resolved = dict(entry)
        for key in ("file", "source", "reference"):
            if key in entry:
                target = (path.parent / entry[key]).resolve()
                if not target.exists():
                    raise BudgetError(f"{where}: {key} {entry[key]!r} does not exist")
                if key != "source" and target.is_dir():  # a source may be a run directory; files are files
                    raise BudgetError(f"{where}: {key} {entry[key]!r} is a folder; give a model file (.tflite or .onnx)")
                resolved[key] = target
        resolved.setdefault("name", entry["file"])
        entries.append(resolved)
    return entries


def _has_type(value: Any, wanted: type) -> bool:
    if isinstance(value, bool):  # TOML true/false is no number
        return False
    return isinstance(value, (int, float)) if wanted is float else isinstance(value, wanted)


def check(budget: str | Path, *, progress: "str | Progress" = "none") -> list[Verdict]:
    """Measure every model of the budget file and judge each of its limits.

    progress: "auto", "bar", "lines", "none" or a `Progress`: a bar over the measurements (with "lines",
    a line as each begins).
    """
    from ...formats import runtime
    from ...data import load_dataset
    from .measure import interleaved_latency_ratio

    entries = read_budget(budget)
    task = Progress.of(progress).open_task("measuring", _measurements(entries), announce=True)
    verdicts = []
    datasets: dict[str, Any] = {}
    # Keyed by content, not path: the zoo's files are byte copies of shipped exports, and one file is
    # scored once however many entries (or paths) name it.
    accuracy_of: dict[tuple[str, str], float] = {}

    def data(dataset: str):
        if dataset not in datasets:
            datasets[dataset] = load_dataset(dataset)
        return datasets[dataset]

    def accuracy(target: Path, dataset: str) -> float:
        key = (_identity(target), dataset)
        if key not in accuracy_of:
            task.start(f"accuracy of {_short(target)}")
            accuracy_of[key] = _accuracy(target, data(dataset), runtime)
            task.advance()
        return accuracy_of[key]

    recorded = _zoo_records()
    try:
        for entry in entries:
            verdicts += _judge(entry, accuracy, data, task, interleaved_latency_ratio)
            if entry["file"] in recorded and ("max_drop" in entry or "min_accuracy" in entry):
                verdicts.append(_matches_record(entry, recorded[entry["file"]], accuracy))
    finally:
        task.close()
    return verdicts


def _zoo_records() -> dict[Path, Any]:
    """The package's zoo models by file: the accuracy each manifest entry publishes is held to what its file
    scores here, exactly (the manifest is written by scripts/build_zoo.py; a stale one would publish a number
    no file gives)."""
    from ... import zoo

    return {m.path.resolve(): m for m in zoo.list_models()}


def _matches_record(entry: dict[str, Any], model, accuracy) -> Verdict:
    dataset = entry.get("dataset", TrainSettings.dataset)
    record = model.record["accuracy"]
    if model.record["dataset"] != dataset:
        return Verdict(entry["name"], "zoo_record", math.nan, record, False,
                       f"zoo model {model.name} is a {model.record['dataset']} model; this entry scores it on {dataset}")
    measured = accuracy(entry["file"], dataset)
    text = f"accuracy {100 * measured:.2f}% is the zoo manifest's record" if measured == record else (
        f"accuracy {100 * measured:.2f}% differs from the zoo manifest's {100 * record:.2f}% "
        f"(rebuild it: python scripts/build_zoo.py)")
    return Verdict(entry["name"], "zoo_record", measured, record, measured == record, text)


def _identity(target: Path) -> str:
    """What makes two accuracy measurements the same: a file's bytes (SHA-256), a run directory's path."""
    if target.is_dir():
        return f"run:{target}"
    return "sha256:" + hashlib.sha256(target.read_bytes()).hexdigest()


def _measurements(entries: list[dict[str, Any]]) -> int:
    """How many measurements `check` makes: each distinct file's accuracy once per dataset, each latency ratio."""
    scored = {(_identity(e["file"]), e.get("dataset", TrainSettings.dataset)) for e in entries
              if "max_drop" in e or "min_accuracy" in e}
    scored |= {(_identity(e["source"]), e.get("dataset", TrainSettings.dataset)) for e in entries if "max_drop" in e}
    return len(scored) + sum("max_latency_ratio" in e for e in entries)


def _judge(entry: dict[str, Any], accuracy, data, task, interleaved_latency_ratio) -> list[Verdict]:
    """The verdicts of one budget entry."""
    verdicts = []
    name, file, dataset = entry["name"], entry["file"], entry.get("dataset", TrainSettings.dataset)
    if "max_drop" in entry or "min_accuracy" in entry:
        measured = accuracy(file, dataset)
    if "min_accuracy" in entry:
        allowed = entry["min_accuracy"]
        verdicts.append(Verdict(name, "min_accuracy", measured, allowed, measured >= allowed,
                                f"accuracy {100 * measured:.2f}% (min {100 * allowed:.2f}%)"))
    if "max_drop" in entry:
        source = accuracy(entry["source"], dataset)
        allowed = entry["max_drop"]
        drop, within = accuracy_drop(source, measured, allowed)
        verdicts.append(Verdict(name, "max_drop", drop, allowed, within,
                                f"drop {drop:+.2f} points against {100 * source:.2f}% (max {allowed:.2f})"))
    if "max_size_bytes" in entry:
        size, allowed = file.stat().st_size, entry["max_size_bytes"]
        verdicts.append(Verdict(name, "max_size_bytes", size, allowed, size <= allowed,
                                f"size {size:,} B (max {allowed:,} B)"))
    if "max_latency_ratio" in entry:
        task.start(f"latency of {_short(file)} and {_short(entry['reference'])}")
        # The dataset sets the input the latency is timed on (28x28 garments, 64x128 closet canvases).
        timed = interleaved_latency_ratio(file, entry["reference"], data(dataset).x_test[:1, ..., None],
                                          rounds=LATENCY_ROUNDS, calls=LATENCY_CALLS)
        ratio, allowed = timed["ratio"], entry["max_latency_ratio"]
        text = (f"latency {ratio:.3f}x {entry['reference'].name}'s (median of {timed['rounds']} alternating "
                f"rounds, p10-p90 {timed['ratio_p10']:.3f}-{timed['ratio_p90']:.3f}; max {allowed:g}x)")
        needs, features = entry.get("latency_needs"), cpu_features()
        judged = needs is None or needs in features
        if not judged:
            text += (f"; not judged: the limit holds on CPUs with {needs}, and this one has "
                     f"{', '.join(features) or 'none of ' + ', '.join(SPEED_FEATURES)}")
        verdicts.append(Verdict(name, "max_latency_ratio", ratio, allowed, ratio <= allowed or not judged, text,
                                judged))
        task.advance()
    return verdicts


def _short(path: Path) -> str:
    """The path relative to the working directory when it is below it (progress lines stay short)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _accuracy(target: Path, data, runtime) -> float:
    if target.is_dir():  # a run directory: its float Keras model
        from ...artifacts.rundir import RunDir
        from ...artifacts.keras_files import evaluate_model

        return evaluate_model(RunDir(target).require_model(), data)["test_accuracy"]
    # Accuracy does not depend on the thread count (the kernels split output tiles, not sums), so scoring
    # takes every core this process may use; LiteRT's default is one thread. Latency stays single-threaded.
    model = runtime.load_model(target, num_threads=len(os.sched_getaffinity(0)))
    return runtime.accuracy(model, data.x_test, data.y_test)[0]
