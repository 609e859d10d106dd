"""Training: settings in, a run directory out.

    run = fmnist_edge.train("vgg198k", epochs=30, out="runs/vgg")
    print(run.metrics["test_accuracy"])

Keras' own `BackupAndRestore` keeps the last complete epoch (weights, optimizer state,
epoch counter) in `checkpoints/`, so a killed or interrupted run continues with
`resume=True` and ends at the same epoch count. The best model on validation is
written to `model.keras` after every improving epoch; the 10k test set is only read
once, at the end, to score that model.

Importing this module loads TensorFlow (through `_tf`); the CLI and the package facade
import it only when training is asked for.
"""
from __future__ import annotations

import contextlib
import errno
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import _tf
from ..artifacts import plots as report
from ..data import Dataset
from ..artifacts.run_data import RunData, open_run_data
from ..fitting.distribution import Distribution, make_distribution
from ..models import build_model, get_model_info
from ..fitting.averaging import averaged_weights, reestimate_batch_norm, snapshot_callback
from ..fitting.loop import (Distillation, compile_classifier, epoch_progress, fit_datasets, make_optimizer,
                             precision_policy, stop_when_asked)
from ..artifacts.keras_files import evaluate_model, load_trained_run
from ..contract import float_pixels, scores
from ..errors import FmnistEdgeError, InterruptedRunError, RunDirError, TrainingError, one_line
from ..artifacts.provenance import record_header, utc_now
from ..progress import Progress
from ..artifacts.rundir import RunDir, open_run_for_resume, prepare_new_run, run_lock
from ..files import atomic_path, read_json, write_csv, write_json
from ..settings import TrainSettings, resolve_settings


@dataclass(frozen=True)
class Run:
    """A trained run directory: its settings, its record (run.json) and its test metrics."""

    path: Path
    settings: TrainSettings
    record: dict[str, Any]
    metrics: dict[str, Any]

    @property
    def model_path(self) -> Path:
        return RunDir(self.path).model

    @classmethod
    def load(cls, path: str | Path) -> "Run":
        run_dir = RunDir(Path(path))
        record = run_dir.read_run()
        metrics = read_json(run_dir.metrics) if run_dir.metrics.exists() else {}
        return cls(run_dir.root, TrainSettings.from_dict(record["settings"]), record, metrics)

    def summary(self) -> str:
        """One line: model, test accuracy, params, time and throughput, where it is."""
        m, r = self.metrics, self.record
        best = r.get("best") or {}
        kind = "val" if best.get("monitor", "val_accuracy") == "val_accuracy" else "train (no validation split)"
        return (
            f"{self.settings.model}: test accuracy {100 * m['test_accuracy']:.2f}% "
            f"(best {kind} {100 * best.get('val_accuracy', float('nan')):.2f}% at epoch {best.get('epoch')}), "
            f"{m['params']:,} params, {r['epochs_completed']} epochs in {_duration(r['wall_time_s'])}, "
            f"{r['train_images_per_s']:.0f} img/s -> {self.path}"
        )


