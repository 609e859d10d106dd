"""The photo conversion (docs/preprocessing.md): golden vectors byte for byte, through the API and `predict`."""
import json
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from fmnist_edge.photo import conversion as preprocessing
from fmnist_edge.cli import cli
from fmnist_edge.photo.decode import read_model_inputs

GOLDEN = Path(__file__).parent / "golden" / "preprocess"
MANIFEST = json.loads((GOLDEN / "manifest.json").read_text())
CASES = MANIFEST["cases"]
SIZE = tuple(MANIFEST["size"])


def _expected(case) -> np.ndarray:
    rows = (GOLDEN / case["expected"]).read_text().split("\n")
    return np.array([[int(v) for v in row.split()] for row in rows if row], np.uint8)


def test_the_golden_set_covers_what_the_spec_promises():
    assert len(CASES) >= 20
    converted = [c for c in CASES if "expected" in c and not c.get("exact_size")]
    assert {c["inverted"] for c in converted} == {True, False}  # both polarities
    assert any(min(c["width"], c["height"]) < 28 for c in CASES)  # a tiny picture
    assert any(c["reduction"] > 1 for c in converted) and any(c["reduction"] == 1 for c in converted)
    assert sum("error" in c for c in CASES) >= 2 and any(c.get("exact_size") for c in CASES)
    assert {(c["tilt"] > 0) - (c["tilt"] < 0) for c in converted} == {-1, 0, 1}  # step 8b: both ways, and upright


def test_the_golden_set_takes_the_wide_mean_on_a_strongly_textured_wall():
    """Step 4's 5x5 mean is held to a vector too: the ports must take it exactly when the spec does."""
    widened = []
    for case in CASES:
        if "expected" not in case or case.get("exact_size"):
            continue
        grey = preprocessing.grey_pixels(np.asarray(Image.open(GOLDEN / case["picture"])))
        with mock.patch.object(preprocessing, "_smoothed", wraps=preprocessing._smoothed) as smoothed:
            preprocessing.to_model_input(grey, SIZE)
        if any(call.args[1] == preprocessing.WIDE_SMOOTH_RADIUS for call in smoothed.call_args_list):
            widened.append(case["picture"])
    assert "33_texture_wide_mean.png" in widened and len(widened) < len(CASES) // 2


@pytest.mark.parametrize("case", CASES, ids=[c["picture"] for c in CASES])
def test_conversion_matches_the_golden_vector_byte_for_byte(case):
    grey = preprocessing.grey_pixels(np.asarray(Image.open(GOLDEN / case["picture"])))
    assert grey.shape == (case["height"], case["width"])
    if "error" in case:
        with pytest.raises(preprocessing.NoGarmentError):
            preprocessing.to_model_input(grey, SIZE)
        return
    if case.get("exact_size"):
        np.testing.assert_array_equal(grey, _expected(case))
        return
    converted = preprocessing.to_model_input(grey, SIZE)
    assert converted.inverted == case["inverted"] and converted.reduction == case["reduction"]
    assert list(converted.box) == case["box"] and list(converted.background) == case["background"]
    assert converted.threshold == case["threshold"] and converted.tilt == case["tilt"]
    np.testing.assert_array_equal(converted.image, _expected(case))


@pytest.mark.slow
def test_predict_feeds_the_model_exactly_the_golden_inputs(exported, tmp_path):
    """`fmnist-edge predict --save-input` writes what the model saw: the golden arrays, byte for byte."""
    good = [c for c in CASES if "expected" in c]
    result = CliRunner().invoke(cli, ["predict", str(exported.path / "model_int8.tflite"),
                                                      *[str(GOLDEN / c["picture"]) for c in good],
                                                      "--save-input", str(tmp_path / "seen")])
    assert result.exit_code == 0, result.output + result.stderr
    assert len(result.stdout.splitlines()) == len(good)
    for case in good:
        seen = np.asarray(Image.open(tmp_path / "seen" / case["picture"]))
        np.testing.assert_array_equal(seen, _expected(case))
    tiny = next(c for c in good if min(c["width"], c["height"]) < 28)
    assert f"note: {GOLDEN / tiny['picture']}: a small picture ({tiny['width']}x{tiny['height']} px): upscaled" \
        in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in CASES if "error" in c], ids=lambda c: c["picture"])
def test_a_picture_without_a_garment_gets_one_line_and_exit_2(exported, case):
    result = CliRunner().invoke(cli, ["predict", str(exported.path / "model_int8.tflite"), str(GOLDEN / case["picture"])])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and f"{case['picture']}: no garment found" in result.output


def test_jpeg_is_decoded_at_a_reduced_scale_and_converted_like_the_full_picture(fashion_mnist, tmp_path):
    from fmnist_edge.photo.render import render_photo

    photo = render_photo(fashion_mnist.x_test[3], np.random.default_rng(1))
    big = photo.image.resize((1200, int(1200 * photo.image.size[1] / photo.image.size[0])))
    big.save(tmp_path / "big.jpg", quality=90)
    (fast,) = read_model_inputs(tmp_path / "big.jpg", SIZE)
    full = preprocessing.to_model_input(preprocessing.grey_pixels(np.asarray(Image.open(tmp_path / "big.jpg"))), SIZE)
    assert fast.inverted == full.inverted
    assert np.abs(fast.image.astype(int) - full.image.astype(int)).mean() < 6


