"""The "closet price" dataset: count-and-add over Fashion-MNIST garments.

Each 64x128 grayscale canvas holds 2 to 4 Fashion-MNIST garments of the five priced
classes, T-shirt/top ($1), Trouser ($2), Pullover ($3), Dress ($4) and Coat ($5),
pasted at random non-overlapping places on a black background. The label is the total
price, $5..$13, as class index 0..8. It is a harder, still tiny task than plain
Fashion-MNIST: a model must recognise several objects, anywhere, and combine them, which
is what separates the model families the toolkit compares on a phone.

Labels are balanced by construction: the price is drawn first (evenly over the nine
totals), then a garment count that can reach it, then prices that sum to it, then random
garments of those classes. Train canvases use only Fashion-MNIST training images and
test canvases only test images, so the closet test set is as unseen as the original.

Validation that predicts the test: with n_val > 0, a seeded VAL_GARMENT_SHARE of each priced class's
training garments is held out, the training canvases are composed from the rest only, and n_val
validation canvases (x_val) from the held-out garments only; a run picks its best epoch on them with
`--val-source held-out`, so "best val" means pricing unseen garments. A random split of the training
canvases (`--val-source split`, the paper's protocol) reuses training garments in validation.

    fashion = load_fashion_mnist()
    closet = make_closet(fashion, n_train=60000, n_test=10000, seed=0)
    save_closet(closet, "data/closet")           # closet.npz + preview.png
    closet = load_closet("data/closet")
"""
from __future__ import annotations

import importlib.util
import itertools
import operator
from pathlib import Path
from typing import Iterator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .fashion import FASHION_CLASSES, IMAGE_HW, NPZ_KEYS, Dataset, load_fashion_mnist, read_npz, validate_split
from ..errors import DataError, FmnistEdgeError
from ..files import atomic_path

CANVAS_SHAPE = (64, 128)
PRICES: dict[int, int] = {0: 1, 1: 2, 2: 3, 3: 4, 4: 5}  # Fashion-MNIST label -> dollars
MIN_ITEMS, MAX_ITEMS = 2, 4
MIN_TOTAL, MAX_TOTAL = 5, 13
CLOSET_CLASSES: tuple[str, ...] = tuple(f"${total}" for total in range(MIN_TOTAL, MAX_TOTAL + 1))
VAL_GARMENT_SHARE = 0.1  # of each priced class's training garments, held out for the validation canvases
NPZ_NAME = "closet.npz"
PREVIEW_NAME = "preview.png"
PREVIEW_COUNT = 24

# meta keys: per-canvas Fashion-MNIST indices (-1 padded) and top-left (row, col) of each item
_META_KEYS = ("train_items", "test_items", "train_positions", "test_positions", "val_items", "val_positions")


def _price_tables() -> dict[int, dict[int, np.ndarray]]:
    """total -> {item count -> every ordered tuple of fashion labels whose prices sum to total}."""
    labels = sorted(PRICES)
    tables: dict[int, dict[int, np.ndarray]] = {}
    for total in range(MIN_TOTAL, MAX_TOTAL + 1):
        tables[total] = {}
        for count in range(MIN_ITEMS, MAX_ITEMS + 1):
            combos = [c for c in itertools.product(labels, repeat=count) if sum(PRICES[k] for k in c) == total]
            if combos:
                tables[total][count] = np.array(combos, dtype=np.int64)
    return tables


_TABLES = _price_tables()


