"""Fashion-MNIST loaders: the real Debian data, every layout, every kind of broken file, the search path, splits."""
from __future__ import annotations

import gzip
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fmnist_edge.data import DATA_ENV_VAR, FASHION_CLASSES, data_search_path, load_fashion_mnist, read_csv, read_idx, read_npz, split_train_val, validate_split
from fmnist_edge.data import fashion as fashion_module
from fmnist_edge.errors import DataError, FmnistEdgeError

DEBIAN = Path("/usr/share/datasets/fashion-mnist")
IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


# ----------------------------------------------------------------------------- helpers


def idx_bytes(arr: np.ndarray, magic: int | None = None) -> bytes:
    arr = np.asarray(arr, dtype=np.uint8)
    magic = (0x0800 | arr.ndim) if magic is None else magic
    return struct.pack(f">I{arr.ndim}I", magic, *arr.shape) + arr.tobytes()


def write_idx(path: Path, arr: np.ndarray, magic: int | None = None) -> Path:
    data = idx_bytes(arr, magic)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def write_idx_set(directory: Path, arrays: dict, gz: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for key, name in IDX_NAMES.items():
        write_idx(directory / (name + (".gz" if gz else "")), arrays[key])
    return directory


def write_csv(path: Path, x: np.ndarray, y: np.ndarray, header: bool = True) -> Path:
    lines = ["label," + ",".join(f"pixel{i}" for i in range(1, 785))] if header else []
    lines += [",".join(map(str, [int(label), *img.ravel().tolist()])) for img, label in zip(x, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_csv_set(directory: Path, arrays: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    write_csv(directory / "fashion-mnist_train.csv", arrays["x_train"], arrays["y_train"])
    write_csv(directory / "fashion-mnist_test.csv", arrays["x_test"], arrays["y_test"])
    return directory


def error_message(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message, f"DataError must be one line: {message!r}"
    return message


@pytest.fixture(scope="module")
def subset(fashion_mnist) -> dict:
    """A small real subset (every class present in both splits) as a dict of arrays."""
    return {
        "x_train": fashion_mnist.x_train[:60],
        "y_train": fashion_mnist.y_train[:60],
        "x_test": fashion_mnist.x_test[:20],
        "y_test": fashion_mnist.y_test[:20],
    }


@pytest.fixture
def no_defaults(monkeypatch, tmp_path):
    """No env var, and the default locations point at empty temporary places."""
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    monkeypatch.setattr(fashion_module, "DEBIAN_DATA_DIR", tmp_path / "no-debian")
    monkeypatch.setattr(fashion_module, "KERAS_DATA_DIR", tmp_path / "no-keras")
    return tmp_path


# ---------------------------------------------------------------------- the real data


def test_real_fashion_mnist_shapes_dtypes_and_counts(fashion_mnist):
    ds = fashion_mnist
    assert ds.name == "fashion"
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    assert ds.x_train.dtype == np.uint8 and ds.x_test.dtype == np.uint8
    assert ds.y_train.shape == (60000,) and ds.y_test.shape == (10000,)
    assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    assert ds.y_train.min() == 0 and ds.y_train.max() == 9
    assert ds.y_test.min() == 0 and ds.y_test.max() == 9
    assert np.bincount(ds.y_train).tolist() == [6000] * 10
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.class_names == FASHION_CLASSES and len(FASHION_CLASSES) == 10
    assert FASHION_CLASSES[0] == "T-shirt/top" and FASHION_CLASSES[9] == "Ankle boot"
    assert ds.image_shape == (28, 28, 1) and ds.num_classes == 10
    assert str(DEBIAN) in ds.source
    assert ds.x_train.max() == 255 and ds.x_train.min() == 0  # raw pixels, not normalized


def test_default_search_finds_the_debian_package(monkeypatch, tmp_path, fashion_mnist):
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    monkeypatch.setattr(fashion_module, "KERAS_DATA_DIR", tmp_path / "no-keras")
    ds = load_fashion_mnist()
    assert str(DEBIAN) in ds.source
    assert np.array_equal(ds.y_test, fashion_mnist.y_test)


def test_loaders_import_no_tensorflow_or_matplotlib():
    # in a fresh interpreter: other tests in the session may have imported them already
    code = (
        "import sys, fmnist_edge.data; "
        "bad = [m for m in ('tensorflow', 'matplotlib', 'tf_keras') if m in sys.modules]; "
        "sys.exit(str(bad) if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


def test_dataset_limit_keeps_the_first_n_and_the_whole_test_set(fashion_mnist):
    small = fashion_mnist.limit(100)
    assert np.array_equal(small.x_train, fashion_mnist.x_train[:100])
    assert np.array_equal(small.y_train, fashion_mnist.y_train[:100])
    assert small.x_test is fashion_mnist.x_test and small.y_test is fashion_mnist.y_test
    assert "first 100" in small.source
    assert fashion_mnist.limit(10**6) is fashion_mnist
    for bad in (0, -3, 1.5, True):
        with pytest.raises(DataError, match="limit"):
            fashion_mnist.limit(bad)


# ----------------------------------------------------------------------------- layouts


@pytest.mark.parametrize("layout", ["idx-gz", "idx-raw", "csv", "csv-no-header", "npz-file", "npz-dir"])
def test_every_layout_loads_the_same_arrays(layout, subset, tmp_path):
    if layout == "idx-gz":
        target = write_idx_set(tmp_path / "d", subset, gz=True)
    elif layout == "idx-raw":
        target = write_idx_set(tmp_path / "d", subset, gz=False)
    elif layout.startswith("csv"):
        target = write_csv_set(tmp_path / "d", subset)
        if layout == "csv-no-header":
            for csv in target.glob("*.csv"):
                csv.write_text(csv.read_text().split("\n", 1)[1])
    else:
        (tmp_path / "d").mkdir()
        target = tmp_path / "d" / "fashion-mnist.npz"
        np.savez(target, **subset)
        if layout == "npz-dir":
            target = target.parent
    ds = load_fashion_mnist(target)
    for key, expected in subset.items():
        got = getattr(ds, key)
        assert got.dtype == (np.uint8 if key.startswith("x") else np.int64), key
        assert np.array_equal(got, expected), key
    assert str(tmp_path / "d") in ds.source


def test_npz_with_channel_axis_and_column_labels_is_accepted(subset, tmp_path):
    path = tmp_path / "keras.npz"
    np.savez(
        path,
        x_train=subset["x_train"][..., None].astype(np.int32),
        y_train=subset["y_train"][:, None].astype(np.uint8),
        x_test=subset["x_test"].astype(np.float32),
        y_test=subset["y_test"],
    )
    ds = load_fashion_mnist(path)
    assert ds.x_train.shape == (60, 28, 28) and ds.x_train.dtype == np.uint8
    assert np.array_equal(ds.x_test, subset["x_test"]) and np.array_equal(ds.y_train, subset["y_train"])


def test_idx_is_preferred_and_gz_or_raw_may_mix(subset, tmp_path):
    write_idx_set(tmp_path, subset, gz=True)
    raw = tmp_path / "t10k-labels-idx1-ubyte"
    (tmp_path / "t10k-labels-idx1-ubyte.gz").rename(tmp_path / "unused.gz")
    write_idx(raw, subset["y_test"])
    write_csv_set(tmp_path, {k: v[:1] for k, v in subset.items()})  # a different, smaller set
    ds = load_fashion_mnist(tmp_path)
    assert "IDX" in ds.source and len(ds.x_train) == 60


def test_read_idx_reads_the_real_labels_and_checks_kind():
    labels = read_idx(DEBIAN / "t10k-labels-idx1-ubyte.gz", "labels")
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert read_idx(DEBIAN / "t10k-labels-idx1-ubyte.gz").shape == (10000,)
    with pytest.raises(DataError) as excinfo:
        read_idx(DEBIAN / "t10k-labels-idx1-ubyte.gz", "images")
    assert "bad magic number 0x00000801 (expected 0x00000803 for images)" in error_message(excinfo)


# ------------------------------------------------------------------------ broken files


def test_wrong_magic_number_names_file_and_expectation(subset, tmp_path):
    write_idx_set(tmp_path, subset)
    # a labels file where the training images should be
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", subset["y_train"])
    with pytest.raises(DataError) as excinfo:
        load_fashion_mnist(tmp_path)
    assert error_message(excinfo) == (
        f"{tmp_path / 'train-images-idx3-ubyte.gz'}: bad magic number 0x00000801 (expected 0x00000803 for images)"
    )


def test_wrong_dtype_byte_is_a_bad_magic_number(tmp_path):
    path = write_idx(tmp_path / "x.gz", np.zeros(5), magic=0x00000D01)  # 0x0D = float
    with pytest.raises(DataError) as excinfo:
        read_idx(path, "labels")
    assert f"{path}: bad magic number 0x00000D01 (expected 0x00000801 for labels)" == error_message(excinfo)


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    data = (DEBIAN / path.name).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError) as excinfo:
        read_idx(path, "labels")
    assert error_message(excinfo) == f"{path}: truncated gzip stream"


@pytest.mark.parametrize("where", ["deflate-data", "crc-trailer", "header"])
def test_corrupt_gzip_bytes(tmp_path, where):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    data = bytearray((DEBIAN / path.name).read_bytes())
    if where == "deflate-data":
        data[2000:2040] = b"\xff" * 40
    elif where == "crc-trailer":
        data[-6] ^= 0xFF
    else:
        data[0] = 0x00
    path.write_bytes(bytes(data))
    with pytest.raises(DataError) as excinfo:
        read_idx(path)
    assert error_message(excinfo).startswith(f"{path}: corrupt gzip data (")


def test_truncated_payload_and_trailing_bytes(tmp_path):
    full = idx_bytes(np.zeros((3, 28, 28)))
    short = tmp_path / "short-idx3-ubyte.gz"
    short.write_bytes(gzip.compress(full[:-10]))
    with pytest.raises(DataError) as excinfo:
        read_idx(short, "images")
    assert error_message(excinfo) == f"{short}: truncated: header says 3x28x28 = 2352 bytes of data, only 2342 follow"

    long = tmp_path / "long-idx3-ubyte"
    long.write_bytes(full + b"\x00" * 7)
    with pytest.raises(DataError) as excinfo:
        read_idx(long, "images")
    assert error_message(excinfo) == f"{long}: 7 unexpected bytes after the 3x28x28 values the header declares"

    tiny = tmp_path / "tiny-idx1-ubyte"
    tiny.write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match="too short for an IDX header"):
        read_idx(tiny)


def test_missing_idx_file(tmp_path):
    with pytest.raises(DataError) as excinfo:
        read_idx(tmp_path / "nope.gz")
    assert error_message(excinfo) == f"{tmp_path / 'nope.gz'}: no such file"


def test_image_label_count_mismatch_names_both_files(subset, tmp_path):
    write_idx_set(tmp_path, subset)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", subset["y_train"][:59])
    with pytest.raises(DataError) as excinfo:
        load_fashion_mnist(tmp_path)
    assert error_message(excinfo) == (
        f"train: 60 images but 59 labels "
        f"({tmp_path / 'train-images-idx3-ubyte.gz'}, {tmp_path / 'train-labels-idx1-ubyte.gz'})"
    )


def test_label_out_of_range_names_the_labels_file(subset, tmp_path):
    labels = subset["y_test"].copy()
    labels[5] = 12
    write_idx_set(tmp_path, {**subset, "y_test": labels})
    with pytest.raises(DataError) as excinfo:
        load_fashion_mnist(tmp_path)
    assert error_message(excinfo).startswith(f"{tmp_path / 't10k-labels-idx1-ubyte.gz'}: label 12 out of range 0..9")
    assert "index 5" in error_message(excinfo)


def test_images_of_the_wrong_size_are_refused(tmp_path, subset):
    write_idx_set(tmp_path, {**subset, "x_test": np.zeros((20, 32, 32), np.uint8)})
    with pytest.raises(DataError) as excinfo:
        load_fashion_mnist(tmp_path)
    assert error_message(excinfo) == (
        f"{tmp_path / 't10k-images-idx3-ubyte.gz'}: test images are 32x32, Fashion-MNIST is 28x28"
    )


def test_csv_with_wrong_column_count(subset, tmp_path):
    header_short = write_csv(tmp_path / "a.csv", subset["x_test"][:3], subset["y_test"][:3])
    header_short.write_text(header_short.read_text().replace(",pixel784", "", 1))
    with pytest.raises(DataError) as excinfo:
        read_csv(header_short)
    assert error_message(excinfo) == f"{header_short}: line 1 has 784 columns, expected 785 (label + 784 pixels)"

    row_short = write_csv(tmp_path / "b.csv", subset["x_test"][:3], subset["y_test"][:3])
    lines = row_short.read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0]  # second data row loses its last pixel
    row_short.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as excinfo:
        read_csv(row_short)
    assert error_message(excinfo) == f"{row_short}: line 3 has 784 columns, expected 785 (label + 784 pixels)"


def test_csv_with_bad_values(subset, tmp_path):
    path = write_csv(tmp_path / "c.csv", subset["x_test"][:2], subset["y_test"][:2])
    lines = path.read_text().splitlines()
    fields = lines[1].split(",")
    fields[10] = "abc"
    path.write_text("\n".join([lines[0], ",".join(fields), lines[2]]) + "\n")
    with pytest.raises(DataError) as excinfo:
        read_csv(path)
    assert error_message(excinfo) == f"{path}: line 2, column 11: 'abc' is not an integer"

    fields[10] = "300"
    path.write_text("\n".join([lines[0], ",".join(fields), lines[2]]) + "\n")
    with pytest.raises(DataError) as excinfo:
        read_csv(path)
    assert error_message(excinfo) == f"{path}: pixel value 300 out of range 0..255 (line 2, column 11)"

    path.write_text(lines[0] + "\n")
    with pytest.raises(DataError, match="no data rows"):
        read_csv(path)
    path.write_text("")
    with pytest.raises(DataError, match="empty CSV file"):
        read_csv(path)


def test_csv_label_out_of_range(subset, tmp_path):
    write_csv_set(tmp_path, subset)
    write_csv(tmp_path / "fashion-mnist_train.csv", subset["x_train"], np.full(60, 10))
    with pytest.raises(DataError) as excinfo:
        load_fashion_mnist(tmp_path)
    assert error_message(excinfo).startswith(f"{tmp_path / 'fashion-mnist_train.csv'}: label 10 out of range 0..9")


def test_npz_missing_keys_and_bad_contents(subset, tmp_path):
    path = tmp_path / "f.npz"
    np.savez(path, x_train=subset["x_train"], y_train=subset["y_train"])
    with pytest.raises(DataError) as excinfo:
        load_fashion_mnist(path)
    assert error_message(excinfo) == f"{path}: missing key(s) x_test, y_test (it has x_train, y_train)"

    np.savez(path, **{**subset, "x_test": subset["x_test"] / 255.0})
    with pytest.raises(DataError) as excinfo:
        read_npz(path)
    assert error_message(excinfo).startswith(f"{path}[x_test]: images must hold integer pixel values 0..255")

    np.savez(path, **{**subset, "x_train": subset["x_train"].reshape(60, -1)})
    with pytest.raises(DataError) as excinfo:
        read_npz(path)
    assert error_message(excinfo) == f"{path}[x_train]: images must be (N, H, W), got shape (60, 784)"

    np.savez(path, **{**subset, "y_train": subset["y_train"][:50]})
    with pytest.raises(DataError) as excinfo:
        load_fashion_mnist(path)
    assert error_message(excinfo) == f"train: 60 images but 50 labels ({path}[x_train], {path}[y_train])"

    path.write_bytes(b"this is not a zip file")
    with pytest.raises(DataError) as excinfo:
        read_npz(path)
    assert error_message(excinfo).startswith(f"{path}: not a readable .npz file")

    np.save(tmp_path / "single.npy", subset["x_train"])
    with pytest.raises(DataError, match="not an .npz archive"):
        read_npz(tmp_path / "single.npy")


# ---------------------------------------------------------------------- search path


def test_search_path_order(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "env"))
    assert data_search_path(tmp_path / "arg") == [
        tmp_path / "arg",
        tmp_path / "env",
        Path("/usr/share/datasets/fashion-mnist"),
        Path.home() / ".keras/datasets/fashion-mnist",
    ]
    monkeypatch.delenv(DATA_ENV_VAR)
    assert data_search_path() == [
        Path("/usr/share/datasets/fashion-mnist"),
        Path.home() / ".keras/datasets/fashion-mnist",
    ]


def test_explicit_data_dir_that_does_not_exist_is_an_error(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(DataError) as excinfo:
        load_fashion_mnist(missing)  # the Debian data exists, but must not be used instead
    message = error_message(excinfo)
    assert message.startswith(f"{missing}: does not exist (given as data_dir")
    assert isinstance(excinfo.value, FmnistEdgeError) and excinfo.value.exit_code == 2


def test_explicit_data_dir_without_usable_files_is_an_error(subset, tmp_path):
    with pytest.raises(DataError) as excinfo:
        load_fashion_mnist(tmp_path)
    assert error_message(excinfo).startswith(f"{tmp_path}: no IDX, CSV or .npz files (given as data_dir")

    write_idx_set(tmp_path, subset)
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError) as excinfo:
        load_fashion_mnist(tmp_path)
    assert error_message(excinfo).startswith(f"{tmp_path}: incomplete IDX set, missing t10k-images-idx3-ubyte[.gz]")

    gz = tmp_path / "train-images-idx3-ubyte.gz"
    with pytest.raises(DataError, match="is a file, not a directory or .npz file"):
        load_fashion_mnist(gz)


def test_env_var_is_used_and_does_not_fall_through(monkeypatch, subset, tmp_path):
    monkeypatch.setenv(DATA_ENV_VAR, str(write_idx_set(tmp_path / "env", subset)))
    assert len(load_fashion_mnist().x_train) == 60
    assert len(load_fashion_mnist(DEBIAN).x_test) == 10000  # the argument beats the env var
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "gone"))
    with pytest.raises(DataError) as excinfo:
        load_fashion_mnist()
    assert error_message(excinfo).startswith(f"{tmp_path / 'gone'}: does not exist (given as ${DATA_ENV_VAR}")


