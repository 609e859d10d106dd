"""The run directory: the contract between train, quantize, export and bench.

    runs/<name>/run.json        settings, versions, git commit, seed, status, timings
                model.keras      best model on validation
                checkpoints/     last complete epoch (model + optimizer), for --resume
                history.csv      one row per completed epoch
                metrics.json     test accuracy, per-class accuracy, confusion matrix, params
                plots/curves.png plots/confusion.png

Every file is written to a temporary name in the same folder and renamed into place,
so an interrupted step never leaves a half-written file that a later step trusts.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .errors import RunDirError


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` if the block succeeds.

    The temporary name keeps the suffix, because writers such as Keras and matplotlib
    choose the format from it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".partial{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; the final file gets the usual mode
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as written:
            os.fsync(written.fileno())  # the bytes reach the disk before the name does
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunDirError(f"{path}: not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{path}: not valid JSON ({exc})") from None


def write_csv(path: str | Path, rows: list[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    write_text(path, buffer.getvalue())


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

    def read_run(self) -> dict[str, Any]:
        if not self.run_json.exists():
            raise RunDirError(f"{self.root}: not a run directory (no run.json)")
        return read_json(self.run_json)

    def require_model(self) -> Path:
        """The trained model's path, or a clear error when training never finished an epoch."""
        if not self.model.exists():
            raise RunDirError(f"{self.root}: no trained model (model.keras is missing); train first")
        return self.model


def prepare_new_run(out: str | Path, force: bool) -> RunDir:
    """Create an empty run directory, refusing to replace an existing one without `force`."""
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise RunDirError(f"{root}: exists and is not a directory")
    if root.exists() and any(root.iterdir()):
        if not force:
            raise RunDirError(
                f"{root}: run directory already exists; pass --force to replace it or --resume to continue it"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    return RunDir(root)


def open_run_for_resume(out: str | Path) -> RunDir:
    run = RunDir(Path(out))
    if not run.root.is_dir():
        raise RunDirError(f"{run.root}: no such run directory to resume")
    run.read_run()
    return run
