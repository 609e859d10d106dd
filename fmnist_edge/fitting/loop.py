"""What every loop that fits a Keras model shares: training (`train`) and the fine-tuning of
`quantize` (QAT, pruning) build their input pipelines, optimizer, loss and precision policy here,
from the same settings, so a fine-tuned model sees exactly the data and objective it was trained on.
Knowledge distillation from teacher runs (`train --teacher`) is part of that objective, so it lives here.
"""
from __future__ import annotations

import contextlib
import functools

import numpy as np

from .. import _tf
from ..contract import float_pixels
from ..data.closet import PRICES, price_distribution
from ..data.fashion import FASHION_CLASSES, IMAGE_HW, load_fashion_mnist
from ..data.pipeline import make_dataset, make_fresh_closet_dataset
from .distribution import Distribution, distribute_options
from ..errors import RunDirError
from ..artifacts.keras_files import load_trained_run
from ..progress import Progress
from ..stopping import stop_requested


def make_optimizer(name: str, lr, weight_decay: float = 0.0):
    """A Keras optimizer by settings name ("adam", "rmsprop", "sgd", "sgdm": SGD with Nesterov momentum 0.9)
    with a rate or a schedule; a weight decay makes it decoupled (Keras applies var -= var * weight_decay * lr
    each step: Adam becomes AdamW)."""
    optimizers = _tf.keras().optimizers
    decay = weight_decay or None
    if name == "sgdm":
        return optimizers.SGD(lr, momentum=0.9, nesterov=True, weight_decay=decay)
    kind = {"adam": optimizers.Adam, "rmsprop": optimizers.RMSprop, "sgd": optimizers.SGD}[name]
    return kind(lr, weight_decay=decay)


@contextlib.contextmanager
def precision_policy(mixed: bool):
    """bf16 mixed precision on CPU (AVX-512 BF16), fp16 on GPU; restores float32 afterwards."""
    if not mixed:
        yield
        return
    keras, tf = _tf.keras(), _tf.tf()
    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    keras.mixed_precision.set_global_policy("mixed_float16" if on_gpu else "mixed_bfloat16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def fit_datasets(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, num_classes: int,
                 settings, distribution: Distribution, device: str | None = None,
                 distillation: "Distillation | None" = None, garments=None, first_epoch: int = 0):
    """(training batches, validation batches or None) as `settings` (a TrainSettings) says: its batch size,
    augmentation and seed; shuffled and augmented for training only; `device`: prefetch there (one GPU);
    `distillation`: the teachers' soft targets ride with the labels. With settings.fresh_canvases, the
    training batches are len(x_train) closet canvases composed anew each epoch from `garments` (images,
    labels), counting epochs from `first_epoch`."""
    by_garment = distillation is not None and distillation.garment_prices is not None
    targets = distillation.add_soft_targets if distillation and not by_garment else None
    if settings.fresh_canvases:
        if garments is None:
            raise ValueError("fresh_canvases needs the garments to compose canvases from (RunData.garments)")
        train = make_fresh_closet_dataset(*garments, len(x_train), num_classes, settings.batch_size,
                                          augment=settings.augment, seed=settings.seed, first_epoch=first_epoch,
                                          targets=targets, photo_share=settings.photo_share,
                                          augment_each=settings.augment_garments, max_shift=settings.max_shift,
                                          erase_area=settings.erase_area,
                                          price_targets=distillation.price_targets if by_garment else None)
    else:
        train = make_dataset(x_train, y_train, num_classes, settings.batch_size, augment=settings.augment,
                             shuffle=True, seed=settings.seed, device=device, targets=targets,
                             photo_share=settings.photo_share, max_shift=settings.max_shift,
                             erase_area=settings.erase_area)
    train = distribute_options(train, distribution)
    val_soft = distillation.val_targets[:len(x_val)] if by_garment else None
    val = distribute_options(make_dataset(x_val, y_val, num_classes, settings.batch_size, targets=targets,
                                          soft_targets=val_soft), distribution) if len(x_val) else None
    return train, val


