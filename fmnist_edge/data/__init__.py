"""Datasets as validated uint8 arrays: Fashion-MNIST loaders and the closet-price composites.

No TensorFlow here (a deploy-only install can still load data); tf.data lives elsewhere.

    from fmnist_edge.data import load_fashion_mnist, make_closet
    fashion = load_fashion_mnist()
    closet = make_closet(fashion, seed=0)
"""
from .closet import CANVAS_SHAPE, CLOSET_CLASSES, PRICES, load_closet, load_dataset, make_closet, save_closet
from .fashion import DATA_ENV_VAR, FASHION_CLASSES, Dataset, data_search_path, load_fashion_mnist, read_csv, read_idx, read_npz, split_train_val, validate_split

__all__ = [
    "CANVAS_SHAPE",
    "CLOSET_CLASSES",
    "DATA_ENV_VAR",
    "FASHION_CLASSES",
    "PRICES",
    "Dataset",
    "data_search_path",
    "load_closet",
    "load_dataset",
    "load_fashion_mnist",
    "make_closet",
    "read_csv",
    "read_idx",
    "read_npz",
    "save_closet",
    "split_train_val",
    "validate_split",
]
