"""quantize: every method on a briefly trained real model, the budget gate, sparsity, calibration, bad input."""
import hashlib
import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from fmnist_edge.formats import runtime
from fmnist_edge.cli import cli
from fmnist_edge.formats.conversion import to_tflite
from fmnist_edge.errors import BudgetExceededError
from fmnist_edge.stages.quantize import METHODS, quantize

pytestmark = pytest.mark.slow
FLOAT_MODEL_SHA = {}  # run directory -> sha256 of its model.keras right after training
NO_BUDGET = 100.0  # points: behaviour tests, not accuracy tests (the benchmark holds the real targets)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """The zoo's smallest residual model trained for one epoch on 3,000 real images.

    res-t, not a larger model: every method fine-tunes, converts and scores it, and this fixture was
    the suite's slowest step with vgg198k.
    """
    from fmnist_edge.stages.train import train

    out = tmp_path_factory.mktemp("opt") / "run"
    train("res-t", out, epochs=1, limit=3000, progress="none")
    FLOAT_MODEL_SHA[out] = _sha(out / "model.keras")
    return out


@pytest.fixture(scope="module")
def variants(trained_run):
    """Every method once, on the shared run, with a budget that cannot fail."""
    return {m: quantize(trained_run, m, epochs=1, max_drop=NO_BUDGET, progress="none") for m in METHODS if m != "auto"}


@pytest.fixture
def run_copy(trained_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained_run, copy, ignore=shutil.ignore_patterns("optimized"))
    return copy


def test_the_float_model_is_never_touched(trained_run, variants):
    assert _sha(trained_run / "model.keras") == FLOAT_MODEL_SHA[trained_run]


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("method", [m for m in METHODS if m != "auto"])
def test_each_method_writes_a_scored_tflite(trained_run, variants, fashion_mnist, method):
    result = variants[method]
    folder = trained_run / "optimized" / method
    assert result.path == folder and (folder / "model.tflite").is_file()
    assert json.loads((trained_run / "run.json").read_text())["status"] == "complete"
    m = json.loads((folder / "metrics.json").read_text())
    assert m == result.metrics
    # The recorded accuracy is the deployed file's, on the full official test set.
    deployed = runtime.load_model(folder / "model.tflite")
    accuracy, _ = runtime.accuracy(deployed, fashion_mnist.x_test, fashion_mnist.y_test)
    assert m["accuracy"] == accuracy and m["test_images"] == 10000
    float_accuracy = json.loads((trained_run / "metrics.json").read_text())["test_accuracy"]
    assert m["float_accuracy"] == float_accuracy
    assert m["drop_pp"] == pytest.approx(100 * (float_accuracy - accuracy), abs=1e-4)
    assert m["passed"] is True and m["status"] == "passed"
    assert m["size_bytes"] == (folder / "model.tflite").stat().st_size and 0 < m["gzip_bytes"]
    assert set(m["per_class_accuracy"]) == set(fashion_mnist.class_names)
    integer = method in ("qat", "prune+qat", "ptq-int8")
    assert m["input"]["dtype"] == ("uint8" if integer else "float32")
    if integer:
        # The raw-pixel contract: uint8 camera bytes are the model's input as they are.
        scale, zero_point = m["input"]["quantization"]
        assert scale == pytest.approx(1 / 255) and zero_point == 0
        # int8 weights: well under float16's half. Not a quarter on a model this small: its int32 biases,
        # per-channel scales and metadata weigh more beside its few weights (res-t: about 0.34).
        assert m["size_vs_float"] <= 0.4
    if method == "prune":
        assert (folder / "model.keras").is_file()
    if method in ("qat", "prune+qat"):
        # The saved QAT model loads back and computes what the .tflite was converted from.
        from fmnist_edge.artifacts.keras_files import load_qat_model

        reloaded = load_qat_model(folder / "model.h5")
        images = fashion_mnist.x_test[:200]
        keras_scores = reloaded.predict(images[..., None].astype(np.float32) / 255, verbose=0)
        agreement, _ = runtime.top1_agreement(deployed.predict(images), keras_scores)
        assert agreement >= 0.97
    assert not list(folder.parent.glob(".*partial*")), "staging folder left behind"


def test_prune_then_qat_keeps_every_layers_sparsity(trained_run, variants):
    from fmnist_edge import _tf

    keras = _tf.keras()
    float_model = keras.models.load_model(trained_run / "model.keras", compile=False)
    # The kernels quantize prunes: every Conv2D and Dense layer but depthwise ones.
    kernels = [layer.name for layer in float_model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
               and not isinstance(layer, keras.layers.DepthwiseConv2D)]
    result = variants["prune+qat"]
    before, after = result.metrics["sparsity_before_qat"], result.metrics["sparsity"]
    assert after == before
    assert after["overall"] == pytest.approx(0.5, abs=0.01)
    assert sorted(after["per_layer"]) == sorted(kernels) and all(v == pytest.approx(0.5, abs=0.01) for v in after["per_layer"].values())
    # Pruning pays off in the compressed size, not in the plain .tflite.
    plain = variants["qat"].metrics
    assert result.metrics["gzip_bytes"] < 0.8 * plain["gzip_bytes"]


def test_budget_failure_exits_3_keeps_artifacts_and_marks_them_failed(run_copy):
    float_model = _sha(run_copy / "model.keras")
    result = CliRunner().invoke(cli, ["quantize", str(run_copy), "--method", "ptq-dynamic", "--max-drop", "-100"])
    assert result.exit_code == 3, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("Error: ptq-dynamic: deployed accuracy ") and "exceeds the budget of -100.00 points" in line
    m = json.loads((run_copy / "optimized" / "ptq-dynamic" / "metrics.json").read_text())
    assert m["passed"] is False and m["status"] == "failed"
    assert (run_copy / "optimized" / "ptq-dynamic" / "model.tflite").is_file()
    assert _sha(run_copy / "model.keras") == float_model


def test_relative_budget(run_copy):
    with pytest.raises(BudgetExceededError, match=r"budget of -50% of float accuracy"):
        quantize(run_copy, "ptq-fp16", max_drop_relative=-50, progress="none")
    ok = quantize(run_copy, "ptq-fp16", max_drop_relative=50, force=True, progress="none")
    assert ok.metrics["budget_pp"] == pytest.approx(50 * ok.metrics["float_accuracy"])


def test_auto_falls_back_to_qat_only_when_ptq_breaks_the_budget(run_copy):
    assert quantize(run_copy, "auto", max_drop=NO_BUDGET, progress="none").metrics["method"] == "ptq-int8"
    assert not (run_copy / "optimized" / "qat").exists()
    # A budget PTQ cannot meet (its drop is positive on this run) but QAT can (it keeps training).
    ptq_drop = json.loads((run_copy / "optimized" / "ptq-int8" / "metrics.json").read_text())["drop_pp"]
    result = quantize(run_copy, "auto", max_drop=ptq_drop - 0.01, epochs=1, force=True, progress="none")
    assert result.metrics["method"] == "qat"
    assert json.loads((run_copy / "optimized" / "ptq-int8" / "metrics.json").read_text())["passed"] is False


def test_calibration_images_set_the_quantization_ranges(trained_run, fashion_mnist):
    from fmnist_edge import _tf

    model = _tf.keras().models.load_model(trained_run / "model.keras", compile=False)
    images = fashion_mnist.x_train[:64]

    def activation_ranges(calibration):
        path = trained_run / "calibration_probe.tflite"
        path.write_bytes(to_tflite(model, "int8", calibration_images=calibration))
        interpreter = runtime._tflite_interpreter_class()(model_path=str(path))
        return {d["name"]: d["quantization"] for d in interpreter.get_tensor_details() if d["quantization"][0]}

    normal, again, dark = activation_ranges(images), activation_ranges(images), activation_ranges(images // 4)
    assert normal == again, "calibration must be deterministic"
    changed = [name for name in normal if normal[name] != dark[name]]
    assert len(changed) > len(normal) // 4, "darker calibration images must move the activation ranges"


def test_python_api_and_cli_give_the_same_model(trained_run, tmp_path):
    cli_copy = tmp_path / "cli"
    shutil.copytree(trained_run, cli_copy, ignore=shutil.ignore_patterns("optimized"))
    result = CliRunner().invoke(cli, ["quantize", str(cli_copy), "--method", "ptq-int8", "--calibration", "200",
                                      "--max-drop", str(NO_BUDGET), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    api = quantize(trained_run, "ptq-int8", calibration=200, max_drop=NO_BUDGET, force=True, progress="none")
    assert _sha(cli_copy / "optimized" / "ptq-int8" / "model.tflite") == _sha(api.tflite_path)
    assert printed["accuracy"] == api.metrics["accuracy"]


@pytest.mark.parametrize("args, message", [
    (["--sparsity", "1.0", "--method", "prune"], "--sparsity must be in [0, 1), got 1.0"),
    (["--sparsity", "-0.1", "--method", "prune"], "--sparsity must be in [0, 1), got -0.1"),
    (["--calibration", "0", "--method", "ptq-int8"], "--calibration must be at least 1 image, got 0"),
    (["--calibration", "999999", "--method", "ptq-int8"], "--calibration 999999 is larger than the run's 2,700 training images"),
    (["--max-drop", "1", "--max-drop-relative", "1"], "give --max-drop or --max-drop-relative, not both"),
    (["--epochs", "0", "--method", "qat"], "--epochs must be at least 1, got 0"),
])
def test_bad_options_exit_2(trained_run, args, message):
    result = CliRunner().invoke(cli, ["quantize", str(trained_run)] + args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_fine_tuning_epochs_default_per_method_and_are_recorded(variants):
    from fmnist_edge.stages.quantize import QuantizeSettings

    defaults = QuantizeSettings()
    assert [defaults.epochs_for(m) for m in ("qat", "prune", "prune+qat")] == [2, 4, 4]
    assert QuantizeSettings(epochs=1).epochs_for("prune+qat") == 1
    assert variants["prune+qat"].metrics["settings"]["epochs"] == 1  # the fixture asked for 1
    assert variants["ptq-int8"].metrics["settings"]["epochs"] is None  # nothing fine-tuned


def test_existing_variant_is_not_replaced_without_force(run_copy):
    earlier = run_copy / "optimized" / "ptq-fp16"
    earlier.mkdir(parents=True)
    (earlier / "metrics.json").write_text('{"kept": true}')
    result = CliRunner().invoke(cli, ["quantize", str(run_copy), "--method", "ptq-fp16"])
    assert result.exit_code == 2 and "already exists; pass --force" in result.output
    assert (earlier / "metrics.json").read_text() == '{"kept": true}'


def test_run_without_a_model_exits_2(run_copy, tmp_path):
    (run_copy / "model.keras").unlink()
    result = CliRunner().invoke(cli, ["quantize", str(run_copy), "--method", "ptq-int8"])
    assert result.exit_code == 2 and "no trained model (model.keras is missing)" in result.output
    result = CliRunner().invoke(cli, ["quantize", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "not a run directory (no run.json)" in result.output


def test_unquantizable_model_exits_2(run_copy, monkeypatch):
    from fmnist_edge import _tf
    from fmnist_edge.models.registry import MODELS, ModelInfo

    def layer_norm_net(input_shape, num_classes, name="ln_net"):
        keras = _tf.keras()
        inputs = keras.Input(input_shape)
        x = keras.layers.Flatten()(inputs)
        x = keras.layers.LayerNormalization()(x)  # tfmot's default 8-bit scheme has no config for it
        return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(x), name=name)

    # A registered model (run.json and the model file must agree) that tfmot cannot quantize.
    monkeypatch.setitem(MODELS, "ln-net", ModelInfo("ln-net", layer_norm_net, "test", "test", (28, 28, 1), 10, (1, 1)))
    layer_norm_net((28, 28, 1), 10).save(run_copy / "model.keras")
    record = json.loads((run_copy / "run.json").read_text())
    record["settings"]["model"] = "ln-net"
    (run_copy / "run.json").write_text(json.dumps(record))
    result = CliRunner().invoke(cli, ["quantize", str(run_copy), "--method", "qat", "--epochs", "1"])
    assert result.exit_code == 2, result.output
    assert "cannot be quantized by tfmot" in result.output and "Traceback" not in result.output


def test_a_mixed_precision_run_quantizes_in_float32(tmp_path, fashion_mnist):
    """bf16-trained models convert (TFLite has no bf16 kernels) and score like the Keras model."""
    from fmnist_edge.stages.train import train

    run = train("mlp", tmp_path / "bf16", epochs=1, limit=2000, mixed_precision=True, progress="none")
    result = quantize(run.path, "ptq-fp16", max_drop=1.0, progress="none")
    assert result.metrics["passed"] and abs(result.metrics["drop_pp"]) < 1.0
    assert quantize(run.path, "qat", epochs=1, max_drop=NO_BUDGET, progress="none").metrics["input"]["dtype"] == "uint8"


def test_the_default_calibration_size_refuses_only_the_methods_that_calibrate(tmp_path):
    """A run smaller than the default 500 calibration images: QAT (no calibration) goes ahead; PTQ says why not."""
    from fmnist_edge.stages.train import train

    small = tmp_path / "small"
    train("mlp", small, epochs=1, limit=400, progress="none")  # 360 training images after the split
    result = CliRunner().invoke(cli, ["quantize", str(small), "--method", "ptq-int8"])
    assert result.exit_code == 2
    assert result.output == ("Error: --calibration 500 is larger than the run's 360 training images\n")
    result = CliRunner().invoke(cli, ["quantize", str(small), "--method", "qat", "--epochs", "1",
                                      "--max-drop", str(NO_BUDGET)])
    assert result.exit_code == 0, result.output
    assert (small / "optimized" / "qat" / "model.tflite").is_file()


def test_fine_tuning_toward_a_teacher_carries_its_soft_targets_and_records_it(run_copy, trained_run, monkeypatch):
    """`quantize --teacher`: the fine-tuning batches carry the teacher's soft targets beside the labels (the
    distillation loss of `train --teacher`), and metrics.json names the teacher by sha256."""
    from fmnist_edge.stages import quantize as quantize_stage

    widths = []
    real_fit_datasets = quantize_stage.fit_datasets

    def watched(*args, **kwargs):
        train_ds, val_ds = real_fit_datasets(*args, **kwargs)
        widths.append(int(next(iter(train_ds))[1].shape[-1]))
        return train_ds, val_ds

    monkeypatch.setattr(quantize_stage, "fit_datasets", watched)
    result = CliRunner().invoke(cli, ["quantize", str(run_copy), "--method", "qat", "--epochs", "1", "--max-drop",
                                      str(NO_BUDGET), "--teacher", str(trained_run), "--json"])
    assert result.exit_code == 0, result.output
    assert widths == [20]  # 10 one-hot labels | 10 soft targets
    metrics = json.loads((run_copy / "optimized" / "qat" / "metrics.json").read_text())
    assert metrics["settings"]["teachers"] == [str(trained_run)]
    teacher_accuracy = json.loads((trained_run / "metrics.json").read_text())["test_accuracy"]
    assert metrics["teachers"] == [{"run": str(trained_run), "model": "res-t", "sha256": _sha(trained_run / "model.keras"),
                                    "test_accuracy": teacher_accuracy}]


@pytest.mark.parametrize("method, teacher, message", [
    ("ptq-int8", "{run}", "--teacher needs a method that fine-tunes (prune, qat, prune+qat); ptq-int8 trains nothing"),
    ("qat", "{tmp}", "not a run directory (no run.json)"),
])
def test_a_teacher_quantize_cannot_use_gets_one_line_and_no_variant(run_copy, tmp_path, method, teacher, message):
    teacher = teacher.format(run=run_copy, tmp=tmp_path / "nothing")
    (tmp_path / "nothing").mkdir()
    result = CliRunner().invoke(cli, ["quantize", str(run_copy), "--method", method, "--teacher", teacher])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert not (run_copy / "optimized").exists()
