"""Bad input and faults, one row each: the command, what it is given, the exit code, a phrase of its one-line
message, and the files that must be unchanged afterwards. No row may pass by printing a traceback.

Rows here need no trained model (they are refused before any work); the ones that need a run directory
live beside the behaviour they guard (test_keras_files.py: code in a model file; test_training.py: locks).
"""
import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from fmnist_edge.cli import cli

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_INT8 = next(ROOT.glob("shipped/*/export/model_int8.tflite"))


def _user_folder(tmp: Path) -> Path:
    """A folder that is not a run: a user's own files."""
    folder = tmp / "home"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    return folder


def _run_stub(tmp: Path) -> Path:
    run = tmp / "run"
    run.mkdir()
    (run / "run.json").write_text('{"status": "complete", "settings": {"model": "mlp"}}')
    return run


def _interrupted_run(tmp: Path) -> Path:
    run = tmp / "run"
    run.mkdir()
    (run / "run.json").write_text('{"status": "interrupted", "epochs_completed": 2, "settings": {"model": "mlp", '
                                  '"epochs": 30}}')
    return run


def _run_json(text: str):
    def make(tmp: Path) -> Path:
        run = tmp / "run"
        run.mkdir()
        (run / "run.json").write_text(text)
        return run
    return make


def _truncated_tflite(tmp: Path) -> Path:
    path = tmp / "cut.tflite"
    path.write_bytes(SHIPPED_INT8.read_bytes()[:5000])  # a download that stopped early
    return path


def _a_file(tmp: Path) -> Path:
    path = tmp / "notes.txt"
    path.write_text("mine")
    return path


_LOCKED: list[Path] = []  # made unwritable by a row; made writable again after it


def _lock(path: Path) -> None:
    """Make `path` unwritable for this process: permission bits for a user; the immutable attribute for
    root, whom permission bits do not stop (CI and these machines run the tests as root)."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True, capture_output=True)
    else:
        path.chmod(0o555 if path.is_dir() else 0o444)
    _LOCKED.append(path)


@pytest.fixture(autouse=True)
def _unlock_afterwards():
    yield
    while _LOCKED:
        path = _LOCKED.pop()
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True, capture_output=True)
        else:
            path.chmod(0o755 if path.is_dir() else 0o644)


def _read_only_folder(tmp: Path) -> Path:
    folder = tmp / "locked"
    folder.mkdir()
    _lock(folder)
    return folder


def _run_in_read_only_folder(tmp: Path) -> Path:
    folder = tmp / "locked"
    folder.mkdir()
    run = _run_stub(folder)
    _lock(folder)  # the run's own files stay writable: only moving it aside is refused
    return run


def _empty_folder(tmp: Path) -> Path:
    folder = tmp / "folder"
    folder.mkdir()
    return folder


ROWS = [
    # (id, argv with {tmp} and {fixture}, fixture maker, exit code, phrase)
    ("train --force on a folder that is not a run", ["train", "--model", "mlp", "--out", "{fixture}", "--force"],
     _user_folder, 2, "not a run directory (no run.json) and not empty; --force replaces only runs"),
    ("train --weight-decay negative", ["train", "--model", "mlp", "--weight-decay", "-0.1", "--out", "{tmp}/new"],
     None, 2, "--weight-decay must be in [0, 1), got -0.1"),
    ("train --logical-cpus 0", ["train", "--model", "mlp", "--logical-cpus", "0", "--out", "{tmp}/new"],
     None, 2, "--logical-cpus must be at least 1, got 0"),
    ("train --devices naming a missing GPU", ["train", "--model", "mlp", "--devices", "/gpu:7", "--out", "{tmp}/new"],
     None, 2, "--devices: no device /gpu:7 here"),
    ("train --early-stopping without a validation split",
     ["train", "--model", "mlp", "--early-stopping", "3", "--val-split", "0", "--out", "{tmp}/new"],
     None, 2, "--early-stopping watches validation accuracy: it needs --val-split above 0"),
    ("quantize --max-drop nan", ["quantize", "{fixture}", "--method", "qat", "--max-drop", "nan"],
     _run_stub, 2, "--max-drop must be a finite number of points, got nan"),
    ("quantize --max-drop-relative inf", ["quantize", "{fixture}", "--method", "qat", "--max-drop-relative", "inf"],
     _run_stub, 2, "--max-drop-relative must be a finite number of points, got inf"),
    ("export an interrupted run", ["export", "{fixture}", "--format", "onnx"], _interrupted_run, 2,
     "the run is interrupted (2 of 30 epochs); finish it with: fmnist-edge train --resume"),
    ("quantize an interrupted run", ["quantize", "{fixture}", "--method", "ptq-int8"], _interrupted_run, 2,
     "or pass --allow-incomplete to use its best model so far"),
    ("run.json without settings", ["export", "{fixture}"], _run_json('{"status": "complete"}'), 2,
     'has no "settings" with the model\'s name'),
    ("run.json that is a list", ["quantize", "{fixture}", "--method", "qat"], _run_json("[1, 2]"), 2,
     "run.json: expected a JSON object, found list"),
    ("predict a folder", ["predict", str(SHIPPED_INT8), "{fixture}"],
     _user_folder, 2, "is a folder, not an image file"),
    ("predict --threads 0", ["predict", str(SHIPPED_INT8), "{tmp}/x.png", "--threads", "0"],
     None, 2, "--threads must be at least 1, got 0"),
    ("bench --threads 1,0", ["bench", str(SHIPPED_INT8), "--threads", "1,0"],
     None, 2, "--threads takes counts of 1 or more, such as 1 or 1,2; got '1,0'"),
    ("bench a truncated .tflite", ["bench", "{fixture}"], _truncated_tflite, 2,
     "cut.tflite: not a TFLite flatbuffer (truncated or corrupt"),
    ("predict with a truncated .tflite", ["predict", "{fixture}", "{tmp}/x.png"], _truncated_tflite, 2,
     "cut.tflite: not a loadable TFLite model"),
    ("train --out inside a file", ["train", "--model", "mlp", "--epochs", "1", "--out", "{fixture}/run"], _a_file, 2,
     "notes.txt/run: cannot create the run directory (Not a directory)"),
    ("train --out in a read-only folder", ["train", "--model", "mlp", "--epochs", "1", "--out", "{fixture}/run"],
     _read_only_folder, 2, "locked/run: cannot create the run directory ("),
    ("train --force on a run in a read-only folder", ["train", "--model", "mlp", "--out", "{fixture}", "--force"],
     _run_in_read_only_folder, 2, "locked/run: cannot replace the old run ("),
    ("check --budget naming a folder", ["check", "--budget", "{fixture}"], _empty_folder, 2,
     "folder: is a folder; give the budget file (e.g. budget.toml)"),
]


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("argv, make, code, phrase", [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_fault_gets_one_line_and_changes_nothing(tmp_path, argv, make, code, phrase):
    fixture = make(tmp_path) if make else None
    before = _snapshot(tmp_path)
    args = [a.format(tmp=tmp_path, fixture=fixture) for a in argv]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code, result.output
    assert phrase in result.output and "Traceback" not in result.output
    assert result.output.count("\n") == 1, result.output
    assert _snapshot(tmp_path) == before
    assert not (tmp_path / "new").exists()
