"""Data sets: bundled MNIST, the offline message of downloads, zip uploads and their refusals,
splits and the tf.data pipeline."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from cnn_core.augment import Augmentation, AugmentationError, augmented_samples
from cnn_core.config import LIMITS
from cnn_core.data import (
    DataError,
    Dataset,
    class_counts,
    load_dataset,
    load_image_zip,
    load_mnist,
    preview_indices,
    split_indices,
    subset_classes,
    to_model_input,
    training_split,
)

# ----- bundled MNIST -----


def test_bundled_mnist_is_the_standard_split():
    mnist = load_mnist()
    assert mnist.x_train.shape == (60_000, 28, 28, 1) and mnist.x_train.dtype == np.uint8
    assert mnist.x_test.shape == (10_000, 28, 28, 1)
    assert mnist.input_shape == (28, 28, 1) and mnist.num_classes == 10
    # the known class counts of the standard MNIST test set
    assert class_counts(mnist.y_test, 10).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009
    ]  # fmt: skip
    assert not mnist.x_train.flags.writeable  # shared by every visitor
    assert load_dataset("mnist") is mnist  # loaded once per process


def test_unknown_dataset_names_the_choices():
    with pytest.raises(DataError, match="choose one of: mnist, fashion_mnist"):
        load_dataset("imagenet")


def test_offline_download_fails_with_one_sentence(monkeypatch):
    import keras

    def offline():
        raise Exception(
            "URL fetch failure on https://…: None -- [Errno -2] Name or service not known"
        )

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    with pytest.raises(DataError) as err:
        load_dataset("fashion_mnist")
    message = str(err.value)
    assert message.startswith("Fashion-MNIST could not be downloaded")
    assert "URL fetch" not in message and "\n" not in message


def test_cats_vs_dogs_keeps_two_classes_relabelled():
    x = np.arange(6 * 2 * 2 * 3, dtype=np.uint8).reshape(6, 2, 2, 3)
    y = np.array([3, 5, 0, 3, 9, 5])
    names = (
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
    cifar = Dataset("CIFAR", x, y, x[:3], y[:3], names)
    pets = subset_classes(cifar, ("cat", "dog"), "Cats vs dogs")
    assert pets.class_names == ("cat", "dog")
    assert pets.y_train.tolist() == [0, 1, 0, 1]
    assert np.array_equal(pets.x_train, x[[0, 1, 3, 5]])
    assert pets.y_test.tolist() == [0, 1]


# ----- zips of class folders -----


def _png(size=(10, 8), colour=(200, 30, 30), mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, format="PNG")
    return out.getvalue()


def _jpeg(size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 250)).save(out, format="JPEG")
    return out.getvalue()


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def _pets(n: int = 5) -> dict[str, bytes]:
    files = {f"pets/cats/{i}.png": _png(colour=(200, 30, 30)) for i in range(n)}
    files |= {f"pets/dogs/{i}.jpg": _jpeg() for i in range(n)}
    files["pets/readme.txt"] = b"not an image"
    files["__MACOSX/pets/._0.png"] = b"metadata"
    files["pets/cats/.DS_Store"] = b"metadata"
    return files


def test_zip_of_class_folders_becomes_a_dataset():
    pets = load_image_zip(_zip(_pets()), image_size=(16, 12), color_mode="rgb", test_fraction=0.2)
    assert pets.class_names == ("cats", "dogs")  # the wrapping folder "pets/" is not a class
    assert pets.input_shape == (16, 12, 3)
    assert len(pets.y_train) + len(pets.y_test) == 10
    assert class_counts(pets.y_test, 2).tolist() == [1, 1]  # stratified: one of each held out
    red = pets.x_train[pets.y_train == 0][0]
    assert tuple(red[5, 5]) == (200, 30, 30)  # pixels survive the resize
    assert any("readme.txt" in note for note in pets.notes)
    assert not pets.x_train.flags.writeable


def test_zip_grayscale_has_one_channel():
    pets = load_image_zip(_zip(_pets()), image_size=(28, 28), color_mode="grayscale")
    assert pets.input_shape == (28, 28, 1)
    # Pillow's luminance of (200, 30, 30): 200·0.299 + 30·0.587 + 30·0.114 ≈ 81
    assert abs(int(pets.x_train[pets.y_train == 0][0][0, 0, 0]) - 81) <= 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04 this is not really a zip", "damaged or cut short"),
        (_png(), "not a zip archive"),
        (_zip({"cats/1.png": _png(), "dogs/../../etc/passwd": b"x"}), "points outside its folder"),
        (_zip({"/abs/cats/1.png": _png(), "dogs/1.png": _png()}), "points outside its folder"),
        (_zip({"cats/1.png": _png(), "cats/2.png": _png()}), "at least two classes"),
        (_zip({"readme.txt": b"hello"}), "at least two classes"),
        (_zip({"cats/1.png": _png(), "dogs/1.png": b"garbage, not a png"}), "'dogs/1.png' cannot"),
    ],
    ids=["not-a-zip", "a-png", "dot-dot", "absolute", "one-class", "no-images", "unreadable"],
)
def test_bad_zips_are_refused_with_their_message(data, message):
    with pytest.raises(DataError, match=message):
        load_image_zip(data)


def test_corrupt_zip_is_refused():
    good = bytearray(_zip({"cats/1.png": _png(), "dogs/1.png": _png()}))
    start = good.index(b"\x89PNG")  # damage the stored bytes of the first image: CRC mismatch
    good[start + 20 : start + 30] = b"\x00" * 10
    with pytest.raises(DataError, match="damaged"):
        load_image_zip(bytes(good))
    truncated = _zip({"cats/1.png": _png(), "dogs/1.png": _png()})[:-30]
    with pytest.raises(DataError, match="zip"):
        load_image_zip(truncated)


def test_zip_limits_come_from_config():
    data = _zip(_pets(5))
    with pytest.raises(DataError, match="at most 4"):
        load_image_zip(data, limits=replace(LIMITS, max_zip_files=4))
    with pytest.raises(DataError, match="too many pixels"):
        load_image_zip(data, limits=replace(LIMITS, max_zip_pixels=500))
    with pytest.raises(DataError, match="uploads are limited to 0 MB"):
        load_image_zip(data, limits=replace(LIMITS, max_upload_mb=0))
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cats/1.png", b"\x00" * (2 * 1024 * 1024))
        archive.writestr("dogs/1.png", _png())
    with pytest.raises(DataError, match="unpacks to"):
        load_image_zip(bomb.getvalue(), limits=replace(LIMITS, max_zip_uncompressed_mb=1))


# ----- splits, previews, pipeline -----


def test_split_is_random_disjoint_and_seeded():
    train, val = split_indices(1000, 500, 0.2, seed=3)
    assert len(train) == 400 and len(val) == 100
    assert not set(train) & set(val)
    again = split_indices(1000, 500, 0.2, seed=3)
    assert np.array_equal(train, again[0]) and np.array_equal(val, again[1])
    assert not np.array_equal(val, split_indices(1000, 500, 0.2, seed=4)[1])
    assert len(split_indices(1000, None, 0.0, seed=0)[0]) == 1000


@pytest.mark.parametrize(
    ("samples", "split", "message"),
    [
        (2000, 0.1, "too many"),
        (0, 0.1, "at least 1"),
        (1, 0.5, "nothing to train"),
        (10, 1.0, "below 1"),
    ],
)
def test_impossible_splits_are_explained(samples, split, message):
    with pytest.raises(DataError, match=message):
        split_indices(1000, samples, split, seed=0)


def test_training_split_copies_the_chosen_images():
    mnist = load_mnist()
    split = training_split(mnist, 100, 0.1, seed=0)
    train, val = split_indices(60_000, 100, 0.1, seed=0)
    assert np.array_equal(split.x_train, mnist.x_train[train])
    assert np.array_equal(split.y_val, mnist.y_train[val])


def test_preview_takes_each_class_in_turn():
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2])
    index = preview_indices(labels, 3, per_class=2)
    assert labels[index].tolist() == [0, 0, 1, 1, 2, 2]


def test_tf_pipeline_batches_scales_and_shuffles_by_seed():
    mnist = load_mnist()
    x, y = mnist.x_train[:100], mnist.y_train[:100]
    from cnn_core.data import make_tf_dataset

    batches = list(make_tf_dataset(x, y, 32, shuffle=False))
    assert [b[0].shape[0] for b in batches] == [32, 32, 32, 4]
    images = batches[0][0].numpy()
    assert images.dtype == np.float32 and images.max() <= 1.0
    assert np.allclose(images, to_model_input(x[:32]))

    def order(seed):
        return np.concatenate(
            [b[1].numpy() for b in make_tf_dataset(x, y, 32, shuffle=True, seed=seed)]
        )

    assert np.array_equal(order(5), order(5))
    assert sorted(order(5).tolist()) == sorted(y.tolist())


# ----- augmentation -----


def test_augmentation_text_round_trip_and_refusals():
    aug = Augmentation.parse("shift=0.1, rotation=10,zoom=0.1,flip=horizontal")
    assert aug == Augmentation(0.1, 10, 0.1, "horizontal") and aug.active
    assert Augmentation.parse(aug.to_text()) == aug
    assert aug.describe() == "shift ±10 %, rotation ±10°, zoom ±10 %, flip horizontal"
    assert not Augmentation.parse("").active
    for text, message in [
        ("shear=0.2", "unknown augmentation 'shear'"),
        ("shift", "needs a value"),
        ("shift=big", "must be a number"),
        ("shift=0.9", "between 0 and 0.5"),
        ("flip=diagonal", "not one of none, horizontal"),
        ("zoom=0.1,zoom=0.2", "given twice"),
    ]:
        with pytest.raises(AugmentationError, match=message):
            Augmentation.parse(text)


def test_augmented_preview_keeps_the_original_first():
    digits = np.asarray(load_mnist().x_train[:3])
    copies = augmented_samples(digits, Augmentation(shift=0.2, rotation=20), seed=1, copies=4)
    assert copies.shape == (3, 4, 28, 28, 1) and copies.dtype == np.uint8
    assert np.array_equal(copies[:, 0], digits)
    assert all(not np.array_equal(copies[i, 1], digits[i]) for i in range(3))
    flipped = augmented_samples(digits, Augmentation(flip="horizontal"), seed=0, copies=12)
    # every copy is either the digit or its mirror image, and both occur
    for i in range(3):
        kinds = {
            "same"
            if np.array_equal(c, digits[i])
            else "mirror"
            if np.array_equal(c, digits[i][:, ::-1])
            else "?"
            for c in flipped[i, 1:]
        }
        assert kinds <= {"same", "mirror"} and "mirror" in kinds
