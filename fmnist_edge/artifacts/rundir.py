"""The run directory: the contract between train, quantize, export and bench.

    runs/<name>/run.json        settings, versions, git commit, seed, status, timings
                model.keras      best model on validation
                checkpoints/     last complete epoch (model + optimizer), for --resume
                history.csv      one row per completed epoch
                metrics.json     test accuracy, per-class accuracy, confusion matrix, params
                plots/curves.png plots/confusion.png

Every file is written whole or not at all (fmnist_edge/files.py), so an interrupted step never
leaves a half-written file that a later step trusts.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..errors import FmnistEdgeError, RunDirError
from ..files import read_json


@dataclass(frozen=True)
class RunDir:
    """Paths inside one run directory."""

    root: Path

    @property
    def run_json(self) -> Path:
        return self.root / "run.json"

    @property
    def model(self) -> Path:
        return self.root / "model.keras"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def history(self) -> Path:
        return self.root / "history.csv"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def plots(self) -> Path:
        return self.root / "plots"

    # What the later steps write: quantize into optimized/<method>/, export into export/ (with its
    # record model.json), bench its bench.json at the top.

    def optimized(self, method: str) -> Path:
        return self.root / "optimized" / method

    @property
    def optimized_files(self) -> list[tuple[str, Path]]:
        """(method, .tflite) of every optimized variant, by method name."""
        return [(p.parent.name, p) for p in sorted((self.root / "optimized").glob("*/model.tflite"))]

    @property
    def export(self) -> Path:
        return self.root / "export"

    @property
    def export_record(self) -> Path:
        return self.export / "model.json"

    @property
    def bench_json(self) -> Path:
        return self.root / "bench.json"

    def input_contract(self) -> tuple[tuple[int, ...], int] | None:
        """(image shape, number of classes) as training recorded them in run.json; None for runs older than it."""
        data = self.read_run().get("data") or {}
        if "image_shape" in data and "classes" in data:
            return tuple(data["image_shape"]), len(data["classes"])
        return None

    def read_run(self) -> dict[str, Any]:
        """run.json, checked once: an object with the settings every step reads."""
        if not self.run_json.exists():
            raise RunDirError(f"{self.root}: not a run directory (no run.json)")
        record = read_json(self.run_json)
        if not isinstance(record, dict):
            raise RunDirError(f"{self.run_json}: expected a JSON object, found {type(record).__name__}")
        settings = record.get("settings")
        if not isinstance(settings, dict) or not isinstance(settings.get("model"), str):
            raise RunDirError(f"{self.run_json}: has no \"settings\" with the model's name; not written by "
                              f"fmnist-edge train")
        if not isinstance(record.get("status", ""), str):
            raise RunDirError(f"{self.run_json}: \"status\" must be a string")
        from ..settings import TrainSettings

        try:
            TrainSettings.from_dict(settings)  # every field of the right type and in range, before any stage uses one
        except FmnistEdgeError as exc:
            raise RunDirError(f"{self.run_json}: its settings are invalid: {exc}") from None
        return record

    def read_finished_run(self, allow_incomplete: bool = False, offer_allow_incomplete: bool = True) -> dict[str, Any]:
        """run.json of a complete run; an unfinished one (running, interrupted) only when allowed.
        `offer_allow_incomplete`: the refusal names --allow-incomplete (only commands that have it)."""
        record = self.read_run()
        status = record.get("status")
        if status == "running" and lock_holder(self.root) is None:
            status = "stopped (it says running, but no process holds it: killed, or the machine stopped)"
        if status != "complete" and not allow_incomplete:
            raise RunDirError(
                f"{self.root}: the run is {status or 'not marked complete'} ({record.get('epochs_completed', 0)} of "
                f"{record['settings'].get('epochs', '?')} epochs); finish it with: fmnist-edge train --resume --out "
                f"{self.root}" + (", or pass --allow-incomplete to use its best model so far"
                                  if offer_allow_incomplete else ""))
        return record

    def require_model(self) -> Path:
        """The trained model's path, or a clear error when training never finished an epoch."""
        if not self.model.exists():
            raise RunDirError(f"{self.root}: no trained model (model.keras is missing); train first")
        return self.model


LOCK_FILE = ".lock"


