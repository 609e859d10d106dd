"""Ensembles (`fmnist-edge ensemble`, models/ensemble.py): the graph computes the softmax of the members'
mean logit, the run directory it writes goes through quantize and export like a trained one, and bad
member lists are refused with one line."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from fmnist_edge.cli import cli
from fmnist_edge.errors import FmnistEdgeError
from fmnist_edge.models import build_model, get_model_info
from fmnist_edge.models.ensemble import ensemble_of

pytestmark = pytest.mark.slow


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _logits(model, x):
    from fmnist_edge import _tf

    keras = _tf.keras()
    return keras.Model(model.input, model.get_layer("logits").output).predict(x, verbose=0)


def test_the_graph_is_the_softmax_of_the_members_mean_logit():
    members = [build_model("vgg-t"), build_model("edge-s"), build_model("vgg-t")]
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    expected = _softmax(np.mean([_logits(m, x) for m in members], axis=0))
    net = ensemble_of(members, "ensemble:vgg-t+edge-s+vgg-t")
    np.testing.assert_allclose(net.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-6)
    # One flat graph (tfmot's QAT takes no nested model), member i's layers prefixed m{i}_.
    assert not any(hasattr(layer, "layers") for layer in net.layers)
    assert {layer.name.split("_")[0] for layer in net.layers} >= {"m0", "m1", "m2"}
    assert net.count_params() == sum(m.count_params() for m in members)


def test_an_ensemble_name_builds_untrained_like_any_zoo_model():
    info = get_model_info("ensemble:VGG-T+edge_s")
    assert info.name == "ensemble:vgg-t+edge-s" and info.default_input_shape == (28, 28, 1)
    net = build_model("ensemble:vgg-t+edge-s")
    assert net.name == "ensemble_vgg_t_edge_s"
    assert net.count_params() == build_model("vgg-t").count_params() + build_model("edge-s").count_params()


@pytest.mark.parametrize("name, message", [
    ("ensemble:vgg-t", "an ensemble names two or more models joined by '+'"),
    ("ensemble:vgg-t+", "an ensemble names two or more models joined by '+'"),
    ("ensemble:vgg-t+nope", "unknown model 'nope'"),
    ("ensemble:vgg-t+mresnet", "its members are made for different inputs or class counts"),
    ("ensemble:" + "+".join(["vgg-t"] * 9), "at most 8 members, got 9"),
])
def test_malformed_ensemble_names_are_refused(name, message):
    with pytest.raises(FmnistEdgeError, match=None) as info:
        get_model_info(name)
    assert message in str(info.value)


def _train(out, *extra):
    result = CliRunner().invoke(cli, ["train", "--model", "mlp", "--epochs", "1", "--limit", "1500", "--out",
                                      str(out), *extra])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    root = tmp_path_factory.mktemp("members")
    return _train(root / "a", "--seed", "1"), _train(root / "b", "--seed", "2")


def test_ensemble_writes_a_complete_run_that_quantizes_and_exports(members, tmp_path, fashion_mnist):
    from fmnist_edge.artifacts.keras_files import load_keras_model

    out = tmp_path / "ens"
    result = CliRunner().invoke(cli, ["ensemble", *map(str, members), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "ensemble:mlp+mlp: test accuracy" in result.output
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "complete" and record["settings"]["model"] == "ensemble:mlp+mlp"
    assert [m["run"] for m in record["ensemble"]["members"]] == list(map(str, members))
    assert [m["settings"]["seed"] for m in record["ensemble"]["members"]] == [1, 2]  # how each was trained
    assert record["ensemble"]["command"] == f"fmnist-edge ensemble {members[0]} {members[1]} --out {out}"

    # Its test accuracy is that of the members' mean logit, computed here from the members' own files.
    x = fashion_mnist.x_test[..., None].astype(np.float32) / 255.0
    mean_logit = np.mean([_logits(load_keras_model(m / "model.keras"), x) for m in members], axis=0)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] == pytest.approx(float((mean_logit.argmax(1) == fashion_mnist.y_test).mean()),
                                                     abs=2e-4)  # float rounding may flip one near-tie

    # The members learnt for a moment (about 55% accurate): half a point of int8 rounding noise on them is not
    # what this test checks, that the ensemble's run quantizes and exports like a trained one.
    quantized = CliRunner().invoke(cli, ["quantize", str(out), "--method", "ptq-int8", "--max-drop", "2"])
    assert quantized.exit_code == 0, quantized.output
    exported = CliRunner().invoke(cli, ["export", str(out), "--format", "tflite-int8"])
    assert exported.exit_code == 0, exported.output
    assert (out / "export" / "model_int8.tflite").is_file()


def test_a_finished_ensemble_teaches_like_a_trained_run(members, tmp_path):
    ens = tmp_path / "ens"
    assert CliRunner().invoke(cli, ["ensemble", *map(str, members), "--out", str(ens)]).exit_code == 0
    student = tmp_path / "student"
    result = CliRunner().invoke(cli, ["train", "--model", "mlp", "--epochs", "1", "--limit", "500", "--teacher",
                                      str(ens), "--out", str(student)])
    assert result.exit_code == 0, result.output
    assert json.loads((student / "run.json").read_text())["teachers"][0]["model"] == "ensemble:mlp+mlp"


def test_bad_member_lists_get_one_line_and_exit_2(members, tmp_path, closet_dir):
    closet = _train(tmp_path / "closet", "--dataset", "closet", "--data-dir", str(closet_dir))
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    record = json.loads((members[0] / "run.json").read_text()) | {"status": "interrupted"}
    (unfinished / "run.json").write_text(json.dumps(record))
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    a, b = map(str, members)
    cases = [
        ([a], "an ensemble needs at least two runs"),
        ([a, a], f"{a}: given twice (as {a}); each member is a different run"),
        ([a, str(closet)], f"{closet}: trained on closet (input (64, 128, 1), 9 classes), but {a} on fashion "
                           f"(input (28, 28, 1), 10 classes); an ensemble's members share one task"),
        ([a, str(unfinished)], f"{unfinished}: the run is interrupted"),
        ([a, b, "--out", str(taken)], f"{taken}: run directory already exists; pass --force to replace it\n"),
        ([a, b, "--out", str(taken), "--force"], f"{taken}: not a run directory (no run.json) and not empty"),
    ]
    for argv, message in cases:
        result = CliRunner().invoke(cli, ["ensemble", *argv] + ([] if "--out" in argv else ["--out", str(tmp_path / "x")]))
        assert result.exit_code == 2, (argv, result.output)
        assert message in result.output and "Traceback" not in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
    assert (taken / "notes.txt").read_text() == "mine"
