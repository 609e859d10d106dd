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
    targets = distillation.add_soft_targets if distillation else None
    if settings.fresh_canvases:
        if garments is None:
            raise ValueError("fresh_canvases needs the garments to compose canvases from (RunData.garments)")
        train = make_fresh_closet_dataset(*garments, len(x_train), num_classes, settings.batch_size,
                                          augment=settings.augment, seed=settings.seed, first_epoch=first_epoch,
                                          targets=targets, photo_share=settings.photo_share,
                                          augment_each=settings.augment_garments)
    else:
        train = make_dataset(x_train, y_train, num_classes, settings.batch_size, augment=settings.augment,
                             shuffle=True, seed=settings.seed, device=device, targets=targets,
                             photo_share=settings.photo_share)
    train = distribute_options(train, distribution)
    val = distribute_options(make_dataset(x_val, y_val, num_classes, settings.batch_size, targets=targets),
                             distribution) if len(x_val) else None
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
    """Teacher models, the temperature and the share of the loss on their soft targets."""

    def __init__(self, teachers: list, temperature: float, weight: float, num_classes: int):
        self.teachers, self.temperature, self.weight, self.num_classes = teachers, temperature, weight, num_classes

    @classmethod
    def from_settings(cls, settings, data_record: dict, recorded: list[dict] | None = None
                      ) -> tuple["Distillation | None", list[dict]]:
        """The teachers `settings.teachers` names, each checked to be a complete run on the same data
        (`data_record`: run.json's "data" of the run being trained), and their records for run.json.
        `recorded`: the records a resumed run made at its start; a teacher changed since is refused."""
        if not settings.teachers:
            return None, []
        shape, classes = tuple(data_record["image_shape"]), data_record["classes"]
        models, records = [], []
        for given in settings.teachers:
            teacher = load_trained_run(given)
            if teacher.task != (data_record["dataset"], shape, classes):
                raise RunDirError(f"{given}: a teacher must be trained on the same data ({data_record['dataset']}, "
                                  f"{len(classes)} classes, input {shape}); it was trained on "
                                  f"{teacher.task[0]}, input {teacher.task[1]}")
            models.append(teacher.model)
            records.append(teacher.describe())
        for before, now in zip(recorded or [], records):
            if before["sha256"] != now["sha256"]:
                raise RunDirError(f"{now['run']}: the teacher's model.keras changed since this run started "
                                  f"(sha256 {before['sha256'][:12]}... then, {now['sha256'][:12]}... now)")
        return cls(models, settings.temperature, settings.distill_weight, len(classes)), records

    def add_soft_targets(self, x, y):
        """(x, y) -> (x, [y | the teachers' mean prediction at the temperature]); a tf.data map function."""
        tf = _tf.tf()
        soft = tf.add_n([_soften(teacher(x, training=False), self.temperature) for teacher in self.teachers])
        return x, tf.concat([y, soft / len(self.teachers)], axis=-1)

    def loss(self, label_smoothing: float = 0.0):
        return distillation_loss(self.num_classes, self.temperature, self.weight, label_smoothing)


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
