"""The MNIST-style preprocessing (cnn_core.canvas): centring, scaling, aspect, pen width, empty
and nearly empty images, dark ink on light paper, reading files. No TensorFlow needed."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from cnn_core import canvas
from cnn_core.canvas import (
    DIGIT_BOX,
    IMAGE_SIZE,
    MNIST_STROKE,
    ImageError,
    grayscale,
    load_image,
    preprocess,
    stroke_width,
)
from cnn_core.data import load_mnist

SIZE = 280  # the Draw page's canvas


def strokes(lines, width=20, size=SIZE, ink=255, paper=0, mode="L") -> np.ndarray:
    """Draw polylines (pixel coordinates) with a round pen, like the canvas does."""
    image = Image.new("L", (size, size), paper)
    draw = ImageDraw.Draw(image)
    for points in lines:
        draw.line(points, fill=ink, width=width, joint="curve")
        for x, y in (points[0], points[-1]):
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=ink)
    return np.asarray(image.convert(mode))


def seven(x=70, y=40, scale=1.0, width=20, **kwargs) -> np.ndarray:
    points = [(x, y), (x + 140 * scale, y), (x + 50 * scale, y + 200 * scale)]
    return strokes([points], width=width, **kwargs)


def ink_box(image: np.ndarray) -> tuple[int, int]:
    """(height, width) of the nonzero part."""
    rows = np.flatnonzero((image > 0).any(axis=1))
    cols = np.flatnonzero((image > 0).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    total = image.sum()
    rows, cols = np.indices(image.shape)
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two images, slightly blurred: 1 for the same picture. The blur (σ = 1 px)
    makes it a measure of "looks alike": a thin stroke one pixel over is nearly the same."""

    def blur(image: np.ndarray) -> np.ndarray:
        kernel = np.array([1, 4, 6, 4, 1]) / 16  # binomial ≈ Gaussian, σ = 1
        image = np.asarray(image, np.float64)
        for axis in (0, 1):
            image = np.apply_along_axis(np.convolve, axis, image, kernel, mode="same")
        return image

    return float(np.corrcoef(blur(a).ravel(), blur(b).ravel())[0, 1])


# --------------------------------------------------------------------------------------------
# The recipe
# --------------------------------------------------------------------------------------------


def test_a_canvas_drawing_becomes_a_centred_28x28_input_in_0_1():
    # The canvas sends RGBA with an opaque black background.
    result = preprocess(np.asarray(Image.fromarray(seven()).convert("RGBA")))
    assert result.status == "digit" and not result.is_empty
    digit = result.digit
    assert digit.shape == (IMAGE_SIZE, IMAGE_SIZE) and digit.dtype == np.float32
    assert digit.min() == 0.0 and digit.max() == pytest.approx(1.0)
    # The longer side of the ink fills the 20-pixel box (±1 for anti-aliased edges).
    assert max(ink_box(digit)) in (DIGIT_BOX, DIGIT_BOX + 1)
    # Centred by centre of mass at pixel (14, 14), where MNIST puts it.
    row, col = center_of_mass(digit)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5
    assert result.center_of_mass == pytest.approx((row, col), abs=0.01)


def test_every_step_is_returned_as_a_picture_with_a_note():
    result = preprocess(seven())
    titles = [step.title for step in result.steps]
    assert titles == ["Your image", "Cropped to the ink", "Scaled to fit 20×20", "Centred in 28×28"]
    for step in result.steps:
        assert step.image.ndim == 2 and step.note
        assert step.image.min() >= 0.0 and step.image.max() <= 1.0
    assert result.steps[0].image.shape == (SIZE, SIZE)
    assert max(result.steps[2].image.shape) == DIGIT_BOX
    np.testing.assert_array_equal(result.steps[-1].image, result.digit)


@pytest.mark.parametrize(("x", "y"), [(5, 5), (120, 70), (5, 70), (120, 5)])
def test_position_on_the_canvas_does_not_matter(x, y):
    reference = preprocess(seven()).digit
    moved = preprocess(seven(x=x, y=y, scale=0.7, width=14)).digit
    assert similarity(reference, moved) > 0.9
    row, col = center_of_mass(moved)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5