@contextlib.contextmanager
def run_lock(root: str | Path, step: str) -> Iterator[None]:
    """Hold `root/.lock` while `step` writes the run: a second writer is refused with the holder's pid.

    The lock is a file created exclusively, holding the writer's pid and step. A lock whose process
    no longer exists (a killed run) is stale and taken over, so `--resume` after a kill just works.
    """
    root = Path(root)
    path = root / LOCK_FILE
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = lock_holder(root)
            if holder is not None:
                raise RunDirError(f"{root}: in use by pid {holder[0]} ({holder[1]}); wait for it to finish") from None
            path.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as handle:
            json.dump({"pid": os.getpid(), "step": step}, handle)
        break
    else:
        raise RunDirError(f"{root}: could not take {path}")
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def lock_holder(root: str | Path) -> tuple[int, str] | None:
    """(pid, step) of the live process holding the run's lock, or None (no lock, or a stale one)."""
    try:
        holder = json.loads((Path(root) / LOCK_FILE).read_text())
        pid, step = int(holder["pid"]), str(holder.get("step", "?"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by someone else
    return pid, step


def prepare_new_run(out: str | Path, force: bool, resumable: bool = True,
                    reads: dict[str, Sequence[str | Path]] | None = None) -> RunDir:
    """Create an empty run directory, refusing to replace an existing one without `force`.

    `force` replaces only what fmnist-edge made: a run directory (it holds run.json) or an empty
    folder. The old run is moved aside in one rename and an empty directory takes its name, so
    a failure while deleting the old files never leaves a half-deleted run under the name.
    `resumable`: the refusal offers --resume (train's runs can be continued; an ensemble's cannot).
    `reads`: the runs the command reads, by option ({"--init": [...]}): an `out` that is one of them or
    holds one is refused, since replacing it would delete what the command is about to read.
    """
    root = Path(out)
    here = Path.cwd().resolve()
    if root.exists() and (root.resolve() == here or root.resolve() in here.parents):
        raise RunDirError(f"{root}: is the folder you are in (or holds it); choose another --out")
    for option, sources in (reads or {}).items():
        for source in sources:
            resolved, target = Path(source).resolve(), root.resolve()
            if resolved == target or target in resolved.parents:
                held = "is" if resolved == target else "holds"
                raise RunDirError(f"{root}: {held} {source} ({option}), which this command reads; replacing it "
                                  f"would delete it: choose another --out")
    if root.exists() and not root.is_dir():
        raise RunDirError(f"{root}: exists and is not a directory")
    if root.exists() and any(root.iterdir()):
        if not force:
            raise RunDirError(f"{root}: run directory already exists; pass --force to replace it"
                              + (" or --resume to continue it" if resumable else ""))
        if root.is_symlink():  # replacing it would move the link, not the run
            raise RunDirError(f"{root}: is a symbolic link (to {os.readlink(root)}); --force replaces a run "
                              f"directory itself: give its real path")
        if not RunDir(root).run_json.is_file():
            raise RunDirError(f"{root}: not a run directory (no run.json) and not empty; --force replaces only "
                              f"runs, so choose another --out")
        holder = lock_holder(root)
        if holder is not None:
            raise RunDirError(f"{root}: in use by pid {holder[0]} ({holder[1]}); --force never replaces a run "
                              f"that is being written")
        _replace_with_empty(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(f"{root}: cannot create the run directory ({exc.strerror})") from None
    return RunDir(root)


def _replace_with_empty(root: Path) -> None:
    """Move the run at `root` aside, then delete it; `root` is absent in between, never half-deleted."""
    root = root.resolve()  # "." has no name to put beside it
    trash = root.with_name(f".{root.name}.replaced-{os.getpid()}")
    try:
        os.replace(root, trash)
    except OSError as exc:
        raise RunDirError(f"{root}: cannot replace the old run ({exc.strerror}); nothing was changed") from None
    shutil.rmtree(trash, ignore_errors=True)
    if trash.exists():  # read-only files: the new run goes ahead; say where the old one is
        print(f"note: could not delete all of the old run; what is left is in {trash}", file=sys.stderr)


def open_run_for_resume(out: str | Path) -> RunDir:
    run = RunDir(Path(out))
    if not run.root.is_dir():
        raise RunDirError(f"{run.root}: no such run directory to resume")
    run.read_run()
    return run
