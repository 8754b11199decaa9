"""Data sets. The bundled MNIST works offline; it is loaded once per process and shared read-only."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ASSETS = Path(__file__).resolve().parent / "assets"
MNIST_PATH = ASSETS / "mnist.npz"


@dataclass(frozen=True)
class Dataset:
    """Images as uint8 (n, height, width, channels) and integer labels, split into train/test."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)  # shared by every visitor: nobody may change it in place
    return array


@functools.cache
def load_mnist() -> Dataset:
    """The standard MNIST split, 60,000 training and 10,000 test digits, 28×28×1 uint8."""
    with np.load(MNIST_PATH) as data:
        return Dataset(
            "MNIST",
            _read_only(data["x_train"][..., np.newaxis]),
            _read_only(data["y_train"].astype(np.int64)),
            _read_only(data["x_test"][..., np.newaxis]),
            _read_only(data["y_test"].astype(np.int64)),
            tuple(str(d) for d in range(10)),
        )