@pytest.mark.parametrize("scale", [0.12, 0.3, 1.25])
def test_tiny_and_huge_drawings_come_out_the_same_size(scale):
    # 0.12: a 7 about 25 px tall; 1.25: it runs off the canvas edge, the ink is just cropped.
    reference = preprocess(seven()).digit
    result = preprocess(seven(x=10, y=10, scale=scale, width=max(3, round(20 * scale))))
    assert result.status == "digit"
    assert max(ink_box(result.digit)) in (DIGIT_BOX, DIGIT_BOX + 1)
    assert similarity(reference, result.digit) > (0.8 if scale > 1 else 0.9)


def test_aspect_ratio_is_kept():
    # A tall, thin "1": 200 px tall, 20 px wide → 20 px tall, about 2 px wide (not stretched).
    one = preprocess(strokes([[(140, 40), (140, 240)]], width=20)).digit
    height, width = ink_box(one)
    assert height in (20, 21) and width <= 4
    # A flat bar: 200 px wide, 20 px tall → 20 wide, about 2 tall.
    bar = preprocess(strokes([[(40, 140), (240, 140)]], width=20)).digit
    height, width = ink_box(bar)
    assert width in (20, 21) and height <= 4


def test_an_mnist_digit_comes_back_nearly_unchanged():
    # MNIST was made with this recipe, so redoing it on MNIST digits changes them very little.
    mnist = load_mnist()
    scores = [
        similarity(preprocess(image[..., 0]).digit, image[..., 0] / 255.0)
        for image in mnist.x_test[:100]
    ]
    assert np.median(scores) > 0.99
    assert np.mean(scores) > 0.97


# --------------------------------------------------------------------------------------------
# Pen width
# --------------------------------------------------------------------------------------------


def test_stroke_width_measures_a_straight_stroke():
    for width in (4, 8, 16):
        mask = np.zeros((200, 200), bool)
        mask[20:180, 100 : 100 + width] = True
        assert stroke_width(mask) == pytest.approx(width, rel=0.1)
    assert stroke_width(np.zeros((5, 5), bool)) == 0.0


def test_mnist_stroke_constant_is_the_median_of_mnist():
    images = load_mnist().x_test[:500, :, :, 0]
    widths = [stroke_width(image > 127) for image in images]
    assert np.median(widths) == pytest.approx(MNIST_STROKE, abs=0.15)


def test_a_thin_mouse_stroke_is_widened_to_mnist_pen():
    thin = preprocess(seven(width=3))
    assert thin.widened
    assert "Pen widened" in [step.title for step in thin.steps]
    assert stroke_width(thin.digit > 0.5) == pytest.approx(MNIST_STROKE, abs=0.8)
    # ... and then looks like the same 7 drawn with a normal pen.
    assert similarity(thin.digit, preprocess(seven(width=22)).digit) > 0.9


def test_a_pen_like_mnist_is_left_alone():
    result = preprocess(seven(width=26))
    assert not result.widened


def test_a_thick_pen_is_left_thick():
    thick = preprocess(seven(scale=0.6, width=40))
    assert not thick.widened
    assert stroke_width(thick.digit > 0.5) > MNIST_STROKE + 1


# --------------------------------------------------------------------------------------------
# Empty and nearly empty
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [0, 128, 255])
def test_a_blank_image_is_empty_and_gets_no_digit(level):
    result = preprocess(np.full((SIZE, SIZE), level, np.uint8))
    assert result.status == "empty" and result.is_empty and result.digit is None
    assert "Nothing to classify" in result.message
    assert [step.title for step in result.steps] == ["Your image"]


def test_faint_noise_is_empty():
    rng = np.random.default_rng(0)
    noisy = np.clip(200 + rng.normal(0, 8, (SIZE, SIZE)), 0, 255).astype(np.uint8)
    assert preprocess(noisy).status == "empty"


