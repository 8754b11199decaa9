"""Data sets. The bundled MNIST works offline; it is loaded once per process and shared read-only.

Three kinds of data reach a model:

- **Bundled MNIST** (:func:`load_mnist`): the standard 60,000/10,000 split, shipped in
  ``assets/mnist.npz``, no internet needed.
- **Keras' downloadable sets** (:func:`load_dataset`): Fashion-MNIST, CIFAR-10 and its
  two-class "cats vs dogs" subset. They need the internet the first time; offline they fail
  with one clear sentence (:class:`DataError`), never a traceback.
- **Your own images** (:func:`load_image_zip`): a ``.zip`` with one folder per class, resized to
  one size. Everything that can go wrong with an upload is refused with a specific message.

Every image array is uint8, shape (n, height, width, channels), values 0–255; labels are int64
class numbers. Models see the pixels divided by 255 (:func:`to_model_input`), the one
convention of the whole app: the Draw page, the bundled model and the downloads all use it.
"""

from __future__ import annotations

import functools
import io
import posixpath
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cnn_core.config import LIMITS, Limits

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

ASSETS = Path(__file__).resolve().parent / "assets"
MNIST_PATH = ASSETS / "mnist.npz"


class DataError(ValueError):
    """Data that cannot be used (offline download, bad upload, impossible split), said plainly."""