def make_closet(fashion: Dataset, n_train: int = 60000, n_test: int = 10000, seed: int = 0, n_val: int = 0) -> Dataset:
    """Compose the closet-price dataset from Fashion-MNIST.

    Deterministic for a seed: train and test canvases come from independent streams of
    one numpy SeedSequence, so n_train does not change the test set. ``meta`` holds
    "train_items"/"test_items": int64 (N, 4) indices into ``fashion``'s train/test split
    (-1 padded), and "train_positions"/"test_positions": int64 (N, 4, 2) top-left
    (row, col) of each pasted item (-1 padded).

    Args:
        fashion: a 28x28 Fashion-MNIST Dataset with every priced class in both splits.
        n_train, n_test: number of canvases, each >= 1.
        seed: a non-negative integer.
        n_val: validation canvases from held-out training garments (0: none; the module's text says why).
            "train_items" and "val_items" then index the same Fashion-MNIST training split, never the
            same garment.

    Example:
        closet = make_closet(load_fashion_mnist(), n_train=6000, n_test=1000, seed=1)
    """
    n_train = _positive_int(n_train, "n_train")
    n_test = _positive_int(n_test, "n_test")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"closet: seed must be a non-negative integer, got {seed!r}")
    if tuple(fashion.x_train.shape[1:]) != IMAGE_HW or tuple(fashion.x_test.shape[1:]) != IMAGE_HW:
        raise DataError(
            f"closet: needs 28x28 Fashion-MNIST images, got {fashion.name} images of shape {fashion.x_train.shape[1:]}"
        )
    if isinstance(n_val, bool) or not isinstance(n_val, (int, np.integer)) or n_val < 0:
        raise DataError(f"closet: n_val must be a whole number >= 0, got {n_val!r}")
    # spawn(3)'s first two children are spawn(2)'s: the test canvases do not depend on n_val
    train_seq, test_seq, val_seq = np.random.SeedSequence(int(seed)).spawn(3)
    train_pool = np.arange(len(fashion.y_train))
    val = None
    if n_val:
        train_pool, val_pool = _hold_out_garments(fashion.y_train, np.random.default_rng(val_seq.spawn(1)[0]))
        x_val, y_val, val_items, val_pos = _make_split(
            fashion.x_train[val_pool], fashion.y_train[val_pool], n_val, np.random.default_rng(val_seq),
            f"{fashion.name} held-out train")
        val = (x_val, y_val, np.where(val_items >= 0, val_pool[val_items.clip(0)], -1), val_pos)
    x_train, y_train, train_items, train_pos = _make_split(
        fashion.x_train[train_pool], fashion.y_train[train_pool], n_train, np.random.default_rng(train_seq),
        f"{fashion.name} train"
    )
    train_items = np.where(train_items >= 0, train_pool[train_items.clip(0)], -1)
    x_test, y_test, test_items, test_pos = _make_split(
        fashion.x_test, fashion.y_test, n_test, np.random.default_rng(test_seq), f"{fashion.name} test"
    )
    return Dataset(
        name="closet",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=CLOSET_CLASSES,
        source=f"make_closet(seed={seed}{f', n_val={n_val}' if n_val else ''}) from {fashion.source}",
        meta={
            "train_items": train_items,
            "test_items": test_items,
            "train_positions": train_pos,
            "test_positions": test_pos,
            **({"val_items": val[2], "val_positions": val[3]} if val else {}),
        },
        x_val=val[0] if val else None,
        y_val=val[1] if val else None,
    )


def fresh_canvases(garments: np.ndarray, labels: np.ndarray, n: int, batch_size: int, seed: int,
                   epoch: int, augment_each: bool = False, with_items: bool = False) -> Iterator[tuple[np.ndarray, ...]]:
    """Epoch `epoch`'s n training canvases, composed anew from `garments`, batch by batch: (uint8 canvases,
    int64 labels), and with `with_items` the (B, MAX_ITEMS) indices into `garments` each canvas holds (-1
    padded). Deterministic per (seed, epoch): batch b is drawn from the generator seeded (seed, epoch, b),
    the way make_closet draws a split (balanced prices, non-overlapping places). `augment_each`: every
    garment goes through augment_garments before it is pasted."""
    for index, start in enumerate(range(0, n, batch_size)):
        rng = np.random.default_rng([seed, epoch, index])
        x, y, items, _ = _make_split(garments, labels, min(batch_size, n - start), rng,
                                     "the fresh canvases' garment", augment_each=augment_each)
        yield (x, y, items) if with_items else (x, y)


