"""The `fmnist-edge` command: flags -> one API call -> print. No logic lives here.

Errors a user can cause arrive as `FmnistEdgeError` and leave as one line on stderr
with the error's exit code (2 for bad input). Heavy modules are imported inside the
commands so `fmnist-edge --help` stays instant.
"""
from __future__ import annotations

import json
import sys

import click

from . import __version__
from .errors import FmnistEdgeError
from .progress import Progress
from .stopping import handle_stop_signals
from .fitting.distribution import STRATEGIES
from .stages.benchmark.bench import BASELINE_MODEL, DEFAULT_BATCH, DEFAULT_RUNS, DEFAULT_WARMUP
from .formats.conversion import DEFAULT_ONNX_OPSET
from .stages.quantize import DEFAULT_EPOCHS, DEFAULT_MAX_DROP_PP, METHODS, QuantizeSettings
from .settings import (AUGMENTATIONS, BEST_RECIPES, DATASETS, OPTIMIZERS, PAPER_RECIPES, RECIPES, SCHEDULES,
                       VAL_SOURCES, TrainSettings)
from .workflow import PIPELINE_BENCH_RUNS


class _Group(click.Group):
    """Turns FmnistEdgeError into `Error: <message>` and its exit code, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except FmnistEdgeError as exc:
            error = click.ClickException(str(exc))
            error.exit_code = exc.exit_code
            raise error from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fmnist-edge")
def cli() -> None:
    """Train, quantize, export and benchmark compact Fashion-MNIST classifiers for phones and edge devices."""


def _default(field: str, text: str = "") -> str:
    """An option's help with its default read from TrainSettings, so every default is written once; where
    a model's recipe (settings.BEST_RECIPES, PAPER_RECIPES) sets its own, the help says so."""
    value = getattr(TrainSettings, field)
    shown = ("none" if value is None else "on" if value is True else "off" if value is False
             else f"{value:g}" if isinstance(value, float) else str(value))
    by_recipe = any(field in recipe for table in (BEST_RECIPES, PAPER_RECIPES) for recipe in table.values())
    return f"{text}  [default: {shown}{'; some models have their own' if by_recipe else ''}]".lstrip()