def compile_classifier(model, optimizer, label_smoothing: float = 0.0, distillation: "Distillation | None" = None,
                       steps_per_execution: int = 1) -> None:
    """The one objective: categorical cross-entropy (with the run's label smoothing) and accuracy; with
    `distillation`, its loss and an accuracy that reads the labels' half of y."""
    keras = _tf.keras()
    if distillation:
        loss, metric = distillation.loss(label_smoothing), label_accuracy(distillation.num_classes)
    else:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
        metric = keras.metrics.CategoricalAccuracy(name="accuracy")
    model.compile(optimizer=optimizer, loss=loss, metrics=[metric], steps_per_execution=steps_per_execution)


# Knowledge distillation (Hinton et al. 2015, "Distilling the knowledge in a neural network").
# The teachers run inside the input pipeline, on the very batch the model sees (augmented alike), and
# their averaged soft predictions travel with the labels: y becomes [one-hot labels | soft targets].
# So the model, its saved file, its checkpoints and resume are exactly those of plain training; only
# the loss and the accuracy metric know that y is two halves.

class Distillation:
    """Teacher models, the temperature and the share of the loss on their soft targets.

    Garment teachers: a closet run on fresh canvases may be taught by 28x28 Fashion-MNIST runs instead of
    closet runs. They name every garment a canvas holds, where it was pasted, and the soft target is the
    total price those names imply (closet.price_distribution): the per-garment ceiling as a teacher. Its
    targets are computed ahead, per garment, so `garment_prices` (each training garment's distribution over
    the priced classes) and `val_targets` (the validation canvases' soft targets) replace the map function."""

    def __init__(self, teachers: list, temperature: float, weight: float, num_classes: int,
                 garment_prices: np.ndarray | None = None, val_targets: np.ndarray | None = None):
        self.teachers, self.temperature, self.weight, self.num_classes = teachers, temperature, weight, num_classes
        self.garment_prices, self.val_targets = garment_prices, val_targets

    @classmethod
    def from_settings(cls, settings, data_record: dict, recorded: list[dict] | None = None, view=None
                      ) -> tuple["Distillation | None", list[dict]]:
        """The teachers `settings.teachers` names, each checked to be a complete run on the same data
        (`data_record`: run.json's "data" of the run being trained) or, for a closet run, all of them 28x28
        garment runs (garment teachers, which need the run's data: `view`, a RunData), and their records for
        run.json. `recorded`: the records a resumed run made at its start; a teacher changed since is refused."""
        if not settings.teachers:
            return None, []
        shape, classes = tuple(data_record["image_shape"]), data_record["classes"]
        loaded = [load_trained_run(given) for given in settings.teachers]
        garment_task = ("fashion", (*IMAGE_HW, 1), list(FASHION_CLASSES))
        by_garment = data_record["dataset"] == "closet" and all(t.task == garment_task for t in loaded)
        for teacher in loaded:
            if teacher.task != (data_record["dataset"], shape, classes) and not by_garment:
                also = (" or, for a closet run, all of them on 28x28 Fashion-MNIST (garment teachers)"
                        if data_record["dataset"] == "closet" else "")
                raise RunDirError(f"{teacher.path}: a teacher must be trained on the same data ({data_record['dataset']}, "
                                  f"{len(classes)} classes, input {shape}){also}; it was trained on "
                                  f"{teacher.task[0]}, input {teacher.task[1]}")
        records = [teacher.describe() for teacher in loaded]
        for before, now in zip(recorded or [], records):
            if before["sha256"] != now["sha256"]:
                raise RunDirError(f"{now['run']}: the teacher's model.keras changed since this run started "
                                  f"(sha256 {before['sha256'][:12]}... then, {now['sha256'][:12]}... now)")
        models = [teacher.model for teacher in loaded]
        if not by_garment:
            return cls(models, settings.temperature, settings.distill_weight, len(classes)), records
        if not settings.fresh_canvases or settings.val_source != "held-out":
            raise RunDirError(f"{loaded[0].path}: a garment teacher prices the garments each canvas holds, which only "
                              f"canvases composed during training (--fresh-canvases) and the held-out validation "
                              f"canvases (--val-source held-out) record")
        garments, labels = view.garments
        priced = np.isin(labels, list(PRICES))
        prices = np.zeros((len(labels), len(PRICES)))
        prices[priced] = _garment_prices(models, garments[priced])
        # the validation canvases' garments: meta "val_items" indexes the Fashion-MNIST training split
        items = view.data.meta["val_items"]
        held = np.unique(items[items >= 0])
        held_prices = _garment_prices(models, load_fashion_mnist().x_train[held])
        val_prices = price_distribution(held_prices, np.where(items >= 0, np.searchsorted(held, items), -1))
        return cls(models, settings.temperature, settings.distill_weight, len(classes), prices,
                   soften_distribution(val_prices, settings.temperature)), records

    def price_targets(self, items: np.ndarray) -> np.ndarray:
        """Garment teachers: the soft targets of canvases holding `items` ((B, MAX_ITEMS) indices into the
        training garments, -1 padded), at the temperature."""
        return soften_distribution(price_distribution(self.garment_prices, items), self.temperature)

    def add_soft_targets(self, x, y):
        """(x, y) -> (x, [y | the teachers' mean prediction at the temperature]); a tf.data map function."""
        tf = _tf.tf()
        soft = tf.add_n([_soften(teacher(x, training=False), self.temperature) for teacher in self.teachers])
        return x, tf.concat([y, soft / len(self.teachers)], axis=-1)

    def loss(self, label_smoothing: float = 0.0):
        return distillation_loss(self.num_classes, self.temperature, self.weight, label_smoothing)


