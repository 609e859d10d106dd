"""Settings and recipes: pure Python, no TensorFlow."""
import pytest

from fmnist_edge.errors import FmnistEdgeError
from fmnist_edge.settings import TrainSettings, resolve_settings


def test_best_recipe_defaults():
    s = resolve_settings("vgg198k")
    assert (s.optimizer, s.schedule, s.batch_size, s.epochs, s.augment) == ("adam", "cosine", 128, 30, "basic")


@pytest.mark.parametrize("model, expected", [
    ("mresnet", dict(optimizer="rmsprop", lr=1e-3, batch_size=64, early_stopping=10)),
    ("vgg198k", dict(optimizer="adam", batch_size=32, epochs=100, augment="basic")),
    ("resnet50", dict(batch_size=128)),
    ("cnn-bn", dict(optimizer="adam", lr=1e-3, schedule="exp", batch_size=80, early_stopping=5)),
    ("mlp", dict(optimizer="sgd", lr=0.025, batch_size=200)),
])
def test_paper_recipes(model, expected):
    s = resolve_settings(model, recipe="paper")
    assert {k: getattr(s, k) for k in expected} == expected
    assert s.recipe == "paper"


def test_explicit_options_override_the_recipe():
    s = resolve_settings("cnn-bn", recipe="paper", batch_size=64, epochs=2, lr=None)
    assert (s.batch_size, s.epochs, s.lr, s.schedule) == (64, 2, 1e-3, "exp")


@pytest.mark.parametrize("overrides, message", [
    (dict(epochs=0), "--epochs must be at least 1"),
    (dict(val_split=1.0), "--val-split must be in [0, 1)"),
    (dict(label_smoothing=-0.1), "--label-smoothing must be in [0, 1)"),
    (dict(schedule="step"), "--schedule must be one of constant, cosine, onecycle, exp"),
    (dict(limit=0), "--limit must be at least 1"),
    (dict(early_stopping=0), "--early-stopping patience must be at least 1"),
    (dict(lr=0.0), "--lr must be positive"),
    (dict(augment="photo", photo_share=0.0), "--photo-share must be in (0, 1], got 0.0"),
    (dict(augment="basic", photo_share=0.15), "--photo-share applies to --augment photo only (this run's is basic)"),
    (dict(max_shift=9), "--max-shift must be 0 to 8 pixels, got 9"),
    (dict(augment="none", max_shift=4), "--max-shift applies to --augment basic, strong or photo (this run's is none)"),
    (dict(augment="strong", erase_area=0.02), "--erase-area must be above 0.02 (the smallest erasure) and at most 1"),
    (dict(augment="strong", erase_area=1.5), "--erase-area must be above 0.02"),
    (dict(augment="basic", erase_area=0.4), "--erase-area applies to --augment strong only (this run's is basic)"),
])
def test_invalid_settings_name_the_option(overrides, message):
    with pytest.raises(FmnistEdgeError) as info:
        resolve_settings("vgg198k", **overrides)
    assert message in str(info.value)


def test_round_trip_through_dict():
    s = resolve_settings("mlp", recipe="paper", limit=500, seed=3)
    assert TrainSettings.from_dict(s.to_dict()) == s


def test_a_run_json_from_before_photo_share_reads_back_the_share_it_trained_with():
    old = resolve_settings("vgg-a", augment="photo").to_dict()
    del old["photo_share"]
    assert TrainSettings.from_dict(old).photo_share == 0.3


def test_a_run_json_from_before_max_shift_and_erase_area_reads_back_what_it_trained_with():
    old = resolve_settings("res-s", augment="strong").to_dict()
    del old["max_shift"], old["erase_area"]
    back = TrainSettings.from_dict(old)
    assert (back.max_shift, back.erase_area) == (2, 0.25)
    assert resolve_settings("res-s", augment="strong", max_shift=4, erase_area=0.4).max_shift == 4