# Training options, shared by `train` and `pipeline`, in --help order.
_TRAIN_OPTIONS = (
    click.option("--model", default=None, help=_default("model", "Zoo model (see `fmnist-edge models`).")),
    click.option("--dataset", type=click.Choice(DATASETS), default=None,
                 help=_default("dataset", "fashion (28x28, 10 classes) or closet (64x128 price canvases, 9 classes).")),
    click.option("--recipe", type=click.Choice(RECIPES), default=TrainSettings.recipe, show_default=True,
                 help="Defaults for the options below: our best set-up, or the model's published one."),
    click.option("--epochs", type=int, default=None, help=_default("epochs", "Epochs to train.")),
    click.option("--batch-size", type=int, default=None, help=_default("batch_size")),
    click.option("--optimizer", type=click.Choice(OPTIMIZERS), default=None,
                 help=_default("optimizer", "sgdm is SGD with Nesterov momentum 0.9.")),
    click.option("--lr", type=float, default=None, help=_default("lr", "Peak learning rate.")),
    click.option("--schedule", type=click.Choice(SCHEDULES), default=None,
                 help=_default("schedule", "Learning-rate schedule; exp is lr * 0.9**epoch.")),
    click.option("--augment", type=click.Choice(AUGMENTATIONS), default=None,
                 help=_default("augment", "none; basic = shift + flip; strong = basic + random erasing; "
                                          "photo = basic + camera conditions.")),
    click.option("--photo-share", type=float, default=None,
                 help=_default("photo_share", "With --augment photo: the share of images given camera conditions.")),
    click.option("--max-shift", type=int, default=None, metavar="PX",
                 help=_default("max_shift", "With an augmentation: the largest random shift in pixels (pad-and-crop).")),
    click.option("--erase-area", type=float, default=None,
                 help=_default("erase_area", "With --augment strong: the largest share of the image one random erasure blanks.")),
    click.option("--label-smoothing", type=float, default=None, help=_default("label_smoothing")),
    click.option("--weight-decay", type=float, default=None,
                 help=_default("weight_decay", "Decoupled weight decay of conv and dense kernels (AdamW-style; x lr per step).")),
    click.option("--init", type=click.Path(), default=None, metavar="RUN_DIR",
                 help="Start from this complete run's weights (fine-tuning): same model, same data."),
    click.option("--backbone", type=click.Path(), default=None, metavar="RUN_DIR",
                 help="Start every layer this run's model shares by name and weight shapes from it (e.g. a 28x28 "
                      "garment model's convolutions for closet canvases); the rest start fresh."),
    click.option("--teacher", "teachers", multiple=True, type=click.Path(), metavar="RUN_DIR",
                 help="Distil from this trained run (repeat for an ensemble: their predictions are averaged). "
                      "A closet run on fresh canvases also takes 28x28 garment runs: they price each canvas "
                      "by naming the garments it holds."),
    click.option("--temperature", type=float, default=None,
                 help=_default("temperature", "Distillation temperature for teachers and model alike.")),
    click.option("--distill-weight", type=float, default=None,
                 help=_default("distill_weight", "Share of the loss on the teachers' soft targets; the rest on the labels.")),
    click.option("--early-stopping", "early_stopping", type=int, default=None, metavar="PATIENCE",
                 help=_default("early_stopping", "Stop after PATIENCE epochs without a better validation accuracy.")),
    click.option("--average-last", "average_last", type=int, default=None, metavar="N",
                 help=_default("average_last", "Average the weights of the last N epochs (stochastic weight "
                                               "averaging), BN statistics measured again; the average is the "
                                               "model when it validates at least as well as the best epoch.")),
    click.option("--val-split", type=float, default=None,
                 help=_default("val_split", "Fraction of training images held out to pick the best epoch.")),
    click.option("--val-source", type=click.Choice(VAL_SOURCES), default=None,
                 help=_default("val_source", "split: --val-split of the training images; held-out: the dataset's "
                                             "own validation set (closet canvases of garments no training canvas "
                                             "holds: data closet --n-val).")),
    click.option("--fresh-canvases/--no-fresh-canvases", default=None,
                 help=_default("fresh_canvases", "Closet: compose new training canvases from the training garments "
                                                 "every epoch (as many as the dataset has) instead of reusing them.")),
    click.option("--augment-garments/--no-augment-garments", default=None,
                 help=_default("augment_garments", "Closet, with --fresh-canvases: flip and randomly erase each "
                                                   "garment on its own before it is pasted.")),
    click.option("--limit", type=int, default=None, metavar="N", help="Use only the first N training images (quick runs)."),
    click.option("--seed", type=int, default=None, help=_default("seed")),
    click.option("--mixed-precision/--no-mixed-precision", default=None,
                 help=_default("mixed_precision", "bf16 on CPU, fp16 on GPU.")),
    click.option("--data-dir", type=click.Path(), default=None,
                 help="Folder with Fashion-MNIST (IDX .gz, CSV or .npz), or a closet dataset for --dataset closet."),
)


_DISTRIBUTION_OPTIONS = (
    click.option("--strategy", type=click.Choice(STRATEGIES), default="auto", show_default=True,
                 help="tf.distribute strategy; auto = mirrored when more than one GPU is visible."),
    click.option("--devices", default=None, metavar="LIST",
                 help="Devices for mirrored, e.g. /gpu:0,/gpu:1.  [default: all GPUs, else all logical CPUs]"),
    click.option("--logical-cpus", type=int, default=None, metavar="N",
                 help="Split the CPU into N logical devices (mirrored without GPUs)."),
    click.option("--scale-lr", is_flag=True, help="Multiply the learning rate by the number of replicas."),
)


def _distribution_options(command):
    for option in reversed(_DISTRIBUTION_OPTIONS):
        command = option(command)
    return command


def _train_options(command):
    for option in reversed(_TRAIN_OPTIONS):  # decorators apply bottom-up
        command = option(command)
    return command


@cli.command()
@_train_options
@click.option("--out", type=click.Path(), default=None, help="Run directory.  [default: runs/<model>]")
@click.option("--resume", is_flag=True, help="Continue the interrupted run in --out with its saved settings.")
@click.option("--finish", is_flag=True,
              help="With --resume: end the run at its last complete epoch instead (its best model so far is scored "
                   "on the test set and the run marked complete).")
