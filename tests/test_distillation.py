"""Knowledge distillation (`train --teacher`): the loss's arithmetic, the soft targets, what a distilled
run records, and the teachers it refuses."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from fmnist_edge.cli import cli
from fmnist_edge.fitting.loop import Distillation, _soften, distillation_loss

pytestmark = pytest.mark.slow


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


LOGITS = np.array([[2.0, 0.5, -1.0, 0.0], [-0.3, 1.7, 0.2, 3.1]])
LABELS = np.eye(4)[[0, 3]]


def test_soften_is_the_softmax_of_the_logits_over_the_temperature():
    # The models output probabilities; softening them must equal softening the logits they came from.
    np.testing.assert_allclose(_soften(_softmax(LOGITS), 4.0).numpy(), _softmax(LOGITS / 4.0), rtol=1e-5)


def test_loss_is_the_weighted_sum_of_the_label_and_soft_terms():
    student, teacher = _softmax(LOGITS), _softmax(np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]]))
    t, w = 3.0, 0.75
    soft_t, soft_s = _softmax(np.log(teacher) / t), _softmax(LOGITS / t)
    hard = -np.sum(LABELS * np.log(student), axis=-1)
    kl = np.sum(soft_t * (np.log(soft_t) - np.log(soft_s)), axis=-1)
    expected = np.mean((1 - w) * hard + w * t * t * kl)

    y = np.concatenate([LABELS, soft_t], axis=-1).astype(np.float32)
    got = float(distillation_loss(4, t, w)(y, student.astype(np.float32)))
    assert got == pytest.approx(expected, rel=1e-5)


def test_a_student_that_matches_its_teachers_pays_only_the_label_term():
    student = _softmax(LOGITS).astype(np.float32)
    y = np.concatenate([LABELS, _softmax(LOGITS / 2.0)], axis=-1).astype(np.float32)
    hard = np.mean(-np.sum(LABELS * np.log(student), axis=-1))
    assert float(distillation_loss(4, 2.0, 0.6)(y, student)) == pytest.approx(0.4 * hard, rel=1e-5)
    assert float(distillation_loss(4, 2.0, 0.0)(y, student)) == pytest.approx(hard, rel=1e-5)


def test_soft_targets_are_the_teachers_mean_at_the_temperature():
    class Fixed:  # a stand-in teacher: a Keras model is called the same way
        def __init__(self, logits):
            self.probabilities = _softmax(logits).astype(np.float32)

        def __call__(self, x, training=False):
            return self.probabilities

    a, b = np.array([[3.0, 0.0, 0.0, 0.0]] * 2), np.array([[0.0, 0.0, 0.0, 3.0]] * 2)
    distillation = Distillation([Fixed(a), Fixed(b)], temperature=2.0, weight=0.9, num_classes=4)
    _, y = distillation.add_soft_targets(np.zeros((2, 28, 28, 1), np.float32), LABELS.astype(np.float32))
    y = y.numpy()
    np.testing.assert_array_equal(y[:, :4], LABELS)
    np.testing.assert_allclose(y[:, 4:], (_softmax(a / 2) + _softmax(b / 2)) / 2, rtol=1e-5)


@pytest.fixture(scope="module")
def teacher(finished_mlp):
    return finished_mlp


def test_a_distilled_run_records_its_teachers_and_learns(teacher, tmp_path):
    out = tmp_path / "student"
    result = CliRunner().invoke(cli, ["train", "--model", "mlp", "--epochs", "1", "--limit", "2000", "--teacher",
                                      str(teacher), "--teacher", str(teacher), "--temperature", "2", "--out", str(out),
                                      "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text())
    assert record["settings"]["teachers"] == [str(teacher)] * 2
    assert record["settings"]["temperature"] == 2.0 and record["settings"]["distill_weight"] == 0.9
    sha = __import__("hashlib").sha256((teacher / "model.keras").read_bytes()).hexdigest()
    teacher_accuracy = json.loads((teacher / "metrics.json").read_text())["test_accuracy"]
    assert record["teachers"] == [{"run": str(teacher), "model": "mlp", "sha256": sha,
                                   "test_accuracy": teacher_accuracy}] * 2
    # The accuracy columns are the labels' accuracy, not a comparison with the wider y.
    assert 0.35 < record["history"][0]["val_accuracy"] <= 1.0
    assert json.loads(result.output)["test_accuracy"] > 0.35


@pytest.mark.parametrize("case, args, message", [
    ("not a run", ["--teacher", "{tmp}"], "not a run directory (no run.json)"),
    ("temperature", ["--teacher", "{teacher}", "--temperature", "0"], "--temperature must be positive, got 0.0"),
    ("weight", ["--teacher", "{teacher}", "--distill-weight", "1.5"], "--distill-weight must be in [0, 1], got 1.5"),
    ("garment teacher, fixed canvases", ["--teacher", "{teacher}", "--dataset", "closet", "--data-dir", "{closet}"],
     "a garment teacher prices the garments each canvas holds, which only canvases composed during training "
     "(--fresh-canvases) and the held-out validation canvases (--val-source held-out) record"),
])
def test_bad_teachers_get_one_line_and_no_run_directory(teacher, tmp_path, closet_dir, case, args, message):
    out = tmp_path / "student"
    args = [a.format(tmp=tmp_path, teacher=teacher, closet=closet_dir) for a in args]
    model = ["--model", "mresnet"] if "garment" in case else ["--model", "mlp"]
    result = CliRunner().invoke(cli, ["train", *model, "--epochs", "1", "--limit", "500", "--out", str(out), *args])
    assert result.exit_code != 0
    assert message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not out.exists()


def test_a_garment_teacher_prices_each_canvas_by_the_garments_it_holds(teacher, fashion_mnist, tmp_path):
    """28x28 Fashion-MNIST runs teach a closet run on fresh canvases: the soft target of a canvas is the
    total its garments' names imply (closet.price_distribution over the teachers' beliefs), for the training
    canvases of every epoch and for the held-out validation canvases alike."""
    from fmnist_edge.artifacts.run_data import open_run_data
    from fmnist_edge.contract import float_pixels
    from fmnist_edge.data import make_closet, save_closet
    from fmnist_edge.data.closet import PRICES, price_distribution
    from fmnist_edge.fitting.distribution import make_distribution
    from fmnist_edge.fitting.loop import fit_datasets
    from fmnist_edge.settings import resolve_settings

    closet = make_closet(fashion_mnist, n_train=128, n_test=64, seed=3, n_val=64)
    save_closet(closet, tmp_path / "c")
    args = ["--dataset", "closet", "--data-dir", str(tmp_path / "c"), "--fresh-canvases", "--val-source", "held-out",
            "--teacher", str(teacher), "--temperature", "2", "--batch-size", "64", "--epochs", "1"]
    out = tmp_path / "student"
    result = CliRunner().invoke(cli, ["train", "--model", "mlp", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text())
    assert record["teachers"][0]["run"] == str(teacher) and record["epochs_completed"] == 1

    settings = resolve_settings("mlp", dataset="closet", data_dir=str(tmp_path / "c"), fresh_canvases=True,
                                val_source="held-out", teachers=(str(teacher),), temperature=1.0, batch_size=64)
    view = open_run_data(settings)
    distillation, _ = Distillation.from_settings(settings, {"dataset": "closet", "image_shape": [64, 128, 1],
                                                           "classes": list(closet.class_names)}, None, view)
    model = __import__("fmnist_edge.artifacts.keras_files", fromlist=["x"]).load_trained_run(teacher).model
    beliefs = model.predict(float_pixels(fashion_mnist.x_train[..., None]), verbose=0)[:, sorted(PRICES)]
    beliefs /= beliefs.sum(axis=1, keepdims=True)
    items = closet.meta["val_items"]
    np.testing.assert_allclose(distillation.val_targets, price_distribution(beliefs, items), atol=1e-5)
    train_batches, val_batches = fit_datasets(view.x_train, view.y_train, view.x_val, view.y_val, 9, settings,
                                              make_distribution("one", None, None), distillation=distillation,
                                              garments=view.garments)
    _, y = next(iter(train_batches))
    assert y.shape == (64, 18)
    np.testing.assert_allclose(y.numpy()[:, 9:].sum(axis=1), 1.0, atol=1e-5)
    _, y_val = next(iter(val_batches))
    np.testing.assert_array_equal(y_val.numpy()[:, :9], np.eye(9)[closet.y_val[:64]])
    np.testing.assert_allclose(y_val.numpy()[:, 9:], distillation.val_targets[:64], atol=1e-6)

    # A closet run teaches a Fashion-MNIST run nothing: refused in one line, no run directory.
    refused = tmp_path / "refused"
    result = CliRunner().invoke(cli, ["train", "--model", "mlp", "--epochs", "1", "--limit", "500", "--teacher", str(out),
                                      "--out", str(refused)])
    assert result.exit_code != 0 and not refused.exists()
    assert result.output.strip() == (f"Error: {out}: a teacher must be trained on the same data (fashion, 10 classes, "
                                     f"input (28, 28, 1)); it was trained on closet, input (64, 128, 1)"), result.output