@dataclass(frozen=True)
class Dataset:
    """Images as uint8 (n, height, width, channels) and integer labels, split into train/test."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    notes: tuple[str, ...] = ()  # things the learner should know (e.g. files skipped in a zip)

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


# --------------------------------------------------------------------------------------------
# Named data sets (bundled or downloaded through keras.datasets)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetInfo:
    name: str  # the slug used by the command line
    title: str  # what a learner sees in a menu
    description: str
    offline: bool  # True when it ships with CNN Lab


FASHION_CLASSES = (
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
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "mnist",
            "MNIST handwritten digits",
            "70,000 handwritten digits 0–9, 28×28 grayscale (LeCun, Cortes, Burges; CC BY-SA "
            "3.0). Bundled: works offline.",
            True,
        ),
        DatasetInfo(
            "fashion_mnist",
            "Fashion-MNIST",
            "70,000 photos of clothes in 10 classes, 28×28 grayscale (Zalando Research, MIT "
            "licence). Downloaded by Keras the first time (about 30 MB).",
            False,
        ),
        DatasetInfo(
            "cifar10",
            "CIFAR-10",
            "60,000 small colour photos in 10 classes, 32×32 RGB (Krizhevsky, 2009). Downloaded "
            "by Keras the first time (about 170 MB).",
            False,
        ),
        DatasetInfo(
            "cats_vs_dogs",
            "Cats vs dogs (from CIFAR-10)",
            "The tutorials' two-class example: only the cat and dog photos of CIFAR-10, 32×32 "
            "RGB (12,000 images). Downloaded with CIFAR-10.",
            False,
        ),
    )
}


def _download(name: str, loader_name: str) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    import keras

    loader = getattr(keras.datasets, loader_name)
    try:
        return loader.load_data()
    except Exception as err:  # Keras raises a bare Exception ("URL fetch failure ...") offline
        raise DataError(
            f"{DATASETS[name].title} could not be downloaded (no internet connection here?); "
            "the bundled MNIST works offline."
        ) from err


@functools.cache
def _load_downloaded(name: str) -> Dataset:
    # functools.cache keeps successes only: a failed download is tried again next time.
    if name == "fashion_mnist":
        (x_train, y_train), (x_test, y_test) = _download(name, "fashion_mnist")
        return Dataset(
            "Fashion-MNIST",
            _read_only(x_train[..., np.newaxis]),
            _read_only(y_train.astype(np.int64)),
            _read_only(x_test[..., np.newaxis]),
            _read_only(y_test.astype(np.int64)),
            FASHION_CLASSES,
        )
    cifar = _load_downloaded("cifar10") if name == "cats_vs_dogs" else None
    if name == "cifar10":
        (x_train, y_train), (x_test, y_test) = _download(name, "cifar10")
        return Dataset(
            "CIFAR-10",
            _read_only(x_train),
            _read_only(y_train.reshape(-1).astype(np.int64)),
            _read_only(x_test),
            _read_only(y_test.reshape(-1).astype(np.int64)),
            CIFAR10_CLASSES,
        )
    if name == "cats_vs_dogs" and cifar is not None:
        return subset_classes(cifar, ("cat", "dog"), "Cats vs dogs")
    raise KeyError(name)


def load_dataset(name: str) -> Dataset:
    """The data set called ``name`` (see :data:`DATASETS`), loaded once per process.

    Raises:
        DataError: an unknown name, or a download that failed (offline).
    """
    if name not in DATASETS:
        raise DataError(f"no data set called {name!r}; choose one of: {', '.join(DATASETS)}.")
    if name == "mnist":
        return load_mnist()
    return _load_downloaded(name)


def subset_classes(dataset: Dataset, classes: tuple[str, ...], name: str) -> Dataset:
    """Only the images of ``classes``, relabelled 0, 1, … in the order given."""
    old = [dataset.class_names.index(c) for c in classes]

    def pick(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keep = np.isin(y, old)
        relabel = np.zeros(max(old) + 1, dtype=np.int64)
        relabel[old] = np.arange(len(old))
        return _read_only(x[keep]), _read_only(relabel[y[keep]])

    x_train, y_train = pick(dataset.x_train, dataset.y_train)
    x_test, y_test = pick(dataset.x_test, dataset.y_test)
    return Dataset(name, x_train, y_train, x_test, y_test, tuple(classes))


# --------------------------------------------------------------------------------------------
# Your own images: a zip of class folders
# --------------------------------------------------------------------------------------------

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
COLOR_MODES = ("grayscale", "rgb")


def _class_folders(names: list[str]) -> tuple[str, dict[str, list[str]], list[str]]:
    """Group the image paths of a zip by class folder.

    Returns (root, {class: [paths]}, skipped) where ``root`` is a single wrapping folder that all
    paths share (e.g. "pets/" in "pets/cats/1.png"), which is not a class.
    """
    images = [n for n in names if n.lower().endswith(IMAGE_SUFFIXES)]
    skipped = [n for n in names if n not in images and not n.endswith("/")]
    root = ""
    while images:
        firsts = {n.split("/", 1)[0] for n in images}
        if (
            len(firsts) == 1
            and all("/" in n for n in images)
            and all(n.count("/") >= 2 for n in images)
        ):
            prefix = f"{firsts.pop()}/"
            root += prefix
            images = [n[len(prefix) :] for n in images]
        else:
            break
    classes: dict[str, list[str]] = {}
    for name in images:
        if "/" not in name:
            skipped.append(root + name)
            continue
        # deeper folders belong to their top class folder: cats/indoor/1.png is a cat
        folder = name.split("/", 1)[0]
        classes.setdefault(folder, []).append(root + name)
    return root, classes, skipped


def _is_hidden(path: str) -> bool:
    """macOS and editors add metadata files to zips: __MACOSX/, .DS_Store, ._name."""
    parts = path.split("/")
    return parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts if p)


def load_image_zip(
    data: bytes,
    *,
    image_size: tuple[int, int] = (28, 28),
    color_mode: str = "grayscale",
    test_fraction: float = 0.2,
    seed: int = 0,
    name: str = "Your images",
    limits: Limits = LIMITS,
) -> Dataset:
    """A data set from a zip of one folder per class (``cats/1.png``, ``dogs/7.jpg``, …).

    Every image is decoded with Pillow, converted to grayscale or RGB and resized to
    ``image_size`` (height, width), because a network takes one input shape (the tutorials'
    "resize cats and dogs to one shape first"). A stratified ``test_fraction`` of each class is
    held out as the test set.

    Raises:
        DataError: not a zip, a corrupt or cut-short zip, paths that escape the folder, too
            many files, bytes or pixels (limits from :mod:`cnn_core.config`; checked from the
            headers, before unpacking), a password-protected member or an unknown compression,
            fewer than two classes, or an image that cannot be read (named).
    """
    from PIL import Image, UnidentifiedImageError

    if color_mode not in COLOR_MODES:
        raise DataError(f"color mode {color_mode!r} is not one of {', '.join(COLOR_MODES)}.")
    height, width = image_size
    if not (1 <= height <= limits.max_input_side and 1 <= width <= limits.max_input_side):
        raise DataError(
            f"image size {height}×{width} is not allowed; each side must be 1 to "
            f"{limits.max_input_side} pixels."
        )
    if len(data) > limits.max_upload_mb * 1024 * 1024:
        raise DataError(
            f"this file is {len(data) / 1024 / 1024:.1f} MB; uploads are limited to "
            f"{limits.max_upload_mb} MB."
        )
    if not zipfile.is_zipfile(io.BytesIO(data)):
        if data.startswith(b"PK\x03\x04"):  # a zip's first member, but no table of contents
            raise DataError(
                "this zip is damaged or cut short (its table of contents at the end is missing): "
                "upload it again, or make it again if the upload was complete."
            )
        raise DataError(
            "this file is not a zip archive. Make a .zip of a folder that holds one sub-folder "
            "per class (e.g. cats/ and dogs/)."
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise DataError(f"this zip is damaged and cannot be opened ({err}).") from None

    names: list[str] = []
    total_bytes = 0
    for info in members:
        path = info.filename.replace("\\", "/")
        parts = path.split("/")
        if path.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
            raise DataError(
                f"the zip holds a path that points outside its folder ({info.filename!r}); "
                "CNN Lab refuses such archives."
            )
        if info.is_dir() or _is_hidden(path):
            continue
        if posixpath.normpath(path) != path:
            raise DataError(f"the zip holds an odd path ({info.filename!r}); re-create the zip.")
        names.append(path)
        total_bytes += info.file_size
    if len(names) > limits.max_zip_files:
        raise DataError(
            f"the zip holds {len(names):,} files; CNN Lab takes at most {limits.max_zip_files:,}."
        )
    if total_bytes > limits.max_zip_uncompressed_mb * 1024 * 1024:
        raise DataError(
            f"the zip unpacks to {total_bytes / 1024 / 1024:,.0f} MB; CNN Lab takes at most "
            f"{limits.max_zip_uncompressed_mb:,} MB."
        )

    root, classes, skipped = _class_folders(names)
    if len(classes) < 2:
        found = f"only one ({next(iter(classes))!r})" if classes else "none"
        raise DataError(
            "a data set needs at least two classes: put the images in one folder per class "
            f"(e.g. cats/ and dogs/). Class folders with PNG or JPEG images found: {found}."
        )

    mode = "L" if color_mode == "grayscale" else "RGB"
    class_names = tuple(sorted(classes))
    images: list[np.ndarray] = []
    labels: list[int] = []
    total_pixels = 0
    for label, class_name in enumerate(class_names):
        for path in sorted(classes[class_name]):
            try:
                raw = _unpack(archive, path)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as err:
                raise DataError(
                    f"the zip is damaged: {path!r} cannot be unpacked ({err})."
                ) from None
            except NotImplementedError:  # zipfile: "That compression method is not supported"
                raise DataError(
                    f"{path!r} is packed with a compression method CNN Lab cannot unpack; make "
                    "the zip again with ordinary (Deflate) compression, as every system's "
                    '"Compress" or "Send to zip" does.'
                ) from None
            except RuntimeError:  # zipfile: "File … is encrypted, password required …"
                raise DataError(
                    f"{path!r} is password-protected in this zip; make the zip again without a "
                    "password."
                ) from None
            try:
                with Image.open(io.BytesIO(raw)) as image:
                    pixels = image.width * image.height
                    total_pixels += pixels
                    if pixels > limits.max_zip_pixels or total_pixels > limits.max_zip_pixels:
                        raise DataError(
                            f"the images hold too many pixels (over {limits.max_zip_pixels:,} "
                            f"by {path!r}); use smaller or fewer images."
                        )
                    image.draft(mode, (width, height))  # JPEG: decode at reduced size, faster
                    converted = image.convert(mode).resize(
                        (width, height), Image.Resampling.BILINEAR
                    )
                    array = np.asarray(converted, dtype=np.uint8)
            except DataError:
                raise
            except Image.DecompressionBombError:
                # Pillow refuses, from the header alone, images claiming hundreds of megapixels.
                raise DataError(
                    f"{path!r} claims more pixels than any real photo has (a decompression "
                    f"bomb); remove it. CNN Lab takes at most {limits.max_zip_pixels:,} pixels "
                    "for all the images together."
                ) from None
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
                raise DataError(
                    f"{path!r} cannot be read as an image ({type(err).__name__}); remove it or "
                    "replace it with a PNG or JPEG."
                ) from None
            images.append(array.reshape(height, width, 1 if mode == "L" else 3))
            labels.append(label)

    x = np.stack(images)
    y = np.asarray(labels, dtype=np.int64)
    test_index = _stratified_test_indices(y, len(class_names), test_fraction, seed)
    train_mask = np.ones(len(y), dtype=bool)
    train_mask[test_index] = False
    notes = []
    if skipped:
        shown = ", ".join(repr(s) for s in skipped[:3]) + (" …" if len(skipped) > 3 else "")
        notes.append(
            f"Skipped {len(skipped)} file(s) that are not PNG/JPEG in a class folder: {shown}."
        )
    if root:
        notes.append(f"The classes are the folders inside {root!r}.")
    return Dataset(
        name,
        _read_only(x[train_mask]),
        _read_only(y[train_mask]),
        _read_only(x[test_index]),
        _read_only(y[test_index]),
        class_names,
        tuple(notes),
    )


def _unpack(archive: zipfile.ZipFile, path: str) -> bytes:
    """One member's bytes, inflated a megabyte at a time.

    ``ZipFile.read`` inflates all of a member's compressed bytes in one call, however large the
    result, and only then cuts it to the size the header declares: a 1 MB member whose header
    understates its size made 2 GB of memory that way. Read in steps, the output never exceeds
    the declared size (already checked against the limits); the lie then fails zipfile's CRC
    check as a damaged member.
    """
    parts = []
    with archive.open(path) as member:
        while chunk := member.read(1 << 20):
            parts.append(chunk)
    return b"".join(parts)


def _stratified_test_indices(
    y: np.ndarray, num_classes: int, fraction: float, seed: int
) -> np.ndarray:
    """Hold out ``fraction`` of every class (at least one image of a class that has two)."""
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for label in range(num_classes):
        members = np.flatnonzero(y == label)
        count = round(len(members) * fraction)
        count = min(max(count, 1), len(members) - 1) if len(members) >= 2 else 0
        held.append(rng.choice(members, size=count, replace=False))
    return np.sort(np.concatenate(held)).astype(np.int64)


# --------------------------------------------------------------------------------------------
# Splits, counts and the tf.data pipeline
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """The images a run trains on and the ones it validates on, after each epoch."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def split_indices(
    available: int, train_samples: int | None, validation_split: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Which training images a run trains on and which it validates on: a random subset of
    ``train_samples`` of the ``available`` images (all when None), of which ``validation_split``
    is held out. The same seed gives the same split. Returns sorted (train, validation) indices.

    Raises:
        DataError: a split that leaves nothing to train on.
    """
    if not 0 <= validation_split < 1:
        raise DataError(
            f"the validation split is {validation_split}; it must be at least 0 and below 1."
        )
    n = available if train_samples is None else int(train_samples)
    if n < 1:
        raise DataError(f"the training subset must hold at least 1 image, not {n}.")
    if n > available:
        raise DataError(f"there are {available:,} training images; a subset of {n:,} is too many.")
    order = np.random.default_rng(seed).permutation(available)[:n]
    n_val = round(n * validation_split)
    if validation_split > 0 and n_val == 0:
        n_val = 1
    if n - n_val < 1:
        raise DataError(
            f"a validation split of {validation_split:.0%} of {n} images leaves nothing to "
            "train on."
        )
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def training_split(
    dataset: Dataset, train_samples: int | None, validation_split: float, seed: int
) -> Split:
    """The images of :func:`split_indices`, copied out of ``dataset``."""
    train, val = split_indices(len(dataset.y_train), train_samples, validation_split, seed)
    return Split(
        dataset.x_train[train], dataset.y_train[train], dataset.x_train[val], dataset.y_train[val]
    )


def class_counts(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """How many images of each class: counts[c] = number of labels equal to c."""
    return np.bincount(labels, minlength=num_classes)


def preview_indices(
    labels: np.ndarray, num_classes: int, per_class: int = 8, seed: int = 0
) -> np.ndarray:
    """Indices of up to ``per_class`` random images of each class, class by class (for a grid)."""
    rng = np.random.default_rng(seed)
    rows = []
    for label in range(num_classes):
        members = np.flatnonzero(labels == label)
        rows.append(rng.choice(members, size=min(per_class, len(members)), replace=False))
    return np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, dtype=np.int64)


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 pixels 0–255 → float32 0–1, the input every CNN Lab model expects."""
    return np.asarray(images, dtype=np.float32) / 255.0


def make_tf_dataset(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int = 0,
    augmentation: keras.Sequential | None = None,
) -> tf.data.Dataset:
    """A ``tf.data`` pipeline: (shuffle) → batch → scale to 0–1 (→ augment) → prefetch.

    The uint8 images stay uint8 until they are batched, so the pipeline holds a quarter of the
    memory of float copies. Shuffling is reseeded each epoch from ``seed``, so the same seed
    gives the same order of batches. Augmentation runs only here, on training batches.
    """
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        data = data.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size)

    def scale(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        images = tf.cast(images, tf.float32) / 255.0  # (batch, h, w, c), 0–1
        if augmentation is not None:
            images = augmentation(images, training=True)
        return images, labels

    # One map call at a time when augmenting: the random layers then draw their numbers in
    # batch order, which keeps "same seed → same curves" true with augmentation on.
    parallel = 1 if augmentation is not None else tf.data.AUTOTUNE
    return data.map(scale, num_parallel_calls=parallel).prefetch(tf.data.AUTOTUNE)
