"""Fashion-MNIST on disk -> validated uint8 arrays, without TensorFlow.

Why this module exists: the data arrives in three common layouts (the four official
IDX files, as shipped by Debian's ``dataset-fashion-mnist`` package and cached by
Keras; Kaggle's two CSV files; a Keras-style ``.npz``), and every one of them can be
missing, truncated or mixed up. Each reader checks what it reads and turns every
problem into a one-line :class:`~fmnist_edge.errors.DataError` that names the file,
so the CLI can print it and exit 2 instead of showing a traceback deep in a tf.data
pipeline. Images stay ``uint8`` (N, H, W) until the tf.data pipeline; labels are
``int64`` (N,). Only numpy is needed, so a deploy-only install can load data too.

    from fmnist_edge.data import load_fashion_mnist, split_train_val
    ds = load_fashion_mnist()                       # searches data_search_path()
    x_tr, y_tr, x_val, y_val = split_train_val(ds.x_train, ds.y_train, 0.1, seed=0)
"""
from __future__ import annotations

import dataclasses
import gzip
import os
import re
import struct
import warnings
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError

FASHION_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DATA_ENV_VAR = "FMNIST_EDGE_DATA"

# Default places, searched after --data-dir and $FMNIST_EDGE_DATA. Module globals so
# tests can point them elsewhere; data_search_path() reads them at call time.
DEBIAN_DATA_DIR = Path("/usr/share/datasets/fashion-mnist")  # apt-get install dataset-fashion-mnist
KERAS_DATA_DIR = Path("~/.keras/datasets/fashion-mnist")  # keras.datasets.fashion_mnist cache

