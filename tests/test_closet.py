"""The closet-price dataset: composition, balance, determinism, no leakage, save/load."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from fmnist_edge.data import CANVAS_SHAPE, CLOSET_CLASSES, PRICES, Dataset, load_closet, load_dataset, make_closet, save_closet
from fmnist_edge.errors import DataError, FmnistEdgeError

N_TRAIN, N_TEST = 1800, 450


@pytest.fixture(scope="module")
def closet(fashion_mnist) -> Dataset:
    return make_closet(fashion_mnist, n_train=N_TRAIN, n_test=N_TEST, seed=0)


def reconstruct(items: np.ndarray, positions: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Paste the recorded items at the recorded places, one at a time, with plain slicing."""
    canvases = np.zeros((len(items), *CANVAS_SHAPE), np.uint8)
    for i, (row_items, row_pos) in enumerate(zip(items, positions)):
        for item, (top, left) in zip(row_items, row_pos):
            if item >= 0:
                canvases[i, top : top + 28, left : left + 28] = source[item]
    return canvases


def test_constants():
    assert CANVAS_SHAPE == (64, 128)
    assert PRICES == {0: 1, 1: 2, 2: 3, 3: 4, 4: 5}
    assert CLOSET_CLASSES == ("$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13")


def test_shapes_dtypes_and_meta(closet):
    assert closet.name == "closet"
    assert closet.x_train.shape == (N_TRAIN, 64, 128) and closet.x_test.shape == (N_TEST, 64, 128)
    assert closet.x_train.dtype == np.uint8 and closet.y_train.dtype == np.int64
    assert closet.image_shape == (64, 128, 1) and closet.num_classes == 9
    assert closet.class_names == CLOSET_CLASSES
    assert closet.meta["train_items"].shape == (N_TRAIN, 4) and closet.meta["train_items"].dtype == np.int64
    assert closet.meta["test_items"].shape == (N_TEST, 4) and closet.meta["test_items"].dtype == np.int64
    assert closet.meta["train_positions"].shape == (N_TRAIN, 4, 2)
    assert "seed=0" in closet.source


def test_same_seed_same_arrays_other_seed_different(fashion_mnist, closet):
    again = make_closet(fashion_mnist, n_train=N_TRAIN, n_test=N_TEST, seed=0)
    for key in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(again, key), getattr(closet, key)), key
    for key in closet.meta:
        assert np.array_equal(again.meta[key], closet.meta[key]), key
    other = make_closet(fashion_mnist, n_train=N_TRAIN, n_test=N_TEST, seed=1)
    assert not np.array_equal(other.x_train, closet.x_train)
    assert not np.array_equal(other.y_train, closet.y_train)
    assert not np.array_equal(other.x_test, closet.x_test)
    # the test set does not depend on how many training canvases were made
    fewer = make_closet(fashion_mnist, n_train=10, n_test=N_TEST, seed=0)
    assert np.array_equal(fewer.x_test, closet.x_test)


def test_labels_are_balanced(closet):
    for y, n in ((closet.y_train, N_TRAIN), (closet.y_test, N_TEST)):
        counts = np.bincount(y, minlength=9)
        assert len(counts) == 9
        assert counts.max() - counts.min() <= 1, counts  # drawn evenly: 200 / 50 each
        assert counts.sum() == n


def test_label_is_the_total_price_of_the_pasted_items(fashion_mnist, closet):
    price_of = np.array([PRICES.get(c, 100) for c in range(10)])  # unpriced classes would break the sums
    for items, y, labels in (
        (closet.meta["train_items"], closet.y_train, fashion_mnist.y_train),
        (closet.meta["test_items"], closet.y_test, fashion_mnist.y_test),
    ):
        present = items >= 0
        counts = present.sum(axis=1)
        assert counts.min() == 2 and counts.max() == 4
        assert np.all(present[:, :2]) and np.all(np.diff(present.astype(int), axis=1) <= 0)  # -1 only as padding
        garment_classes = labels[items[present]]
        assert set(np.unique(garment_classes)) == {0, 1, 2, 3, 4}  # only priced classes, all of them used
        prices = np.where(present, price_of[labels[items]], 0)  # items == -1 reads a value masked out here
        assert np.array_equal(prices.sum(axis=1) - 5, y)
    # every garment count appears for labels it can reach, so the count alone does not give the price away
    train_counts = (closet.meta["train_items"] >= 0).sum(axis=1)
    assert set(np.unique(train_counts[closet.y_train == 0])) == {2, 3, 4}


