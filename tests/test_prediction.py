"""predict: real test images as PNG/JPEG/npz through every runtime, polarity, resizing, labels, bad input."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from fmnist_edge.errors import FmnistEdgeError
from fmnist_edge.formats import runtime
from fmnist_edge.cli import cli
from fmnist_edge.photo.decode import read_model_inputs
from fmnist_edge.stages.predict import predict

pytestmark = pytest.mark.slow
MODELS = ["model_int8.tflite", "model_fp32.tflite", "model.onnx"]


@pytest.fixture(scope="module")
def pngs(fashion_mnist, tmp_path_factory):
    folder = tmp_path_factory.mktemp("png")
    paths = []
    for i in range(6):
        paths.append(folder / f"test{i}.png")
        Image.fromarray(fashion_mnist.x_test[i]).save(paths[-1])
    return paths


@pytest.mark.parametrize("name", MODELS)
def test_pngs_of_test_images_get_the_runtimes_own_top3(exported, fashion_mnist, pngs, name):
    model = exported.path / name
    predictions = predict(model, pngs)
    scores = runtime.load_model(model).predict(fashion_mnist.x_test[:6])
    labels = fashion_mnist.class_names
    for p, row, path in zip(predictions, scores, pngs):
        assert p.source == str(path) and p.inverted is False  # dark border: Fashion-MNIST polarity already
        order = np.argsort(-row, kind="stable")[:3]
        assert [g.index for g in p.top] == list(order)
        assert [g.label for g in p.top] == [labels[i] for i in order]
        assert [g.probability for g in p.top] == pytest.approx([float(row[i]) for i in order], abs=1e-6)
        assert p.top[0].probability >= p.top[1].probability >= p.top[2].probability


def test_an_npz_gives_the_same_answers_as_the_pngs(exported, fashion_mnist, pngs, tmp_path):
    np.savez(tmp_path / "batch.npz", x_test=fashion_mnist.x_test[:6, :, :, None], y_test=fashion_mnist.y_test[:6])
    model = exported.path / "model_int8.tflite"
    from_npz = predict(model, [tmp_path / "batch.npz"])
    from_png = predict(model, pngs)
    assert [p.source for p in from_npz] == [f"{tmp_path / 'batch.npz'}[{i}]" for i in range(6)]
    assert [p.top for p in from_npz] == [p.top for p in from_png]


def test_a_photo_of_a_dark_garment_on_white_is_found_inverted_and_fitted(fashion_mnist, tmp_path):
    garment = fashion_mnist.x_test[1]  # a pullover: it fills the 28x28 frame's height
    photo = Image.fromarray((235 - garment.astype(int) * 200 // 255).astype(np.uint8))  # dark on the wall's grey
    photo = photo.resize((112, 112), Image.Resampling.NEAREST).convert("RGB")
    wide = Image.new("RGB", (400, 200), (235, 235, 235))
    wide.paste(photo, (230, 40))  # off-centre on a light wall
    wide.save(tmp_path / "photo.png")
    (item,) = read_model_inputs(tmp_path / "photo.png", (28, 28), "auto")
    assert item.inverted is True and item.image.shape == (28, 28) and item.image.dtype == np.uint8
    assert item.image.max() == 255  # stretched like Fashion-MNIST's own images
    rows = np.flatnonzero(item.image.max(axis=1) > 0)
    assert rows[0] <= 1 and rows[-1] >= 26  # trimmed and fitted: the garment fills the frame's height
    # And it looks like the original, up to where box centring puts it (within a pixel).
    best = max(np.corrcoef(np.roll(item.image, (dy, dx), axis=(0, 1)).ravel(), garment.ravel())[0, 1]
               for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    assert best > 0.95
    (forced,) = read_model_inputs(tmp_path / "photo.png", (28, 28), "no")
    # Told not to negate, the dark garment has no strength above its light wall: (nearly) nothing is left.
    assert forced.inverted is False and forced.image.astype(int).sum() < item.image.astype(int).sum() / 10
    (flipped,) = read_model_inputs(tmp_path / "photo.png", (28, 28), "yes")
    assert flipped.inverted is True and np.array_equal(flipped.image, item.image)


def test_transparency_becomes_white_and_exif_rotation_is_applied(fashion_mnist, tmp_path):
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., 3] = fashion_mnist.x_test[1]  # a black garment cut out, on a transparent background
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cutout.png")
    (item,) = read_model_inputs(tmp_path / "cutout.png", (28, 28), "auto")
    assert item.inverted is True and np.abs(item.image.astype(int) - fashion_mnist.x_test[1]).max() <= 1
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned; viewers rotate the picture 90 degrees clockwise
    Image.fromarray(fashion_mnist.x_test[2]).transpose(Image.Transpose.ROTATE_90).save(tmp_path / "r.jpg", exif=exif,
                                                                                         quality=100)
    (upright,) = read_model_inputs(tmp_path / "r.jpg", (28, 28), "no")
    assert np.abs(upright.image.astype(int) - fashion_mnist.x_test[2]).mean() < 3


def test_labels_travel_inside_the_files(exported, fashion_mnist, pngs, tmp_path):
    for name in ("model_int8.tflite", "model.onnx"):
        alone = tmp_path / name  # no labels.txt or model.json beside it
        shutil.copy(exported.path / name, alone)
        assert predict(alone, pngs[:1])[0].top[0].label in fashion_mnist.class_names


def test_cli_prints_lines_and_json(exported, pngs):
    model = str(exported.path / "model_fp32.tflite")
    result = CliRunner().invoke(cli, ["predict", model, str(pngs[0]), str(pngs[1])])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2 and lines[0].startswith(str(pngs[0])) and lines[0].count("%") == 3
    result = CliRunner().invoke(cli, ["predict", model, str(pngs[0]), "--json", "--top", "5"])
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.output)
    assert record["image"] == str(pngs[0]) and record["inverted"] is False and len(record["top"]) == 5
    assert sum(g["probability"] for g in record["top"]) <= 1.0 + 1e-6


@pytest.mark.parametrize("make, message", [
    (lambda d: d.joinpath("junk.png").write_bytes(b"not an image") and d / "junk.png",
     "junk.png: not a readable image"),
    (lambda d: d / "missing.png", "missing.png: no such image file"),
    (lambda d: np.savez(d / "wrong.npz", images=np.zeros((2, 32, 32), np.uint8)) or d / "wrong.npz",
     "wrong.npz: array 'images' is uint8 (2, 32, 32); the model takes uint8 images (N, 28, 28) or (N, 28, 28, 1)"),
    (lambda d: np.savez(d / "float.npz", np.zeros((2, 28, 28), np.float32)) or d / "float.npz",
     "float.npz: array 'arr_0' is float32 (2, 28, 28)"),
    (lambda d: np.savez(d / "two.npz", a=np.zeros((1, 28, 28), np.uint8), b=np.zeros((1, 28, 28), np.uint8))
     or d / "two.npz", "two.npz: holds arrays a, b; expected one array or one named images, x_test, x"),
    (lambda d: d.joinpath("cut.npz").write_bytes(b"PK\x03\x04broken") and d / "cut.npz", "cut.npz: not a readable .npz"),
])
def test_bad_images_give_one_line_naming_the_file(exported, tmp_path, make, message):
    path = make(tmp_path)
    result = CliRunner().invoke(cli, ["predict", str(exported.path / "model_int8.tflite"), str(path)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and message in result.output and result.output.count("\n") == 1


def test_bad_models_and_options_are_refused(exported, pngs, tmp_path):
    result = CliRunner().invoke(cli, ["predict", str(tmp_path / "none.tflite"), str(pngs[0])])
    assert result.exit_code == 2 and "none.tflite: no such model file" in result.output
    result = CliRunner().invoke(cli, ["predict", str(exported.path / "labels.txt"), str(pngs[0])])
    assert result.exit_code == 2 and "unsupported model format '.txt'" in result.output
    result = CliRunner().invoke(cli, ["predict", str(exported.path / "model.onnx"), str(pngs[0]), "--top", "0"])
    assert result.exit_code == 2 and "--top must be at least 1" in result.output


def test_a_model_without_labels_uses_labels_txt_beside_it_or_class_numbers(exported, pngs, tmp_path):
    from fmnist_edge import _tf
    from fmnist_edge.formats.conversion import to_tflite

    plain = tmp_path / "plain.tflite"  # converted without metadata: no labels inside
    plain.write_bytes(to_tflite(_tf.keras().models.load_model(exported.path.parent / "model.keras"), "fp32"))
    top = predict(plain, pngs[:1])[0].top[0]
    assert top.label == f"class {top.index}"
    (tmp_path / "labels.txt").write_text("".join(f"kind {i}\n" for i in range(10)))
    assert predict(plain, pngs[:1])[0].top[0].label == f"kind {top.index}"
    (tmp_path / "labels.txt").write_text("just\nthree\nlabels\n")
    result = CliRunner().invoke(cli, ["predict", str(plain), str(pngs[0])])
    assert result.exit_code == 2 and "plain.tflite: has 10 outputs but 3 labels" in result.output


def test_predict_never_imports_tensorflow(exported, pngs):
    code = ("import sys; from fmnist_edge.cli import main; sys.argv = ['fmnist-edge', 'predict', sys.argv[1], "
            "sys.argv[2]]\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('TF' if 'tensorflow' in sys.modules or 'tf_keras' in sys.modules else 'no TF')")
    result = subprocess.run([sys.executable, "-c", code, str(exported.path / "model_int8.tflite"), str(pngs[0])],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "no TF" and result.stdout.count("%") == 3


def test_a_closet_model_refuses_a_picture_that_is_not_a_canvas_and_takes_one_that_is(tmp_path):
    """The photo conversion frames one garment for 28x28 models; the closet model (64x128) says what it takes."""
    from PIL import Image

    from fmnist_edge import zoo
    from fmnist_edge.data import load_fashion_mnist, make_closet

    photo = tmp_path / "shirt.png"
    Image.fromarray(np.full((300, 200), 200, np.uint8)).save(photo)
    with pytest.raises(FmnistEdgeError, match=r"shirt.png: a 200x300 picture; this model takes 128x64 canvases as "
                                              r"they are \(a closet canvas of 2-4 garments"):
        predict(zoo.get("mresnet-closet").verified_path(), [photo])
    canvas = tmp_path / "canvas.png"
    closet = make_closet(load_fashion_mnist(), n_train=1, n_test=1, seed=0)
    Image.fromarray(closet.x_test[0]).save(canvas)
    (answer,) = predict(zoo.get("mresnet-closet").verified_path(), [canvas])
    assert answer.top[0].label.startswith("$")