def train(
    model: str | None = None,
    out: str | Path | None = None,
    *,
    recipe: str = TrainSettings.recipe,
    resume: bool = False,
    finish: bool = False,
    force: bool = False,
    progress: "str | Progress" = "auto",
    strategy: str = "auto",
    devices: list[str] | None = None,
    logical_cpus: int | None = None,
    scale_lr: bool = False,
    **overrides: Any,
) -> Run:
    """Train a zoo model and write its run directory.

    Args:
        model: registry name (see `fmnist-edge models`); default vgg198k.
        out: run directory; default runs/<model>. Refused if it exists, unless `force`.
        recipe: "best" (our defaults) or "paper" (the model's published set-up).
        resume: continue the interrupted run in `out` with its saved settings.
        finish: with `resume`, end the run at its last complete epoch instead: its best model so far is
            scored on the test set and the run is marked complete (run.json's "ended_early" says when).
        progress: "auto" (a bar within each epoch on a terminal, a line per epoch otherwise), "bar",
            "lines", "none", or a `Progress`.
        strategy, devices, logical_cpus, scale_lr: how to distribute (see fitting/distribution.py); the batch
            size stays the global one. Not settings of the run: a resumed run may use other devices.
        **overrides: any `TrainSettings` field (epochs=3, lr=3e-4, augment="strong", ...).

    Example:
        >>> run = train("vgg198k", epochs=30, mixed_precision=True, out="runs/vgg")
        >>> print(run.summary())   # "vgg198k: test accuracy 93.15% (best val 94.28% at epoch 24), ..."
    """
    progress = Progress.of(progress)
    overrides = {k: (None if v == () else v) for k, v in overrides.items()}  # an empty --teacher list: not given
    # First, before anything starts TensorFlow's runtime: a logical CPU split must precede it.
    distribution = make_distribution(strategy, devices, logical_cpus)
    if finish and not resume:
        raise FmnistEdgeError("--finish ends an interrupted run: give it with --resume --out RUN_DIR")
    if resume:
        if out is None:
            raise FmnistEdgeError("--resume needs --out RUN_DIR (the run to continue)")
        given = sorted(k for k, v in overrides.items() if v is not None)
        if given or model is not None:
            options = ", ".join(f"--{k.replace('_', '-')}" for k in (["model"] if model else []) + given)
            raise FmnistEdgeError(f"--resume continues with the run's saved settings; drop {options}")
        run_dir = open_run_for_resume(out)  # workers read it too; only the chief writes it
        record = run_dir.read_run()
        settings = TrainSettings.from_dict(record["settings"])
        if record.get("status") == "complete":
            raise RunDirError(f"{run_dir.root}: run already complete ({record['epochs_completed']} epochs); nothing to resume")
        if record.get("status") == "diverged":
            raise RunDirError(f"{run_dir.root}: run diverged (NaN loss); its last checkpoint is unusable: train again with a lower --lr")
        view = open_run_data(settings)
    else:
        settings = resolve_settings(model or TrainSettings.model, recipe, **overrides)
        get_model_info(settings.model)  # an unknown name, like bad data, fails before any directory exists
        view = open_run_data(settings)
        record = _new_record(settings)
    data = view.data
    distillation, initial_weights = None, None
    if not finish:  # ending a run trains nothing: its teachers, start weights and devices stay as recorded
        # Teachers are checked before a new run's directory exists; a resumed run insists on the very same files.
        distillation, teachers = Distillation.from_settings(
            settings, {"dataset": settings.dataset, "image_shape": list(data.image_shape),
                       "classes": list(data.class_names)}, record.get("teachers"), view)
        if teachers:
            record["teachers"] = teachers  # which files taught it, by sha256, with their test accuracy
        if settings.init:  # checked before a new run's directory exists; a resumed run insists on the same file
            initial_weights, record["init"] = _initial_weights(settings, data, record.get("init"))
        elif settings.backbone:
            initial_weights, record["backbone"] = _backbone_weights(settings, data, record.get("backbone"))
        record["distribution"] = distribution.describe() | {"scale_lr": scale_lr}
    if not resume:
        root = Path(out) if out else Path("runs") / settings.model
        reads = {"--init": [settings.init] if settings.init else [], "--teacher": list(settings.teachers),
                 "--backbone": [settings.backbone] if settings.backbone else []}
        run_dir = prepare_new_run(root, force, reads=reads) if distribution.is_chief else RunDir(root)
    # The chief writes the run, and holds its lock.
    lock = run_lock(run_dir.root, "train") if distribution.is_chief else contextlib.nullcontext()
    with lock:
        trainer = _Trainer(settings, run_dir, record, view, progress, distribution, scale_lr, distillation,
                           initial_weights)
        return trainer.end_early() if finish else trainer.run()


