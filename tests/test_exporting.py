"""export: every format round trip, model.json, labels, embedded metadata, builtin ops, batch sizes,
the parity check failing on a perturbed model, and Android assets."""
import hashlib
import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from fmnist_edge import _tf
from fmnist_edge.formats import runtime
from fmnist_edge.cli import cli
from fmnist_edge.formats.conversion import to_tflite
from fmnist_edge.formats.inspection import tflite_macs, tflite_ops
from fmnist_edge.errors import FmnistEdgeError
from fmnist_edge.stages.export import FORMATS
from fmnist_edge.stages.export import formats as formats_module
from fmnist_edge.formats.metadata import read_associated_files, read_metadata

pytestmark = pytest.mark.slow


@pytest.fixture
def run_copy(exported, tmp_path):
    """A private copy of the exported run (without its export/), for tests that export again."""
    target = tmp_path / "run"
    shutil.copytree(exported.path.parent, target, ignore=shutil.ignore_patterns("export", "checkpoints"))
    return target


def test_every_format_passes_its_check_and_is_recorded(exported, fashion_mnist):
    record = json.loads((exported.path / "model.json").read_text())
    assert record == exported.record
    assert list(record["formats"]) == list(FORMATS)
    assert (exported.path / "labels.txt").read_text().splitlines() == list(fashion_mnist.class_names)
    assert record["input"]["shape"] == [-1, 28, 28, 1]
    assert record["int8_source"] == "post-training, 500 calibration images"  # the run has no QAT variant
    for name, entry in record["formats"].items():
        path = exported.path / entry["file"]
        assert entry["check"]["passed"], (name, entry["check"])
        assert entry["check"]["batch1_max_abs_diff"] <= 1e-4, name
        if not path.is_dir():
            assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
            assert entry["size_bytes"] == path.stat().st_size
            deployed = runtime.load_model(path)
            accuracy = float((deployed.predict(fashion_mnist.x_test).argmax(1) == fashion_mnist.y_test).mean())
            assert entry["accuracy"] == accuracy
    assert record["formats"]["tflite-fp32"]["check"]["max_abs_diff"] <= 1e-4
    assert record["formats"]["tflite-int8"]["check"]["top1_agreement"] >= 0.99


def test_tflite_files_use_builtin_ops_only_and_integer_io_where_promised(exported):
    for name in ("tflite-fp32", "tflite-fp16", "tflite-dynamic", "tflite-int8"):
        path = exported.path / FORMATS[name].file_name
        ops = exported.record["formats"][name]["ops"]
        assert ops == tflite_ops(path.read_bytes()) and "FULLY_CONNECTED" in ops
        assert not [op for op in ops if op.startswith("CUSTOM")]
    int8 = runtime.load_model(exported.path / "model_int8.tflite")
    assert int8.input_dtype == np.uint8 and int8.input_quantization == pytest.approx((1 / 255, 0))
    assert "QUANTIZE" in exported.record["formats"]["tflite-int8"]["ops"]


def test_batch1_file_is_its_twin_with_the_batch_fixed(exported):
    """LiteRT.js refuses a dynamic batch: the -b1 file fixes it at 1 and must score exactly as its twin."""
    dynamic, fixed = (exported.record["formats"][n] for n in ("tflite-int8", "tflite-int8-b1"))
    assert dynamic["io"]["input"] == {"shape": [-1, 28, 28, 1], "dtype": "uint8",
                                      "quantization": [pytest.approx(1 / 255), 0]}
    assert fixed["io"]["input"]["shape"] == [1, 28, 28, 1] and fixed["io"]["output"]["shape"] == [1, 10]
    assert fixed["io"]["output"] == {**dynamic["io"]["output"], "shape": [1, 10]}
    assert (fixed["batch"], dynamic["batch"]) == (1, "dynamic")
    assert fixed["check"]["twin"] == "tflite-int8" and fixed["check"]["twin_max_abs_diff"] == 0.0
    assert fixed["ops"] == dynamic["ops"] and fixed["accuracy"] == dynamic["accuracy"]
    assert runtime.load_model(exported.path / fixed["file"]).labels == runtime.load_model(
        exported.path / dynamic["file"]).labels  # the metadata is kept


