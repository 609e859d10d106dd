"""Faults that need a trained run or a model of an odd shape: each row of issue "Trust, round two" that the
refusal-only table of test_faults.py cannot hold. Each fails without its fix."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fmnist_edge import _tf
from fmnist_edge.cli import cli

GOLDEN_PHOTO = Path(__file__).resolve().parent / "golden" / "preprocess" / "00_photo_0.png"


def _copy_run(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_train_init_refuses_an_out_that_is_the_run_it_starts_from(finished_mlp, tmp_path):
    run = _copy_run(finished_mlp, tmp_path / "m1")
    before = _sha(run / "model.keras")
    result = CliRunner().invoke(cli, ["train", "--model", "mlp", "--epochs", "1", "--limit", "500", "--init", str(run),
                                      "--out", str(run), "--force"])
    assert result.exit_code == 2, result.output
    assert f"{run}: is {run} (--init), which this command reads; replacing it would delete it" in result.output
    assert _sha(run / "model.keras") == before


def test_ensemble_refuses_an_out_that_is_one_of_its_members(finished_mlp, tmp_path):
    m1, m2 = _copy_run(finished_mlp, tmp_path / "m1"), _copy_run(finished_mlp, tmp_path / "m2")
    result = CliRunner().invoke(cli, ["ensemble", str(m1), str(m2), "--out", str(m2), "--force"])
    assert result.exit_code == 2, result.output
    assert f"{m2}: is {m2} (a member), which this command reads" in result.output
    assert (m2 / "model.keras").is_file() and "Traceback" not in result.output


def test_train_refuses_to_replace_the_folder_it_is_run_from(finished_mlp, tmp_path, monkeypatch):
    run = _copy_run(finished_mlp, tmp_path / "run")
    monkeypatch.chdir(run)
    result = CliRunner().invoke(cli, ["train", "--model", "mlp", "--epochs", "1", "--out", ".", "--force"])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == "Error: .: is the folder you are in (or holds it); choose another --out"
    assert (run / "model.keras").is_file()


def test_a_run_the_teacher_option_reads_is_not_offered_allow_incomplete(finished_mlp, tmp_path):
    run = _copy_run(finished_mlp, tmp_path / "teacher")
    record = json.loads((run / "run.json").read_text())
    record["status"] = "interrupted"
    (run / "run.json").write_text(json.dumps(record))
    result = CliRunner().invoke(cli, ["train", "--model", "mlp", "--epochs", "1", "--teacher", str(run),
                                      "--out", str(tmp_path / "student")])
    assert result.exit_code == 2 and "the run is interrupted" in result.output
    assert "--allow-incomplete" not in result.output


def test_ctrl_c_while_the_best_model_is_scored_leaves_a_run_that_resume_finishes(tmp_path, monkeypatch):
    from fmnist_edge.stages import train as training

    out = tmp_path / "run"
    real = training.evaluate_model

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "evaluate_model", interrupted)
    result = CliRunner().invoke(cli, ["train", "--model", "mlp", "--epochs", "1", "--limit", "500", "--out", str(out)])
    assert result.exit_code == 130, result.output
    assert "interrupted while scoring the best model" in result.output and "Aborted" not in result.output
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    monkeypatch.setattr(training, "evaluate_model", real)
    result = CliRunner().invoke(cli, ["train", "--resume", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "run.json").read_text())["status"] == "complete"


@pytest.fixture()
def small_disk(tmp_path):
    """mount(kib): a tmpfs of that size, so the disk fills up in the middle of a write. Needs root (CI and these
    machines run the tests as root)."""
    mounted = []

    def mount(kib: int) -> Path:
        folder = tmp_path / "disk"
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(folder)],
                              capture_output=True, text=True)
        assert done.returncode == 0, f"cannot mount a tmpfs (the disk-full rows need root): {done.stderr.strip()}"
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def test_train_on_a_full_disk_is_one_line_and_the_run_resumes(small_disk):
    out = small_disk(2048) / "run"
    # An mlp of ~570k parameters: its model file and checkpoint do not fit in 2 MB.
    result = CliRunner().invoke(cli, ["train", "--model", "mlp", "--epochs", "2", "--limit", "500", "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "cannot write the run (" in result.output and "Free some space, then continue with: fmnist-edge train " \
        "--resume" in result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1
    assert not list(out.glob(".*partial*"))  # no half-written file is left behind
    status = json.loads((out / "run.json").read_text())["status"]
    assert status == "interrupted"
    result = CliRunner().invoke(cli, ["train", "--resume", "--out", str(out)])
    assert result.exit_code == 1 and "cannot write the run (" in result.output  # still full: the same one line


def test_export_on_a_full_disk_lists_every_file_it_left(exported, small_disk):
    source = exported.path.parent
    # Room for the run and its float .tflite, not for the ONNX file after it.
    fits = sum((source / n).stat().st_size for n in ("run.json", "model.keras", "metrics.json"))
    fits += (exported.path / "model_fp32.tflite").stat().st_size
    run = small_disk(fits // 1024 + 300) / "run"
    run.mkdir()
    for name in ("run.json", "model.keras", "metrics.json"):
        shutil.copy(source / name, run / name)
    result = CliRunner().invoke(cli, ["export", str(run), "--format", "tflite-fp32", "--format", "onnx",
                                      "--format", "tflite-int8"])
    assert result.exit_code == 2, result.output
    assert "cannot write the export (" in result.output and "model.json lists every file left" in result.output
    assert "Traceback" not in result.output
    export = run / "export"
    listed = {entry["file"] for entry in json.loads((export / "model.json").read_text())["formats"].values()} \
        if (export / "model.json").exists() else set()
    left = {p.name for p in export.iterdir() if p.name not in ("model.json", "labels.txt")}
    assert left == listed and not any(name.startswith(".") for name in left)


def _odd_tflite(tmp_path, name, build):
    keras = _tf.keras()
    model = build(keras)
    converter = _tf.tf().lite.TFLiteConverter.from_keras_model(model)
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(converter.convert())
    return path


@pytest.mark.parametrize("name, build, phrase", [
    ("flat", lambda k: k.Sequential([k.Input((784,)), k.layers.Dense(10, activation="softmax")]),
     "its input is ?x784; fmnist-edge runs image classifiers"),
    ("maps", lambda k: k.Sequential([k.Input((28, 28, 1)), k.layers.Conv2D(10, 3)]),
     "its output is ?x26x26x10; fmnist-edge runs classifiers whose output is (batch, classes)"),
    ("dynamic", lambda k: k.Sequential([k.Input((None, None, 1)), k.layers.GlobalAveragePooling2D(),
                                        k.layers.Dense(10, activation="softmax")]),
     "its input is ?x?x?x1; fmnist-edge runs image classifiers"),
])
def test_predict_refuses_a_model_that_is_not_an_image_classifier(tmp_path, name, build, phrase):
    model = _odd_tflite(tmp_path, name, build)
    result = CliRunner().invoke(cli, ["predict", str(model), str(GOLDEN_PHOTO)])
    assert result.exit_code == 2, result.output
    assert phrase in result.output and "Traceback" not in result.output and result.output.count("\n") == 1


def test_export_refuses_an_opset_it_cannot_write_before_any_converter_output(exported, tmp_path):
    run = _copy_run(exported.path.parent, tmp_path / "run")
    result = CliRunner().invoke(cli, ["export", str(run), "--format", "onnx", "--opset", "3", "--force"])
    assert result.exit_code == 2, result.output
    assert result.output == "Error: --opset must be from 9 to 18, got 3\n"
