"""Limits and defaults in one place.

Every page, the command line and the tests read their limits from here, so an instructor or a
host changes one file (or one environment variable) and the whole app follows.

Two profiles exist:

- ``local`` (the default): generous limits for one person on their own laptop.
- ``hosted``: strict limits for a small shared CPU server with many visitors at once.

Choose one with the environment variable ``CNN_LAB_PROFILE`` (``local`` or ``hosted``). The value
is read once, when this module is first imported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

PROFILE_ENV = "CNN_LAB_PROFILE"


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what a visitor may ask for. Each bound says why it exists."""

    # Architecture designer: bounds that keep the ledger readable and the arithmetic honest.
    max_layers: int = 40  # a longer list is no longer a lesson, and the ledger stops fitting
    max_input_side: int = 1024  # height or width of the input image, in pixels
    max_input_channels: int = 4  # grayscale (1), RGB (3); 4 leaves room for RGBA experiments
    max_filters: int = 2048  # per Conv2D layer
    max_units: int = 16384  # per Dense layer
    max_window: int = 64  # kernel_size, pool_size and strides, per side

    # Building a real Keras model (Train and Draw pages): a model larger than this would not
    # train in a lesson's time on a laptop CPU and could exhaust a shared server's memory.
    max_model_params: int = 20_000_000

    # Training.
    max_epochs: int = 50
    max_train_samples: int = 60_000
    max_batch_size: int = 1024
    # Trainings running at once in this process; later ones wait in a queue. Each one keeps
    # both CPU cores of a small machine busy, so more at once only makes every one slower.
    max_concurrent_trainings: int = 2
    # Finished runs a visitor keeps (model, curves, test predictions: a few MB each); the
    # oldest is forgotten first.
    max_runs_kept: int = 10

    # Zips of class folders on the Train page: bounds on decoding work and memory.
    max_zip_files: int = 20_000
    max_zip_uncompressed_mb: int = 500  # a zip bomb unpacks to far more than it weighs
    max_zip_pixels: int = 300_000_000  # source pixels of all images together, before resizing

    # Convolution page: grids a learner edits by hand. Beyond these the numbers in the cells and
    # the written-out sums stop being readable, which is the whole point of the page.
    max_grid_side: int = 12  # the input grid, per side
    max_kernel_side: int = 7  # the filter, per side
    max_grid_padding: int = 3  # explicit zeros around the input grid, per side
    # Photos on the Convolution page are shrunk to this side before filtering: the feature maps
    # are drawn as heatmaps, and every extra pixel costs CPU on a shared server.
    max_photo_side: int = 160
    # Refuse an uploaded image with more pixels than this before decoding it: a small file can
    # claim billions of pixels and exhaust memory (a "decompression bomb").
    max_photo_pixels: int = 40_000_000

    # Uploads (zips of images, single images, .keras files), in megabytes.
    max_upload_mb: int = 50

    # Share links (?share=…): a link longer than this was not made by CNN Lab (a 40-layer design
    # packs into under 1,000 characters) and is refused before any decoding work is done.
    max_share_link_chars: int = 4000


PROFILES: dict[str, Limits] = {
    "local": Limits(),
    "hosted": replace(
        Limits(),
        max_filters=256,
        max_units=4096,
        max_model_params=2_000_000,
        max_epochs=5,
        max_train_samples=20_000,
        max_batch_size=256,
        max_concurrent_trainings=1,
        max_runs_kept=3,
        max_zip_files=3_000,
        max_zip_uncompressed_mb=100,
        max_zip_pixels=50_000_000,
        max_photo_side=96,
        max_photo_pixels=16_000_000,
        max_upload_mb=10,
    ),
}


def _profile_name() -> str:
    name = os.environ.get(PROFILE_ENV, "local").strip().lower() or "local"
    if name not in PROFILES:
        raise SystemExit(
            f"{PROFILE_ENV}={name!r} is not a known profile; use one of: {', '.join(PROFILES)}."
        )
    return name


PROFILE: str = _profile_name()
LIMITS: Limits = PROFILES[PROFILE]