def test_mirror_file_looks_at_the_image_and_its_mirror_with_its_weights_stored_once(exported, fashion_mnist):
    """tflite-int8-mirror averages the model's scores on an image and on its left-right mirror: so it scores an
    image and its mirror exactly alike, about as the plain int8 file's two scores averaged, at
    twice the multiply-accumulates, in a file that stores the weights once."""
    plain, mirror = (exported.path / FORMATS[n].file_name for n in ("tflite-int8", "tflite-int8-mirror"))
    images = fashion_mnist.x_test[:200]
    mirrored = np.ascontiguousarray(images[:, :, ::-1])
    deployed = runtime.load_model(mirror)
    scores = deployed.predict(images)
    np.testing.assert_array_equal(deployed.predict(mirrored), scores)
    single = runtime.load_model(plain)
    averaged = (single.predict(images) + single.predict(mirrored)) / 2
    # a few uint8 steps: this run has no QAT, and post-training calibration sets the mirror graph's ranges anew
    assert np.abs(scores - averaged).max() <= 4 / 256 + 1e-6
    assert deployed.io_contract == single.io_contract
    assert {"REVERSE_V2", "CONCATENATION"} <= set(exported.record["formats"]["tflite-int8-mirror"]["ops"])
    assert tflite_macs(mirror.read_bytes()) == 2 * tflite_macs(plain.read_bytes())
    assert mirror.stat().st_size < 1.1 * plain.stat().st_size  # an mlp's file is nearly all weights
    # the demos' batch-1 twin: the same scores, the batch fixed, and a record saying it looks twice
    fixed, dynamic = (exported.record["formats"][n] for n in ("tflite-int8-mirror-b1", "tflite-int8-mirror"))
    assert fixed["check"]["twin"] == "tflite-int8-mirror" and fixed["check"]["twin_max_abs_diff"] == 0.0
    assert fixed["io"]["input"]["shape"] == [1, 28, 28, 1] and fixed["io"]["output"]["shape"] == [1, 10]
    assert (fixed["views"], dynamic["views"]) == (2, 2) and "views" not in exported.record["formats"]["tflite-int8-b1"]
    np.testing.assert_array_equal(runtime.load_model(exported.path / fixed["file"]).predict(mirrored[:8]), scores[:8])


