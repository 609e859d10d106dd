"""Ensembles of trained runs: several finished runs of one task in, one run directory out.

    result = fmnist_edge.ensemble(["runs/vgg-a-60", "runs/vgg-a-120"], "runs/vgg-a-x2")
    print(result.summary())

The members keep their weights; models/ensemble.py puts them side by side in one graph whose output
is the softmax of their mean logit. Nothing is trained: the ensemble is scored once on the official
test set, and run.json names every member by its model file's sha256. The new run directory is a
complete run like any other, so `quantize`, `export`, `bench` and `check` take it as they take a
trained one. Its settings are the first member's, with the model's name replaced: quantization-aware
fine-tuning uses that member's recipe (optimizer, learning rate, augmentation).
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..artifacts import plots as report
from ..data import load_dataset
from ..errors import FmnistEdgeError, RunDirError
from ..artifacts.keras_files import evaluate_model, load_trained_run
from ..artifacts.provenance import record_header, utc_now
from ..models import get_model_info
from ..models.ensemble import ensemble_name, ensemble_of
from ..artifacts.rundir import prepare_new_run, run_lock
from ..files import atomic_path, write_json
from ..settings import TrainSettings


@dataclass(frozen=True)
class Ensembled:
    """An ensemble's run directory, its test metrics and its members' records."""

    path: Path
    model: str
    metrics: dict[str, Any]
    members: list[dict[str, Any]]

    def summary(self) -> str:
        members = ", ".join(f"{m['model']} {100 * m['test_accuracy']:.2f}%" if m["test_accuracy"] is not None
                            else m["model"] for m in self.members)
        return (f"{self.model}: test accuracy {100 * self.metrics['test_accuracy']:.2f}% (members: {members}), "
                f"{self.metrics['params']:,} params -> {self.path}")


def ensemble(runs: Sequence[str | Path], out: str | Path | None = None, *, force: bool = False) -> Ensembled:
    """Join finished runs of one task into one model and write it as a new, complete run directory.

    Args:
        runs: two or more complete run directories trained on the same data (dataset, input, classes).
        out: the new run directory; default runs/ensemble. Refused if it exists, unless `force`.

    Raises:
        FmnistEdgeError / RunDirError: fewer than two runs, a run given twice, an unfinished run,
            members of different tasks, an existing `out` without `force`.
    """
    started, clock = utc_now(), time.monotonic()
    runs = [str(run) for run in runs]
    if len(runs) < 2:
        raise FmnistEdgeError("an ensemble needs at least two runs")
    seen: dict[Path, str] = {}
    for run in runs:
        resolved = Path(run).resolve()
        if resolved in seen:
            raise FmnistEdgeError(f"{run}: given twice (as {seen[resolved]}); each member is a different run")
        seen[resolved] = run
    members = [load_trained_run(run, float32=True) for run in runs]
    first = members[0]
    for member in members[1:]:
        if member.task != first.task:
            raise RunDirError(f"{member.path}: trained on {_task(member.task)}, but {first.path} on "
                              f"{_task(first.task)}; an ensemble's members share one task")
    name = get_model_info(ensemble_name([m.model_name for m in members])).name  # checks the member count
    settings = dataclasses.replace(TrainSettings.from_dict(first.settings), model=name, teachers=(),
                                   mixed_precision=False)
    data = load_dataset(settings.dataset, settings.data_dir)
    if (settings.dataset, data.image_shape, list(data.class_names)) != first.task:
        raise RunDirError(f"{first.path}: its data ({_task(first.task)}) is not what its settings load now "
                          f"({_task((settings.dataset, data.image_shape, list(data.class_names)))})")

    run_dir = prepare_new_run(Path(out) if out else Path("runs") / "ensemble", force, resumable=False,
                              reads={"a member": list(runs)})
    command = "fmnist-edge ensemble " + " ".join(runs) + f" --out {run_dir.root}"
    record: dict[str, Any] = {
        "settings": settings.to_dict(), "seed": settings.seed, "status": "assembling", "epochs_completed": 0,
        **record_header(devices=True), "started": started, "data": first.data, "history": [],
        "ensemble": {"members": [m.describe() | {"settings": m.settings} for m in members], "command": command},
    }
    with run_lock(run_dir.root, "ensemble"):
        write_json(run_dir.run_json, record)  # a run directory from the start: --force can replace a broken one
        net = ensemble_of([m.model for m in members], name)
        with atomic_path(run_dir.model) as tmp:
            net.save(tmp)
        metrics = evaluate_model(run_dir.model, data)
        metrics["params"] = int(net.count_params())
        write_json(run_dir.metrics, metrics)
        report.plot_confusion(np.array(metrics["confusion_matrix"]), data.class_names, run_dir.plots / "confusion.png")
        record.update(status="complete", params=metrics["params"], finished=utc_now(),
                      wall_time_s=round(time.monotonic() - clock, 2))
        write_json(run_dir.run_json, record)
    return Ensembled(run_dir.root, name, metrics, record["ensemble"]["members"])


def _task(task) -> str:
    dataset, shape, classes = task
    return f"{dataset} (input {tuple(shape)}, {len(classes)} classes)"