def _is_storage_error(exc: BaseException) -> bool:
    """A write the machine refused for lack of room or a lost disk, as Python or TensorFlow reports it."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO)
    return "No space left on device" in str(exc) or "Disk quota exceeded" in str(exc)


def _initial_weights(settings: TrainSettings, data: Dataset, recorded: dict | None):
    """(the weights of the run `settings.init` names, its record for run.json); the run must be complete and
    of the same model and data; a resumed run refuses one whose model file changed since it started."""
    start = load_trained_run(settings.init)
    if start.model_name != settings.model:
        raise RunDirError(f"{settings.init}: --init needs a run of the same model ({settings.model}); it is a "
                          f"{start.model_name} run")
    task = (settings.dataset, tuple(data.image_shape), list(data.class_names))
    if start.task != task:
        raise RunDirError(f"{settings.init}: --init needs a run on the same data ({settings.dataset}, input "
                          f"{task[1]}); it was trained on {start.task[0]}, input {start.task[1]}")
    if recorded and recorded["sha256"] != start.sha256:
        raise RunDirError(f"{settings.init}: its model.keras changed since this run started (sha256 "
                          f"{recorded['sha256'][:12]}... then, {start.sha256[:12]}... now)")
    return start.model.get_weights(), start.describe()


def _backbone_weights(settings: TrainSettings, data: Dataset, recorded: dict | None):
    """({layer name: weights} of every layer the run `settings.backbone` names shares with this model by name
    and weight shapes, its record for run.json with those names); the run must be complete and share at least
    one layer; a resumed run refuses one whose model file changed since it started."""
    start = load_trained_run(settings.backbone)
    if start.task[1][-1] != data.image_shape[-1]:
        raise RunDirError(f"{settings.backbone}: --backbone needs a run on {data.image_shape[-1]}-channel images; it "
                          f"was trained on input {start.task[1]}")
    if recorded and recorded["sha256"] != start.sha256:
        raise RunDirError(f"{settings.backbone}: its model.keras changed since this run started (sha256 "
                          f"{recorded['sha256'][:12]}... then, {start.sha256[:12]}... now)")
    # the shapes of this model's layers, from a throwaway build (the weights are built again in the trainer)
    shapes = {layer.name: [tuple(w.shape) for w in layer.weights]
              for layer in build_model(settings.model, data.image_shape, data.num_classes).layers if layer.weights}
    shared = {layer.name: layer.get_weights() for layer in start.model.layers
              if layer.weights and shapes.get(layer.name) == [tuple(w.shape) for w in layer.weights]}
    if not shared:
        raise RunDirError(f"{settings.backbone}: its {start.model_name} model shares no layer (same name and weight "
                          f"shapes) with {settings.model}; --backbone would start nothing from it")
    return shared, start.describe() | {"layers": sorted(shared), "fresh": sorted(set(shapes) - set(shared))}


# Training steps per call of the compiled training function. Keras pays its per-step Python work
# (callback hooks, reading the logs back from the runtime) once per call, so no callback here works per
# batch either: a NaN loss is caught at the end of its epoch. vgg-a, bf16, 5 rounds against a plain
# tf_keras script: 1.25x at 16, 1.16x at 1 (README, "Training throughput"; benchmarks/train_throughput.py).
STEPS_PER_EXECUTION = 16


class _Trainer:
    def __init__(self, settings: TrainSettings, run_dir: RunDir, record: dict, view: RunData, progress: Progress,
                 distribution: Distribution, scale_lr: bool = False, distillation: Distillation | None = None,
                 initial_weights: list | dict | None = None):
        # the run's data as every stage opens it: its --limit, its split (artifacts/run_data.py)
        self.settings, self.run_dir, self.record, self.view = settings, run_dir, record, view
        self.data = view.data if view is not None else None
        self.distribution, self.scale_lr, self.distillation = distribution, scale_lr, distillation
        # --init: a finished run's weights (a list); --backbone: some layers' ({name: weights}); a resume's
        # checkpoint overrides either
        self.initial_weights = initial_weights
        # one voice per job: the chief's
        self.progress = Progress.of(progress) if distribution.is_chief else Progress("none")

    def run(self) -> Run:
        s, keras = self.settings, _tf.keras()
        x_train, y_train, x_val, y_val = self.view.x_train, self.view.y_train, self.view.x_val, self.view.y_val
        self.record["data"] = {
            "dataset": s.dataset, "source": self.data.source, "image_shape": list(self.data.image_shape),
            "classes": list(self.data.class_names), "train": len(x_train), "val": len(x_val), "test": len(self.data.x_test),
        }
        keras.utils.set_random_seed(s.seed)
        dist = self.distribution
        # One GPU: batches are prefetched onto it. Several devices: the strategy distributes them itself.
        device = "/gpu:0" if dist.name == "one" and _tf.tf().config.list_physical_devices("GPU") else None
        # a resumed run's fresh canvases continue with the next epoch's draw
        train_ds, val_ds = fit_datasets(x_train, y_train, x_val, y_val, self.data.num_classes, s, dist, device,
                                        self.distillation, garments=self.view.garments,
                                        first_epoch=self.record.get("epochs_completed", 0))
        steps_per_epoch = math.ceil(len(x_train) / s.batch_size)
        lr_scale = dist.replicas if self.scale_lr else 1

        with precision_policy(s.mixed_precision), dist.strategy.scope():
            net = build_model(s.model, self.data.image_shape, self.data.num_classes)
            if isinstance(self.initial_weights, dict):
                for name, weights in self.initial_weights.items():
                    net.get_layer(name).set_weights(weights)
            elif self.initial_weights is not None:
                net.set_weights(self.initial_weights)
            optimizer = _optimizer(s, steps_per_epoch, lr_scale)
            if s.weight_decay:  # kernels only: decaying BN scales and biases only fights the normalisation
                optimizer.exclude_from_weight_decay(var_list=[v for v in net.trainable_variables if len(v.shape) <= 1])
            compile_classifier(net, optimizer, s.label_smoothing, self.distillation, STEPS_PER_EXECUTION)
            recorder = _RunRecorder(self, len(x_train), has_validation=val_ds is not None)
            shown = epoch_progress(self.progress, s.epochs, steps_per_epoch, describe=recorder.describe)
            callbacks = [
                # The recorder writes history and the best model before the checkpoint is taken:
                # a kill between the two only repeats that epoch on resume.
                recorder,
                keras.callbacks.BackupAndRestore(str(self.run_dir.checkpoints), delete_checkpoint=False),
                shown,  # after the recorder: its line reports the epoch the recorder has just kept
                stop_when_asked(),
            ]
            if s.average_last:  # before the checkpoint, as the best model: a repeated epoch rewrites its file
                callbacks.insert(1, snapshot_callback(self._snapshots, s.epochs - s.average_last + 1))
            if s.early_stopping and val_ds is not None:
                callbacks.append(keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max",
                                                               patience=s.early_stopping))
            self.record["params"] = int(net.count_params())
            self.record["status"] = "running"
            self._save_record()
            try:
                net.fit(train_ds, validation_data=val_ds, epochs=s.epochs, callbacks=callbacks, verbose=0)
            except KeyboardInterrupt:
                shown.close()
                recorder.account_time()
                self.record["status"] = "interrupted"
                self._save_record()
                raise InterruptedRunError(
                    f"interrupted after {self.record['epochs_completed']} complete epochs; continue with: "
                    f"fmnist-edge train --resume --out {self.run_dir.root}", ) from None
            except (OSError, _tf.tf().errors.OpError) as exc:
                if _is_storage_error(exc):  # the disk filled up (or went away) while an epoch was being saved
                    recorder.account_time()
                    self._stop("interrupted")
                    raise TrainingError(
                        f"{self.run_dir.root}: cannot write the run ({one_line(exc)[:160]}); stopped after "
                        f"{self.record['epochs_completed']} complete epochs. Free some space, then continue with: "
                        f"fmnist-edge train --resume --out {self.run_dir.root}") from None
                if isinstance(exc, OSError) or dist.name != "multi-worker":
                    raise
                # A peer died (UNAVAILABLE, ABORTED, ...): the whole job must restart from the last checkpoint.
                recorder.account_time()
                self.record["status"] = "interrupted"
                self._save_record()
                raise TrainingError(
                    f"the multi-worker job lost a worker after {self.record['epochs_completed']} complete epochs "
                    f"({type(exc).__name__}); start every worker again with: fmnist-edge train --resume --strategy "
                    f"multi-worker --out {self.run_dir.root}") from None
            recorder.account_time()

        if not dist.is_chief:  # the chief scores and records the run
            return Run(self.run_dir.root, s, self.record, {})
        if recorder.diverged_epoch is not None:
            self.record["status"] = "diverged"
            self._save_record()
            kept = (f"best model (val accuracy {100 * self.record['best']['val_accuracy']:.2f}% at epoch "
                    f"{self.record['best']['epoch']}) kept in {self.run_dir.model}") if self.record.get("best") else "no model was kept"
            raise TrainingError(f"loss became NaN in epoch {recorder.diverged_epoch}: training stopped; {kept}. "
                                f"Try a lower --lr.")
        try:
            return self._complete()
        except KeyboardInterrupt:
            self._stop("interrupted")
            raise InterruptedRunError(f"interrupted while scoring the best model; every epoch is saved: finish with: "
                                      f"fmnist-edge train --resume --out {self.run_dir.root}") from None
        except OSError as exc:
            if not _is_storage_error(exc):
                raise
            self._stop("interrupted")
            raise TrainingError(f"{self.run_dir.root}: cannot write the run's results ({one_line(exc)[:160]}); every "
                                f"epoch is saved: free some space, then finish with: fmnist-edge train --resume "
                                f"--out {self.run_dir.root}") from None

    def _stop(self, status: str) -> None:
        """Mark the run `status` (best effort: on a full disk run.json may not take it; a resume reads the
        lock, not the status, to know that no process is writing the run)."""
        self.record["status"] = status
        try:
            self._save_record()
        except OSError:
            pass

    def end_early(self) -> Run:
        """--finish: end an interrupted run at its last complete epoch, without training any further."""
        self.record["ended_early"] = {"after_epoch": self.record.get("epochs_completed", 0),
                                      "of": self.settings.epochs, "at": utc_now()}
        return self._complete()

    def _complete(self) -> Run:
        """Score the best model on the test set, draw the run's plots and mark it complete."""
        if not self.run_dir.model.exists():
            raise TrainingError(f"{self.run_dir.root}: no epoch improved on validation; no model was saved")
        if self.settings.average_last and "average" not in self.record:
            self._average()

        metrics = evaluate_model(self.run_dir.model, self.data, self.settings.batch_size)
        metrics["params"] = self.record["params"]
        write_json(self.run_dir.metrics, metrics)
        report.plot_training_curves(self.record_history(), self.run_dir.plots / "curves.png")
        report.plot_confusion(np.array(metrics["confusion_matrix"]), self.data.class_names,
                              self.run_dir.plots / "confusion.png")
        self.record["status"] = "complete"
        self.record["finished"] = utc_now()
        self._save_record()
        return Run(self.run_dir.root, self.settings, self.record, metrics)

    @property
    def _snapshots(self) -> Path:
        return self.run_dir.checkpoints / "average"

    def _average(self) -> None:
        """--average-last N: the mean of the last N epochs' weights, its BN statistics measured again over one
        pass of the training batches, becomes the run's model when it validates at least as well as the best
        epoch (run.json's "average" says what it scored either way). Runs once: a resumed scoring skips it."""
        s, record = self.settings, self.record
        first, done = s.epochs - s.average_last + 1, record.get("epochs_completed", 0)
        if done - first + 1 < 2:  # --finish before the window held two epochs
            record["average"] = {"epochs": [], "kept": False, "why": f"the run ended at epoch {done}, before two "
                                 f"epochs of the averaging window (from epoch {first})"}
            self._save_record()
            return
        self.progress.line(f"averaging the weights of epochs {first}-{done}")
        with precision_policy(s.mixed_precision):
            net = build_model(s.model, self.data.image_shape, self.data.num_classes)
            net.set_weights(averaged_weights(self._snapshots, range(first, done + 1), net.get_weights()))
            view = self.view
            batches, _ = fit_datasets(view.x_train, view.y_train, view.x_val[:0], view.y_val[:0],
                                      self.data.num_classes, s, make_distribution("one", None, None),
                                      garments=view.garments, first_epoch=done)
            reestimate_batch_norm(net, batches)
        best = record.get("best") or {}
        entry: dict[str, Any] = {"epochs": [first, done], "best_epoch_val_accuracy": best.get("val_accuracy")}
        if len(view.x_val):
            probs = net.predict(float_pixels(view.x_val[..., None]), batch_size=s.batch_size, verbose=0)
            entry["val_accuracy"] = round(scores(probs.argmax(axis=1), view.y_val,
                                                 list(self.data.class_names))["accuracy"], 6)
            entry["kept"] = entry["val_accuracy"] >= best.get("val_accuracy", 0.0)
        else:  # no validation: the last epoch is the model, and the average stands for the last epochs
            entry["kept"] = True
        if entry["kept"]:
            with atomic_path(self.run_dir.model) as tmp:
                net.save(tmp)
            record["best"] = {"epoch": done, "val_accuracy": entry.get("val_accuracy", best.get("val_accuracy")),
                              "monitor": best.get("monitor", "val_accuracy"), "averaged": [first, done]}
        record["average"] = entry
        self._save_record()
        self.progress.line(f"average of epochs {first}-{done}: val accuracy "
                           f"{100 * entry.get('val_accuracy', float('nan')):.2f}% against the best epoch's "
                           f"{100 * best.get('val_accuracy', float('nan')):.2f}%: "
                           f"{'kept' if entry['kept'] else 'not kept'}")

    def record_history(self) -> list[dict[str, Any]]:
        return self.record.setdefault("history", [])

    def _save_record(self) -> None:
        if not self.distribution.is_chief:
            return
        write_json(self.run_dir.run_json, self.record)
        write_csv(self.run_dir.history, self.record_history())


