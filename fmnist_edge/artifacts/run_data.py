"""A run opened one way for every stage that reads one: its record and settings, its data (the dataset
its settings name, with its --limit, split into training and validation images by its --val-split and
--seed), the calibration images post-training quantization sets int8 ranges from (the first of the
training part, so quantize and export calibrate on the very same images), and its model loaders.

    run = open_run("runs/q")                  # a finished run (allow_incomplete=True: its best so far)
    run.settings, run.record, run.metrics
    run.view.x_train, run.view.x_val, run.data.x_test
    run.calibration()                         # CALIBRATION_IMAGES training images
    run.float_model()                         # its best model, in float32 compute

`train` opens a new run's data with `open_run_data(settings)`, the same view without a run directory.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data.closet import load_dataset, training_garments
from ..data.fashion import Dataset, load_fashion_mnist, split_train_val
from ..errors import DataError
from ..files import read_json
from ..settings import CALIBRATION_IMAGES, TrainSettings
from .rundir import RunDir


@dataclass(frozen=True)
class RunData:
    data: Dataset  # the whole dataset (after --limit): its test set scores every stage
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    # --fresh-canvases: the garments every epoch's new training canvases are composed from (images, labels)
    garments: tuple[np.ndarray, np.ndarray] | None = None

    def calibration(self, count: int = CALIBRATION_IMAGES) -> np.ndarray:
        """The first `count` training images (never validation or test images)."""
        return self.x_train[:count]


def open_run_data(settings) -> RunData:
    """The data of the run whose TrainSettings these are, as it was trained on: validation split off the
    training images (--val-source split) or the dataset's own held-out set (--val-source held-out)."""
    data = load_dataset(settings.dataset, settings.data_dir)
    if settings.limit:
        data = data.limit(settings.limit)
    garments = None
    if settings.fresh_canvases:  # the Fashion-MNIST of the standard search path: --data-dir names the closet
        garments = training_garments(data, load_fashion_mnist())
    if settings.val_source == "held-out":
        if data.x_val is None:
            raise DataError(f"--val-source held-out: {data.source} has no validation set of its own; make one with "
                            f"fmnist-edge data closet --n-val 6000 --out DIR, then --data-dir DIR")
        return RunData(data, data.x_train, data.y_train, data.x_val, data.y_val, garments)
    return RunData(data, *split_train_val(data.x_train, data.y_train, settings.val_split, settings.seed), garments)


@dataclass
class OpenedRun:
    """A finished run as every stage reads it (see the module's text)."""

    run_dir: RunDir
    record: dict[str, Any]
    settings: TrainSettings
    view: RunData
    metrics: dict[str, Any] = field(default_factory=dict)  # metrics.json, {} before the run was scored

    @property
    def data(self) -> Dataset:
        return self.view.data

    @property
    def model_path(self) -> Path:
        return self.run_dir.require_model()

    def calibration(self, count: int = CALIBRATION_IMAGES) -> np.ndarray:
        return self.view.calibration(count)

    def float_model(self, path: str | Path | None = None):
        """The run's best model (or the model file `path` of the same architecture, such as a pruned
        variant), loaded without running code stored in it, in float32 compute."""
        from .keras_files import load_float32_model

        return load_float32_model(path or self.model_path, self.settings.model, self.data.image_shape,
                                  self.data.num_classes)


def open_run(path: str | Path, allow_incomplete: bool = False) -> OpenedRun:
    """The run directory `path` opened for a stage: RunDirError when it is unfinished (unless allowed) or
    its run.json is damaged; DataError when its data cannot be read."""
    run_dir = RunDir(Path(path))
    record = run_dir.read_finished_run(allow_incomplete)
    settings = TrainSettings.from_dict(record["settings"])
    metrics = read_json(run_dir.metrics) if run_dir.metrics.exists() else {}
    return OpenedRun(run_dir, record, settings, open_run_data(settings), metrics)
