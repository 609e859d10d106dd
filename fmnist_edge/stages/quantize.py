"""Turn a trained run into edge models, held to an accuracy-drop budget.

    result = fmnist_edge.quantize("runs/vgg", method="prune+qat", sparsity=0.5, epochs=4)
    print(result.metrics["accuracy"], result.metrics["drop_pp"])

Methods:
    prune       magnitude pruning (polynomial decay 0 -> sparsity) while fine-tuning, then strip_pruning
    qat         int8 quantization-aware training (tfmot quantize_model), fine-tuned at a reduced rate
    prune+qat   pruning, then QAT with tfmot's prune-preserving scheme: the zeros survive
    ptq-int8    full-integer post-training quantization calibrated on training images
    ptq-dynamic int8 weights, float activations
    ptq-fp16    float16 weights
    auto        ptq-int8, falling back to qat only when its drop breaks the budget

Every method ends the same way: the .tflite is scored by the LiteRT interpreter on the
full official test set, never by a Keras stand-in, and the drop (float test accuracy
minus deployed test accuracy, in points) is held to the budget. A broken budget keeps
the artifacts, marks them failed in metrics.json and raises BudgetExceededError (exit 3).
The float model in the run directory is only ever read.

Pruning touches Conv2D and Dense kernels only: tfmot's prune-preserving QAT cannot keep
DepthwiseConv2D zeros, and depthwise kernels hold few weights anyway.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gzip
import math
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from .. import _tf
from ..formats import runtime
from ..contract import scores
from ..formats.conversion import to_tflite
from ..data import Dataset
from ..artifacts.run_data import open_run
from ..fitting.distribution import Distribution, make_distribution
from ..errors import BudgetExceededError, FmnistEdgeError, RunDirError, one_line
from ..fitting.loop import (Distillation, compile_classifier, epoch_progress, fit_datasets, make_optimizer,
                            stop_when_asked)
from ..artifacts.keras_files import QAT_MODEL_FILE, evaluate_model
from ..progress import Progress
from ..artifacts.rundir import RunDir, run_lock
from ..files import atomic_path, write_json
from ..settings import CALIBRATION_IMAGES, accuracy_drop

# Half a point: below the run-to-run noise of training itself, above int8 rounding noise.
DEFAULT_MAX_DROP_PP = 0.5


@dataclass(frozen=True)
class QuantizeMethod:
    """One row of the method table: how a variant is made, what it saves and what it converts to."""

    name: str
    tflite_mode: str  # conversion.to_tflite's mode for the variant's .tflite
    fine_tune: str | None = None  # "_Job" transform that fine-tunes the float model; None: post-training only
    keras_file: str | None = None  # the fine-tuned Keras model kept beside the .tflite
    # Fine-tuning epochs when --epochs is not given (for prune+qat: each of its two phases). QAT only
    # re-learns rounding: 2 epochs give vgg198k a drop of -0.06 points. Pruning must re-learn around removed
    # weights: 50% prune+qat of vgg198k dropped 0.57 points after 2 epochs and 0.13 after 4
    # (benchmarks/results/quantize.md).
    default_epochs: int | None = None
    calibrated: bool = False  # post-training int8: its ranges come from calibration images


QUANTIZE_METHODS: dict[str, QuantizeMethod] = {m.name: m for m in (
    QuantizeMethod("prune", "fp32", fine_tune="_pruned", keras_file="model.keras", default_epochs=4),
    QuantizeMethod("qat", "int8-qat", fine_tune="_quantization_aware", keras_file=QAT_MODEL_FILE, default_epochs=2),
    QuantizeMethod("prune+qat", "int8-qat", fine_tune="_pruned_then_quantization_aware", keras_file=QAT_MODEL_FILE,
                   default_epochs=4),
    QuantizeMethod("ptq-int8", "int8", calibrated=True),
    QuantizeMethod("ptq-dynamic", "dynamic"),
    QuantizeMethod("ptq-fp16", "fp16"),
)}
# "auto": post-training int8 first, quantization-aware training where that breaks the budget.
METHODS = (*QUANTIZE_METHODS, "auto")
DEFAULT_EPOCHS = {m.name: m.default_epochs for m in QUANTIZE_METHODS.values() if m.default_epochs}


@dataclass(frozen=True)
class QuantizeSettings:
    method: str = "auto"
    sparsity: float = 0.5  # half the conv/dense weights: the zoo's models lose almost nothing at 50%
    epochs: int | None = None  # fine-tuning epochs for prune / qat; None: DEFAULT_EPOCHS of the method
    lr: float | None = None  # None: a tenth of the run's learning rate, constant (fine-tuning, not training)
    calibration: int = CALIBRATION_IMAGES  # training images that set int8 ranges (settings.py says why)
    max_drop: float | None = None  # budget in accuracy points (float minus deployed); None = DEFAULT_MAX_DROP_PP
    max_drop_relative: float | None = None  # or in percent of the float accuracy
    # Runs whose soft predictions the fine-tuning keeps to, at the run's temperature and weight: a student trained
    # toward a teacher drifts from it when fine-tuned on the labels alone (res-s-kdx3's QAT lost 0.23 points so).
    teachers: tuple[str, ...] = ()

    def validate(self) -> "QuantizeSettings":
        if self.method not in METHODS:
            raise FmnistEdgeError(f"--method must be one of {', '.join(METHODS)}; got {self.method!r}")
        if not 0.0 <= self.sparsity < 1.0:
            raise FmnistEdgeError(f"--sparsity must be in [0, 1), got {self.sparsity}")
        if self.epochs is not None and self.epochs < 1:
            raise FmnistEdgeError(f"--epochs must be at least 1, got {self.epochs}")
        if self.lr is not None and not self.lr > 0:
            raise FmnistEdgeError(f"--lr must be positive, got {self.lr}")
        if self.calibration < 1:
            raise FmnistEdgeError(f"--calibration must be at least 1 image, got {self.calibration}")
        if self.max_drop is not None and self.max_drop_relative is not None:
            raise FmnistEdgeError("give --max-drop or --max-drop-relative, not both")
        if self.teachers and self.method in QUANTIZE_METHODS and QUANTIZE_METHODS[self.method].fine_tune is None:
            raise FmnistEdgeError(f"--teacher needs a method that fine-tunes (prune, qat, prune+qat); "
                                  f"{self.method} trains nothing")
        for option, value in (("--max-drop", self.max_drop), ("--max-drop-relative", self.max_drop_relative)):
            if value is not None and not math.isfinite(value):
                raise FmnistEdgeError(f"{option} must be a finite number of points, got {value}")
        return self

    def budget(self, float_accuracy: float) -> tuple[float, str]:
        """The allowed drop in points, and how to say it."""
        if self.max_drop_relative is not None:
            allowed = 100.0 * float_accuracy * self.max_drop_relative / 100.0
            return allowed, f"{self.max_drop_relative:g}% of float accuracy = {allowed:.2f} points"
        allowed = DEFAULT_MAX_DROP_PP if self.max_drop is None else self.max_drop
        return allowed, f"{allowed:.2f} points"

    def epochs_for(self, method: str) -> int:
        return self.epochs or DEFAULT_EPOCHS[method]


@dataclass(frozen=True)
class Optimized:
    """One optimized variant: its folder (optimized/<method>) and its metrics."""

    path: Path
    metrics: dict[str, Any]

    @property
    def tflite_path(self) -> Path:
        return self.path / "model.tflite"

    def summary(self) -> str:
        m = self.metrics
        sparsity = f", sparsity {100 * m['sparsity']['overall']:.1f}%" if m.get("sparsity") else ""
        return (f"{m['method']}: deployed accuracy {100 * m['accuracy']:.2f}% (float {100 * m['float_accuracy']:.2f}%, "
                f"drop {m['drop_pp']:+.2f} points, budget {m['budget']}) {'PASS' if m['passed'] else 'FAIL'}; "
                f"{m['size_bytes']:,} bytes ({m['gzip_bytes']:,} gzipped){sparsity} -> {self.path / 'model.tflite'}")


def quantize(run: str | Path, method: str = "auto", *, force: bool = False, progress: "str | Progress" = "auto",
             strategy: str = "auto", devices: list[str] | None = None, logical_cpus: int | None = None,
             allow_incomplete: bool = False, **options: Any) -> Optimized:
    """Optimize a trained run's model and hold the deployed .tflite to the accuracy-drop budget.

    Args:
        run: a run directory written by `train`; one still running or interrupted only with `allow_incomplete`.
        method: one of METHODS.
        force: replace an existing optimized/<method> folder.
        progress: "auto", "bar", "lines", "none" or a `Progress` (the fine-tuning's epochs).
        strategy, devices, logical_cpus: how pruning and QAT fine-tuning are distributed (fitting/distribution.py);
            in a multi-worker job only the chief converts, scores and writes.
        **options: QuantizeSettings fields (sparsity, epochs, lr, calibration, max_drop, max_drop_relative,
            teachers: run directories the fine-tuning distils from, as `train --teacher` does).

    Returns the Optimized variant; raises BudgetExceededError (exit code 3) after writing it when the budget breaks.

    Example:
        >>> quantize("runs/q", method="ptq-int8", calibration=500).metrics["drop_pp"]
    """
    if "teachers" in options:
        options["teachers"] = tuple(options["teachers"] or ()) or None  # the CLI gives () for none
    settings = QuantizeSettings(method=method, **{k: v for k, v in options.items() if v is not None}).validate()
    distribution = make_distribution(strategy, devices, logical_cpus)  # before TensorFlow's runtime starts
    progress = Progress.of(progress)
    job = _Job(RunDir(Path(run)), settings, force, progress, distribution, allow_incomplete)
    lock = run_lock(job.run_dir.root, "quantize") if distribution.is_chief else contextlib.nullcontext()
    with lock:
        if settings.method != "auto":
            return job.run(settings.method)
        try:
            return job.run("ptq-int8")
        except BudgetExceededError as exc:
            progress.line(f"auto: {exc}; trying qat")
            return job.run("qat")


class _Job:
    def __init__(self, run_dir: RunDir, settings: QuantizeSettings, force: bool, progress: Progress,
                 distribution: Distribution, allow_incomplete: bool = False):
        self.opened = open_run(run_dir.root, allow_incomplete)
        self.distribution = distribution
        self.model_path = self.opened.model_path
        self.run_dir, self.settings, self.force = run_dir, settings, force
        self.progress = progress
        self.train_settings = self.opened.settings
        self.view = self.opened.view
        self.data: Dataset = self.view.data
        self.x_train, self.y_train, self.x_val, self.y_val = (self.view.x_train, self.view.y_train,
                                                              self.view.x_val, self.view.y_val)
        if settings.method in ("ptq-int8", "auto") and settings.calibration > len(self.x_train):
            raise FmnistEdgeError(f"--calibration {settings.calibration} is larger than the run's "
                                  f"{len(self.x_train):,} training images")
        self.float_accuracy = self.opened.metrics.get("test_accuracy")
        # Teachers are checked (complete runs on the same data) before anything is fine-tuned or written.
        self.distillation, self.teachers = Distillation.from_settings(
            dataclasses.replace(self.train_settings, teachers=settings.teachers),
            {"dataset": self.train_settings.dataset, "image_shape": list(self.data.image_shape),
             "classes": list(self.data.class_names)}, None, self.view)

    def run(self, method: str) -> Optimized:
        final = self.run_dir.optimized(method)
        if final.exists() and not self.force and self.distribution.is_chief:
            raise RunDirError(f"{final}: already exists; pass --force to replace it")
        started = time.monotonic()
        # Fine-tuning creates variables (clones, quantizers, optimizer slots): all under one strategy scope.
        with self.distribution.strategy.scope():
            float_model = self._load_float32_model()
        if self.float_accuracy is None:
            self.float_accuracy = evaluate_model(self.model_path, self.data)["test_accuracy"]

        # Build everything in a staging folder and rename it into place: no half-written variant.
        # Other workers of a multi-worker job stage elsewhere: the run directory is the chief's.
        if self.distribution.is_chief:
            staging = final.parent / f".{method}.partial"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
        else:
            staging = Path(tempfile.mkdtemp(prefix=f"fmnist-edge-{method}-"))
        spec = QUANTIZE_METHODS[method]
        if spec.fine_tune is None:
            extra: dict[str, Any] = {}  # nothing fine-tuned, no sparsity
            calibration = self.opened.calibration(self.settings.calibration) if spec.calibrated else None
            tflite = to_tflite(float_model, spec.tflite_mode, calibration_images=calibration)
        else:
            # Fine-tuning first (every worker of a multi-worker job takes part), then the chief alone
            # saves, converts and scores.
            with self.distribution.strategy.scope():
                tuned, extra = getattr(self, spec.fine_tune)(float_model, self.settings.epochs_for(method))
            if not self.distribution.is_chief:
                return self._worker_done(staging, method)
            _save_keras(tuned, staging / spec.keras_file)
            tflite = to_tflite(tuned, spec.tflite_mode)
        (staging / "model.tflite").write_bytes(tflite)
        metrics = self._score(method, staging / "model.tflite", float_model, extra)
        if spec.fine_tune is not None and self.teachers:
            metrics["teachers"] = self.teachers  # which files the fine-tuning distilled from, by sha256
        metrics["wall_time_s"] = round(time.monotonic() - started, 2)
        metrics["distribution"] = self.distribution.describe()
        write_json(staging / "metrics.json", metrics)
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
        result = Optimized(final, metrics)
        if not metrics["passed"]:
            raise BudgetExceededError(
                f"{method}: deployed accuracy {100 * metrics['accuracy']:.2f}% vs float "
                f"{100 * metrics['float_accuracy']:.2f}%: drop {metrics['drop_pp']:.2f} points exceeds the budget "
                f"of {metrics['budget']} (artifacts kept, marked failed, in {final})")
        return result

    # The fine-tuning transforms of the method table: (float model, epochs) -> (tuned model, sparsity figures).

    def _quantization_aware(self, float_model, epochs: int) -> tuple[Any, dict[str, Any]]:
        return self._fine_tune(self._quantize_aware(float_model), epochs), {}

    def _pruned(self, float_model, epochs: int) -> tuple[Any, dict[str, Any]]:
        pruned = _strip(self._fine_tune(self._prunable(float_model, epochs), epochs, pruning=True))
        return pruned, {"sparsity": kernel_sparsity(pruned)}

    def _pruned_then_quantization_aware(self, float_model, epochs: int) -> tuple[Any, dict[str, Any]]:
        pruned, before = self._pruned(float_model, epochs)
        qat_model = self._fine_tune(self._quantize_aware(pruned, preserve_sparsity=True), epochs)
        return qat_model, {"sparsity_before_qat": before["sparsity"], "sparsity": kernel_sparsity(qat_model)}

    def _worker_done(self, staging: Path, method: str) -> Optimized:
        """A multi-worker job's other workers: they fine-tuned with the chief; the chief writes the variant."""
        shutil.rmtree(staging, ignore_errors=True)
        return Optimized(self.run_dir.optimized(method), {"method": method, "worker": True})

    def _load_float32_model(self):
        return self.opened.float_model()

    # -- the transforms ---------------------------------------------------------------

    def _prunable(self, model, epochs: int):
        tfmot, keras = _tf.tfmot(), _tf.keras()
        steps = epochs * self._steps_per_epoch()
        # Masks update every `frequency` steps and must land exactly on end_step to reach the
        # target; the last 20% of steps fine-tune at the final sparsity.
        frequency = max(1, steps // 10)
        end_step = max(frequency, int(0.8 * steps) // frequency * frequency)
        schedule = tfmot.sparsity.keras.PolynomialDecay(
            initial_sparsity=0.0, final_sparsity=self.settings.sparsity, begin_step=0, end_step=end_step,
            frequency=frequency)

        def wrap(layer):
            if _is_prunable(layer):
                return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule)
            return layer

        return keras.models.clone_model(model, clone_function=wrap)

    def _quantize_aware(self, model, preserve_sparsity: bool = False):
        tfmot = _tf.tfmot()
        qk = tfmot.quantization.keras
        try:
            if preserve_sparsity:
                return qk.quantize_apply(qk.quantize_annotate_model(model),
                                         qk.collab_opts.Default8BitPrunePreserveQuantizeScheme())
            return qk.quantize_model(model)
        except (ValueError, RuntimeError, TypeError) as exc:
            raise FmnistEdgeError(f"{self.model_path}: cannot be quantized by tfmot "
                                  f"({one_line(exc)})") from None

    def _fine_tune(self, model, epochs: int, pruning: bool = False):
        keras, tfmot = _tf.keras(), _tf.tfmot()
        s = self.train_settings
        lr = self.settings.lr or s.lr / 10
        compile_classifier(model, make_optimizer(s.optimizer, lr), s.label_smoothing, self.distillation)
        keras.utils.set_random_seed(s.seed)
        train_ds, val_ds = fit_datasets(self.x_train, self.y_train, self.x_val, self.y_val, self.data.num_classes, s,
                                        self.distribution, distillation=self.distillation, garments=self.view.garments)
        shown = epoch_progress(self.progress, epochs, self._steps_per_epoch())
        callbacks = [tfmot.sparsity.keras.UpdatePruningStep()] if pruning else []
        try:
            model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=callbacks + [shown, stop_when_asked()],
                      verbose=0)
        finally:
            shown.close()
        return model

    def _steps_per_epoch(self) -> int:
        return math.ceil(len(self.x_train) / self.train_settings.batch_size)

    # -- measuring ----------------------------------------------------------------------

    def _score(self, method: str, tflite_path: Path, float_model, extra: dict[str, Any]) -> dict[str, Any]:
        deployed = runtime.load_model(tflite_path)
        accuracy, predicted = runtime.accuracy(deployed, self.data.x_test, self.data.y_test)
        per_class = scores(predicted, self.data.y_test, list(self.data.class_names))["per_class_accuracy"]
        allowed, budget_text = self.settings.budget(self.float_accuracy)
        drop_pp, passed = accuracy_drop(self.float_accuracy, accuracy, allowed)
        size = tflite_path.stat().st_size
        float_size = len(to_tflite(float_model, "fp32"))
        return {
            "method": method,
            "accuracy": accuracy,
            "float_accuracy": self.float_accuracy,
            "drop_pp": round(drop_pp, 4),
            "budget": budget_text,
            "budget_pp": round(allowed, 4),
            "passed": passed,
            "status": "passed" if passed else "failed",
            "evaluated_with": "LiteRT interpreter on the official test set",
            "test_images": int(len(self.data.y_test)),
            "per_class_accuracy": per_class,
            "size_bytes": size,
            "gzip_bytes": len(gzip.compress(tflite_path.read_bytes(), compresslevel=9)),
            "float_tflite_bytes": float_size,
            "size_vs_float": round(size / float_size, 4),
            "input": {"dtype": str(deployed.input_dtype),
                      "quantization": list(deployed.input_quantization or ()) or None},
            **extra,
            "settings": dataclasses.asdict(self.settings) | {
                "method": method, "epochs": self.settings.epochs_for(method) if method in DEFAULT_EPOCHS else None,
                "teachers": list(self.settings.teachers)},  # as metrics.json holds it
        }


def kernel_sparsity(model) -> dict[str, Any]:
    """Fraction of exactly-zero weights in each pruned-kind kernel (Conv2D, Dense), and overall."""
    per_layer, zeros, total = {}, 0, 0
    for layer in model.layers:
        inner = getattr(layer, "layer", layer)  # QAT wraps layers; the kernel lives on the inner one
        if not _is_prunable(inner):
            continue
        kernel = _kernel_variable(layer).numpy()
        per_layer[inner.name] = round(float((kernel == 0).mean()), 6)
        zeros += int((kernel == 0).sum())
        total += kernel.size
    return {"overall": round(zeros / total, 6) if total else 0.0, "per_layer": per_layer}


def _kernel_variable(layer):
    # A QAT wrapper swaps `kernel` for a fake-quantized tensor while building: read the variable.
    for weight in layer.weights:
        if weight.name.split("/")[-1] in ("kernel:0", "kernel"):
            return weight
    raise ValueError(f"{layer.name}: no kernel variable")


def _is_prunable(layer) -> bool:
    keras = _tf.keras()
    return (isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
            and not isinstance(layer, keras.layers.DepthwiseConv2D))


def _strip(model):
    return _tf.tfmot().sparsity.keras.strip_pruning(model)


def _save_keras(model, path: Path) -> None:
    """Save in the format the suffix names (.keras, or .h5 for QAT models), atomically."""
    with _tf.tfmot().quantization.keras.quantize_scope(), atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="You are saving your model as an HDF5 file")  # on purpose: see QAT_MODEL_FILE
        model.save(tmp, include_optimizer=False) if path.suffix == ".h5" else model.save(tmp)