def test_no_data_anywhere_lists_every_place_and_how_to_get_it(no_defaults):
    keras_dir = no_defaults / "no-keras"
    keras_dir.mkdir()
    (keras_dir / "train-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(DataError) as excinfo:
        load_fashion_mnist()
    message = error_message(excinfo)
    assert message.startswith("Fashion-MNIST not found; looked in ")
    assert f"{no_defaults / 'no-debian'} (does not exist)" in message
    assert f"{keras_dir} (incomplete IDX set, missing train-labels-idx1-ubyte[.gz]" in message
    assert "sudo apt-get install dataset-fashion-mnist" in message
    assert "--data-dir" in message and DATA_ENV_VAR in message


def test_default_location_is_used_when_complete(no_defaults, subset):
    write_csv_set(no_defaults / "no-keras", subset)
    ds = load_fashion_mnist()
    assert "Kaggle CSV" in ds.source and np.array_equal(ds.x_test, subset["x_test"])


# ------------------------------------------------------------------------ validation


def test_validate_split_checks_shapes_counts_and_ranges():
    x = np.zeros((4, 28, 28), np.uint8)
    y = np.array([0, 1, 2, 3])
    validate_split(x, y, 4, "train")
    cases = [
        ((x.reshape(4, -1), y, 4), "train images: images must be (N, H, W), got shape (4, 784)"),
        ((x, y[:, None], 4), "train labels: labels must be (N,), got shape (4, 1)"),
        ((x, y[:3], 4), "train: 4 images but 3 labels"),
        ((x, y, 3), "train labels: label 3 out of range 0..2 (first at index 3; 1 bad in total)"),
        ((x, y - 1, 4), "train labels: label -1 out of range 0..3 (first at index 0; 1 bad in total)"),
        ((x.astype(np.float32), y, 4), "train images: images must be uint8, got float32"),
        ((x[:0], y[:0], 4), "train images: no train images"),
    ]
    for args, expected in cases:
        with pytest.raises(DataError) as excinfo:
            validate_split(*args, "train")
        assert error_message(excinfo) == expected


def test_split_train_val_is_seeded_stratified_disjoint_and_covering(fashion_mnist):
    y = fashion_mnist.y_train
    ids = np.arange(len(y))  # stand-in "images" that name their own index
    a = split_train_val(ids, y, 0.1, seed=0)
    b = split_train_val(ids, y, 0.1, seed=0)
    c = split_train_val(ids, y, 0.1, seed=1)
    for left, right in zip(a, b):
        assert np.array_equal(left, right)
    assert not np.array_equal(a[2], c[2])

    ids_tr, y_tr, ids_val, y_val = a
    assert len(ids_val) == 6000 and len(ids_tr) == 54000
    assert np.bincount(y_val, minlength=10).tolist() == [600] * 10  # stratified: 10% of each class
    assert np.intersect1d(ids_tr, ids_val).size == 0
    assert np.array_equal(np.sort(np.concatenate([ids_tr, ids_val])), ids)
    assert np.array_equal(y_tr, y[ids_tr]) and np.array_equal(y_val, y[ids_val])
    assert np.all(np.diff(ids_tr) > 0) and np.all(np.diff(ids_val) > 0)  # original order kept


def test_split_train_val_on_images_and_uneven_classes(fashion_mnist):
    x, y = fashion_mnist.x_train[:1000], fashion_mnist.y_train[:1000]
    x_tr, y_tr, x_val, y_val = split_train_val(x, y, 0.25, seed=3)
    assert x_tr.dtype == np.uint8 and x_val.shape == (250, 28, 28) and x_tr.shape == (750, 28, 28)
    counts, val_counts = np.bincount(y, minlength=10), np.bincount(y_val, minlength=10)
    assert np.all(np.abs(val_counts - counts * 0.25) < 1)  # each class within rounding of its share


def test_split_train_val_zero_fraction_and_bad_fractions(fashion_mnist):
    x, y = fashion_mnist.x_train[:50], fashion_mnist.y_train[:50]
    x_tr, y_tr, x_val, y_val = split_train_val(x, y, 0.0, seed=0)
    assert np.array_equal(x_tr, x) and np.array_equal(y_tr, y)
    assert x_val.shape == (0, 28, 28) and x_val.dtype == np.uint8 and y_val.shape == (0,)
    for bad in (-0.1, 1.0, 1.5, float("nan"), "a lot"):
        with pytest.raises(DataError, match=r"val_fraction must be .*in \[0, 1\)"):
            split_train_val(x, y, bad, seed=0)


def test_corrupt_copy_of_a_real_file_in_a_full_set(tmp_path):
    """A full real set in which one file is cut short: the error names that file."""
    for name in IDX_NAMES.values():
        shutil.copy(DEBIAN / f"{name}.gz", tmp_path)
    cut = tmp_path / "train-labels-idx1-ubyte.gz"
    cut.write_bytes(cut.read_bytes()[:-100])
    with pytest.raises(DataError) as excinfo:
        load_fashion_mnist(tmp_path)
    assert error_message(excinfo) == f"{cut}: truncated gzip stream"
