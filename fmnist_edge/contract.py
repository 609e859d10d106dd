"""The input contract every model of the project follows, written once.

Images travel as uint8 pixels (N, H, W[, 1]), a light garment on a dark background. Float models (Keras,
float .tflite, ONNX) take those pixels divided by 255, so in [0, 1]; integer models take the raw uint8
pixels (their input scale is 1/255 with zero point 0, so a camera's bytes go straight in). Training,
conversion, export checks, bench and the runtime all turn pixels into float inputs through `float_pixels`.
"""
from __future__ import annotations

import numpy as np

PIXEL_SCALE = 255.0  # float input = uint8 pixel / PIXEL_SCALE


def float_pixels(images: np.ndarray) -> np.ndarray:
    """uint8 pixels -> the float models' input: float32 in [0, 1], same shape."""
    return np.asarray(images).astype(np.float32) / PIXEL_SCALE


def scores(predicted: np.ndarray, labels: np.ndarray, class_names: list[str]) -> dict:
    """The one way a classifier is scored on a labelled set: top-1 accuracy, per-class accuracy (a class
    without images scores 0) and the confusion matrix (rows: true class, columns: predicted)."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    classes = len(class_names)
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    return {"accuracy": float((predicted == labels).mean()) if len(labels) else 0.0,
            "per_class_accuracy": {name: float(acc) for name, acc in zip(class_names, per_class)},
            "confusion_matrix": confusion.tolist()}