@click.option("--force", is_flag=True, help="Replace an existing run directory.")
@_distribution_options
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON instead of progress and a summary.")
def train(recipe, out, resume, finish, force, as_json, strategy, devices, logical_cpus, scale_lr, **options) -> None:
    """Train a zoo model; write model, checkpoints, history, metrics and plots to a run directory."""
    from .stages.train import train as train_model

    run = train_model(options.pop("model"), out, recipe=recipe, resume=resume, finish=finish, force=force,
                      progress="none" if as_json else "auto", strategy=strategy,
                      devices=devices.split(",") if devices else None, logical_cpus=logical_cpus,
                      scale_lr=scale_lr, **options)
    if not run.metrics:  # a multi-worker job's other workers: the chief reports
        click.echo(f"worker {run.record['distribution']['task']['index']} done; the chief wrote {run.path}")
        return
    if as_json:
        click.echo(json.dumps({"run": str(run.path), **run.metrics}, indent=2))
    else:
        click.echo(run.summary())


@cli.command("ensemble")
@click.argument("runs", nargs=-1, required=True, type=click.Path(), metavar="RUN_DIR RUN_DIR...")
@click.option("--out", type=click.Path(), default=None, help="Run directory.  [default: runs/ensemble]")
@click.option("--force", is_flag=True, help="Replace an existing run directory.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON instead of a summary.")
def ensemble_command(runs, out, force, as_json) -> None:
    """Join trained runs of one task into one model (the softmax of their mean logit), as a new run directory
    that quantize, export, bench and check take like a trained one."""
    from .stages.ensemble import ensemble

    result = ensemble(runs, out, force=force)
    if as_json:
        click.echo(json.dumps({"run": str(result.path), "members": result.members, **result.metrics}, indent=2))
    else:
        click.echo(result.summary())


@cli.command()
@click.argument("run_dir", type=click.Path())
@click.option("--method", type=click.Choice(METHODS), default="auto", show_default=True,
              help="auto = ptq-int8, falling back to qat only when the drop breaks the budget.")
@click.option("--sparsity", type=float, default=None,
              help=f"Target fraction of zero conv/dense weights.  [default: {QuantizeSettings.sparsity}]")
@click.option("--epochs", type=int, default=None, help="Fine-tuning epochs (prune+qat: per phase).  [default: "
              + ", ".join(f"{m} {n}" for m, n in DEFAULT_EPOCHS.items()) + "]")
@click.option("--lr", type=float, default=None, help="Fine-tuning learning rate.  [default: the run's / 10]")
@click.option("--calibration", type=int, default=None, metavar="N",
              help=f"Training images that calibrate post-training int8 ranges.  [default: {QuantizeSettings.calibration}]")
@click.option("--max-drop", type=float, default=None, metavar="PP",
              help=f"Allowed accuracy drop, float minus deployed, in points.  [default: {DEFAULT_MAX_DROP_PP}]")
@click.option("--max-drop-relative", type=float, default=None, metavar="PCT",
              help="Allowed drop in percent of the float accuracy (instead of --max-drop).")
@click.option("--teacher", "teachers", multiple=True, type=click.Path(), metavar="RUN_DIR",
              help="Fine-tune toward this trained run's predictions too, at the run's temperature and weight "
                   "(repeat for an ensemble): for a student trained with --teacher.")
@click.option("--force", is_flag=True, help="Replace an existing optimized/<method> folder.")
@click.option("--allow-incomplete", is_flag=True, help="Use a run that is still running or was interrupted.")
@click.option("--strategy", type=click.Choice(STRATEGIES), default="auto", show_default=True,
              help="tf.distribute strategy of the pruning / QAT fine-tuning.")
@click.option("--devices", default=None, metavar="LIST", help="Devices for mirrored, e.g. /gpu:0,/gpu:1.")
@click.option("--logical-cpus", type=int, default=None, metavar="N",
              help="Split the CPU into N logical devices (mirrored without GPUs).")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def quantize(run_dir, method, force, allow_incomplete, as_json, strategy, devices, logical_cpus, **options) -> None:
    """Prune, quantize-aware train or post-training quantize a run; score the .tflite; enforce the budget.

    Exits 3 when the deployed model's accuracy drop exceeds the budget (artifacts are kept, marked failed).
    """
    from .stages.quantize import quantize as quantize_run

    result = quantize_run(run_dir, method, force=force, allow_incomplete=allow_incomplete,
                          progress="none" if as_json else "auto", strategy=strategy,
                          devices=devices.split(",") if devices else None, logical_cpus=logical_cpus, **options)
    if result.metrics.get("worker"):
        click.echo(f"{method}: this worker's fine-tuning is done; the chief writes {result.path}")
        return
    click.echo(json.dumps(result.metrics, indent=2) if as_json else result.summary())