class _RunRecorder(_tf.keras().callbacks.Callback):
    """Keeps the run directory current after every epoch: history, best model, run.json."""

    def __init__(self, trainer: _Trainer, train_images: int, has_validation: bool):
        super().__init__()
        self.trainer, self.train_images, self.has_validation = trainer, train_images, has_validation
        self.diverged_epoch: int | None = None
        self._segment_start = time.monotonic()
        self._first_epoch = True

    def account_time(self) -> None:
        """Add the wall time since the last call to the run's total (runs may span several resumes)."""
        now = time.monotonic()
        record = self.trainer.record
        record["wall_time_s"] = round(record.get("wall_time_s", 0.0) + now - self._segment_start, 2)
        self._segment_start = now

    def on_epoch_begin(self, epoch, logs=None):
        history = self.trainer.record_history()
        if self._first_epoch:
            # After a resume Keras restarts at the checkpointed epoch: drop any rows written after it.
            history[:] = [row for row in history if row["epoch"] <= epoch]
            self._first_epoch = False
        self._epoch_start = time.monotonic()
        self._train_end = None

    def on_test_begin(self, logs=None):
        self._train_end = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        now = time.monotonic()
        train_s = (self._train_end or now) - self._epoch_start
        trainer, record = self.trainer, self.trainer.record
        row = {"epoch": epoch + 1}
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            if key in logs:
                row[key] = round(float(logs[key]), 6)
        row["lr"] = float(self.model.optimizer.learning_rate.numpy())
        row["seconds"] = round(now - self._epoch_start, 2)
        row["train_images_per_s"] = round(self.train_images / train_s, 1)
        trainer.record_history().append(row)

        if not math.isfinite(float(logs.get("loss", 0.0))):
            self.diverged_epoch = epoch + 1
            self.model.stop_training = True  # the epoch's checkpoint is kept out of run.json's "best" below
        else:
            score = row.get("val_accuracy", row.get("accuracy"))
            best = record.get("best")
            # Without a validation split every epoch replaces the model: the last one is kept.
            if best is None or not self.has_validation or score > best["val_accuracy"]:
                # Every worker must save (it syncs variables); only the chief's copy is kept.
                with trainer.distribution.writable(trainer.run_dir.model) as target, atomic_path(target) as tmp:
                    self.model.save(tmp)
                record["best"] = {"epoch": epoch + 1, "val_accuracy": score,
                                  "monitor": "val_accuracy" if self.has_validation else "accuracy"}
        record["epochs_completed"] = epoch + 1
        history = trainer.record_history()
        record["train_images_per_s"] = round(float(np.mean([r["train_images_per_s"] for r in history])), 1)
        self.account_time()
        trainer._save_record()

    def describe(self, epoch: int, logs: dict) -> str:
        """The epoch's line: its scores, speed, the best epoch so far and the time left."""
        trainer, record = self.trainer, self.trainer.record
        history = trainer.record_history()
        row = history[-1]
        remaining = trainer.settings.epochs - (epoch + 1)
        eta = _duration(remaining * np.mean([r["seconds"] for r in history[-3:]]))
        best = record.get("best") or {}
        scores = "  ".join(f"{k} {row[k]:.4f}" for k in ("loss", "accuracy", "val_loss", "val_accuracy") if k in row)
        return (f"epoch {epoch + 1}/{trainer.settings.epochs}  {scores}  ({row['seconds']:.0f}s, "
                f"{row['train_images_per_s']:.0f} img/s)  best {best.get('val_accuracy', float('nan')):.4f} "
                f"at epoch {best.get('epoch')}  ETA {eta}")