IMAGE_HW = (28, 28)
IDX_FILES = {  # (split, role) -> official file name without .gz
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
CSV_FILES = {"train": "fashion-mnist_train.csv", "test": "fashion-mnist_test.csv"}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
NPZ_NAMES = ("fashion-mnist.npz", "fashion_mnist.npz")  # preferred when a dir holds several .npz

_IDX_MAGIC = {"images": 0x00000803, "labels": 0x00000801}  # dtype byte 0x08 (uint8), ndim 3 / 1
_INSTALL_HINT = (
    "install it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or point "
    f"--data-dir / {DATA_ENV_VAR} at the four IDX files, the two Kaggle CSV files or a .npz "
    "with x_train, y_train, x_test, y_test"
)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled image dataset held in memory: uint8 images, int64 labels.

    Example:
        ds = load_fashion_mnist()
        ds.image_shape, ds.num_classes      # ((28, 28, 1), 10)
        small = ds.limit(1000)              # first 1000 training images, same test set
    """

    name: str  # "fashion" or "closet"
    x_train: np.ndarray  # uint8 (N, H, W): images stay uint8 until the tf.data pipeline
    y_train: np.ndarray  # int64 (N,)
    x_test: np.ndarray  # uint8 (M, H, W)
    y_test: np.ndarray  # int64 (M,)
    class_names: tuple[str, ...]
    source: str  # human-readable: where it was read from / how it was made
    meta: Mapping[str, np.ndarray] = field(default_factory=dict)  # e.g. closet item indices
    # A validation set of the dataset's own, apart from x_train (closet canvases of garments that no training
    # canvas holds); a run uses it with --val-source held-out. None: validation is split off x_train.
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_names", tuple(self.class_names))
        object.__setattr__(self, "meta", dict(self.meta))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, 1): the model input shape (one grayscale channel)."""
        h, w = self.x_train.shape[1:3]
        return (int(h), int(w), 1)

    @property
    def num_classes(self) -> int:
        """Number of classes, len(class_names)."""
        return len(self.class_names)

    def limit(self, n: int) -> Dataset:
        """Return a Dataset with only the first ``n`` training images; the test set is untouched.

        Per-training-image ``meta`` arrays (keys starting with "train") are cut the same way.
        ``n`` at least the training size returns ``self``.

        Example:
            quick = ds.limit(2000)
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise DataError(f"{self.name}: limit must be a whole number >= 1, got {n!r}")
        total = len(self.x_train)
        if n >= total:
            return self
        meta = {
            key: (arr[:n] if key.startswith("train") and len(arr) == total else arr)
            for key, arr in self.meta.items()
        }
        return dataclasses.replace(
            self,
            x_train=self.x_train[:n],
            y_train=self.y_train[:n],
            meta=meta,
            source=f"{self.source} (first {n} of {total} training images)",
        )

    def __repr__(self) -> str:
        def shape(a: np.ndarray) -> str:
            return "x".join(str(d) for d in a.shape)

        return (
            f"Dataset(name={self.name!r}, train={shape(self.x_train)}, test={shape(self.x_test)}, "
            f"classes={self.num_classes}, source={self.source!r})"
        )


# --------------------------------------------------------------------------- readers


def read_idx(path: str | Path, kind: str | None = None) -> np.ndarray:
    """Read one IDX file (gzip-compressed or raw) of uint8 images (N, H, W) or labels (N,).

    Checks that the file exists, that the gzip stream is complete and intact, that the
    magic number is 0x00000803 (images) or 0x00000801 (labels) with dtype byte 0x08, and
    that the payload length matches the dimensions in the header.

    Args:
        path: the file; compressed if it ends in ``.gz`` or starts with the gzip magic.
        kind: "images" or "labels" to require that kind; None accepts either.

    Example:
        labels = read_idx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz", "labels")
    """
    path = Path(path)
    if kind not in (None, "images", "labels"):
        raise ValueError(f"kind must be 'images', 'labels' or None, not {kind!r}")
    data = _read_maybe_gzip(path)
    if len(data) < 4:
        raise DataError(f"{path}: truncated: {len(data)} bytes is too short for an IDX header")
    (magic,) = struct.unpack(">I", data[:4])
    expected = [_IDX_MAGIC[kind]] if kind else list(_IDX_MAGIC.values())
    if magic not in expected:
        wanted = " or ".join(f"0x{_IDX_MAGIC[k]:08X} for {k}" for k in ([kind] if kind else _IDX_MAGIC))
        raise DataError(f"{path}: bad magic number 0x{magic:08X} (expected {wanted})")
    ndim = magic & 0xFF
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataError(f"{path}: truncated: IDX header needs {header_len} bytes, file has {len(data)}")
    dims = struct.unpack(f">{ndim}I", data[4:header_len])
    expected_len = int(np.prod(dims, dtype=np.int64))
    payload_len = len(data) - header_len
    dims_text = "x".join(str(d) for d in dims)
    if payload_len < expected_len:
        raise DataError(
            f"{path}: truncated: header says {dims_text} = {expected_len} bytes of data, only {payload_len} follow"
        )
    if payload_len > expected_len:
        raise DataError(
            f"{path}: {payload_len - expected_len} unexpected bytes after the {dims_text} values the header declares"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(dims).copy()


def _read_maybe_gzip(path: Path) -> bytes:
    if not path.is_file():
        raise DataError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if path.suffix != ".gz" and not data.startswith(b"\x1f\x8b"):
        return data
    try:
        return gzip.decompress(data)
    except EOFError:
        raise DataError(f"{path}: truncated gzip stream") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise DataError(f"{path}: corrupt gzip data ({exc})") from None


def read_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a Kaggle Fashion-MNIST CSV: a header row, then per row a label and 784 pixels.

    Returns ``(images, labels)``: uint8 (N, 28, 28) and int64 (N,). Checks the column
    count (785), that every value is an integer and that pixels lie in 0..255. A file
    without the header row (first field numeric) is accepted too.

    Example:
        x, y = read_csv("fashion-mnist_test.csv")
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    n_cols = 1 + IMAGE_HW[0] * IMAGE_HW[1]
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            first = f.readline()
            if not first.strip():
                raise DataError(f"{path}: empty CSV file")
            header_cols = len(first.rstrip("\r\n").split(","))
            if header_cols != n_cols:
                raise DataError(
                    f"{path}: line 1 has {header_cols} columns, expected {n_cols} (label + 784 pixels)"
                )
            has_header = not first.split(",", 1)[0].strip().lstrip("-").isdigit()
            if not has_header:
                f.seek(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "input contained no data": handled below
                table = np.loadtxt(f, delimiter=",", dtype=np.int32, ndmin=2)
    except (ValueError, OverflowError) as exc:  # includes UnicodeDecodeError
        raise DataError(_diagnose_csv(path, n_cols) or f"{path}: {str(exc).split(';')[0]}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if table.shape[0] == 0:
        raise DataError(f"{path}: no data rows after the header")
    if table.shape[1] != n_cols:  # only reachable when every row has the same wrong count
        raise DataError(f"{path}: {table.shape[1]} columns, expected {n_cols} (label + 784 pixels)")
    pixels = table[:, 1:]
    bad = (pixels < 0) | (pixels > 255)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"{path}: pixel value {pixels[row, col]} out of range 0..255 "
            f"(line {row + 1 + has_header}, column {col + 2})"
        )
    images = pixels.astype(np.uint8).reshape(-1, *IMAGE_HW)
    return images, table[:, 0].astype(np.int64)


def _diagnose_csv(path: Path, n_cols: int) -> str | None:
    """Find the first bad line of a CSV numpy refused (slow; only runs on the error path)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            for line_no, line in enumerate(f, start=1):
                fields = line.rstrip("\r\n").split(",")
                if line_no == 1 and not fields[0].strip().lstrip("-").isdigit():
                    continue  # header
                if not line.strip():
                    continue
                if len(fields) != n_cols:
                    return f"{path}: line {line_no} has {len(fields)} columns, expected {n_cols} (label + 784 pixels)"
                for col_no, value in enumerate(fields, start=1):
                    if not re.fullmatch(r"\s*-?\d+\s*", value):
                        return f"{path}: line {line_no}, column {col_no}: {value.strip()!r} is not an integer"
    except UnicodeDecodeError:
        return f"{path}: not a text CSV file (cannot decode as UTF-8)"
    except OSError:
        return None
    return None


def read_npz(path: str | Path, required: tuple[str, ...] = NPZ_KEYS) -> dict[str, np.ndarray]:
    """Read a Keras-style .npz and return all its arrays, the required ones checked and cast.

    ``x_*`` keys must hold integer-valued images (N, H, W) (or (N, H, W, 1)) within
    0..255 and come back uint8; ``y_*`` keys integer labels (N,) (or (N, 1)) and come
    back int64. Other arrays are returned as stored. Pickled objects are refused.

    Example:
        arrays = read_npz("fashion-mnist.npz")
        arrays["x_train"].shape             # (60000, 28, 28)
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    not_npz = f"{path}: a single .npy array, not an .npz archive with {', '.join(required)}"
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise DataError(not_npz)
        with archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path}: not a readable .npz file ({_one_line(exc)})") from None
    missing = [key for key in required if key not in arrays]
    if missing:
        have = ", ".join(sorted(arrays)) or "nothing"
        raise DataError(f"{path}: missing key(s) {', '.join(missing)} (it has {have})")
    for key in required:
        where = f"{path}[{key}]"
        if key.startswith("x_"):
            arrays[key] = _as_uint8_images(arrays[key], where)
        elif key.startswith("y_"):
            arrays[key] = _as_int64_labels(arrays[key], where)
    return arrays


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _as_uint8_images(arr: np.ndarray, where: str) -> np.ndarray:
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 3:
        raise DataError(f"{where}: images must be (N, H, W), got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating) or arr.dtype == bool):
        raise DataError(f"{where}: images must be numbers, got dtype {arr.dtype}")
    if arr.size:
        if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
            raise DataError(
                f"{where}: images must hold integer pixel values 0..255 (got non-integer {arr.dtype} values; "
                "save the raw uint8 images, not normalized ones)"
            )
        lo, hi = arr.min(), arr.max()
        if lo < 0 or hi > 255:
            raise DataError(f"{where}: pixel values {lo}..{hi} out of range 0..255")
    return arr.astype(np.uint8)


def _as_int64_labels(arr: np.ndarray, where: str) -> np.ndarray:
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DataError(f"{where}: labels must be (N,), got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr) & (arr == np.round(arr))):
        return arr.astype(np.int64)
    raise DataError(f"{where}: labels must be integers, got dtype {arr.dtype}")


# ------------------------------------------------------------------------ validation


def validate_split(
    x: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    what: str,
    *,
    images_from: str | Path | None = None,
    labels_from: str | Path | None = None,
) -> None:
    """Check that images and labels form one consistent split; raise DataError if not.

    Checks: images are uint8 (N, H, W); labels (N,) integers; as many labels as images;
    every label in ``0..num_classes-1``; at least one image.

    Args:
        what: the split's name in messages, e.g. "train".
        images_from, labels_from: where the arrays came from (file paths), named in messages.

    Example:
        validate_split(x, y, 10, "train", images_from=img_path, labels_from=lbl_path)
    """
    img_where = str(images_from) if images_from is not None else f"{what} images"
    lbl_where = str(labels_from) if labels_from is not None else f"{what} labels"
    if x.ndim != 3:
        raise DataError(f"{img_where}: images must be (N, H, W), got shape {x.shape}")
    if x.dtype != np.uint8:
        raise DataError(f"{img_where}: images must be uint8, got {x.dtype}")
    if y.ndim != 1:
        raise DataError(f"{lbl_where}: labels must be (N,), got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{lbl_where}: labels must be integers, got {y.dtype}")
    if len(x) != len(y):
        files = [str(p) for p in (images_from, labels_from) if p is not None]
        where = f" ({', '.join(dict.fromkeys(files))})" if files else ""
        raise DataError(f"{what}: {len(x)} images but {len(y)} labels{where}")
    if len(x) == 0:
        raise DataError(f"{img_where}: no {what} images")
    bad = (y < 0) | (y >= num_classes)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{lbl_where}: label {y[i]} out of range 0..{num_classes - 1} "
            f"(first at index {i}; {int(bad.sum())} bad in total)"
        )


def split_train_val(
    x: np.ndarray, y: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split off a seeded, stratified validation set from a training split.

    Each class gives the same share of its images to validation (largest-remainder
    rounding, so the total is exactly ``round(len(y) * val_fraction)``). Both parts keep
    the original order. Deterministic for a seed. The official test set is never used.

    Args:
        val_fraction: in [0, 1); 0 gives empty validation arrays.
        seed: seeds numpy's default_rng.

    Example:
        x_tr, y_tr, x_val, y_val = split_train_val(ds.x_train, ds.y_train, 0.1, seed=0)
    """
    try:
        fraction = float(val_fraction)
    except (TypeError, ValueError):
        raise DataError(f"val_fraction must be a number in [0, 1), got {val_fraction!r}") from None
    if not 0.0 <= fraction < 1.0:  # also rejects NaN
        raise DataError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    if len(x) != len(y):
        raise DataError(f"split_train_val: {len(x)} images but {len(y)} labels")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    total_val = round(len(y) * fraction)
    exact = counts * fraction
    n_val = np.floor(exact).astype(np.int64)
    leftover = total_val - int(n_val.sum())
    if leftover > 0:  # largest remainders first; ties by class order (stable sort)
        n_val[np.argsort(-(exact - n_val), kind="stable")[:leftover]] += 1
    val_mask = np.zeros(len(y), dtype=bool)
    for cls, k in zip(classes, n_val):
        members = np.flatnonzero(y == cls)
        val_mask[rng.choice(members, size=int(k), replace=False)] = True
    return x[~val_mask], y[~val_mask], x[val_mask], y[val_mask]


# ---------------------------------------------------------------------------- search


def data_search_path(data_dir: str | Path | None = None) -> list[Path]:
    """Where load_fashion_mnist looks, in order.

    The ``data_dir`` argument, then ``$FMNIST_EDGE_DATA``, then the Debian package's
    /usr/share/datasets/fashion-mnist, then the Keras cache ~/.keras/datasets/fashion-mnist.

    Example:
        data_search_path("~/data")   # [PosixPath('/home/me/data'), ..., PosixPath('/home/me/.keras/...')]
    """
    return [path for path, _ in _search_locations(data_dir)]


def _search_locations(data_dir: str | Path | None) -> list[tuple[Path, str]]:
    """(path, origin) pairs; origin is "data_dir", "$FMNIST_EDGE_DATA" or "default"."""
    places: list[tuple[Path, str]] = []
    if data_dir is not None and str(data_dir) != "":
        places.append((Path(data_dir).expanduser(), "data_dir"))
    env = os.environ.get(DATA_ENV_VAR, "")
    if env:
        places.append((Path(env).expanduser(), f"${DATA_ENV_VAR}"))
    places.append((Path(DEBIAN_DATA_DIR).expanduser(), "default"))
    places.append((Path(KERAS_DATA_DIR).expanduser(), "default"))
    return places


def load_fashion_mnist(data_dir: str | Path | None = None) -> Dataset:
    """Load and validate Fashion-MNIST from the first place in data_search_path() that has it.

    A place may hold the four IDX files (``.gz`` or uncompressed), the two Kaggle CSV
    files, or a .npz with x_train, y_train, x_test, y_test (``data_dir`` may also be the
    .npz itself). If a location was given explicitly (``data_dir`` or $FMNIST_EDGE_DATA)
    and is missing or holds no complete set, that is an error: the search does not fall
    through to the defaults.

    Raises:
        DataError: nothing found (the message lists every place and how to get the data),
            or the files found are malformed or inconsistent.

    Example:
        ds = load_fashion_mnist()                 # Debian package or Keras cache
        ds = load_fashion_mnist("~/fashion.npz")
    """
    looked: list[str] = []
    for path, origin in _search_locations(data_dir):
        explicit = origin != "default"
        given = f"given as {origin}"
        if path.is_file():
            if path.suffix == ".npz":
                return _load_npz(path)
            reason = "is a file, not a directory or .npz file"
        elif not path.exists():
            reason = "does not exist"
        else:
            found = _find_layout(path)
            if isinstance(found, tuple):
                layout, files = found
                return _LOADERS[layout](path, files)
            reason = found
        if explicit:
            raise DataError(f"{path}: {reason} ({given}; expected the Fashion-MNIST IDX, CSV or .npz files there)")
        looked.append(f"{path} ({reason})")
    raise DataError(f"Fashion-MNIST not found; looked in {'; '.join(looked)}. To get it, {_INSTALL_HINT}")


def _find_layout(directory: Path) -> tuple[str, dict] | str:
    """("idx"|"npz"|"csv", files) for the first complete layout in directory, else why not."""
    idx: dict = {}
    for key, name in IDX_FILES.items():
        for candidate in (directory / f"{name}.gz", directory / name):
            if candidate.is_file():
                idx[key] = candidate
                break
    if len(idx) == len(IDX_FILES):
        return "idx", idx
    npz = [directory / name for name in NPZ_NAMES if (directory / name).is_file()]
    npz = npz or sorted(p for p in directory.glob("*.npz") if p.is_file())
    if len(npz) == 1 or (npz and npz[0].name in NPZ_NAMES):
        return "npz", {"npz": npz[0]}
    if len(npz) > 1:
        return f"holds several .npz files ({', '.join(p.name for p in npz)}); pass the one to use"
    csv = {split: directory / name for split, name in CSV_FILES.items() if (directory / name).is_file()}
    if len(csv) == len(CSV_FILES):
        return "csv", csv
    if idx:
        missing = [f"{name}[.gz]" for key, name in IDX_FILES.items() if key not in idx]
        return f"incomplete IDX set, missing {', '.join(missing)}"
    if csv:
        missing = [name for split, name in CSV_FILES.items() if split not in csv]
        return f"incomplete CSV set, missing {', '.join(missing)}"
    return "no IDX, CSV or .npz files"


def _fashion_dataset(
    split_arrays: dict[str, tuple[np.ndarray, np.ndarray, str, str]], source: str
) -> Dataset:
    """Validate both splits (10 classes, 28x28) and wrap them in a Dataset."""
    for split, (x, y, images_from, labels_from) in split_arrays.items():
        validate_split(x, y, len(FASHION_CLASSES), split, images_from=images_from, labels_from=labels_from)
        if x.shape[1:] != IMAGE_HW:
            raise DataError(f"{images_from}: {split} images are {x.shape[1]}x{x.shape[2]}, Fashion-MNIST is 28x28")
    (x_train, y_train, _, _), (x_test, y_test, _, _) = split_arrays["train"], split_arrays["test"]
    return Dataset("fashion", x_train, y_train, x_test, y_test, FASHION_CLASSES, source)


def _load_idx(directory: Path, files: dict) -> Dataset:
    splits = {}
    for split in ("train", "test"):
        images, labels = files[(split, "images")], files[(split, "labels")]
        x = read_idx(images, "images")
        y = read_idx(labels, "labels").astype(np.int64)
        splits[split] = (x, y, images, labels)
    return _fashion_dataset(splits, f"IDX files in {directory}")


def _load_csv(directory: Path, files: dict) -> Dataset:
    splits = {split: (*read_csv(path), path, path) for split, path in files.items()}
    return _fashion_dataset(splits, f"Kaggle CSV files in {directory}")


def _load_npz(path: Path, files: dict | None = None) -> Dataset:
    path = files["npz"] if files else path
    arrays = read_npz(path)
    splits = {
        split: (arrays[f"x_{split}"], arrays[f"y_{split}"], f"{path}[x_{split}]", f"{path}[y_{split}]")
        for split in ("train", "test")
    }
    return _fashion_dataset(splits, f"npz file {path}")


_LOADERS = {"idx": _load_idx, "csv": _load_csv, "npz": _load_npz}
