"""Bad input and faults, one row each: the command, what it is given, the exit code, a phrase of its one-line
message, and the files that must be unchanged afterwards. No row may pass by printing a traceback.

Rows here need no trained model (they are refused before any work); the ones that need a run directory
live beside the behaviour they guard (test_keras_files.py: code in a model file; test_training.py: locks).
"""
import hashlib
import re
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


GOLDEN_PHOTO = ROOT / "tests" / "golden" / "preprocess" / "00_photo_0.png"


def _pictures(tmp: Path) -> Path:
    """A user's folder of pictures, one of them named as --save-input would name its 28x28 input."""
    folder = tmp / "pictures"
    folder.mkdir()
    (folder / "shirt.png").write_bytes(GOLDEN_PHOTO.read_bytes())
    return folder


def _fifo(tmp: Path) -> Path:
    path = tmp / "camera.png"
    os.mkfifo(path)
    return path


def _random_npz(tmp: Path) -> Path:
    path = tmp / "images.npz"
    path.write_bytes(os.urandom(4096))
    return path


def _huge_png(tmp: Path) -> Path:
    """A PNG whose header says 11000x11000 (121 MP): what a decompression bomb looks like before decoding."""
    import struct
    import zlib

    data = bytearray(GOLDEN_PHOTO.read_bytes())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", 11000, 11000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path = tmp / "huge.png"
    path.write_bytes(bytes(data))
    return path


def _symlinked_run(tmp: Path) -> Path:
    run = _run_stub(tmp)
    link = tmp / "link"
    link.symlink_to(run, target_is_directory=True)
    return link


def _budget(text: str):
    def make(tmp: Path) -> Path:
        path = tmp / "budget.toml"
        path.write_text(text.format(int8=SHIPPED_INT8))
        return path
    return make


def _run_with_settings(**settings):
    import json

    def make(tmp: Path) -> Path:
        run = tmp / "run"
        run.mkdir()
        record = {"status": "interrupted", "epochs_completed": 1, "settings": {"model": "mlp", "epochs": 3, **settings}}
        (run / "run.json").write_text(json.dumps(record))
        return run
    return make


def _killed_run(tmp: Path) -> Path:
    """A run whose process died with kill -9: run.json still says running; no process holds its lock."""
    run = tmp / "run"
    run.mkdir()
    (run / "run.json").write_text('{"status": "running", "epochs_completed": 2, "settings": {"model": "mlp", '
                                  '"epochs": 30}}')
    (run / ".lock").write_text('{"pid": 999999999, "step": "train"}')
    return run


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
    # Data loss: --save-input never writes over a file, the user's picture least of all.
    ("predict --save-input into the folder of the picture",
     ["predict", str(SHIPPED_INT8), "{fixture}/shirt.png", "--save-input", "{fixture}"], _pictures, 2,
     "shirt.png: exists; --save-input never overwrites a file"),
    ("train --force over a symlink to a run", ["train", "--model", "mlp", "--out", "{fixture}", "--force"],
     _symlinked_run, 2, "link: is a symbolic link (to "),
    # run.json is input: every field is checked before a stage uses it.
    ("train --resume, run.json epochs -3", ["train", "--resume", "--out", "{fixture}"], _run_with_settings(epochs=-3),
     2, "its settings are invalid: --epochs must be at least 1, got -3"),
    ("train --resume, run.json epochs \"three\"", ["train", "--resume", "--out", "{fixture}"],
     _run_with_settings(epochs="three"), 2, "its settings are invalid: --epochs must be an integer, got 'three'"),
    ("quantize, run.json batch_size 0", ["quantize", "{fixture}", "--method", "qat", "--allow-incomplete"],
     _run_with_settings(batch_size=0), 2, "its settings are invalid: --batch-size must be at least 1, got 0"),
    ("quantize, run.json lr \"fast\"", ["quantize", "{fixture}", "--method", "qat", "--allow-incomplete"],
     _run_with_settings(lr="fast"), 2, "its settings are invalid: --lr must be a number, got 'fast'"),
    ("export a run killed with kill -9", ["export", "{fixture}", "--format", "onnx"], _killed_run, 2,
     "the run is stopped (it says running, but no process holds it"),
    # Budgets: a broken budget is exit 2, never a traceback or a failing model.
    ("check, model = [1, 2]", ["check", "--budget", "{fixture}"], _budget("model = [1, 2]\n"), 2,
     "model 1 is 1, not a table"),
    ("check, min_accuracy = nan", ["check", "--budget", "{fixture}"],
     _budget("[[model]]\nfile = '{int8}'\nmin_accuracy = nan\n"), 2, "min_accuracy must be a finite number above 0"),
    ("check, a run directory as file", ["check", "--budget", "{fixture}"],
     _budget(f"[[model]]\nfile = '{SHIPPED_INT8.parent.parent}'\nmax_size_bytes = 10\n"), 2,
     "is a folder; give a model file (.tflite or .onnx)"),
    # Pictures and arrays that are not what they seem.
    ("predict a FIFO", ["predict", str(SHIPPED_INT8), "{fixture}"], _fifo, 2,
     "camera.png: not a regular file (a pipe, socket or device)"),
    ("predict a random-bytes .npz", ["predict", str(SHIPPED_INT8), "{fixture}"], _random_npz, 2,
     "images.npz: not an .npz archive"),
    ("predict an 11000x11000 PNG", ["predict", str(SHIPPED_INT8), "{fixture}"], _huge_png, 2,
     "huge.png: a 11000x11000 picture (121 MP) is larger than predict decodes"),
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


