"""Data augmentation: small random changes to training images, made by Keras preprocessing layers.

A network that sees every digit shifted a little, turned a little and zoomed a little learns that
these changes do not change the answer. The changes are applied only while training (in the
``tf.data`` pipeline, see :func:`cnn_core.data.make_tf_dataset`), never to validation or test
images, and never inside the saved model: the model a learner downloads is exactly their spec.

The text form ``shift=0.1,rotation=10,zoom=0.1,flip=horizontal`` is what the command line takes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras

FLIPS = ("none", "horizontal", "vertical", "horizontal_and_vertical")

FLIP_WARNING = (
    "A mirrored digit is often not a digit: a 2, 3, 4, 5, 6, 7 or 9 flipped left to right looks "
    "like no digit at all, and turned upside down a 6 becomes a 9. Flips suit photos (a cat seen "
    "in a mirror is still a cat), not handwriting."
)

# Largest values a learner may ask for: beyond them the images stop looking like the data set.
MAX_SHIFT = 0.5  # fraction of the height/width
MAX_ROTATION = 180.0  # degrees
MAX_ZOOM = 0.5  # fraction


class AugmentationError(ValueError):
    """An augmentation setting that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Augmentation:
    """How much to change each training image at random. All zeros (the default) changes nothing."""

    shift: float = 0.0  # up to this fraction of the height and of the width, in each direction
    rotation: float = 0.0  # up to this many degrees, either way
    zoom: float = 0.0  # in or out by up to this fraction
    flip: str = "none"  # mirror: "horizontal" (left↔right), "vertical", or both

    def __post_init__(self) -> None:
        for name, high in (("shift", MAX_SHIFT), ("rotation", MAX_ROTATION), ("zoom", MAX_ZOOM)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise AugmentationError(f"{name} must be a number, not {value!r}.")
            if not math.isfinite(value) or not 0 <= value <= high:
                raise AugmentationError(f"{name} is {value}; it must be between 0 and {high:g}.")
            object.__setattr__(self, name, float(value))
        if self.flip not in FLIPS:
            raise AugmentationError(f"flip {self.flip!r} is not one of {', '.join(FLIPS)}.")

    @property
    def active(self) -> bool:
        """True when at least one change is switched on."""
        return bool(self.shift or self.rotation or self.zoom or self.flip != "none")

    def describe(self) -> str:
        """A short human description, e.g. "shift ±10 %, rotation ±10°"; "none" when inactive."""
        parts = []
        if self.shift:
            parts.append(f"shift ±{self.shift:.0%}".replace("%", " %"))
        if self.rotation:
            parts.append(f"rotation ±{self.rotation:g}°")
        if self.zoom:
            parts.append(f"zoom ±{self.zoom:.0%}".replace("%", " %"))
        if self.flip != "none":
            parts.append(f"flip {self.flip.replace('_', ' ')}")
        return ", ".join(parts) or "none"

    def to_text(self) -> str:
        """The command-line form; :meth:`parse` reads it back."""
        return ",".join(
            f"{f.name}={getattr(self, f.name):g}" if f.name != "flip" else f"flip={self.flip}"
            for f in fields(self)
            if getattr(self, f.name) != f.default
        )

    @classmethod
    def parse(cls, text: str) -> Augmentation:
        """Read ``"shift=0.1,rotation=10,zoom=0.1,flip=horizontal"`` (any subset, any order)."""
        names = [f.name for f in fields(cls)]
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, value = item.partition("=")
            name = name.strip().lower()
            if not sep:
                raise AugmentationError(f"{item!r} needs a value, e.g. {name}=0.1.")
            if name not in names:
                raise AugmentationError(
                    f"unknown augmentation {name!r}; use {', '.join(names)} (e.g. shift=0.1)."
                )
            if name in values:
                raise AugmentationError(f"{name} is given twice.")
            if name == "flip":
                values[name] = value.strip().lower()
            else:
                try:
                    values[name] = float(value)
                except ValueError:
                    raise AugmentationError(
                        f"{name} must be a number, not {value.strip()!r}."
                    ) from None
        return cls(**values)


def augmentation_layers(augmentation: Augmentation, seed: int) -> keras.Sequential | None:
    """The Keras preprocessing layers for ``augmentation`` (None when it changes nothing).

    They take float images of shape (batch, height, width, channels) and are random only when
    called with ``training=True``. Empty space uncovered by a shift, turn or zoom-out is filled
    with 0 (black), the background of MNIST, rather than Keras' default reflection.
    """
    if not augmentation.active:
        return None
    import keras

    layers: list[Any] = []
    if augmentation.flip != "none":
        layers.append(keras.layers.RandomFlip(augmentation.flip, seed=seed))
    if augmentation.rotation:
        layers.append(
            keras.layers.RandomRotation(
                augmentation.rotation / 360.0, fill_mode="constant", seed=seed + 1
            )
        )
    if augmentation.zoom:
        layers.append(
            keras.layers.RandomZoom(augmentation.zoom, fill_mode="constant", seed=seed + 2)
        )
    if augmentation.shift:
        layers.append(
            keras.layers.RandomTranslation(
                augmentation.shift, augmentation.shift, fill_mode="constant", seed=seed + 3
            )
        )
    return keras.Sequential(layers, name="augmentation")


def augmented_samples(
    images: np.ndarray, augmentation: Augmentation, seed: int = 0, copies: int = 4
) -> np.ndarray:
    """``copies`` random versions of each image, for a preview grid.

    Args:
        images: uint8, shape (n, height, width, channels).
    Returns:
        uint8, shape (n, copies, height, width, channels); copy 0 is the original.
    """
    out = np.repeat(images[:, np.newaxis], copies, axis=1)
    layers = augmentation_layers(augmentation, seed)
    if layers is None or copies < 2:
        return out
    batch = np.repeat(images, copies - 1, axis=0).astype("float32")  # (n·(copies−1), h, w, c)
    changed = np.asarray(layers(batch, training=True))
    changed = np.clip(np.rint(changed), 0, 255).astype(np.uint8)
    out[:, 1:] = changed.reshape(images.shape[0], copies - 1, *images.shape[1:])
    return out
