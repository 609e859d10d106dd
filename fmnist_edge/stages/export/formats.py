"""Export a trained run to deployable files, each checked against the model it came from.

    result = fmnist_edge.export("runs/vgg", formats=["tflite-int8", "onnx"])

One table, FORMATS, says for every format its file name, how it is made and how closely
it must agree with its source; exporting and checking both read it. The check is part
of the export: each file runs in its real runtime (LiteRT for .tflite, onnxruntime for
.onnx, TensorFlow for the SavedModel) on the first 1,000 official test images:

    float formats (tflite-fp32, onnx, saved-model)  max |difference| of the output probabilities <= 1e-4
    tflite-fp16                                     <= 1e-2
    integer formats (tflite-dynamic, tflite-int8)   same top-1 label on >= 99% of the 1,000 images, and
                                                    full-test accuracy within 1.0 point of the source

A file with a fixed batch (tflite-int8-b1, for LiteRT.js, which refuses a dynamic batch, and
tflite-int8-mirror-b1) must also give exactly the scores of its dynamic-batch twin on those images. A
mirror file (tflite-int8-mirror: each image and its left-right mirror, probabilities averaged; its
record says "views": 2) is checked against its source model doing the same.

Quantized outputs tie on unsure images (uint8 probabilities move in steps of 1/256, and a
QAT model's fake-quantized logits can be exactly equal), so a tie agrees with any label it
ties. Every file must also give the same scores for an image alone (batch 1) as in a batch
of 8, and .tflite files must use builtin ops only (their op list is recorded).

A failed check keeps the files, marks them in model.json and raises ExportCheckError (exit 3).

A .tflite file keeps the tensor names of its inputs and outputs only (the converter's names for the
fused ops in between are 3-4 KB a file); `keep_tensor_names` keeps them all.

Every file follows one input contract: NHWC [batch, H, W, 1], dynamic batch (but the -b1 file); float models
take pixels / 255, integer models raw uint8 pixels; Fashion-MNIST polarity (a light garment
on a dark background). `export/labels.txt` and `export/model.json` (the contract, labels,
accuracy, size, source and sha256 of every file) are written beside the models.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ...contract import float_pixels
from ... import __version__, _tf
from ...formats import runtime
from ...formats.conversion import DEFAULT_ONNX_OPSET, ONNX_OPSETS, mirror_averaged, mirror_averaged_scores, to_onnx, to_tflite
from ...formats.inspection import tflite_ops
from ...artifacts.run_data import open_run
from ...errors import FmnistEdgeError, RunDirError, one_line
from ...artifacts.keras_files import QAT_MODEL_FILE, load_qat_model
from ...progress import Progress
from ...artifacts.rundir import RunDir, run_lock
from ...files import atomic_path, read_json, write_json, write_text
from ...settings import CALIBRATION_IMAGES
from .android import android_assets_dir, copy_assets
from ...formats.metadata import ImageClassifierMetadata, add_metadata

CHECK_IMAGES = 1000
FLOAT_ATOL = 1e-4
FP16_ATOL = 1e-2
MIN_TOP1_AGREEMENT = 0.99
MAX_ACCURACY_GAP_PP = 1.0
BATCH_CHECK_IMAGES = 8


class ExportCheckError(FmnistEdgeError):
    """An exported file does not compute what its source model computes, within tolerance."""

    exit_code = 3


@dataclass(frozen=True)
class ExportFormat:
    name: str
    file_name: str
    check: str  # "float", "fp16" or "integer": which tolerance applies (see the module docstring)
    make: Callable[["_Sources", Path, int], None]  # writes the file at the given path
    description: str
    batch: int | None = None  # None: dynamic batch; a number: fixed in the file's shape signature
    twin: str | None = None  # a format this file must reproduce exactly on the check images when both exist
    mirror: bool = False  # the model looks at each image and its mirror (conversion.mirror_averaged)

    @property
    def is_folder(self) -> bool:
        return "." not in self.file_name


def _tflite(mode: str, batch: int | None = None, mirror: bool = False):
    def make(sources: "_Sources", path: Path, opset: int) -> None:
        data = to_tflite(sources.float_model, mode, calibration_images=sources.calibration, batch_size=batch) \
            if mode != "int8" else sources.int8_tflite(batch, mirror)
        described = mode + ("" if batch is None else f", batch {batch}") + (", with its mirror" if mirror else "")
        path.write_bytes(add_metadata(data, sources.metadata(described), keep_tensor_names=sources.keep_tensor_names))
    return make


def _onnx(sources: "_Sources", path: Path, opset: int) -> None:
    import onnx

    model = onnx.load_from_string(to_onnx(sources.float_model, opset=opset))
    # ONNX has no labels file; metadata_props is where onnxruntime's model metadata finds them.
    onnx.helper.set_model_props(model, sources.onnx_properties())
    path.write_bytes(model.SerializeToString())


def _saved_model(sources: "_Sources", path: Path, opset: int) -> None:
    _tf.tf().saved_model.save(sources.float_model, str(path))


FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("tflite-fp32", "model_fp32.tflite", "float", _tflite("fp32"), "float32 TFLite"),
    ExportFormat("tflite-fp16", "model_fp16.tflite", "fp16", _tflite("fp16"), "float16 weights, float I/O"),
    ExportFormat("tflite-dynamic", "model_dynamic.tflite", "integer", _tflite("dynamic"),
                 "int8 weights, float activations and I/O"),
    ExportFormat("tflite-int8", "model_int8.tflite", "integer", _tflite("int8"),
                 "full integer, uint8 I/O; from QAT when the run has it, else calibrated post-training"),
    # LiteRT.js 2.5 refuses a dynamic batch dimension; the web page (and any runtime like it) loads this one.
    ExportFormat("tflite-int8-b1", "model_int8_b1.tflite", "integer", _tflite("int8", batch=1),
                 "tflite-int8 with the batch fixed at 1 (LiteRT.js, the web demo)", batch=1, twin="tflite-int8"),
    # Twice the multiply-accumulates in a file of about the same bytes: for a size class, not a latency budget.
    ExportFormat("tflite-int8-mirror", "model_int8_mirror.tflite", "integer", _tflite("int8", mirror=True),
                 "tflite-int8 looking at each image and its left-right mirror, probabilities averaged", mirror=True),
    # The demos' twin of it: the app and the page load a batch-1 file, and take this one when it is there.
    ExportFormat("tflite-int8-mirror-b1", "model_int8_mirror_b1.tflite", "integer", _tflite("int8", batch=1, mirror=True),
                 "tflite-int8-mirror with the batch fixed at 1 (the demos)", batch=1, twin="tflite-int8-mirror",
                 mirror=True),
    ExportFormat("onnx", "model.onnx", "float", _onnx, "ONNX (tf2onnx), float I/O"),
    ExportFormat("saved-model", "saved_model", "float", _saved_model, "TensorFlow SavedModel (a folder)"),
)}


@dataclass(frozen=True)
class Exported:
    """The export folder and its model.json record."""

    path: Path
    record: dict[str, Any]
    android_files: tuple[Path, ...] = ()  # copies made into an Android project's assets

    def summary(self) -> str:
        lines = []
        width = max(map(len, self.record["formats"]), default=0)
        for name, entry in self.record["formats"].items():
            check = entry["check"]
            lines.append(f"{name:<{width}} {entry['size_bytes']:>11,} B  accuracy {100 * entry['accuracy']:.2f}%  "
                         f"check {'PASS' if check['passed'] else 'FAIL'} ({check['summary']})  -> {entry['file']}")
        if self.android_files:
            lines.append(f"android: {', '.join(p.name for p in self.android_files)} -> {self.android_files[0].parent}")
        return "\n".join(lines)


def export(run: str | Path, formats: list[str] | str = "all", *, source: str | None = None,
           opset: int = DEFAULT_ONNX_OPSET, force: bool = False, android: str | Path | None = None,
           android_anywhere: bool = False, allow_incomplete: bool = False,
           keep_tensor_names: bool = False, progress: "str | Progress" = "none") -> Exported:
    """Export a run's model to `formats` in RUN/export/, checking each file against its source.

    Args:
        run: a run directory written by `train`.
        formats: names from FORMATS, or "all".
        source: "optimized/<method>" to export an optimized variant (prune: its float model for every
            format; qat or prune+qat: its int8 model for tflite-int8) instead of the run's own.
        opset: ONNX opset.
        force: replace files an earlier export wrote.
        android: an Android project (or its app module) to copy the exported .tflite files, labels.txt and
            model.json into, under src/main/assets; only after every check passed.
        android_anywhere: copy into `android` even when it is not an Android project.
        allow_incomplete: export a run that is still running or was interrupted (its best model so far).
        keep_tensor_names: keep the converter's name for every tensor of a .tflite file (for reading the
            graph in a viewer); by default only the inputs and outputs keep theirs, which saves 3-4 KB a file.
        progress: "auto", "bar", "lines", "none" or a `Progress`: a bar over the conversions and checks.

    Example:
        >>> print(export("runs/q", "all").summary())
    """
    names = list(FORMATS) if formats in ("all", ["all"]) else ([formats] if isinstance(formats, str) else list(formats))
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise FmnistEdgeError(f"unknown format {unknown[0]!r}; choose from: all, {', '.join(FORMATS)}")
    names = [n for n in FORMATS if n in names]  # table order: a file's twin is written and checked before it
    if "onnx" in names and opset not in ONNX_OPSETS:
        raise FmnistEdgeError(f"--opset must be from {ONNX_OPSETS.start} to {ONNX_OPSETS.stop - 1}, got {opset}")
    assets = android_assets_dir(android, android_anywhere) if android is not None else None
    if assets is not None and not any(FORMATS[n].file_name.endswith(".tflite") for n in names):
        raise FmnistEdgeError("--android copies .tflite files: export at least one tflite format with it")
    # validates the run before anything is written
    sources = _Sources(RunDir(Path(run)), source, allow_incomplete, keep_tensor_names)
    with run_lock(sources.run_dir.root, "export"):
        return _export(sources, names, opset, force, assets, Progress.of(progress))


def _export(sources: "_Sources", names: list[str], opset: int, force: bool, assets: Path | None,
            progress: Progress) -> Exported:
    out = sources.run_dir.export
    existing = [FORMATS[n].file_name for n in names if (out / FORMATS[n].file_name).exists()]
    if existing and not force:
        raise RunDirError(f"{out / existing[0]}: already exists; pass --force to replace it")

    out.mkdir(parents=True, exist_ok=True)
    record = sources.describe()
    # Every earlier record whose file is still there, each replaced as its format is exported again now.
    record["formats"] = _earlier_formats(out, [])
    failures = []
    try:
        write_text(out / "labels.txt", "\n".join(sources.class_names) + "\n")
        with progress.task("export", 2 * len(names)) as task:
            for name in names:
                fmt = FORMATS[name]
                final = out / fmt.file_name
                task.start(f"{name}: converting")
                if fmt.is_folder:  # build beside, then swap in: never a half-written SavedModel
                    staging = out / f".{fmt.file_name}.partial"
                    shutil.rmtree(staging, ignore_errors=True)
                    try:
                        fmt.make(sources, staging, opset)
                    except BaseException:
                        shutil.rmtree(staging, ignore_errors=True)
                        raise
                    shutil.rmtree(final, ignore_errors=True)
                    staging.rename(final)
                else:
                    with atomic_path(final) as tmp:
                        fmt.make(sources, tmp, opset)
                task.advance()
                task.start(f"{name}: checking against its source")
                entry = sources.check(fmt, final)
                entry["opset"] = opset if name == "onnx" else None
                if fmt.file_name.endswith(".tflite"):
                    entry["tensor_names"] = "all" if sources.keep_tensor_names else "inputs and outputs only"
                record["formats"][name] = entry
                if not entry["check"]["passed"]:
                    failures.append(f"{name}: {entry['check']['summary']}")
                # model.json after every file, so a later failure (a full disk) never leaves a file it does not list.
                _record_or_remove(out, record, final)
                task.advance()
    except OSError as exc:
        raise FmnistEdgeError(f"{out}: cannot write the export ({exc.strerror or one_line(exc)}); model.json lists "
                              f"every file left in the folder") from None
    if failures:
        raise ExportCheckError("export check failed: " + "; ".join(failures) + f" (files kept in {out})")
    copied = ()
    if assets is not None:
        models = [out / FORMATS[n].file_name for n in names if FORMATS[n].file_name.endswith(".tflite")]
        copied = tuple(copy_assets(models + [out / "labels.txt", out / "model.json"], assets))
    return Exported(out, record, copied)


def _record_or_remove(out: Path, record: dict[str, Any], written: Path) -> None:
    """Write model.json; if it cannot be written, remove the file it would have listed, then re-raise."""
    try:
        write_json(out / "model.json", record)
    except OSError:
        if written.is_dir():
            shutil.rmtree(written, ignore_errors=True)
        else:
            written.unlink(missing_ok=True)
        raise


def _earlier_formats(out: Path, names: list[str]) -> dict[str, Any]:
    """The records of an earlier export whose files are still there and are not exported again now.

    model.json is updated, never rewritten from scratch: exporting one format keeps the others'
    records (their checks and sha256), so every file in export/ stays accounted for.
    """
    path = out / "model.json"
    if not path.is_file():
        return {}
    earlier = read_json(path).get("formats")
    if not isinstance(earlier, dict):
        return {}
    return {name: entry for name, entry in earlier.items()
            if name not in names and isinstance(entry, dict) and (out / str(entry.get("file", ""))).exists()}


class _Sources:
    """The models an export converts from, and the data its checks use."""

    def __init__(self, run_dir: RunDir, source: str | None, allow_incomplete: bool = False,
                 keep_tensor_names: bool = False):
        self.run_dir = run_dir
        self.opened = open_run(run_dir.root, allow_incomplete)
        self.settings = self.opened.settings
        self.data = self.opened.data
        self.class_names = list(self.data.class_names)
        self.calibration = self.opened.calibration()  # the images quantize's ptq-int8 calibrates on
        self.source = source
        self.keep_tensor_names = keep_tensor_names
        float_path = run_dir.require_model()
        self.qat_path = None
        if source is not None:
            folder = run_dir.root / source
            variant = next((p for p in (folder / QAT_MODEL_FILE, folder / "model.keras") if p.is_file()), None)
            if variant is None:
                raise RunDirError(f"{folder}: no optimized model there (run fmnist-edge quantize first)")
            if variant.name == QAT_MODEL_FILE:
                self.qat_path = variant
            else:
                float_path = variant
        else:  # "from QAT when the run has it"
            self.qat_path = next((p for p in (run_dir.optimized(m) / QAT_MODEL_FILE for m in ("qat", "prune+qat"))
                                  if p.is_file()), None)
        self.float_path = float_path
        self.float_model = self.opened.float_model(float_path)
        self._qat_model = None
        self._scores: dict[int, np.ndarray] = {}

    def qat_model(self):
        if self._qat_model is None and self.qat_path is not None:
            self._qat_model = load_qat_model(self.qat_path)
        return self._qat_model

    def int8_tflite(self, batch: int | None = None, mirror: bool = False) -> bytes:
        wrap = mirror_averaged if mirror else (lambda model: model)
        if self.qat_path is not None:
            return to_tflite(wrap(self.qat_model()), "int8-qat", batch_size=batch)
        return to_tflite(wrap(self.float_model), "int8", calibration_images=self.calibration, batch_size=batch)

    def metadata(self, mode: str) -> ImageClassifierMetadata:
        return ImageClassifierMetadata(
            name=f"fmnist-edge {self.settings.model} ({mode})",
            description=(f"Classifies a {self.data.image_shape[0]}x{self.data.image_shape[1]} grayscale image "
                         f"(light garment on a dark background) into {len(self.class_names)} classes."),
            version=__version__, author="fmnist-edge", license="Apache-2.0", labels=tuple(self.class_names))

    def describe(self) -> dict[str, Any]:
        h, w, c = self.data.image_shape
        return {
            "model": self.settings.model,
            "source_run": str(self.run_dir.root),
            "source_model": str(self.float_path),
            "int8_source": str(self.qat_path) if self.qat_path else f"post-training, {CALIBRATION_IMAGES} calibration images",
            "labels": self.class_names,
            "input": {"layout": "NHWC", "shape": [-1, h, w, c], "polarity": "light garment on a dark background",
                      "float_models": "float32 pixels / 255 (mean 0, std 255)",
                      "integer_models": "raw uint8 pixels (scale 1/255, zero point 0)"},
            "output": "class probabilities, in labels order",
            "formats": {},
        }

    def _reference_scores(self, reference, mirror: bool = False) -> np.ndarray:
        """The source model's test-set scores (averaged with its mirror's for a mirror file), computed once
        per source model and kind for all formats."""
        key = (id(reference), mirror)
        if key not in self._scores:
            images = float_pixels(self.data.x_test[..., None])
            self._scores[key] = mirror_averaged_scores(reference, images) if mirror else \
                reference.predict(images, batch_size=256, verbose=0)
        return self._scores[key]

    def check(self, fmt: ExportFormat, path: Path) -> dict[str, Any]:
        """Run `path` in its runtime against its source model; accuracy on the full test set."""
        reference = self.qat_model() if fmt.name.startswith("tflite-int8") and self.qat_path else self.float_model
        x, y = self.data.x_test, self.data.y_test
        deployed = None if fmt.is_folder else runtime.load_model(path)  # loaded once: scores and io record
        predict = _saved_model_predictor(path) if fmt.is_folder else deployed.predict
        got = predict(x)
        # The same images one at a time and as one batch: batch 1 and dynamic batch both work.
        few = x[:BATCH_CHECK_IMAGES]
        alone = np.concatenate([predict(few[i:i + 1]) for i in range(len(few))])
        batch_diff = float(np.abs(alone - got[:len(few)]).max())
        expected = self._reference_scores(reference, fmt.mirror)
        accuracy = float((got.argmax(1) == y).mean())
        n = min(CHECK_IMAGES, len(x))
        if fmt.check in ("float", "fp16"):
            tolerance = FLOAT_ATOL if fmt.check == "float" else FP16_ATOL
            max_abs = float(np.abs(got[:n] - expected[:n]).max())
            check = {"max_abs_diff": max_abs, "tolerance": tolerance, "images": n, "passed": max_abs <= tolerance,
                     "summary": f"max |diff| {max_abs:.2e} vs {tolerance:.0e} on {n} images"}
            batch_tolerance = tolerance
        else:
            agreement, ties = runtime.top1_agreement(got[:n], expected[:n])
            gap = 100.0 * abs(accuracy - float((expected.argmax(1) == y).mean()))
            passed = agreement >= MIN_TOP1_AGREEMENT and gap <= MAX_ACCURACY_GAP_PP
            check = {"top1_agreement": agreement, "ties": ties, "accuracy_gap_pp": round(gap, 4), "images": n,
                     "passed": passed,
                     "summary": f"top-1 agreement {100 * agreement:.1f}% (min {100 * MIN_TOP1_AGREEMENT:.0f}%; {ties} "
                                f"ties) on {n} images, accuracy gap {gap:.2f} points (max {MAX_ACCURACY_GAP_PP:.1f})"}
            batch_tolerance = FLOAT_ATOL  # an integer kernel gives the same codes whatever the batch
        check["batch1_max_abs_diff"] = batch_diff
        if batch_diff > batch_tolerance:
            check["passed"] = False
            check["summary"] += f"; batch 1 differs from batch {len(few)} by {batch_diff:.2e}"
        twin = path.parent / FORMATS[fmt.twin].file_name if fmt.twin else None
        if twin is not None and twin.exists():  # same graph, other batch: any difference is a conversion fault
            twin_diff = float(np.abs(runtime.load_model(twin).predict(x[:n]) - got[:n]).max())
            check["twin"], check["twin_max_abs_diff"] = fmt.twin, twin_diff
            if twin_diff > FLOAT_ATOL:
                check["passed"] = False
                check["summary"] += f"; differs from {twin.name} by {twin_diff:.2e}"
            else:
                check["summary"] += f"; same scores as {twin.name}"
        entry = {"file": path.name, "description": fmt.description, "batch": fmt.batch or "dynamic",
                 "size_bytes": _size(path),
                 "sha256": _sha256(path), "accuracy": accuracy, "test_images": int(len(y)), "check": check}
        if fmt.mirror:
            entry["views"] = 2  # the app and the page prefer the batch-1 file that looks most often (default 1)
        if path.suffix == ".tflite":
            entry["io"] = deployed.io_contract  # what the web page and the app read
            entry["ops"] = tflite_ops(path.read_bytes())
            custom = [op for op in entry["ops"] if op.startswith("CUSTOM")]
            if custom:
                check["passed"] = False
                check["summary"] += f"; non-builtin ops {', '.join(custom)}"
        return entry

    def onnx_properties(self) -> dict[str, str]:
        return {"labels": json.dumps(self.class_names), "input": json.dumps(self.describe()["input"]),
                "producer": f"fmnist-edge {__version__}", "source_model": self.settings.model}


def _saved_model_predictor(path: Path):
    loaded = _tf.tf().saved_model.load(str(path))
    serve = loaded.signatures["serving_default"]
    (input_name,) = serve.structured_input_signature[1]  # signatures take keyword arguments only

    def predict(images: np.ndarray) -> np.ndarray:
        batches = [float_pixels(images[i:i + 256, ..., None]) for i in range(0, len(images), 256)]
        return np.concatenate([next(iter(serve(**{input_name: b}).values())).numpy() for b in batches])

    return predict


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
    for f in files:
        digest.update(f.read_bytes())
    return digest.hexdigest()