def price_distribution(garment_probs: np.ndarray, items: np.ndarray) -> np.ndarray:
    """The distribution of each canvas's total price, (N, len(CLOSET_CLASSES)), from a distribution over the
    priced classes for every garment (`garment_probs`, (G, len(PRICES)), rows summing to 1) and the garments
    each canvas holds (`items`, (N, MAX_ITEMS) indices into garment_probs, -1 padded): the garments' prices
    are independent, so the total's distribution is their convolution, kept to the totals a canvas can carry
    (every canvas is drawn with a total in MIN_TOTAL..MAX_TOTAL) and renormalised there.

    This is what a garment classifier that is told where each garment lies believes the canvas costs: the
    per-garment ceiling of benchmarks/closet_ceiling.py as a distribution, a closet model's teacher."""
    dollars = np.array([PRICES[cls] for cls in sorted(PRICES)])
    totals = np.zeros((len(items), MAX_ITEMS * int(dollars.max()) + 1))
    totals[:, 0] = 1.0
    for slot in range(items.shape[1]):
        held = items[:, slot] >= 0
        probs = garment_probs[items[held, slot]]
        added = np.zeros((int(held.sum()), totals.shape[1]))
        for k, price in enumerate(dollars):
            added[:, price:] += totals[held, :-price] * probs[:, k:k + 1]
        totals[held] = added
    kept = totals[:, MIN_TOTAL:MAX_TOTAL + 1]
    return kept / np.maximum(kept.sum(axis=1, keepdims=True), 1e-30)