def test_run_json_naming_another_model_is_refused(run_copy):
    record = json.loads((run_copy / "run.json").read_text())
    record["settings"]["model"] = "vgg198k"  # the file holds the mlp
    (run_copy / "run.json").write_text(json.dumps(record))
    result = CliRunner().invoke(cli, ["export", str(run_copy), "--format", "onnx"])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {run_copy / 'model.keras'}: holds mlp (")
    assert "but the run names vgg198k (198,370 parameters, input (28, 28, 1))" in result.output
    assert not (run_copy / "export").exists()


def test_a_select_tf_op_is_named_and_refused():
    tf, keras = _tf.tf(), _tf.keras()
    inputs = keras.Input((4, 4))
    model = keras.Model(inputs, keras.layers.Lambda(lambda m: tf.linalg.det(m))(inputs))
    with pytest.raises(FmnistEdgeError, match=r"TFLite conversion \(fp32\) failed"):
        to_tflite(model, "fp32")  # builtin ops only: the converter refuses rather than emitting a Flex op
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    assert "CUSTOM:FlexMatrixDeterminant" in tflite_ops(converter.convert())


@pytest.mark.parametrize("name", ["tflite-fp32", "tflite-int8", "onnx"])
def test_batch_one_and_a_dynamic_batch_give_the_same_scores(exported, fashion_mnist, name):
    deployed = runtime.load_model(exported.path / FORMATS[name].file_name)
    images = fashion_mnist.x_test[:13]
    batched = deployed.predict(images, batch_size=13)
    one_by_one = np.concatenate([deployed.predict(images[i:i + 1], batch_size=1) for i in range(13)])
    np.testing.assert_allclose(one_by_one, batched, atol=1e-6)
    again = deployed.predict(fashion_mnist.x_test[:300], batch_size=128)  # 128, 128, then a short 44
    np.testing.assert_allclose(again[:13], batched, atol=1e-6)


def test_tflite_files_carry_readable_metadata_and_labels(exported, fashion_mnist):
    data = (exported.path / FORMATS["tflite-fp32"].file_name).read_bytes()
    meta = read_metadata(data)
    assert meta["name"] == "fmnist-edge mlp (fp32)" and meta["license"] == "Apache-2.0"
    assert meta["input"]["color_space"] == "GRAYSCALE" and meta["input"]["std"] == [255.0]
    labels = read_associated_files(data)["labels.txt"].decode().splitlines()
    assert labels == list(fashion_mnist.class_names)
    assert runtime.load_model(exported.path / "model_int8.tflite").labels == list(fashion_mnist.class_names)
    assert runtime.load_model(exported.path / "model.onnx").labels == list(fashion_mnist.class_names)


def named_tensors(path) -> list[str]:
    from ai_edge_litert.interpreter import Interpreter

    return [d["name"] for d in Interpreter(model_path=str(path)).get_tensor_details() if d["name"]]


def test_tflite_files_name_only_their_input_and_output_unless_asked(exported, run_copy):
    for name, entry in exported.record["formats"].items():
        if entry["file"].endswith(".tflite"):
            assert entry["tensor_names"] == "inputs and outputs only", name
            assert len(named_tensors(exported.path / entry["file"])) == 2, name
        else:
            assert "tensor_names" not in entry, name
    result = CliRunner().invoke(cli, ["export", str(run_copy), "--format", "tflite-int8", "--keep-tensor-names"])
    assert result.exit_code == 0, result.output
    entry = json.loads((run_copy / "export" / "model.json").read_text())["formats"]["tflite-int8"]
    assert entry["tensor_names"] == "all" and entry["check"]["passed"]
    assert len(named_tensors(run_copy / "export" / "model_int8.tflite")) > 2
    assert entry["size_bytes"] > exported.record["formats"]["tflite-int8"]["size_bytes"]


def test_agreement_counts_a_tie_as_agreeing_with_each_label_it_ties():
    got = np.array([[0.5, 0.5, 0.0], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.4, 0.3, 0.3]])
    expected = np.array([[0.3, 0.6, 0.1], [0.45, 0.45, 0.1], [0.7, 0.2, 0.1], [0.4, 0.5, 0.1]])
    agreement, ties = runtime.top1_agreement(got, expected)
    assert agreement == 0.5 and ties == 2  # rows 0 and 1 agree through a tie; rows 2 and 3 disagree


def test_a_perturbed_model_fails_its_check_with_exit_3(run_copy, monkeypatch):
    real_to_tflite, keras = formats_module.to_tflite, _tf.keras()

    def perturbed(model, mode, **options):  # the file no longer computes what its source computes
        clone = keras.models.clone_model(model)
        rng = np.random.default_rng(0)
        clone.set_weights([w + 0.05 * rng.standard_normal(w.shape).astype(w.dtype) for w in model.get_weights()])
        return real_to_tflite(clone, mode, **options)

    monkeypatch.setattr(formats_module, "to_tflite", perturbed)
    result = CliRunner().invoke(cli, ["export", str(run_copy), "--format", "tflite-fp32", "--format", "tflite-int8"])
    assert result.exit_code == 3, result.output
    line = result.output.strip()
    assert line.startswith("Error: export check failed: tflite-fp32: max |diff|") and "vs 1e-04 on 1000 images" in line
    assert "tflite-int8: top-1 agreement" in line and "\n" not in line
    record = json.loads((run_copy / "export" / "model.json").read_text())
    assert record["formats"]["tflite-fp32"]["check"]["passed"] is False
    assert record["formats"]["tflite-int8"]["check"]["top1_agreement"] < 0.99
    assert (run_copy / "export" / "model_fp32.tflite").is_file()  # kept for inspection


def test_existing_files_and_bad_formats_are_refused(exported):
    result = CliRunner().invoke(cli, ["export", str(exported.path.parent), "--format", "onnx"])
    assert result.exit_code == 2 and "model.onnx: already exists; pass --force" in result.output
    result = CliRunner().invoke(cli, ["export", str(exported.path.parent), "--format", "coreml"])
    assert result.exit_code == 2 and "unknown format 'coreml'" in result.output


def _android_project(root):
    (root / "app/src/main").mkdir(parents=True)
    (root / "settings.gradle.kts").write_text('include(":app")\n')
    (root / "app/src/main/AndroidManifest.xml").write_text("<manifest/>\n")
    return root