@cli.command("export")
@click.argument("run_dir", type=click.Path())
@click.option("--format", "formats", multiple=True, default=["all"], show_default=True,
              help="tflite-fp32, tflite-fp16, tflite-dynamic, tflite-int8, tflite-int8-b1 (batch fixed at 1, for "
                   "LiteRT.js), tflite-int8-mirror (each image and its mirror, averaged: twice the compute), "
                   "tflite-int8-mirror-b1 (its batch-1 twin, which the demos prefer), onnx, saved-model or all; "
                   "repeatable.")
@click.option("--from", "source", default=None, metavar="optimized/<method>",
              help="Export an optimized variant instead of the run's own model.")
@click.option("--opset", type=int, default=DEFAULT_ONNX_OPSET, show_default=True, help="ONNX opset.")
@click.option("--force", is_flag=True, help="Replace files an earlier export wrote.")
@click.option("--allow-incomplete", is_flag=True, help="Export a run that is still running or was interrupted.")
@click.option("--android", type=click.Path(file_okay=False), default=None, metavar="PROJECT",
              help="Also copy the .tflite files, labels.txt and model.json into this Android project's app assets.")
@click.option("--android-anywhere", is_flag=True, help="Let --android copy into a folder that is not an Android project.")
@click.option("--keep-tensor-names", is_flag=True,
              help="Keep every tensor's name in the .tflite files (for graph viewers); by default only the "
                   "inputs and outputs keep theirs, 3-4 KB less per file.")
@click.option("--json", "as_json", is_flag=True, help="Print model.json instead of a table.")
def export_command(run_dir, formats, source, opset, force, allow_incomplete, android, android_anywhere,
                   keep_tensor_names, as_json) -> None:
    """Export to TFLite (with metadata), ONNX and SavedModel in RUN_DIR/export/, checking each file against its source.

    Exits 3 when a file does not match its source within tolerance (files are kept, marked in model.json).
    """
    from .stages.export import export

    result = export(run_dir, list(formats), source=source, opset=opset, force=force,
                    android=android, android_anywhere=android_anywhere, allow_incomplete=allow_incomplete,
                    keep_tensor_names=keep_tensor_names, progress="none" if as_json else "auto")
    click.echo(json.dumps(result.record, indent=2) if as_json else result.summary())


@cli.command("pipeline")
@_train_options
@click.option("--out", type=click.Path(), default=None, help="Run directory.  [default: runs/<model>]")
@click.option("--force", is_flag=True, help="Replace an existing run directory.")
@click.option("--method", type=click.Choice(METHODS), default="qat", show_default=True, help="quantize's method.")
@click.option("--quantize-epochs", type=int, default=None, help="quantize's --epochs.  [default: the method's]")
@click.option("--max-drop", type=float, default=None, metavar="PP",
              help=f"quantize's budget.  [default: {DEFAULT_MAX_DROP_PP}]")
@click.option("--baseline", default=BASELINE_MODEL, show_default=True, metavar="resnet50|resnet50-untrained|FILE|RUN_DIR|none",
              help="bench's baseline (see bench --help).")
@click.option("--runs", type=int, default=PIPELINE_BENCH_RUNS, show_default=True, help="bench's timed runs per row.")
def pipeline_command(out, force, method, quantize_epochs, max_drop, baseline, runs, **options) -> None:
    """The main job: train, quantize, export every format and bench against the baseline, into one run directory.

    Stops with quantize's or export's exit code when the accuracy-drop budget or an export check fails.
    """
    from .workflow import pipeline

    model = options.pop("model")
    result = pipeline(model, out or f"runs/{model or TrainSettings.model}", force=force, method=method,
                      quantize_epochs=quantize_epochs, max_drop=max_drop, baseline=baseline, runs=runs,
                      **options)
    click.echo(result.bench.table())
    click.echo(f"\n{result.bench.record['method']}.\n-> {result.run.path}: bench.json, "
               + ", ".join(str(p) for p in result.bench.plots))


