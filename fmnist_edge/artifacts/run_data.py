"""A run's view of its data, opened one way for every stage: the dataset its settings name, with its
--limit, split into training and validation images by its --val-split and --seed, and the calibration
images post-training quantization sets int8 ranges from (the first of the training part), so quantize
and export calibrate on the very same images.

    view = open_run_data(settings)            # settings: a run's TrainSettings
    view.x_train, view.x_val, view.data.x_test
    view.calibration()                        # CALIBRATION_IMAGES training images
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..settings import CALIBRATION_IMAGES
from ..data.closet import load_dataset
from ..data.fashion import Dataset, split_train_val


@dataclass(frozen=True)
class RunData:
    data: Dataset  # the whole dataset (after --limit): its test set scores every stage
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray

    def calibration(self, count: int = CALIBRATION_IMAGES) -> np.ndarray:
        """The first `count` training images (never validation or test images)."""
        return self.x_train[:count]


def open_run_data(settings) -> RunData:
    """The data of the run whose TrainSettings these are, as it was trained on."""
    data = load_dataset(settings.dataset, settings.data_dir)
    if settings.limit:
        data = data.limit(settings.limit)
    return RunData(data, *split_train_val(data.x_train, data.y_train, settings.val_split, settings.seed))
