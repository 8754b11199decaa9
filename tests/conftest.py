"""Shared test settings and helpers."""

import os
import re

# The real loader, bound here once: a test may monkeypatch cnn_core.data.load_mnist to return a
# subset made by mnist_subset, which must not then call the patch.
from cnn_core.data import Dataset, load_mnist

# Keep TensorFlow's C++ logging out of the test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# AppTest's default 3 s is too short for pages that import TensorFlow (3–4 s on its own).
APP_TIMEOUT = 120


def mnist_subset(train: int, test: int, name: str = "MNIST (small)") -> Dataset:
    """The first ``train`` training and ``test`` test digits of the bundled MNIST: real data,
    small enough that a tiny network trains on it in seconds."""
    mnist = load_mnist()
    return Dataset(
        name,
        mnist.x_train[:train],
        mnist.y_train[:train],
        mnist.x_test[:test],
        mnist.y_test[:test],
        mnist.class_names,
    )


def shown(markdown: str) -> str:
    """What a visitor reads for this Markdown source: without the backslash escapes and
    invisible word joiners that ui.text.literal puts around text from outside."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")