@cli.command("bench")
@click.argument("targets", nargs=-1, type=click.Path())
@click.option("--zoo", "with_zoo", is_flag=True, help="Bench every model of the zoo too.")
@click.option("--baseline", default=BASELINE_MODEL, show_default=True, metavar="resnet50|resnet50-untrained|FILE|RUN_DIR|none",
              help="resnet50: the trained shipped/resnet50-paper of the working folder (refused where absent); "
                   "resnet50-untrained: size and speed only (needs [train]); FILE: any .tflite/.onnx; RUN_DIR: a "
                   "run's export/model_fp32.tflite; none: no baseline row.")
@click.option("--runs", type=int, default=DEFAULT_RUNS, show_default=True, help="Timed single-image runs per row.")
@click.option("--warmup", type=int, default=DEFAULT_WARMUP, show_default=True, help="Untimed runs before them.")
@click.option("--threads", default="1", show_default=True, help="Runtime threads; a list such as 1,2 gives a row each.")
@click.option("--batch", type=int, default=DEFAULT_BATCH, show_default=True, help="Batch size of the throughput measurement.")
@click.option("--format", "fmt", type=click.Choice(["table", "md", "csv", "json"]), default="table", show_default=True)
@click.option("--plot", is_flag=True, help="Write accuracy-vs-size and accuracy-vs-latency PNGs.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for bench.json and plots/.  [default: the first run directory; with only files, nothing is written]")
def bench_command(targets, with_zoo, baseline, runs, warmup, threads, batch, fmt, plot, out) -> None:
    """Measure accuracy, size, MACs, latency, throughput and memory of every artifact of TARGETS (run directories
    or .tflite/.onnx files) in its own runtime, against the ResNet-50 baseline."""
    from .stages.benchmark import bench

    try:
        thread_counts = tuple(int(t) for t in threads.split(","))
    except ValueError:
        thread_counts = ()
    if not thread_counts or min(thread_counts) < 1:
        raise FmnistEdgeError(f"--threads takes counts of 1 or more, such as 1 or 1,2; got {threads!r}")
    # The table is the result on stdout; progress goes to stderr.
    result = bench(list(targets), baseline=baseline, runs=runs, warmup=warmup, threads=thread_counts, batch=batch,
                   out=out, plot=plot, zoo=with_zoo, progress=Progress("auto", lines=sys.stderr))
    click.echo(result.table(fmt))
    for note in result.record["notes"]:
        click.echo(f"note: {note}", err=True)
    if fmt == "table":
        click.echo(f"* the baseline; ratios against it. Every measured field: --format md, csv or json."
                   f"\n\n{result.record['method']}.\n{result.record['machine']['cpu']}, {result.record['machine']['cores']} "
                   f"cores. " + (f"-> {result.json_path}" + "".join(f", {p}" for p in result.plots)
                                 if result.json_path else "(nothing written; --out FOLDER keeps bench.json)"))


@cli.command("check")
@click.option("--budget", "budget_path", type=click.Path(), default="budget.toml", show_default=True,
              help="TOML file of models and their limits.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON.")
def check_command(budget_path, as_json) -> None:
    """Measure the models a budget file lists and judge each limit; exit 1 if any fails (the CI gate)."""
    from .stages.benchmark import check

    verdicts = check(budget_path, progress=Progress("auto", lines=sys.stderr))
    if as_json:
        click.echo(json.dumps([v.__dict__ for v in verdicts], indent=2))
    else:
        for verdict in verdicts:
            click.echo(verdict.line())
    failed = sum(not v.passed for v in verdicts)
    noted = sum(not v.judged for v in verdicts)
    judged = len(verdicts) - noted
    click.echo(f"{judged - failed} of {judged} limits hold" + (f"; {failed} FAILED" if failed else "")
               + (f"; {noted} latency ratios measured but not judged on this CPU (NOTE lines)" if noted else ""),
               err=True)
    if failed:
        sys.exit(1)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(), metavar="[MODEL] IMAGE...")
@click.option("--zoo", "zoo_name", default=None, metavar="NAME",
              help="Use the zoo model NAME (fmnist-edge zoo list) instead of a MODEL file.")
@click.option("--invert", type=click.Choice(["auto", "yes", "no"]), default="auto", show_default=True,
              help="Negate dark-on-light garments to Fashion-MNIST's light-on-dark; auto compares the garment "
                   "with its background.")
@click.option("--top", type=int, default=3, show_default=True, help="Classes to print per image.")
@click.option("--threads", type=int, default=None, help="Runtime threads.  [default: the runtime's]")
@click.option("--save-input", type=click.Path(file_okay=False), default=None,
              help="Write each image as the model saw it (28x28 PNG) into this folder.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of lines.")