def test_canvases_are_exactly_the_pasted_training_or_test_items(fashion_mnist, closet):
    train = reconstruct(closet.meta["train_items"], closet.meta["train_positions"], fashion_mnist.x_train)
    test = reconstruct(closet.meta["test_items"], closet.meta["test_positions"], fashion_mnist.x_test)
    assert np.array_equal(train, closet.x_train)
    assert np.array_equal(test, closet.x_test)
    assert closet.meta["train_items"].max() < len(fashion_mnist.x_train)
    assert closet.meta["test_items"].max() < len(fashion_mnist.x_test)


def test_no_train_test_leakage_by_pixel_values(fashion_mnist):
    """Train and test garments with disjoint pixel values: each canvas shows only its own split's pixels."""
    train_img, test_img = fashion_mnist.x_train[:3000], fashion_mnist.x_test[:1000]
    marked = Dataset(
        "fashion",
        x_train=train_img // 2,  # 0..127
        y_train=fashion_mnist.y_train[:3000],
        x_test=np.where(test_img > 0, 128 + test_img // 2, 0).astype(np.uint8),  # 0 or 128..255
        y_test=fashion_mnist.y_test[:1000],
        class_names=fashion_mnist.class_names,
        source="marked subset",
    )
    ds = make_closet(marked, n_train=300, n_test=300, seed=5)
    assert ds.x_train.max() < 128
    test_pixels = ds.x_test[ds.x_test > 0]
    assert test_pixels.size > 0 and test_pixels.min() >= 128


def test_items_never_overlap_and_stay_on_the_canvas(closet):
    for items, positions in (
        (closet.meta["train_items"], closet.meta["train_positions"]),
        (closet.meta["test_items"], closet.meta["test_positions"]),
    ):
        present = items >= 0
        assert np.array_equal(positions[..., 0] >= 0, present) and np.array_equal(positions[..., 1] >= 0, present)
        assert positions[..., 0].max() <= 64 - 28 and positions[..., 1].max() <= 128 - 28
        for i, j in itertools.combinations(range(4), 2):
            both = present[:, i] & present[:, j]
            d = np.abs(positions[:, i] - positions[:, j])
            overlap = (d[:, 0] < 28) & (d[:, 1] < 28)
            assert not np.any(both & overlap), (i, j)


def test_positions_vary(closet):
    pos = closet.meta["train_positions"][closet.meta["train_items"] >= 0]
    assert pos[:, 0].min() == 0 and pos[:, 0].max() == 36
    assert pos[:, 1].min() == 0 and pos[:, 1].max() == 100
    assert len(np.unique(pos[:, 1])) > 90


@pytest.mark.parametrize("bad", [{"n_train": 0}, {"n_test": -1}, {"n_train": 2.5}, {"seed": -1}])
def test_bad_arguments_are_data_errors(fashion_mnist, bad):
    with pytest.raises(DataError, match=f"closet: {next(iter(bad))} must be"):
        make_closet(fashion_mnist, **{"n_train": 5, "n_test": 5, **bad})


def test_missing_priced_class_or_wrong_image_size(fashion_mnist, closet):
    no_dress = fashion_mnist.y_test != 3
    ds = Dataset(
        "fashion", fashion_mnist.x_train[:500], fashion_mnist.y_train[:500],
        fashion_mnist.x_test[no_dress], fashion_mnist.y_test[no_dress], fashion_mnist.class_names, "subset",
    )
    with pytest.raises(DataError, match=r"fashion test split has no Dress images \(class 3\)"):
        make_closet(ds, n_train=5, n_test=5)
    with pytest.raises(DataError, match="needs 28x28 Fashion-MNIST images"):
        make_closet(closet, n_train=5, n_test=5)


def test_limit_cuts_the_training_meta_too(closet):
    small = closet.limit(10)
    assert np.array_equal(small.meta["train_items"], closet.meta["train_items"][:10])
    assert np.array_equal(small.meta["train_positions"], closet.meta["train_positions"][:10])
    assert small.meta["test_items"] is closet.meta["test_items"]


# -------------------------------------------------------------------------- save / load


def test_save_load_round_trip_preview_and_no_overwrite(closet, tmp_path):
    small = closet.limit(60)
    out = tmp_path / "closet"
    npz = save_closet(small, out)
    assert npz == out / "closet.npz" and npz.is_file()
    assert sorted(p.name for p in out.iterdir()) == ["closet.npz", "preview.png"]  # no temporary files left

    png = out / "preview.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    pixels = matplotlib.image.imread(png)
    assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 400

    for where in (out, npz):
        loaded = load_closet(where)
        for key in ("x_train", "y_train", "x_test", "y_test"):
            assert np.array_equal(getattr(loaded, key), getattr(small, key)), key
            assert getattr(loaded, key).dtype == getattr(small, key).dtype, key
        assert loaded.class_names == CLOSET_CLASSES and loaded.name == "closet"
        assert set(loaded.meta) == set(small.meta)
        for key in small.meta:
            assert np.array_equal(loaded.meta[key], small.meta[key]), key
    with np.load(npz, allow_pickle=False) as archive:  # the file is readable without pickle or this package
        expected = {"x_train", "y_train", "x_test", "y_test", "train_items", "test_items", "class_names"}
        assert expected <= set(archive.files)

    before = npz.read_bytes()
    with pytest.raises(DataError) as excinfo:
        save_closet(closet.limit(30), out)
    assert str(npz) in str(excinfo.value) and "force" in str(excinfo.value)
    assert npz.read_bytes() == before  # untouched

    save_closet(closet.limit(30), out, force=True)
    assert len(load_closet(out).x_train) == 30
    assert sorted(p.name for p in out.iterdir()) == ["closet.npz", "preview.png"]


def test_load_closet_errors(closet, tmp_path):
    with pytest.raises(DataError) as excinfo:
        load_closet(tmp_path)
    assert str(excinfo.value).startswith(f"{tmp_path / 'closet.npz'}: no such file")

    bad = tmp_path / "closet.npz"
    np.savez(bad, x_train=closet.x_train[:5], y_train=closet.y_train[:5])
    with pytest.raises(DataError) as excinfo:
        load_closet(tmp_path)
    assert str(excinfo.value).startswith(f"{bad}: missing key(s) x_test, y_test")

    np.savez(
        bad,
        x_train=closet.x_train[:5],
        y_train=closet.y_train[:5] + 9,
        x_test=closet.x_test[:5],
        y_test=closet.y_test[:5],
    )
    with pytest.raises(DataError) as excinfo:
        load_closet(bad)
    assert str(excinfo.value).startswith(f"{bad}[y_train]: label ") and "out of range 0..8" in str(excinfo.value)


def test_save_closet_into_a_file_path_is_refused(closet, tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(DataError, match="is not a directory"):
        save_closet(closet.limit(5), not_a_dir)


def test_load_dataset_by_name(fashion_mnist, closet, tmp_path):
    save_closet(closet.limit(20), tmp_path / "saved")
    for where in (tmp_path / "saved", tmp_path / "saved" / "closet.npz"):
        loaded = load_dataset("closet", where)
        assert loaded.name == "closet" and len(loaded.x_train) == 20
    renamed = tmp_path / "mine.npz"
    (tmp_path / "saved" / "closet.npz").rename(renamed)
    assert len(load_dataset("closet", renamed).x_train) == 20

    small = tmp_path / "fashion.npz"
    np.savez(
        small,
        x_train=fashion_mnist.x_train[:200],
        y_train=fashion_mnist.y_train[:200],
        x_test=fashion_mnist.x_test[:100],
        y_test=fashion_mnist.y_test[:100],
    )
    assert np.array_equal(load_dataset("fashion", small).y_test, fashion_mnist.y_test[:100])
    built = load_dataset("closet", small)  # no closet there: built from that Fashion-MNIST, seed 0
    assert built.x_train.shape == (60000, 64, 128) and built.x_test.shape == (10000, 64, 128)
    assert built.meta["train_items"].max() < 200 and built.meta["test_items"].max() < 100
    with pytest.raises(DataError, match="unknown dataset 'mnist'"):
        load_dataset("mnist")


def test_held_out_validation_canvases_never_reuse_a_training_garment(fashion_mnist, tmp_path):
    """n_val canvases come from a held-out tenth of each priced class's training garments; the training
    canvases never paste one of them; the test canvases do not change; save/load keeps them."""
    plain = make_closet(fashion_mnist, n_train=400, n_test=100, seed=3)
    held = make_closet(fashion_mnist, n_train=400, n_test=100, seed=3, n_val=90)
    assert held.x_val.shape == (90, *CANVAS_SHAPE) and np.bincount(held.y_val).tolist() == [10] * 9
    np.testing.assert_array_equal(held.x_test, plain.x_test)
    train = set(held.meta["train_items"][held.meta["train_items"] >= 0].tolist())
    val = set(held.meta["val_items"][held.meta["val_items"] >= 0].tolist())
    assert val and not train & val
    # every canvas is its garments, pasted where the meta says
    np.testing.assert_array_equal(held.x_val, reconstruct(held.meta["val_items"], held.meta["val_positions"],
                                                          fashion_mnist.x_train))
    np.testing.assert_array_equal(held.x_train, reconstruct(held.meta["train_items"], held.meta["train_positions"],
                                                            fashion_mnist.x_train))
    loaded = load_closet(save_closet(held, tmp_path / "c"))
    np.testing.assert_array_equal(loaded.x_val, held.x_val)
    np.testing.assert_array_equal(loaded.y_val, held.y_val)
    assert load_closet(save_closet(plain, tmp_path / "p")).x_val is None
    with pytest.raises(DataError, match="n_val must be a whole number >= 0"):
        make_closet(fashion_mnist, n_train=10, n_test=10, n_val=-1)


def test_a_run_validates_on_the_held_out_canvases_only_when_asked(fashion_mnist, tmp_path):
    from fmnist_edge.artifacts.run_data import open_run_data
    from fmnist_edge.settings import resolve_settings

    save_closet(make_closet(fashion_mnist, n_train=300, n_test=50, seed=1, n_val=45), tmp_path / "held")
    save_closet(make_closet(fashion_mnist, n_train=300, n_test=50, seed=1), tmp_path / "plain")
    honest = open_run_data(resolve_settings("mresnet", dataset="closet", data_dir=str(tmp_path / "held"),
                                            val_source="held-out"))
    assert len(honest.x_train) == 300 and len(honest.x_val) == 45
    np.testing.assert_array_equal(honest.x_val, load_closet(tmp_path / "held").x_val)
    paper = open_run_data(resolve_settings("mresnet", dataset="closet", data_dir=str(tmp_path / "held")))
    assert len(paper.x_train) == 270 and len(paper.x_val) == 30  # a 10% split of the training canvases
    with pytest.raises(DataError, match="has no validation set of its own; make one with fmnist-edge data closet"):
        open_run_data(resolve_settings("mresnet", dataset="closet", data_dir=str(tmp_path / "plain"),
                                       val_source="held-out"))


def test_the_price_distribution_is_the_convolution_of_the_garments_prices_kept_to_the_possible_totals(closet,
                                                                                                   fashion_mnist):
    from fmnist_edge.data.closet import price_distribution

    # priced classes T-shirt $1, trouser $2, pullover $3, dress $4, coat $5
    beliefs = np.array([[1, 0, 0, 0, 0], [0, 0, 0, .5, .5], [.5, .5, 0, 0, 0]], dtype=float)
    got = price_distribution(beliefs, np.array([[0, 1, -1, -1], [2, 2, 2, -1], [1, 1, 0, -1]]))
    expected = np.zeros((3, 9))
    expected[0, [0, 1]] = .5  # $1 + ($4 or $5): $5 or $6
    expected[1, [0, 1]] = [3 / 4, 1 / 4]  # three of ($1 or $2): $3 1/8, $4 3/8, $5 3/8, $6 1/8; $5 and $6 possible
    expected[2, [4, 5, 6]] = [1 / 4, 1 / 2, 1 / 4]  # $1 + two of ($4 or $5)
    np.testing.assert_allclose(got, expected)
    # Garments named with certainty price every canvas at its label.
    certain = np.eye(5)[np.minimum(fashion_mnist.y_train, 4)]  # only the priced classes are ever pasted
    np.testing.assert_array_equal(price_distribution(certain, closet.meta["train_items"]),
                                  np.eye(9)[closet.y_train])


def test_fresh_canvases_are_new_every_epoch_and_the_same_for_a_seed_and_epoch(fashion_mnist):
    from fmnist_edge.data.closet import fresh_canvases, training_garments

    held = make_closet(fashion_mnist, n_train=100, n_test=10, seed=2, n_val=20)
    garments, labels = training_garments(held, fashion_mnist)
    assert len(garments) == len(fashion_mnist.y_train) - len(set(held.meta["val_items"][held.meta["val_items"] >= 0]))

    def epoch(e):
        batches = list(fresh_canvases(garments, labels, 100, 32, seed=5, epoch=e))
        return np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])

    x0, y0 = epoch(0)
    assert x0.shape == (100, *CANVAS_SHAPE) and x0.dtype == np.uint8 and y0.min() >= 0 and y0.max() < 9
    np.testing.assert_array_equal(epoch(0)[0], x0)
    assert not np.array_equal(epoch(1)[0], x0)