def augment_garments(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A (k, 28, 28) uint8 batch of garments, each flipped left-right with probability 1/2 and given, with
    ERASE_PROBABILITY, one zeroed rectangle of ERASE_MIN_AREA to ERASE_MAX_AREA of its box and an aspect in
    ERASE_ASPECT (random erasing, as data.pipeline does to a whole image). A canvas-wide transform moves or
    flips every garment of a canvas together; this one changes each garment on its own, so a model pricing
    canvases cannot remember the exact pixels of its 27,000 training garments. Erasing keeps the garment and its price:
    the rectangle covers at most a quarter of the box."""
    from ..settings import ERASE_MAX_AREA
    from .pipeline import ERASE_ASPECT, ERASE_MIN_AREA, ERASE_PROBABILITY  # the numbers of the one recipe

    k, (h, w) = len(images), images.shape[1:]
    flipped = np.where((rng.random(k) < 0.5)[:, None, None], images[:, :, ::-1], images)
    area = rng.uniform(ERASE_MIN_AREA, ERASE_MAX_AREA, size=k) * h * w
    aspect = np.exp(rng.uniform(np.log(ERASE_ASPECT[0]), np.log(ERASE_ASPECT[1]), size=k))
    erase_h = np.clip(np.round(np.sqrt(area * aspect)), 1, h).astype(np.int64)
    erase_w = np.clip(np.round(np.sqrt(area / aspect)), 1, w).astype(np.int64)
    top = (rng.random(k) * (h - erase_h + 1)).astype(np.int64)
    left = (rng.random(k) * (w - erase_w + 1)).astype(np.int64)
    rows, cols = np.arange(h)[None, :, None], np.arange(w)[None, None, :]
    inside = ((rows >= top[:, None, None]) & (rows < (top + erase_h)[:, None, None])
              & (cols >= left[:, None, None]) & (cols < (left + erase_w)[:, None, None]))
    erased = inside & (rng.random(k) < ERASE_PROBABILITY)[:, None, None]
    return np.where(erased, np.uint8(0), flipped)


def training_garments(closet: Dataset, fashion: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The Fashion-MNIST training garments a closet's training canvases may hold: all of them, less those its
    validation canvases hold (meta "val_items", from make_closet's n_val)."""
    keep = np.ones(len(fashion.y_train), dtype=bool)
    held = closet.meta.get("val_items")
    if held is not None:
        keep[held[held >= 0]] = False
    return fashion.x_train[keep], fashion.y_train[keep]


def _hold_out_garments(labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(training garments, held-out garments): indices into the training split, each sorted; the held-out
    part is VAL_GARMENT_SHARE of every priced class (unpriced classes are never pasted)."""
    held = []
    for cls in PRICES:
        pool = np.flatnonzero(labels == cls)
        held.append(rng.permutation(pool)[:max(1, int(round(VAL_GARMENT_SHARE * pool.size)))])
    held = np.sort(np.concatenate(held))
    return np.setdiff1d(np.arange(len(labels)), held), held


def _positive_int(n: object, name: str) -> int:
    try:
        value = operator.index(n)  # type: ignore[arg-type]
    except TypeError:
        value = None
    if value is None or isinstance(n, bool) or value < 1:
        raise DataError(f"closet: {name} must be a whole number >= 1, got {n!r}")
    return value


def _make_split(
    images: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator, what: str, augment_each: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """n canvases from one Fashion-MNIST split: (canvases, labels, item indices, positions); `augment_each`:
    each garment through augment_garments first (then a canvas no longer shows its items' exact pixels)."""
    pools = {}
    for cls in PRICES:
        pools[cls] = np.flatnonzero(labels == cls)
        if pools[cls].size == 0:
            raise DataError(f"closet: {what} split has no {FASHION_CLASSES[cls]} images (class {cls}) to paste")

    # 1. the label, evenly over the nine totals; 2. a reachable count; 3. prices summing to it
    y = rng.permutation(np.resize(np.arange(len(CLOSET_CLASSES), dtype=np.int64), n))
    counts = np.zeros(n, dtype=np.int64)
    classes = np.full((n, MAX_ITEMS), -1, dtype=np.int64)
    for label in range(len(CLOSET_CLASSES)):
        rows = np.flatnonzero(y == label)
        by_count = _TABLES[MIN_TOTAL + label]
        counts[rows] = rng.choice(np.array(sorted(by_count)), size=rows.size)
        for count, combos in sorted(by_count.items()):
            sub = rows[counts[rows] == count]
            classes[sub, :count] = combos[rng.integers(len(combos), size=sub.size)]

    # 4. a random garment of each drawn class, from this split only
    items = np.full((n, MAX_ITEMS), -1, dtype=np.int64)
    for cls, pool in pools.items():
        slots = classes == cls
        items[slots] = pool[rng.integers(pool.size, size=int(slots.sum()))]

    positions = _sample_positions(rng, counts)
    canvases = np.zeros((n, *CANVAS_SHAPE), dtype=np.uint8)
    # windows[i, r, c] is the 28x28 view of canvas i with top-left (r, c). The views
    # overlap in memory, but the boxes of one canvas never overlap, so every pixel is
    # written at most once: one vectorized paste per slot (about 20x faster than
    # row-by-row fancy indexing).
    windows = sliding_window_view(canvases, IMAGE_HW, axis=(1, 2), writeable=True)
    for slot in range(MAX_ITEMS):
        rows = np.flatnonzero(counts > slot)
        pasted = images[items[rows, slot]]
        if augment_each:
            pasted = augment_garments(pasted, rng)
        windows[rows, positions[rows, slot, 0], positions[rows, slot, 1]] = pasted
    return canvases, y, items, positions


def _sample_positions(rng: np.random.Generator, counts: np.ndarray, tries: int = 32) -> np.ndarray:
    """Top-left (row, col) per item, uniform over non-overlapping layouts (rejection sampling).

    Each round draws ``tries`` candidate layouts for every canvas still unplaced and keeps
    the first whose boxes do not overlap; four 28x28 boxes fit a 64x128 canvas in about 1%
    of uniform draws, so a few dozen vectorized rounds place them all.
    """
    n = len(counts)
    h, w = IMAGE_HW
    max_row, max_col = CANVAS_SHAPE[0] - h, CANVAS_SHAPE[1] - w
    positions = np.full((n, MAX_ITEMS, 2), -1, dtype=np.int64)
    todo = np.arange(n)
    for _ in range(10_000):
        if todo.size == 0:
            return positions
        k = counts[todo]
        r = rng.integers(0, max_row + 1, size=(todo.size, tries, MAX_ITEMS), dtype=np.int16)
        c = rng.integers(0, max_col + 1, size=(todo.size, tries, MAX_ITEMS), dtype=np.int16)
        ok = np.ones((todo.size, tries), dtype=bool)
        for i, j in itertools.combinations(range(MAX_ITEMS), 2):
            overlap = (np.abs(r[..., i] - r[..., j]) < h) & (np.abs(c[..., i] - c[..., j]) < w)
            ok &= ~(overlap & (j < k)[:, None])
        placed = ok.any(axis=1)
        first = ok.argmax(axis=1)[placed]
        idx = todo[placed]
        live = np.arange(MAX_ITEMS)[None, :] < counts[idx][:, None]
        rows_placed = np.where(live, r[placed, first], -1)
        cols_placed = np.where(live, c[placed, first], -1)
        positions[idx] = np.stack([rows_placed, cols_placed], axis=-1)
        todo = todo[~placed]
    raise RuntimeError("closet: could not place garments without overlap")  # a bug, not bad input


# ------------------------------------------------------------------------- save / load


def save_closet(ds: Dataset, out_dir: str | Path, force: bool = False) -> Path:
    """Write ``out_dir/closet.npz`` and ``out_dir/preview.png``; return the .npz path.

    The .npz (compressed) holds x_train, y_train, x_test, y_test, class_names and the
    ``meta`` arrays (train_items, test_items, train_positions, test_positions). The
    preview is a grid of the first 24 training canvases titled with their price. Both
    are written to temporary names in ``out_dir`` and renamed into place, so an
    interruption never leaves a half-written file.

    Raises:
        DataError: closet.npz already exists and ``force`` is False, or out_dir is a file.
        FmnistEdgeError: matplotlib (the ``train`` extra) is not installed.

    Example:
        save_closet(make_closet(fashion, seed=0), "data/closet")
    """
    out_dir = Path(out_dir).expanduser()
    npz_path = out_dir / NPZ_NAME
    if importlib.util.find_spec("matplotlib") is None:  # check before writing anything
        raise FmnistEdgeError("save_closet needs matplotlib for preview.png: pip install 'fmnist-edge[train]'")
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"{out_dir}: exists and is not a directory")
    if npz_path.exists() and not force:
        raise DataError(f"{npz_path}: already exists; refusing to overwrite it without force (--force)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{out_dir}: cannot create directory: {exc.strerror or exc}") from None
    arrays = {
        "x_train": ds.x_train,
        "y_train": ds.y_train,
        "x_test": ds.x_test,
        "y_test": ds.y_test,
        "class_names": np.array(ds.class_names, dtype=str),
        **{key: np.asarray(value) for key, value in ds.meta.items()},
        **({"x_val": ds.x_val, "y_val": ds.y_val} if ds.x_val is not None else {}),
    }
    with atomic_path(npz_path) as tmp:
        np.savez_compressed(tmp, **arrays)
    with atomic_path(out_dir / PREVIEW_NAME) as tmp:
        _draw_preview(ds, tmp)
    return npz_path


def _draw_preview(ds: Dataset, file) -> None:
    """A grid of the first training canvases with their price, as PNG (matplotlib, Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shown = min(PREVIEW_COUNT, len(ds.x_train))
    n_cols = 4
    n_rows = max(1, -(-shown // n_cols))
    fig = Figure(figsize=(n_cols * 2.6, n_rows * 1.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < shown:
            ax.imshow(ds.x_train[i], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            ax.set_title(ds.class_names[int(ds.y_train[i])], fontsize=10)
    fig.suptitle(f"{ds.name}: first {shown} training canvases and their label")
    fig.savefig(file, format="png", dpi=80)


def load_closet(path: str | Path) -> Dataset:
    """Load a closet dataset written by save_closet: a directory holding closet.npz, or the file.

    Validates like read_npz (keys, castable dtypes, shapes), checks labels against the
    stored class names, and restores the ``meta`` arrays that are present.

    Example:
        closet = load_closet("data/closet")
    """
    path = Path(path).expanduser()
    npz_path = path / NPZ_NAME if path.is_dir() else path
    if not npz_path.exists():
        hint = " (create it with save_closet / the make-closet command)" if path.is_dir() or not path.exists() else ""
        raise DataError(f"{npz_path}: no such file{hint}")
    with_val = _npz_keys(npz_path) >= {"x_val", "y_val"}
    arrays = read_npz(npz_path, NPZ_KEYS + (("x_val", "y_val") if with_val else ()))
    if "class_names" in arrays:
        names = arrays["class_names"]
        if names.ndim != 1 or names.dtype.kind != "U":
            raise DataError(f"{npz_path}[class_names]: must be a 1-D array of strings, got {names.dtype} {names.shape}")
        class_names = tuple(str(s) for s in names)
    else:
        class_names = CLOSET_CLASSES
    for split in ("train", "test") + (("val",) if with_val else ()):
        validate_split(
            arrays[f"x_{split}"],
            arrays[f"y_{split}"],
            len(class_names),
            split,
            images_from=f"{npz_path}[x_{split}]",
            labels_from=f"{npz_path}[y_{split}]",
        )
    for other in ("test", "val") if with_val else ("test",):
        if arrays["x_train"].shape[1:] != arrays[f"x_{other}"].shape[1:]:
            raise DataError(f"{npz_path}: train images are {arrays['x_train'].shape[1:]} but {other} images "
                            f"{arrays[f'x_{other}'].shape[1:]}")
    meta = {}
    for key in _META_KEYS:
        if key in arrays:
            split = key.split("_")[0]
            if split == "val" and not with_val:
                continue
            n = len(arrays[f"x_{split}"])
            value = arrays[key]
            if value.ndim < 2 or value.shape[0] != n or value.shape[1] != MAX_ITEMS or value.dtype.kind not in "iu":
                raise DataError(
                    f"{npz_path}[{key}]: expected int ({n}, {MAX_ITEMS}, ...), got {value.dtype} {value.shape}"
                )
            meta[key] = value.astype(np.int64)
    return Dataset(
        name="closet",
        x_train=arrays["x_train"],
        y_train=arrays["y_train"],
        x_test=arrays["x_test"],
        y_test=arrays["y_test"],
        class_names=class_names,
        source=f"closet npz {npz_path}",
        meta=meta,
        x_val=arrays["x_val"] if with_val else None,
        y_val=arrays["y_val"] if with_val else None,
    )


CHECKED_CANVASES = 64  # per split: enough to catch a mismatched or edited set, cheap to rebuild


def check_canvases(closet: Dataset, fashion: Dataset) -> None:
    """Refuse a closet whose canvases are not the garments its meta records, pasted where it says: the first
    CHECKED_CANVASES of each split rebuilt from `fashion` (a file of canvases made from another Fashion-MNIST,
    or canvases and meta of different sets, would otherwise train silently on a wrong task)."""
    for split, images, source in (("train", closet.x_train, fashion.x_train), ("val", closet.x_val, fashion.x_train),
                                  ("test", closet.x_test, fashion.x_test)):
        items, positions = closet.meta.get(f"{split}_items"), closet.meta.get(f"{split}_positions")
        if images is None or items is None or positions is None:
            continue
        for i in range(min(CHECKED_CANVASES, len(images))):
            rebuilt = np.zeros(CANVAS_SHAPE, np.uint8)
            for item, (top, left) in zip(items[i], positions[i]):
                if item >= 0:
                    if item >= len(source):
                        raise DataError(f"{closet.source}: {split} canvas {i} records garment {item}, beyond the "
                                        f"{len(source):,} of {fashion.source}")
                    rebuilt[top:top + IMAGE_HW[0], left:left + IMAGE_HW[1]] = source[item]
            if not np.array_equal(rebuilt, images[i]):
                raise DataError(f"{closet.source}: {split} canvas {i} is not the garments its record names, pasted "
                                f"where it says (made from another Fashion-MNIST, or edited?); make the set again "
                                f"with fmnist-edge data closet")


def _npz_keys(path: Path) -> set[str]:
    """The array names of an .npz, read from its zip directory (read_npz reports a file that is not one)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return {name.removesuffix(".npy") for name in archive.namelist()}
    except (OSError, zipfile.BadZipFile):
        return set()


def load_dataset(name: str, data_dir: str | Path | None = None) -> Dataset:
    """Load a dataset by name, as the trainer and the CLI's --dataset/--data-dir ask for it.

    "fashion": load_fashion_mnist(data_dir). "closet": if data_dir is a directory holding
    closet.npz, or a .npz written by save_closet, load it; otherwise build the
    default closet (60,000 + 10,000 canvases, seed 0: the same canvases as save_closet of
    make_closet(..., seed=0)) from the Fashion-MNIST found at data_dir / the search path,
    which takes about a second.

    Example:
        ds = load_dataset("closet", "data/closet")
    """
    if name == "fashion":
        return load_fashion_mnist(data_dir)
    if name == "closet":
        if data_dir is not None and str(data_dir) != "":
            path = Path(data_dir).expanduser()
            if (path / NPZ_NAME).is_file() or (path.is_file() and _is_closet_npz(path)):
                closet = load_closet(path)
                check_canvases(closet, load_fashion_mnist())
                return closet
        return make_closet(load_fashion_mnist(data_dir))
    raise DataError(f"unknown dataset {name!r} (choose one of: fashion, closet)")


def _is_closet_npz(path: Path) -> bool:
    """A .npz written by save_closet (named closet.npz, or holding its extra keys)?"""
    if path.suffix != ".npz":
        return False
    if path.name == NPZ_NAME:
        return True
    try:
        with np.load(path, allow_pickle=False) as archive:
            return "train_items" in archive.files or "class_names" in archive.files
    except Exception:  # unreadable: let the Fashion-MNIST loader report it
        return False