def predict(paths, zoo_name, invert, top, threads, save_input, as_json) -> None:
    """Classify IMAGEs (photos, PNG/JPEG/..., or .npz) with an exported MODEL (.tflite or .onnx) or a zoo model
    (--zoo NAME); needs no TensorFlow.

    Photos go through the conversion of docs/preprocessing.md: the garment is found, trimmed,
    centred and brought to Fashion-MNIST's look before the model sees it.
    """
    from .stages.predict import predict as predict_images

    if zoo_name is not None:
        from . import zoo

        model, images = zoo.get(zoo_name).verified_path(), paths
    elif len(paths) < 2:
        raise FmnistEdgeError("give a MODEL file and at least one IMAGE (or --zoo NAME and the images)")
    else:
        model, images = paths[0], paths[1:]

    unreadable: list[str] = []  # one bad picture among good ones: answer the good ones, name the bad, exit 2
    predictions = predict_images(model, list(images), invert=invert, top=top, num_threads=threads,
                                 save_input=save_input, errors=unreadable)
    for p in predictions:
        if p.note:
            click.echo(f"note: {p.source}: {p.note}", err=True)
    if as_json:
        click.echo(json.dumps([p.as_dict() for p in predictions], indent=2))
    else:
        width = max(len(p.source) for p in predictions)
        for p in predictions:
            guesses = "   ".join(f"{g.label} {100 * g.probability:5.1f}%" for g in p.top)
            click.echo(f"{p.source:<{width}}  {guesses}{'   (inverted)' if p.inverted else ''}")
    for problem in unreadable:
        click.echo(f"Error: {problem}", err=True)
    if unreadable:
        raise SystemExit(2)


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--latency", is_flag=True,
              help="Also time each architecture's int8 file (untrained weights, post-training int8 with metadata-free "
                   "conversion, batch 1): p50 ms of one-image calls on one thread, on this CPU.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON records instead of a table.")
def models(names, latency, as_json) -> None:
    """List the architectures (NAMES, or all): name, parameters and multiply-accumulates per image at the
    default input, input shape, classes, source; with --latency, the int8 file's size and latency. The zoo's
    trained files and their measured latency: fmnist-edge zoo list, bench --zoo."""
    from .models import build_model, get_model_info, list_models
    from .models.registry import count_macs

    infos = [get_model_info(n) for n in names] if names else list_models()
    rows = []
    for info in infos:
        net = build_model(info.name)
        row = {"name": info.name, "params": int(net.count_params()), "macs": count_macs(net),
               "input_shape": list(info.default_input_shape), "classes": info.default_num_classes,
               "source": info.source}
        if latency:
            row |= _int8_latency(net, info.default_input_shape)
        rows.append(row)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    timed = f" {'int8 B':>10} {'p50 ms':>7}" if latency else ""
    click.echo(f"{'model':<11} {'params':>11} {'MACs':>14}{timed}  {'input':<9} {'classes':>7}  source")
    for row in rows:
        shape = "x".join(str(d) for d in row["input_shape"])
        timed = f" {row['int8_bytes']:>10,} {row['int8_p50_ms']:>7.3f}" if latency else ""
        click.echo(f"{row['name']:<11} {row['params']:>11,} {row['macs']:>14,}{timed}  {shape:<9} "
                   f"{row['classes']:>7}  {row['source']}")
    if latency:
        from .artifacts.provenance import cpu_description

        click.echo(f"\nint8 p50: single-image calls in LiteRT, one thread, 20 warm-up and 200 timed calls, "
                   f"untrained weights; {cpu_description()}.")


def _int8_latency(net, input_shape) -> dict:
    """The architecture's int8 .tflite (calibrated on noise: latency does not depend on the weights' values)."""
    import tempfile
    from pathlib import Path

    import numpy as np

    from .formats.conversion import to_tflite
    from .stages.benchmark.measure import single_image_latency

    images = np.random.default_rng(0).integers(0, 256, (32, *input_shape[:2]), dtype=np.uint8)
    data = to_tflite(net, "int8", calibration_images=images, batch_size=1)
    with tempfile.TemporaryDirectory(prefix="fmnist-edge-models-") as folder:
        path = Path(folder) / "model_int8.tflite"
        path.write_bytes(data)
        timed = single_image_latency(path, images[:1])
    return {"int8_bytes": len(data), "int8_p50_ms": round(timed["p50"], 4), "int8_p90_ms": round(timed["p90"], 4)}