@pytest.mark.parametrize("mode, values, expected", [
    ("I;16", np.array([[0, 65535], [32768, 256]], np.uint16), [[0, 255], [128, 1]]),
    ("F", np.array([[0.0, 1.0], [0.5, 0.25]], np.float32), [[0, 255], [128, 64]]),
    ("F", np.array([[-2.0, 6.0], [2.0, 0.0]], np.float32), [[0, 255], [128, 64]]),
])
def test_16_bit_and_float_pictures_are_scaled_by_their_range_not_clipped(tmp_path, mode, values, expected):
    from fmnist_edge.photo.decode import _grey_array

    picture = Image.fromarray(values)
    assert picture.mode == mode
    np.testing.assert_array_equal(_grey_array(picture), np.array(expected, np.uint8))


def test_grey_pixels_follows_the_spec_weights_and_white_compositing():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 200, 30]]], np.uint8)
    expected = [(19595 * r + 38470 * g + 7471 * b + 32768) >> 16 for r, g, b in rgb[0].astype(int)]
    np.testing.assert_array_equal(preprocessing.grey_pixels(rgb)[0], expected)
    assert np.array_equal(preprocessing.grey_pixels(rgb)[0], np.asarray(Image.fromarray(rgb).convert("L"))[0])
    rgba = np.array([[[0, 0, 0, 0], [0, 0, 0, 255], [0, 0, 0, 128]]], np.uint8)
    np.testing.assert_array_equal(preprocessing.grey_pixels(rgba)[0], [255, 0, (255 * 127 + 127) // 255])


def test_block_average_rounds_half_up_and_drops_partial_blocks():
    grey = np.array([[0, 1, 9], [1, 1, 9], [9, 9, 9]], np.uint8)
    np.testing.assert_array_equal(preprocessing.block_average(grey, 2), [[1]])  # (0+1+1+1+2)//4 = 0.75 -> 1
    assert preprocessing.reduction_factor(1000, 1000) == 10 and preprocessing.reduction_factor(20, 500) == 1


def test_careless_pictures_are_deterministic_and_leave_the_base_picture_alone(fashion_mnist):
    """Each careless condition draws from a generator of its own: the same picture every time, drawn on the
    base picture's frame (careless=None still takes its short side from its generator's first draw)."""
    from fmnist_edge.photo.render import CARELESS, MESSENGER_JPEG_QUALITY, MESSENGER_SHORT_SIDE, render_photos

    garments = fashion_mnist.x_test[5000:5002]
    base = [np.asarray(p.image) for p in render_photos(garments, seed=7, start=5000)]
    first = np.random.default_rng([7, 5000]).integers(200, 1201)
    assert min(base[0].shape[:2]) == min(first, 1200)
    for condition in CARELESS:
        once = list(render_photos(garments, seed=7, start=5000, careless=condition))
        again = list(render_photos(garments, seed=7, start=5000, careless=condition))
        assert all(np.array_equal(np.asarray(a.image), np.asarray(b.image)) for a, b in zip(once, again))
        assert [p.conditions["careless"] for p in once] == [condition] * 2
        if condition == "messenger":
            assert all(MESSENGER_SHORT_SIDE[0] <= min(p.image.size) <= MESSENGER_SHORT_SIDE[1] for p in once)
            assert all(MESSENGER_JPEG_QUALITY[0] <= p.jpeg_quality <= MESSENGER_JPEG_QUALITY[1] for p in once)
        else:  # the same frame as the base picture, different pixels
            assert [np.asarray(p.image).shape for p in once] == [b.shape for b in base]
            assert not np.array_equal(np.asarray(once[0].image), base[0])
    with pytest.raises(ValueError, match="careless must be one of"):
        next(render_photos(garments, careless="blurry"))


def test_two_garments_of_about_one_size_get_a_note_naming_the_one_taken(fashion_mnist, tmp_path):
    """Two garments on one wall: the larger is classified, and the note says where each one is."""
    wall = np.full((200, 400), 225, np.uint8)
    for left, side in [(20, 170), (220, 150)]:  # one pullover twice, the left one larger
        garment = np.asarray(Image.fromarray(fashion_mnist.x_test[1]).resize((side, side)), np.int64)
        area = wall[15:15 + side, left:left + side].astype(np.int64)
        wall[15:15 + side, left:left + side] = np.clip(area - garment * 3 // 4, 0, 255)
    Image.fromarray(wall).save(tmp_path / "two.png")
    (seen,) = read_model_inputs(tmp_path / "two.png", SIZE)
    assert seen.note.startswith("two things stand out (two garments?): took the one with more outline, at x ")
    taken = seen.note.split("took the one with more outline, at x ")[1].split(",")[0]
    other = seen.note.split("is at x ")[1].split(",")[0]
    assert int(taken.split("-")[0]) < 200 <= int(other.split("-")[0])  # the left, larger one was taken
    assert seen.note.endswith("(crop the picture to choose)")
    result = CliRunner().invoke(cli, ["predict", "--zoo", "vgg-t", str(tmp_path / "two.png")])
    assert result.exit_code == 0 and f"note: {tmp_path / 'two.png'}: two things stand out" in result.stderr


def test_one_garment_gets_no_note():
    case = next(c for c in CASES if c["picture"] == "00_photo_0.png")
    (seen,) = read_model_inputs(GOLDEN / case["picture"], SIZE)
    assert seen.note is None
