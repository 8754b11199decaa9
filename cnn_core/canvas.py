"""From a drawing (or a photo of a digit) to a model input, the way MNIST itself was made.

MNIST's digits were size-normalised to fit a 20×20 box keeping their aspect ratio, anti-aliased
to grayscale, and placed in a 28×28 image so that their centre of mass sat in the middle. A
network trained on MNIST expects exactly that, so a drawing has to go through the same steps
before the network sees it::

    image ─ grayscale ─ white ink on black ─ crop to the ink ─ fit 20×20 ─ centre in 28×28 ─ [0, 1]

:func:`preprocess` returns every step as a small picture with a note, so the Draw page can show
the learner what happened to their drawing. No Streamlit here: the command line and the tests
use the same code.

Two additions to the MNIST recipe make drawings from a mouse or a phone camera work:

- **Polarity**: MNIST is white ink on black. Dark ink on light paper (a scan, a photo) is
  detected (the ink is the minority of pixels, on the far side of the background level) and
  inverted, and the paper's level is subtracted.
- **Pen width**: a thin mouse stroke across a 280-pixel canvas would be a fraction of a pixel
  wide after scaling to 20×20, much thinner than MNIST's pen. A stroke much thinner than
  MNIST's typical width is widened to it before scaling (the step says so).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cnn_core.config import LIMITS

# The MNIST recipe.
DIGIT_BOX = 20  # the digit is scaled to fit a 20×20 box, keeping its aspect ratio
IMAGE_SIZE = 28  # ... and placed in a 28×28 image, centred by its centre of mass

# What counts as ink. Values are on the 0-255 scale of the grayscale image.
MIN_CONTRAST = 64  # below this, nothing stands out from the background: an empty canvas or page
# A drawing's background is flat: over half its pixels within this of the most common level.
FLAT_TOLERANCE = 2
# In a photo, ink fainter than 20 % of the strongest ink is paper texture or JPEG noise.
NOISE_FLOOR = 0.2
# An image with less ink than this is "nearly empty" (a dot, a speck): no digit to classify.
MIN_INK_FRACTION = 0.001  # of the image's area
MIN_INK_EXTENT = 0.05  # the ink's larger side, as a fraction of the image's larger side

# MNIST's pen: the median stroke width of the MNIST test digits, measured with
# :func:`stroke_width` on the 28×28 images, is 2.6 pixels (10th-90th percentile 2.1-3.7).
# Strokes that would come out thinner than MIN_STROKE after scaling are widened to MNIST_STROKE.
MNIST_STROKE = 2.6
MIN_STROKE = 1.5
PEN_SIDE = 4 * DIGIT_BOX  # the widening works on a copy this size (see preprocess)

# Photos can have tens of megapixels; the digit needs far fewer. Larger images are shrunk first.
MAX_WORKING_SIDE = 1024
# Refuse decompression bombs, from the header, before decoding: a small file can claim more
# pixels than the server has memory for. The profile's photo limit (cnn_core.config), as on the
# Convolution page, so one photo is refused or taken alike on both pages.
MAX_IMAGE_PIXELS = LIMITS.max_photo_pixels


class ImageError(ValueError):
    """An image file that cannot be read, with a message for the learner."""


@dataclass(frozen=True)
class Step:
    """One stage of the preprocessing, as a picture with a caption."""

    title: str  # e.g. "Cropped to the ink"
    image: np.ndarray  # 2-D float32 in [0, 1]; from step 2 on, white ink on black
    note: str  # what happened, with the numbers


@dataclass(frozen=True)
class Preprocessed:
    """The result of :func:`preprocess`: the steps, and the model input when there is a digit."""

    steps: tuple[Step, ...]
    # The model input: (28, 28) float32 in [0, 1], white ink on black. None when empty.
    digit: np.ndarray | None
    # "digit", "empty" (nothing stands out) or "nearly_empty" (a dot or a speck).
    status: str
    message: str  # for "empty" and "nearly_empty": what the learner should do
    inverted: bool = False  # dark ink on light paper was turned into white ink on black
    widened: bool = False  # a thin stroke was widened to MNIST's pen width
    center_of_mass: tuple[float, float] | None = None  # (row, column) in the 28×28 input

    @property
    def is_empty(self) -> bool:
        """True when there is no digit to classify (empty or nearly empty)."""
        return self.digit is None


# --------------------------------------------------------------------------------------------
# Reading images
# --------------------------------------------------------------------------------------------


def load_image(source: str | Path | bytes) -> np.ndarray:
    """Read an image file (a path or its bytes) as a grayscale float32 array, 0-255.

    Photos are turned upright by their EXIF orientation and shrunk to at most
    ``MAX_WORKING_SIDE`` pixels per side.

    Raises:
        ImageError: the file is missing, is not an image, or is implausibly large.
    """
    name = "the file" if isinstance(source, bytes) else str(source)
    try:
        stream = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
    except FileNotFoundError:
        raise ImageError(f"no such file: {name}") from None
    except IsADirectoryError:
        raise ImageError(f"{name} is a folder, not an image.") from None
    except OSError as err:
        raise ImageError(f"cannot read {name}: {err.strerror}.") from None
    with stream:
        try:
            with Image.open(stream) as image:
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    raise ImageError(
                        f"{name} is {image.width:,}×{image.height:,} pixels "
                        f"({image.width * image.height / 1e6:.1f} megapixels); CNN Lab reads "
                        f"images of at most {_megapixels(MAX_IMAGE_PIXELS)} megapixels. Shrink "
                        "it first."
                    )
                image = ImageOps.exif_transpose(image)
                image.thumbnail((MAX_WORKING_SIDE, MAX_WORKING_SIDE), Image.Resampling.BOX)
                return grayscale(image)
        except UnidentifiedImageError:
            raise ImageError(
                f"{name} is not an image CNN Lab can read (use PNG, JPEG, GIF, BMP or WebP)."
            ) from None
        except Image.DecompressionBombError:
            # Pillow refuses, from the header alone, files claiming hundreds of megapixels.
            raise ImageError(
                f"{name} claims more pixels than any real photo has (a decompression bomb); "
                f"CNN Lab reads images of at most {_megapixels(MAX_IMAGE_PIXELS)} megapixels."
            ) from None
        except (OSError, SyntaxError, ValueError) as err:
            # Pillow reports truncated and malformed files with these.
            raise ImageError(f"{name} is a damaged or truncated image ({err}).") from None


def _megapixels(pixels: int) -> str:
    """40_000_000 → "40", 2_500_000 → "2.5"."""
    return f"{pixels / 1e6:g}"


def grayscale(image: np.ndarray | Image.Image) -> np.ndarray:
    """Any image as a 2-D float32 array of brightness, 0 (black) to 255 (white).

    Accepts a Pillow image or an array of shape (h, w), (h, w, 1), (h, w, 3) or (h, w, 4) with
    values 0-255 (uint8 or float). Colour becomes luminance (ITU-R 601, as Pillow's "L").

    Transparency: the drawing canvas has an opaque black background, so its alpha is 255
    everywhere and only the colours matter. A partly transparent image (a PNG of strokes on
    nothing) is laid on a backdrop that contrasts with its strokes: black under light strokes,
    white under dark ones, so the strokes stay visible either way.
    """
    if isinstance(image, Image.Image):
        if image.mode in ("RGBA", "LA", "PA") or (
            image.mode == "P" and "transparency" in image.info
        ):
            array = np.asarray(image.convert("RGBA"), dtype=np.float32)
        elif image.mode in ("L", "F", "I", "I;16"):
            array = np.asarray(image.convert("F"), dtype=np.float32)
        else:
            array = np.asarray(image.convert("RGB"), dtype=np.float32)
    else:
        array = np.asarray(image)
        opaque_uint8 = (
            array.dtype == np.uint8
            and array.ndim == 3
            and (array.shape[2] == 3 or (array.shape[2] == 4 and array[..., 3].min() == 255))
        )
        if opaque_uint8:
            # The canvas's case: Pillow's "L" conversion (the same weights, in C) is ~10×
            # faster than the float arithmetic below, which matters at every stroke.
            # (Pillow's RGBA → L ignores alpha, which is 255 here anyway.)
            return np.asarray(Image.fromarray(array).convert("L"), dtype=np.float32)
        array = array.astype(np.float32)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        return array
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ImageError(
            f"an image must be (height, width) or (height, width, 1, 3 or 4 channels); "
            f"got an array of shape {array.shape}."
        )
    luminance = array[..., 0] * 0.299 + array[..., 1] * 0.587 + array[..., 2] * 0.114
    if array.shape[2] == 4:
        alpha = array[..., 3] / 255.0
        if alpha.min() < 1.0:
            opaque_level = float((luminance * alpha).sum() / max(alpha.sum(), 1e-6))
            backdrop = 0.0 if opaque_level > 127.5 else 255.0
            luminance = luminance * alpha + backdrop * (1.0 - alpha)
    return luminance


# --------------------------------------------------------------------------------------------
# Measuring strokes
# --------------------------------------------------------------------------------------------


def _erode(mask: np.ndarray) -> np.ndarray:
    """A pixel survives if it and its four neighbours are ink."""
    inner = mask.copy()
    inner[1:] &= mask[:-1]
    inner[:-1] &= mask[1:]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    inner[[0, -1], :] = False
    inner[:, [0, -1]] = False
    return inner


def stroke_width(mask: np.ndarray) -> float:
    """The typical width of the strokes in a boolean ink mask, in pixels.

    A stroke of width w and length L covers about w·L pixels, and about 2·L of them lie on its
    edge (both sides), so width ≈ area / (edge pixels / 2). Crude, but the same estimate is used
    on MNIST (:data:`MNIST_STROKE`) and on drawings, so they are compared like with like.

    >>> round(stroke_width(np.pad(np.ones((40, 4), bool), 2)), 1)
    3.8
    """
    area = int(mask.sum())
    if area == 0:
        return 0.0
    edge = area - int(_erode(mask).sum())
    return area / max(edge / 2, 1.0)


def _rank_filter(image: np.ndarray, size: int, reducer) -> np.ndarray:
    """The max (``np.max``: strokes grow by size − 1 pixels) or min (``np.min``: they shrink)
    over a ``size``×``size`` square around each pixel. Two 1-D passes over numpy's sliding
    windows; Pillow's MaxFilter costs ~40 ms at size 15."""
    half = size // 2
    windows = np.lib.stride_tricks.sliding_window_view
    rows = reducer(windows(np.pad(image, ((half, half), (0, 0))), size, axis=0), axis=-1)
    return reducer(windows(np.pad(rows, ((0, 0), (half, half))), size, axis=1), axis=-1)


# --------------------------------------------------------------------------------------------
# The recipe
# --------------------------------------------------------------------------------------------


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    """Resize by ``scale``. Shrinking averages areas (anti-aliasing, as MNIST did); enlarging a
    tiny drawing interpolates."""
    height, width = image.shape
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    method = Image.Resampling.BOX if scale <= 1 else Image.Resampling.BILINEAR
    resized = Image.fromarray(image.astype(np.float32, copy=False)).resize(size, method)
    return np.asarray(resized, dtype=np.float32)


def _paper_level(bright: np.ndarray, blocks: int = 8) -> np.ndarray:
    """The background level under every pixel of a photo, where light falls unevenly.

    The median of each of blocks×blocks tiles (the paper is most of every tile, the ink a
    little), smoothly interpolated back to full size.
    """
    height, width = bright.shape
    tile_h, tile_w = max(1, height // blocks), max(1, width // blocks)
    rows, cols = height // tile_h, width // tile_w
    tiles = bright[: rows * tile_h, : cols * tile_w].reshape(rows, tile_h, cols, tile_w)
    levels = np.median(tiles, axis=(1, 3)).astype(np.float32)
    smooth = Image.fromarray(levels).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(smooth, dtype=np.float32)


def _isolate_ink(gray: np.ndarray) -> tuple[np.ndarray, bool, str] | None:
    """White ink on black in [0, 1], whether it was inverted, and a note (empty if nothing
    changed); None when no ink stands out.

    The background is the most common level; the ink is whatever lies far from it, and if the
    far side is the dark side the ink is dark on light paper: invert. A drawing has a flat
    background (most pixels exactly at one level) and is handled exactly. A photo has paper
    that varies (uneven light, sensor and JPEG noise): its paper level is estimated tile by
    tile and removed, faint noise is cut, and isolated specks are dropped so they cannot
    stretch the crop.
    """
    # The background statistics from every other pixel: the same answer at a quarter of the
    # cost (the extremes below still look at every pixel, a thin stroke must not be missed).
    sample = gray[::2, ::2] if min(gray.shape) >= 4 * IMAGE_SIZE else gray
    median = float(np.median(sample))
    flat = float(np.mean(np.abs(sample - median) <= FLAT_TOLERANCE)) > 0.5
    if flat:
        low, high = float(gray.min()), float(gray.max())
    else:  # a few outliers (a glint, a dust speck) must not decide the polarity
        low, high = (float(v) for v in np.percentile(gray, [0.5, 99.5]))
    dark_reach, light_reach = median - low, high - median
    if max(dark_reach, light_reach) < MIN_CONTRAST:
        return None
    inverted = dark_reach > light_reach
    bright = (255.0 - gray) if inverted else gray  # the ink is now the bright part
    if flat:
        background = 255.0 - median if inverted else median
        ink = np.clip(bright - background, 0.0, None)
        peak = float(ink.max())
        ink /= peak
        changed = inverted or background > 0 or peak < 255
    else:
        background_map = _paper_level(bright)
        background = float(np.median(background_map))
        ink = np.clip(bright - background_map, 0.0, None)
        peak = max(float(np.percentile(ink, 99.9)), 1e-6)
        floor = NOISE_FLOOR * peak
        ink = np.clip((ink - floor) / (peak - floor), 0.0, 1.0)
        # An opening (erode, then dilate, 3×3) keeps strokes and drops specks of 1-2 pixels.
        solid = ink > 0
        opened = _rank_filter(_rank_filter(solid, 3, np.min), 3, np.max)
        ink = ink * opened
        changed = True
    if not changed:
        return ink, inverted, ""
    level = f"{(255.0 - background) if inverted else background:.0f}/255"
    if inverted:
        note = (
            f"Dark ink on light paper (about {level}) was inverted, as MNIST digits are "
            "white on black"
        )
    else:
        note = f"The background level ({level}) was removed"
    if not flat:
        note += "; uneven light and faint noise were evened out"
    return ink, inverted, note + "."


def _size(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}×{shape[0]}"  # width×height, as image sizes are said


def _empty(steps: list[Step], status: str, message: str, inverted: bool = False) -> Preprocessed:
    return Preprocessed(tuple(steps), None, status, message, inverted=inverted)


def preprocess(image: np.ndarray | Image.Image) -> Preprocessed:
    """Turn a drawing or a photo of one digit into a 28×28 MNIST-style input, step by step.

    Args:
        image: the canvas's RGBA array, a grayscale or colour array (0-255), or a Pillow image.

    Returns:
        :class:`Preprocessed`: the steps (pictures with notes) and ``digit``, a (28, 28) float32
        array in [0, 1] with white ink on black, or ``digit=None`` with a message when the image
        is empty or nearly empty (no prediction should be made then).
    """
    gray = grayscale(image)
    height, width = gray.shape
    steps = [Step("Your image", gray / 255.0, f"{_size(gray.shape)} pixels, as grayscale.")]

    # 1. White ink on black.
    isolated = _isolate_ink(gray)
    if isolated is None:
        flat = gray.max() - gray.min() < 1
        return _empty(
            steps,
            "empty",
            "Nothing to classify: the image is empty (one flat colour)."
            if flat
            else "Nothing to classify: no ink stands out from the background.",
        )
    ink, inverted, note = isolated
    if note:
        steps.append(Step("White ink on black", ink, note))

    # 2. Crop to the ink. A dot or a speck is not a digit.
    mask = ink > 0
    ink_pixels = int(mask.sum())
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    extent = max(bottom - top, right - left)
    if ink_pixels < MIN_INK_FRACTION * height * width or extent < MIN_INK_EXTENT * max(
        height, width
    ):
        return _empty(
            steps,
            "nearly_empty",
            f"Only a dot or a speck ({ink_pixels} pixels of ink): draw a digit, larger.",
            inverted,
        )
    cropped = ink[top:bottom, left:right]
    steps.append(
        Step(
            "Cropped to the ink",
            cropped,
            f"The ink's bounding box: {_size(cropped.shape)} pixels at ({left}, {top}).",
        )
    )

    # 3. Widen a stroke that would come out much thinner than MNIST's pen once scaled to
    #    20×20. This works on a copy shrunk to 4× the final size: the same result, ~20× cheaper
    #    than at the canvas's full size. (Thick strokes are left alone: thinning them by
    #    erosion distorted the digits and did not help the model in our tests.)
    scale = DIGIT_BOX / extent
    pen = stroke_width(cropped > 0.5)
    widened = pen * scale < MIN_STROKE
    if widened:
        scaled_pen = pen * scale
        if extent > PEN_SIDE:
            shrink = PEN_SIDE / extent
            cropped = _resize(cropped, shrink)
            pen, scale = pen * shrink, scale / shrink
        grow = round(MNIST_STROKE / scale - pen)  # pixels to add, at the working scale
        size = max(grow + 1 if grow % 2 == 0 else grow, 3)  # odd: both sides grow alike
        cropped = _rank_filter(np.pad(cropped, size // 2), size, np.max)
        steps.append(
            Step(
                "Pen widened",
                cropped,
                f"The stroke would be {scaled_pen:.1f} px wide after scaling, thinner than "
                f"MNIST's pen ({MNIST_STROKE} px): it was widened to match.",
            )
        )
        scale = DIGIT_BOX / max(cropped.shape)

    # 4. Scale to fit 20×20, keeping the aspect ratio.
    boxed = _resize(cropped, scale)
    new_height, new_width = boxed.shape
    boxed = np.clip(boxed / max(float(boxed.max()), 1e-6), 0.0, 1.0)
    steps.append(
        Step(
            f"Scaled to fit {DIGIT_BOX}×{DIGIT_BOX}",
            boxed,
            f"{_size(cropped.shape)} → {_size(boxed.shape)}: the longer side becomes "
            f"{DIGIT_BOX} px, the aspect ratio is kept.",
        )
    )

    # 5. Centre by centre of mass in 28×28: the pixel-weighted mean position lands on the
    #    middle, as far as the box stays inside the image. MNIST's "middle" is pixel (14, 14):
    #    its test digits' centres of mass average (13.99, 14.01), std 0.3, in index terms.
    total = float(boxed.sum())
    row_mass = float((boxed.sum(axis=1) * np.arange(new_height)).sum() / total)
    col_mass = float((boxed.sum(axis=0) * np.arange(new_width)).sum() / total)
    middle = IMAGE_SIZE / 2
    top = int(np.clip(round(middle - row_mass), 0, IMAGE_SIZE - new_height))
    left = int(np.clip(round(middle - col_mass), 0, IMAGE_SIZE - new_width))
    digit = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    digit[top : top + new_height, left : left + new_width] = boxed
    center = (top + row_mass, left + col_mass)
    steps.append(
        Step(
            f"Centred in {IMAGE_SIZE}×{IMAGE_SIZE}",
            digit,
            f"Placed so its centre of mass is at ({center[1]:.1f}, {center[0]:.1f}), the middle "
            "of the image. Values 0-1: this is what the network sees.",
        )
    )
    return Preprocessed(
        tuple(steps),
        digit,
        "digit",
        "",
        inverted=inverted,
        widened=widened,
        center_of_mass=center,
    )