def test_one_bad_picture_among_good_ones_answers_the_good_ones_and_names_the_bad(tmp_path):
    pictures = _pictures(tmp_path)
    (pictures / "broken.jpg").write_bytes(b"not a jpeg")
    result = CliRunner().invoke(cli, ["predict", str(SHIPPED_INT8), str(pictures / "shirt.png"),
                                                      str(pictures / "broken.jpg")])
    assert result.exit_code == 2
    assert result.stdout.startswith(str(pictures / "shirt.png")) and result.stdout.count("\n") == 1
    assert result.stderr.strip() == f"Error: {pictures / 'broken.jpg'}: not a readable image (cannot identify image " \
                                    f"file '{pictures / 'broken.jpg'}')"


def test_save_input_keeps_two_pictures_with_one_stem_apart(tmp_path):
    pictures = _pictures(tmp_path)
    (pictures / "shirt.jpg").write_bytes(GOLDEN_PHOTO.read_bytes())  # a PNG's bytes: Pillow reads by content
    seen = tmp_path / "seen"
    result = CliRunner().invoke(cli, ["predict", str(SHIPPED_INT8), str(pictures / "shirt.png"),
                                      str(pictures / "shirt.jpg"), "--save-input", str(seen)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in seen.iterdir()) == ["shirt_jpg.png", "shirt_png.png"]


def _corrupt_manifest(folder: Path, text: str) -> Path:
    folder.mkdir()
    (folder / "zoo.json").write_text(text)
    return folder


@pytest.mark.parametrize("text, phrase", [
    ("{not json", "the zoo manifest is not valid JSON"),
    ('{"models": {}}', 'the zoo manifest has no "models" list'),
    ('{"models": [{"name": "m", "model": "vgg-a", "dataset": "fashion", "file": "m.tflite", "size_bytes": 1, '
     '"accuracy": 0.9}]}', "model 1 (m) has no valid 'sha256'"),
    ('{"models": [{"name": "m", "model": "vgg-a", "dataset": "fashion", "file": "../../m.tflite", "size_bytes": 1, '
     '"accuracy": 0.9, "sha256": "' + "0" * 64 + '"}]}', "must be a plain file name in the zoo folder"),
])
def test_a_corrupt_zoo_manifest_is_one_line(tmp_path, text, phrase):
    from fmnist_edge import zoo
    from fmnist_edge.errors import FmnistEdgeError

    folder = _corrupt_manifest(tmp_path / "zoo", text)
    with pytest.raises(FmnistEdgeError, match=re.escape(phrase)) as refused:
        zoo.get("m", folder)
    assert "\n" not in str(refused.value)


def test_an_empty_exception_message_still_makes_one_line():
    from fmnist_edge.errors import one_line

    assert one_line(ValueError("")) == "ValueError"
    assert one_line(RuntimeError("\n\n  real reason\nmore")) == "real reason"