@pytest.mark.slow
def test_a_closet_run_trains_on_fresh_canvases(fashion_mnist, tmp_path):
    from fmnist_edge.stages.train import train

    save_closet(make_closet(fashion_mnist, n_train=256, n_test=64, seed=1, n_val=64), tmp_path / "c")
    run = train("mlp", tmp_path / "r", dataset="closet", data_dir=str(tmp_path / "c"), fresh_canvases=True,
                augment_garments=True, val_source="held-out", epochs=2, batch_size=64, progress="none")
    assert run.record["settings"]["fresh_canvases"] is True and run.record["epochs_completed"] == 2
    assert run.record["settings"]["augment_garments"] is True
    assert run.record["data"]["train"] == 256 and run.record["data"]["val"] == 64
    with pytest.raises(FmnistEdgeError, match="--fresh-canvases composes closet canvases"):
        train("mlp", tmp_path / "f", fresh_canvases=True, epochs=1, progress="none")


def test_augmented_garments_are_each_flipped_or_not_and_at_most_a_quarter_erased(fashion_mnist):
    """Every pasted garment is its training image or its mirror image, less one zeroed rectangle of at most
    a quarter of its box; some garments are flipped, some erased, some left as they were."""
    from fmnist_edge.data.closet import _make_split, fresh_canvases
    from fmnist_edge.settings import resolve_settings

    x, y = fashion_mnist.x_train, fashion_mnist.y_train
    canvases, _, items, positions = _make_split(x, y, 200, np.random.default_rng(7), "test", augment_each=True)
    flips = erased = plain = 0
    for canvas, row_items, row_positions in zip(canvases, items, positions):
        for item, (r, c) in zip(row_items, row_positions):
            if item < 0:
                continue
            pasted = canvas[r:r + 28, c:c + 28]
            for original, flipped in ((x[item], False), (x[item][:, ::-1], True)):
                changed = pasted != original
                if np.all(pasted[changed] == 0):  # only zeroed pixels differ
                    break
            else:
                raise AssertionError(f"garment {item} is neither its image nor its mirror image, less zeros")
            if changed.any():
                rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
                assert (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1) <= 0.25 * 28 * 28 + 28  # rounding
                erased += 1
            flips += flipped and not np.array_equal(x[item], x[item][:, ::-1])
            plain += not flipped and not changed.any()
    assert flips > 100 and erased > 100 and plain > 50

    def epoch(augment_each):
        return np.concatenate([c for c, _ in fresh_canvases(x, y, 64, 32, 5, 0, augment_each=augment_each)])
    np.testing.assert_array_equal(epoch(True), epoch(True))  # the same per seed and epoch
    assert not np.array_equal(epoch(True), epoch(False))
    with pytest.raises(FmnistEdgeError, match="--augment-garments changes the garments of the canvases"):
        resolve_settings("res-closet", dataset="closet", augment_garments=True)