@cli.command()
@click.argument("export_dir", type=click.Path(), required=False)
@click.option("--zoo", "zoo_name", default=None, metavar="NAME",
              help="Serve the zoo model NAME (one with a batch-1 file; default: res-s-photo) instead of EXPORT_DIR.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port on 127.0.0.1 (0 = any free port).")
def demo(export_dir, zoo_name, port) -> None:
    """Serve the closet page with a model on localhost, until Ctrl-C.

    EXPORT_DIR is an export folder holding model.json and model_int8_b1.tflite; default: the zoo's
    photo-trained model, which ships in the package with the page and LiteRT.js, so the demo runs from
    any install. The page runs the model in the browser (LiteRT.js) and loads nothing from outside localhost.
    """
    import time

    from .demo import DEFAULT_ZOO_MODEL, serving

    shown = export_dir or f"zoo {zoo_name or DEFAULT_ZOO_MODEL}"
    with serving(export_dir, port, zoo=zoo_name) as address:
        click.echo(f"closet demo on {address}  (model: {shown}; Ctrl-C stops)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


@cli.group("zoo")
def zoo_group() -> None:
    """The trained models that ship inside the package."""


@zoo_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest's records.")
def zoo_list(as_json) -> None:
    """Name, model, size, test accuracy and photo accuracy of every zoo model (the recommended one first)."""
    from . import zoo

    models = zoo.list_models()
    if as_json:
        click.echo(json.dumps([m.record for m in models], indent=2))
        return

    def model(record) -> str:  # an ensemble names its members; a mirror file looks twice
        return record["model"] + (" x2 (mirror)" if record.get("export_format", "").startswith("tflite-int8-mirror") else "")

    name_width = max([14] + [len(m.name) for m in models])
    model_width = max([8] + [len(model(m.record)) for m in models])
    click.echo(f"{'name':<{name_width}} {'model':<{model_width}} {'dataset':<8} {'size':>10}  {'test':>7}  "
               f"{'photos':>7}  file")
    for m in models:
        r = m.record
        photos = f"{r['photo_accuracy_percent']:.2f}%" if r.get("photo_accuracy_percent") is not None else ""
        click.echo(f"{m.name:<{name_width}} {model(r):<{model_width}} {r['dataset']:<8} {r['size_bytes']:>10,}  "
                   f"{100 * r['accuracy']:6.2f}%  {photos:>7}  {m.path}")


@cli.group()
def data() -> None:
    """Prepare datasets."""


@data.command()
@click.option("--n", "n_train", type=int, default=60000, show_default=True, help="Training canvases.")
@click.option("--n-test", type=int, default=10000, show_default=True, help="Test canvases (from the official test items only).")
@click.option("--n-val", type=int, default=0, show_default=True,
              help="Validation canvases from held-out training garments (a tenth of each priced class, never in a "
                   "training canvas); train with --val-source held-out to pick epochs on them.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--data-dir", type=click.Path(), default=None, help="Where Fashion-MNIST is (default: the search path).")
@click.option("--out", type=click.Path(), required=True, help="Folder for closet.npz and preview.png.")
@click.option("--force", is_flag=True, help="Replace an existing closet.npz.")
def closet(n_train, n_test, n_val, seed, data_dir, out, force) -> None:
    """Write the closet-price dataset: 64x128 canvases of garments labelled with their total price."""
    from .data import load_fashion_mnist, make_closet, save_closet

    dataset = make_closet(load_fashion_mnist(data_dir), n_train=n_train, n_test=n_test, seed=seed, n_val=n_val)
    path = save_closet(dataset, out, force=force)
    held = f", {len(dataset.x_val):,} validation (held-out garments)" if dataset.x_val is not None else ""
    click.echo(f"closet: {len(dataset.x_train):,} train{held} and {len(dataset.x_test):,} test canvases "
               f"{dataset.x_train.shape[1]}x{dataset.x_train.shape[2]}, {dataset.num_classes} price classes -> {path}")


def main() -> None:
    # `kill` (SIGTERM) stops a step the way Ctrl-C does: a training run records itself as interrupted
    # (resumable, and not "running" any more) and files being written are never left half-written.
    handle_stop_signals()
    cli(prog_name="fmnist-edge")


if __name__ == "__main__":
    sys.exit(main())