def _garment_prices(models: list, garments: np.ndarray) -> np.ndarray:
    """The teachers' mean belief about each 28x28 garment's class, among the priced classes only (a canvas
    holds no other), rows summing to 1: (len(garments), len(PRICES))."""
    probs = np.mean([model.predict(float_pixels(garments[..., None]), batch_size=512, verbose=0)
                     for model in models], axis=0)[:, sorted(PRICES)]
    return probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)


def soften_distribution(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """numpy's _soften: softmax(log p / T) per row."""
    log_p = np.log(np.maximum(probabilities, 1e-12)) / temperature
    e = np.exp(log_p - log_p.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _soften(probabilities, temperature: float):
    """softmax(logits / T) from softmax(logits): log p differs from the logits by a constant per row."""
    tf = _tf.tf()
    log_p = tf.math.log(tf.maximum(tf.cast(probabilities, tf.float32), 1e-12))
    return tf.nn.softmax(log_p / temperature, axis=-1)


def distillation_loss(num_classes: int, temperature: float, weight: float, label_smoothing: float = 0.0):
    """(1 - weight) x cross-entropy with the labels + weight x T^2 x KL(teachers' soft targets || the model's
    output at T), y being [labels | soft targets]. T^2 keeps the soft term's gradients the size of the hard
    term's whatever T (Hinton et al.)."""
    return _keras_classes()[0](num_classes, temperature, weight, label_smoothing)


def label_accuracy(num_classes: int):
    """Categorical accuracy against the first `num_classes` columns of y (the labels, without soft targets)."""
    return _keras_classes()[1](num_classes)


@functools.cache
def _keras_classes():
    """The loss and metric classes, made on first use: subclassing Keras at import time would import
    TensorFlow, which the deploy-only install (predict, the zoo) leaves out."""
    keras = _tf.keras()
    serializable = keras.saving.register_keras_serializable(package="fmnist_edge")

    @serializable
    class DistillationLoss(keras.losses.Loss):
        def __init__(self, num_classes: int, temperature: float, weight: float, label_smoothing: float = 0.0,
                     name: str = "distillation", **kwargs):
            super().__init__(name=name, **kwargs)
            self.num_classes, self.temperature, self.weight = num_classes, temperature, weight
            self.label_smoothing = label_smoothing

        def call(self, y_true, y_pred):
            tf = _tf.tf()
            labels, soft_targets = y_true[:, :self.num_classes], y_true[:, self.num_classes:]
            y_pred = tf.cast(y_pred, tf.float32)
            hard = keras.losses.categorical_crossentropy(labels, y_pred, label_smoothing=self.label_smoothing)
            log_student = tf.nn.log_softmax(tf.math.log(tf.maximum(y_pred, 1e-12)) / self.temperature, axis=-1)
            log_teacher = tf.math.log(tf.maximum(soft_targets, 1e-12))
            kl = tf.reduce_sum(soft_targets * (log_teacher - log_student), axis=-1)
            return (1.0 - self.weight) * hard + self.weight * self.temperature ** 2 * kl

        def get_config(self):
            return {**super().get_config(), "num_classes": self.num_classes, "temperature": self.temperature,
                    "weight": self.weight, "label_smoothing": self.label_smoothing}

    @serializable
    class LabelAccuracy(keras.metrics.MeanMetricWrapper):
        def __init__(self, num_classes: int, name: str = "accuracy", dtype=None):
            super().__init__(_label_accuracy, name=name, dtype=dtype, num_classes=num_classes)
            self.num_classes = num_classes

        def get_config(self):
            return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype}

    return DistillationLoss, LabelAccuracy


def epoch_progress(progress: Progress, epochs: int, steps: int, describe=None):
    """A Keras callback that shows a bar within each epoch (on a terminal) and prints one line at its end.

    describe(epoch, logs) -> str makes the line (default: the epoch's losses and accuracies); it runs after
    every callback listed before this one, so it can report what they recorded. Keras calls the batch hooks
    once per `steps_per_execution` steps, with the batch index of the last step, so the bar moves in
    those strides; without a bar the callback has no batch hook at all, so a logged run pays nothing per
    step. Call its `close()` when fit raises (Ctrl-C): Keras ends no callback then.
    """
    keras = _tf.keras()

    class EpochLines(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self._task = None

        def on_epoch_end(self, epoch, logs=None):
            self.close()
            progress.line(describe(epoch, logs or {}) if describe else _epoch_line(epoch, epochs, logs or {}))

        def on_train_end(self, logs=None):
            self.close()  # an interrupted epoch's bar goes too

        def close(self):
            if self._task is not None:
                self._task.close()
                self._task = None

    class EpochBar(EpochLines):
        # The bar reads no logs: Keras need not copy them back from the runtime at every batch hook.
        _supports_tf_logs = True

        def on_epoch_begin(self, epoch, logs=None):
            self._task = progress.open_task(f"epoch {epoch + 1}/{epochs}", steps)

        def on_train_batch_end(self, batch, logs=None):
            if self._task is not None:
                self._task.advance_to(batch + 1)

        def on_test_begin(self, logs=None):
            if self._task is not None:
                self._task.start("validating")

    return EpochBar() if progress.mode == "bar" else EpochLines()


def stop_when_asked():
    """A Keras callback that raises KeyboardInterrupt at the next step once Ctrl-C or `kill` has asked
    for a stop, even if the KeyboardInterrupt the signal raised was lost in a finaliser (see stopping)."""
    keras = _tf.keras()

    class StopWhenAsked(keras.callbacks.Callback):
        _supports_tf_logs = True  # it reads no logs: Keras need not copy them back at every hook

        def _check(self, *args, **kwargs):
            if stop_requested():
                raise KeyboardInterrupt

        on_train_begin = on_train_batch_end = on_test_batch_end = on_epoch_end = _check

    return StopWhenAsked()


def _epoch_line(epoch: int, epochs: int, logs: dict) -> str:
    scores = "  ".join(f"{k} {float(logs[k]):.4f}" for k in ("loss", "accuracy", "val_loss", "val_accuracy") if k in logs)
    return f"epoch {epoch + 1}/{epochs}  {scores}"


def _label_accuracy(y_true, y_pred, num_classes):
    return _tf.keras().metrics.categorical_accuracy(y_true[:, :num_classes], y_pred)