def test_android_copies_model_labels_and_record_into_the_app_assets(run_copy, tmp_path):
    project = _android_project(tmp_path / "android_demo")
    result = CliRunner().invoke(cli, ["export", str(run_copy), "--format", "tflite-int8", "--android", str(project)])
    assert result.exit_code == 0, result.output
    assets = project / "app/src/main/assets"
    assert sorted(p.name for p in assets.iterdir()) == ["labels.txt", "model.json", "model_int8.tflite"]
    for name in ("labels.txt", "model.json", "model_int8.tflite"):
        assert (assets / name).read_bytes() == (run_copy / "export" / name).read_bytes()
    assert f"-> {assets}" in result.output


def test_android_refuses_a_folder_that_is_not_an_android_project(run_copy, tmp_path):
    target = tmp_path / "not_android"
    target.mkdir()
    result = CliRunner().invoke(cli, ["export", str(run_copy), "--format", "tflite-int8", "--android", str(target)])
    assert result.exit_code == 2
    assert f"Error: {target}: not an Android project" in result.output and "--android-anywhere" in result.output
    assert not list(target.iterdir()) and not (run_copy / "export").exists()  # refused before any work
    result = CliRunner().invoke(cli, ["export", str(run_copy), "--format", "onnx", "--android", str(target),
                                      "--android-anywhere"])
    assert result.exit_code == 2 and "--android copies .tflite files" in result.output
    result = CliRunner().invoke(cli, ["export", str(run_copy), "--format", "tflite-fp32", "--android", str(target),
                                      "--android-anywhere"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in target.iterdir()) == ["labels.txt", "model.json", "model_fp32.tflite"]


@pytest.mark.parametrize("name", ["vgg198k", "edge-s"])
def test_macs_count_every_convolution_and_dense_layer(name):
    from fmnist_edge.models import build_model

    keras = _tf.keras()
    model = build_model(name)
    expected = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            _, h, w, c = layer.output_shape
            expected += h * w * c * layer.kernel_size[0] * layer.kernel_size[1]
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, c = layer.output_shape
            expected += h * w * c * layer.kernel_size[0] * layer.kernel_size[1] * layer.input_shape[-1]
        elif isinstance(layer, keras.layers.Dense):
            expected += layer.input_shape[-1] * layer.units
    assert tflite_macs(to_tflite(model, "fp32")) == expected
    if name == "vgg198k":
        assert expected == 19_475_600


def test_a_second_export_updates_model_json_and_keeps_the_other_records(exported, tmp_path):
    from fmnist_edge.stages.export import export

    run = tmp_path / "run"
    shutil.copytree(exported.path.parent, run)
    before = json.loads((run / "export" / "model.json").read_text())
    export(run, "onnx", force=True)
    after = json.loads((run / "export" / "model.json").read_text())
    assert set(after["formats"]) == set(before["formats"])
    for name, entry in before["formats"].items():
        if name != "onnx":
            assert after["formats"][name] == entry  # untouched records keep their checks and sha256
    (run / "export" / "model_fp16.tflite").unlink()
    export(run, "onnx", force=True)
    kept = json.loads((run / "export" / "model.json").read_text())["formats"]
    assert "tflite-fp16" not in kept and "tflite-int8" in kept  # a record without its file goes


def test_export_and_quantize_calibrate_on_the_same_training_images(exported):
    """Post-training int8 in quantize (ptq-int8) and in export (tflite-int8 of a float model) set their ranges
    from one set of images: the first of the run's training split, never validation images."""
    from fmnist_edge.artifacts.run_data import open_run_data
    from fmnist_edge.stages.export.formats import _Sources
    from fmnist_edge.stages.quantize import QuantizeSettings, _Job
    from fmnist_edge.fitting.distribution import make_distribution
    from fmnist_edge.artifacts.rundir import RunDir

    run = RunDir(exported.path.parent)
    sources = _Sources(run, None)
    job = _Job(run, QuantizeSettings(method="ptq-int8"), False, "none", make_distribution("one", None, None))
    view = open_run_data(sources.settings)
    np.testing.assert_array_equal(sources.calibration, view.calibration(QuantizeSettings().calibration))
    np.testing.assert_array_equal(job.view.calibration(QuantizeSettings().calibration), sources.calibration)
