"""Weight averaging over the last epochs of a run (stochastic weight averaging, Izmailov et al. 2018,
"Averaging weights leads to wider optima and better generalization").

Each epoch of the averaging window leaves its weights in the run directory as one file (`epoch_NNN.npz`,
plain arrays, read back without pickle), written before Keras' own checkpoint: an epoch that a resumed run
repeats simply writes its file again, so the average never counts an epoch twice or misses one. At the end
the files are averaged, and batch normalisation's statistics, which an average of weights no longer
matches, are measured again over one pass of the training batches (the SWA paper's `bn_update`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import _tf
from ..errors import RunDirError
from ..files import atomic_path


def snapshot_path(folder: Path, epoch: int) -> Path:
    """The file that holds the weights after `epoch` (1-based)."""
    return folder / f"epoch_{epoch:03d}.npz"


def snapshot_callback(folder: Path, first_epoch: int):
    """A Keras callback that writes the model's weights after every epoch from `first_epoch` (1-based) on."""
    keras = _tf.keras()

    class Snapshots(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 < first_epoch:
                return
            with atomic_path(snapshot_path(folder, epoch + 1)) as tmp:
                # one array per weight, in the model's order (BN's moving statistics included)
                np.savez(tmp, *self.model.get_weights())

    return Snapshots()


def averaged_weights(folder: Path, epochs: range, like: list[np.ndarray]) -> list[np.ndarray]:
    """The mean of the snapshots of `epochs`, each checked against the model's weights `like` (count and
    shapes): a damaged or foreign file is refused with one line, never loaded as code."""
    total = [np.zeros_like(w, dtype=np.float64) for w in like]
    for epoch in epochs:
        path = snapshot_path(folder, epoch)
        if not path.exists():
            raise RunDirError(f"{path}: missing: the weights of epoch {epoch} are needed for the average")
        try:
            with np.load(path, allow_pickle=False) as arrays:
                weights = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
        except (OSError, ValueError, KeyError) as exc:
            raise RunDirError(f"{path}: not a weights file this run wrote ({exc})") from None
        if [w.shape for w in weights] != [w.shape for w in like]:
            raise RunDirError(f"{path}: its {len(weights)} arrays do not match the model's {len(like)} weights")
        for acc, w in zip(total, weights):
            acc += w
    return [(acc / len(epochs)).astype(w.dtype) for acc, w in zip(total, like)]


def reestimate_batch_norm(model, batches) -> int:
    """Measure every BatchNormalization layer's moving mean and variance again over `batches` (x, y) in
    training mode, no weight changing; returns the number of batches. Keras' moving averages (momentum
    0.99) forget the starting values within one epoch of batches (0.99 ** 400 < 2%)."""
    tf = _tf.tf()

    @tf.function
    def forward(x):
        model(x, training=True)  # updates the moving statistics only: no gradient is taken

    count = 0
    for x, _ in batches:
        forward(x)
        count += 1
    return count