def test_a_dot_is_nearly_empty():
    dot = strokes([[(140, 140), (141, 140)]], width=6)
    result = preprocess(dot)
    assert result.status == "nearly_empty" and result.digit is None
    assert "dot" in result.message


# --------------------------------------------------------------------------------------------
# Photos and scans: dark ink on light paper
# --------------------------------------------------------------------------------------------


def test_dark_ink_on_white_paper_is_inverted():
    white_on_black = preprocess(seven())
    black_on_white = preprocess(seven(ink=0, paper=255))
    assert black_on_white.inverted and not white_on_black.inverted
    assert "White ink on black" in [step.title for step in black_on_white.steps]
    np.testing.assert_allclose(black_on_white.digit, white_on_black.digit, atol=1e-5)


def test_a_noisy_photo_of_paper_with_uneven_light_works():
    """Gray paper, brighter on one side, sensor noise, blue ink, saved as a JPEG."""
    rng = np.random.default_rng(1)
    paper = np.linspace(150, 215, SIZE)[None, :] + rng.normal(0, 6, (SIZE, SIZE))
    ink_mask = seven(width=18) / 255.0
    gray = paper * (1 - ink_mask) + 45 * ink_mask
    rgb = np.stack([gray * 0.8, gray * 0.85, gray * 1.0], axis=2).clip(0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=80)
    result = preprocess(load_image(buffer.getvalue()))
    assert result.inverted and result.status == "digit"
    assert similarity(result.digit, preprocess(seven(width=18)).digit) > 0.9


def test_strokes_on_a_transparent_background_are_seen_whatever_their_colour():
    for colour in (0, 255):  # black or white strokes, on nothing
        layer = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
        ImageDraw.Draw(layer).line(
            [(70, 40), (210, 40), (120, 240)], fill=(colour,) * 3 + (255,), width=20
        )
        gray = grayscale(layer)
        result = preprocess(gray)
        assert result.status == "digit"
        assert similarity(result.digit, preprocess(seven()).digit) > 0.9


def test_grayscale_accepts_arrays_and_pillow_images():
    rgb = np.zeros((10, 12, 3), np.uint8)
    rgb[..., 1] = 255
    assert grayscale(rgb).shape == (10, 12)
    assert grayscale(rgb)[0, 0] == pytest.approx(0.587 * 255, abs=0.5)  # Pillow rounds
    assert grayscale(rgb.astype(float))[0, 0] == pytest.approx(0.587 * 255)
    assert grayscale(Image.fromarray(rgb)).shape == (10, 12)
    assert grayscale(np.zeros((10, 12, 1))).shape == (10, 12)
    with pytest.raises(ImageError, match="shape"):
        grayscale(np.zeros((10, 12, 2)))


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_load_image_reads_paths_and_bytes(tmp_path):
    data = png_bytes(seven())
    path = tmp_path / "seven.png"
    path.write_bytes(data)
    np.testing.assert_array_equal(load_image(path), load_image(data))
    assert load_image(data).shape == (SIZE, SIZE)


def test_load_image_shrinks_huge_photos(tmp_path, monkeypatch):
    monkeypatch.setattr(canvas, "MAX_WORKING_SIDE", 100)
    assert max(load_image(png_bytes(seven())).shape) == 100


def test_load_image_turns_photos_upright_by_exif():
    image = Image.fromarray(np.zeros((20, 40), np.uint8))
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    assert load_image(buffer.getvalue()).shape == (40, 20)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"this is not an image", "not an image"),
        (png_bytes(seven())[:200], "damaged or truncated"),
    ],
)
def test_unreadable_images_get_a_clear_message(data, message):
    with pytest.raises(ImageError, match=message):
        load_image(data)


def test_missing_files_and_folders_get_a_clear_message(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "nothing.png")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)


def test_a_decompression_bomb_is_refused(monkeypatch):
    monkeypatch.setattr(canvas, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageError, match="megapixels"):
        load_image(png_bytes(seven()))
