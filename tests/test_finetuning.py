"""Fine-tuning (`train --init RUN_DIR`): the model starts from a finished run's weights, run.json records
which file, and runs of another model or other data are refused before any directory exists. A resumed
run refuses a run it starts from or learns from (--teacher) whose model file changed."""
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fmnist_edge.cli import cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def start(finished_mlp):
    return finished_mlp


def test_a_fine_tuned_run_starts_from_the_weights_it_names(start, tmp_path):
    out = tmp_path / "tuned"
    # Plain SGD at a vanishing learning rate, on a model without BatchNorm: nothing moves, so the tuned model
    # scores exactly what the run it started from scored.
    result = CliRunner().invoke(cli, ["train", "--model", "mlp", "--init", str(start), "--optimizer", "sgd", "--lr",
                                      "1e-12", "--epochs", "1", "--limit", "500", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    before = json.loads((start / "metrics.json").read_text())["test_accuracy"]
    assert json.loads(result.output)["test_accuracy"] == pytest.approx(before, abs=1e-4)
    record = json.loads((out / "run.json").read_text())
    assert record["settings"]["init"] == str(start)
    assert record["init"] == {"run": str(start), "model": "mlp", "test_accuracy": before,
                              "sha256": hashlib.sha256((start / "model.keras").read_bytes()).hexdigest()}


@pytest.mark.parametrize("option, phrase", [("--init", "its model.keras changed since this run started"),
                                            ("--teacher", "the teacher's model.keras changed since this run started")])
def test_a_resumed_run_refuses_a_run_it_learns_from_that_changed(start, tmp_path, option, phrase):
    moved = tmp_path / "start"
    shutil.copytree(start, moved)
    out = tmp_path / "tuned"
    result = CliRunner().invoke(cli, ["train", "--model", "mlp", option, str(moved), "--epochs", "2", "--limit",
                                      "500", "--out", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text())
    record["status"], record["epochs_completed"] = "interrupted", 1
    (out / "run.json").write_text(json.dumps(record))
    before = hashlib.sha256((moved / "model.keras").read_bytes()).hexdigest()
    (moved / "model.keras").write_bytes((out / "model.keras").read_bytes())  # another model in its place
    after = hashlib.sha256((moved / "model.keras").read_bytes()).hexdigest()

    result = CliRunner().invoke(cli, ["train", "--resume", "--out", str(out)])
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: {moved}: {phrase} (sha256 {before[:12]}... then, {after[:12]}... now)"


@pytest.mark.parametrize("case, args, message", [
    ("not a run", ["--model", "mlp", "--init", "{tmp}"], "not a run directory (no run.json)"),
    ("other model", ["--model", "vgg-t", "--init", "{start}"],
     "{start}: --init needs a run of the same model (vgg-t); it is a mlp run"),
    ("other data", ["--model", "mlp", "--init", "{start}", "--dataset", "closet", "--data-dir", "{closet}"],
     "{start}: --init needs a run on the same data (closet, input (64, 128, 1)); it was trained on fashion, "
     "input (28, 28, 1)"),
])
def test_bad_starts_get_one_line_and_no_run_directory(start, tmp_path, closet_dir, case, args, message):
    out = tmp_path / "tuned"
    fill = dict(tmp=tmp_path, start=start, closet=closet_dir)
    args = [a.format(**fill) for a in args]
    result = CliRunner().invoke(cli, ["train", *args, "--epochs", "1", "--limit", "500", "--out", str(out)])
    assert result.exit_code == 2
    assert message.format(**fill) in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not out.exists()


# --backbone: a 28x28 garment model's layers start a closet model; the shipped res-s run is the source the
# closet model in the zoo starts from.
RES_S = str(Path(__file__).resolve().parents[1] / "shipped" / "res-s-best")


def test_a_backbone_starts_every_shared_layer_and_leaves_the_head_fresh(closet_dir, tmp_path):
    import numpy as np

    from fmnist_edge.artifacts.keras_files import load_keras_model

    out = tmp_path / "closet"
    # plain SGD at a vanishing learning rate: the started kernels stay the backbone's to float precision
    result = CliRunner().invoke(cli, ["train", "--model", "res-closet", "--dataset", "closet", "--data-dir",
                                      str(closet_dir), "--backbone", RES_S, "--optimizer", "sgd", "--lr", "1e-12",
                                      "--epochs", "1", "--limit", "64", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text())
    shared = ["stem", "stage2_block1_1", "stage2_block1_2", "stage2_block1_proj", "stage3_block1_1",
              "stage3_block1_2", "stage3_block1_proj", "stage3_block2_1", "stage3_block2_2"]
    assert record["backbone"]["layers"] == sorted(f"{name}_{kind}" for name in shared for kind in ("bn", "conv"))
    assert record["backbone"]["fresh"] == ["hidden", "logits"]  # the price head: 9 totals, not 10 garments
    assert record["backbone"]["sha256"] == hashlib.sha256((Path(RES_S) / "model.keras").read_bytes()).hexdigest()
    source, tuned = load_keras_model(Path(RES_S) / "model.keras"), load_keras_model(out / "model.keras")
    for name in shared:
        np.testing.assert_allclose(tuned.get_layer(f"{name}_conv").get_weights()[0],
                                   source.get_layer(f"{name}_conv").get_weights()[0], atol=1e-6)
    assert tuned.get_layer("logits").get_weights()[0].shape == (128, 9)


@pytest.mark.parametrize("case, args, message", [
    ("nothing shared", ["--model", "mlp", "--backbone", RES_S],
     f"{RES_S}: its res-s model shares no layer (same name and weight shapes) with mlp; --backbone would start "
     "nothing from it"),
    ("with --init", ["--model", "mlp", "--backbone", RES_S, "--init", "{start}"],
     "--init starts every weight from a run, --backbone some of them: give one"),
])
def test_bad_backbones_get_one_line_and_no_run_directory(start, tmp_path, case, args, message):
    out = tmp_path / "tuned"
    args = [a.format(start=start) for a in args]
    result = CliRunner().invoke(cli, ["train", *args, "--epochs", "1", "--limit", "500", "--out", str(out)])
    assert result.exit_code == 2
    assert message.format(start=start) in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not out.exists()