def _optimizer(s: TrainSettings, steps_per_epoch: int, lr_scale: float = 1):
    schedules = _tf.keras().optimizers.schedules
    total_steps = s.epochs * steps_per_epoch
    peak = s.lr * lr_scale
    if s.schedule == "constant":
        lr = peak
    elif s.schedule == "cosine":
        lr = schedules.CosineDecay(peak, decay_steps=total_steps)
    elif s.schedule == "onecycle":
        # One-cycle: warm up from lr/25 to lr over the first 30% of steps, then cosine-anneal to ~0.
        warmup = max(1, int(0.3 * total_steps))
        lr = schedules.CosineDecay(peak / 25, decay_steps=max(1, total_steps - warmup), alpha=1e-3,
                                   warmup_target=peak, warmup_steps=warmup)
    else:  # "exp": lr * 0.9 ** epoch, as in the regularized-CNN paper
        lr = schedules.ExponentialDecay(peak, decay_steps=steps_per_epoch, decay_rate=0.9, staircase=True)
    return make_optimizer(s.optimizer, lr, s.weight_decay)


def _new_record(settings: TrainSettings) -> dict[str, Any]:
    return {
        "settings": settings.to_dict(),
        "seed": settings.seed,
        "status": "created",
        "epochs_completed": 0,
        **record_header(devices=True),
        "started": utc_now(),
        "wall_time_s": 0.0,
    }


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