def test_the_fresh_canvas_pipeline_draws_epoch_after_epoch_from_the_first_epoch(fashion_mnist):
    """Each pass over the training batches (Keras makes one per epoch) is the next epoch's draw, counted from
    first_epoch (a resumed run's completed epochs)."""
    from fmnist_edge.data.closet import fresh_canvases
    from fmnist_edge.data.pipeline import make_fresh_closet_dataset

    x, y = fashion_mnist.x_train, fashion_mnist.y_train
    ds = make_fresh_closet_dataset(x, y, 200, 9, 64, seed=3, first_epoch=5)
    for epoch in (5, 6):
        images = np.concatenate([batch.numpy() for batch, _ in ds])
        expected = np.concatenate([canvases for canvases, _ in fresh_canvases(x, y, 200, 64, 3, epoch)])
        np.testing.assert_array_equal(np.rint(images[..., 0] * 255).astype(np.uint8), expected)


def test_a_closet_whose_canvases_do_not_match_their_garments_is_refused(fashion_mnist, tmp_path):
    good = make_closet(fashion_mnist, n_train=80, n_test=20, seed=4, n_val=20)
    save_closet(good, tmp_path / "good")
    assert len(load_dataset("closet", tmp_path / "good").x_train) == 80  # checked, and accepted
    for split in ("train", "val", "test"):
        bad = make_closet(fashion_mnist, n_train=80, n_test=20, seed=4, n_val=20)
        getattr(bad, f"x_{split}")[3, 10:20, 10:20] ^= 0xFF  # one canvas edited
        save_closet(bad, tmp_path / split)
        with pytest.raises(DataError, match=rf"{split} canvas 3 is not the garments its record names"):
            load_dataset("closet", tmp_path / split)
