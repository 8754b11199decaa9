"""cnn_core.conv_math: the tutorials' worked examples exactly, and Keras as the oracle.

Keras is imported here only (conv_math itself is plain numpy). Each generated case builds the
Keras layer, gives it the same weights, and compares every output value.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from cnn_core import conv_math as cm
from cnn_core.config import LIMITS
from cnn_core.shapes import output_size

keras = pytest.importorskip("keras")  # always installed; importorskip keeps the import lazy

CASES = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------------------------
# The worked examples
# --------------------------------------------------------------------------------------------


def test_edge_example_reproduces_minus_7_and_minus_2():
    image = cm.EXAMPLES["edge_6x6"].values
    kernel = cm.KERNELS["vertical_edge"].weights
    # The windows the tutorial describes: left column 3,1,2 / right 1,7,5, then 1,0,3 / 2,3,1.
    assert image[0:3, 0].tolist() == [3, 1, 2] and image[0:3, 2].tolist() == [1, 7, 5]
    assert image[0:3, 1].tolist() == [1, 0, 3] and image[0:3, 3].tolist() == [2, 3, 1]
    assert kernel.tolist() == [[1, 0, -1]] * 3

    result = cm.conv2d(image, kernel)
    assert result.output_shape == (4, 4, 1)
    assert result.output[0, 0, 0] == -7 and result.output[0, 1, 0] == -2
    first, second = result.step(0, 0), result.step(0, 1)
    assert first.text == "3·1 + 1·0 + 1·(−1) + 1·1 + 0·0 + 7·(−1) + 2·1 + 3·0 + 5·(−1) = −7"
    assert second.text == "1·1 + 1·0 + 2·(−1) + 0·1 + 7·0 + 3·(−1) + 3·1 + 5·0 + 1·(−1) = −2"
    assert first.window[:, :, 0].tolist() == image[0:3, 0:3].tolist()
    assert (second.left, second.top) == (1, 0)


def _x_result(example: str = "x_match") -> cm.ConvResult:
    ex = cm.EXAMPLES[example]
    return cm.conv2d(ex.values, cm.KERNELS[ex.kernel].weights, normalised=ex.normalised)


def test_x_with_diagonal_filter_scores_the_tutorials_values():
    result = _x_result()
    feature_map = result.output[:, :, 0]
    assert set(np.unique(result.image)) == {-1.0, 1.0}
    # A perfect match scores 1; the X's centre, where the other stroke crosses, only partly
    # matches: 7 of 9 cells agree, (7 − 2)/9 = 5/9, which the tutorial prints as 0.55.
    assert feature_map[1, 1] == 1.0
    assert feature_map[3, 3] == pytest.approx(5 / 9)
    step = result.step(3, 3)
    assert step.divisor == 9 and step.total == 5
    assert step.text.endswith("/9 = 5/9 ≈ 0.556")
    # The tutorial's first row of this map, printed with two decimals cut off (not rounded).
    truncated = np.trunc(feature_map[0] * 100) / 100
    assert truncated.tolist() == [0.77, -0.11, 0.11, 0.33, 0.55, -0.11, 0.33]


def test_o_matches_the_diagonal_only_at_its_corners():
    # The X's ╲ stroke matches perfectly all along its length (but at the centre, where the ╱
    # stroke crosses it); the O only at two corners.
    perfect = np.argwhere(_x_result().output[:, :, 0] == 1).tolist()
    assert perfect == [[1, 1], [2, 2], [4, 4], [5, 5]]
    assert np.argwhere(_x_result("o_match").output[:, :, 0] == 1).tolist() == [[1, 5], [5, 1]]


def test_every_preset_parses_and_runs():
    for name, example in cm.EXAMPLES.items():
        result = cm.conv2d(
            example.values,
            cm.KERNELS[example.kernel].weights,
            bias=example.bias,
            strides=example.stride,
            padding=example.padding,
            normalised=example.normalised,
        )
        assert result.cells > 0, name
        assert example.values.shape[0] <= LIMITS.max_grid_side
    for kernel in cm.KERNELS.values():
        assert kernel.weights.shape[0] <= LIMITS.max_kernel_side
    assert cm.KERNELS["blur"].weights.sum() == pytest.approx(1.0)


def test_vertical_step_edge_lights_the_edge():
    ex = cm.EXAMPLES["vertical_step"]
    feature_map = cm.conv2d(ex.values, cm.KERNELS[ex.kernel].weights).output[:, :, 0]
    assert feature_map.tolist() == [[0, 30, 30, 0]] * 4


# --------------------------------------------------------------------------------------------
# Steps replay the output
# --------------------------------------------------------------------------------------------


def test_steps_replay_every_output_cell():
    rng = np.random.default_rng(7)
    image = rng.integers(-3, 4, (5, 6, 2))
    kernel = rng.integers(-2, 3, (3, 2, 2, 3))
    result = cm.conv2d(image, kernel, bias=[1, 0, -0.5], strides=(2, 1), padding="same")
    for k in range(3):
        for step in result.steps(k):
            assert step.products.sum() + step.bias == pytest.approx(step.value)
            assert step.value == result.output[step.row, step.col, k]
            kh, kw = kernel.shape[:2]
            padded_slice = result.padded[step.top : step.top + kh, step.left : step.left + kw]
            np.testing.assert_array_equal(step.window, padded_slice)
            # Padding cells: window rows or columns outside the original 5×6 image.
            rows = np.arange(step.top, step.top + kh) - result.pads[0][0]
            cols = np.arange(step.left, step.left + kw) - result.pads[1][0]
            outside = ((rows < 0) | (rows >= 5))[:, None] | ((cols < 0) | (cols >= 6))[None, :]
            np.testing.assert_array_equal(step.is_padding, outside)
            assert not step.window[outside].any()
    # The written sum of a deep input: one line per channel, then the total with the bias.
    lines = result.step(0, 0, 0).lines
    assert len(lines) == 3 and lines[0].startswith("channel 1: ") and "(bias)" in lines[-1]


def test_padding_cells_are_marked():
    result = cm.conv2d(np.ones((3, 3)), np.ones((3, 3)), padding=1)
    corner = result.step(0, 0)
    assert corner.is_padding.tolist() == [
        [True, True, True],
        [True, False, False],
        [True, False, False],
    ]
    assert corner.value == 4  # only the 4 real pixels under the window count
    rows, cols = corner.input_cells(result.pads)
    assert (rows.start, cols.start) == (-1, -1)


def test_pool_and_relu_steps():
    feature_map = cm.conv2d(cm.EDGE_IMAGE, cm.VERTICAL_EDGE).output
    rectified = cm.relu(feature_map)
    assert rectified.zeroed == int((feature_map < 0).sum())
    assert rectified.step_text(0, 0, 0) == "max(0, −7) = 0"
    pooled = cm.pool2d(rectified.output)
    assert pooled.output.shape == (2, 2, 1)
    assert pooled.step(0, 0).text == "max(0, 0, 0, 1) = 1"
    assert pooled.step(0, 0).picked == (1, 1)
    average = cm.pool2d(feature_map, mode="average")
    assert average.step(0, 0).text == "(−7 − 2 − 9 + 1)/4 = −4.25"
    same = cm.pool2d(np.arange(9).reshape(3, 3), 2, padding="same", mode="average")
    assert same.step(1, 1).text == "(8)/1 = 8 (the 3 padding cells are left out)"


# --------------------------------------------------------------------------------------------
# Keras is the oracle
# --------------------------------------------------------------------------------------------


@st.composite
def conv_cases(draw):
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    channels, filters = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = draw(st.sampled_from(["valid", "same", 0, 1, 2]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    image = rng.integers(-9, 10, (h, w, channels)).astype(float)
    kernel = rng.integers(-3, 4, (kh, kw, channels, filters)).astype(float)
    bias = rng.integers(-5, 6, filters).astype(float)
    return image, kernel, bias, strides, padding


@CASES
@given(conv_cases())
def test_conv2d_matches_keras(case):
    image, kernel, bias, strides, padding = case
    kh, kw, _, filters = kernel.shape
    keras_padding = padding if isinstance(padding, str) else "valid"
    pad = 0 if isinstance(padding, str) else padding
    fits = keras_padding == "same" or (
        kh <= image.shape[0] + 2 * pad and kw <= image.shape[1] + 2 * pad
    )
    if not fits:
        with pytest.raises(cm.ConvMathError, match="does not fit"):
            cm.conv2d(image, kernel, bias, strides, padding)
        return
    ours = cm.conv2d(image, kernel, bias, strides, padding)

    layers = [keras.layers.ZeroPadding2D(pad)] if pad else []
    conv = keras.layers.Conv2D(filters, (kh, kw), strides=strides, padding=keras_padding)
    model = keras.Sequential([keras.Input(image.shape), *layers, conv])
    conv.set_weights([kernel, bias])
    theirs = np.asarray(model(image[np.newaxis].astype("float32")))[0]
    assert ours.output.shape == theirs.shape
    np.testing.assert_allclose(ours.output, theirs, atol=1e-3)
    # The size formula shown on the page gives the same size.
    assert cm.size_formula(image.shape[0], kh, strides[0], padding)[0] == theirs.shape[0]
    assert cm.size_formula(image.shape[1], kw, strides[1], padding)[0] == theirs.shape[1]


@CASES
@given(
    st.integers(1, 8),
    st.integers(1, 8),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.sampled_from(["valid", "same"]),
    st.sampled_from(["max", "average"]),
    st.integers(0, 2**32 - 1),
)
def test_pool2d_matches_keras(h, w, channels, window, stride, padding, mode, seed):
    feature_map = np.random.default_rng(seed).normal(size=(h, w, channels)).round(2)
    if padding == "valid" and (window > h or window > w):
        with pytest.raises(cm.ConvMathError, match="does not fit"):
            cm.pool2d(feature_map, window, stride, padding, mode)
        return
    ours = cm.pool2d(feature_map, window, stride, padding, mode)
    layer_class = keras.layers.MaxPooling2D if mode == "max" else keras.layers.AveragePooling2D
    layer = layer_class(window, strides=stride, padding=padding)
    theirs = np.asarray(layer(feature_map[np.newaxis].astype("float32")))[0]
    np.testing.assert_allclose(ours.output, theirs, atol=1e-5)
    for index in range(ours.cells):
        step = ours.step(*ours.position(index), channels - 1)
        assert step.value == pytest.approx(theirs[step.row, step.col, channels - 1], abs=1e-5)


def test_relu_and_flatten_match_keras():
    rng = np.random.default_rng(3)
    values = rng.integers(-5, 6, (3, 4, 2)).astype(float)
    np.testing.assert_array_equal(
        cm.relu(values).output, np.asarray(keras.activations.relu(values.astype("float32")))
    )
    # The 2×2×2 example on the page, and a random one.
    for maps in (np.arange(1, 9, dtype=float).reshape(2, 2, 2), values):
        flat = np.asarray(keras.layers.Flatten()(maps[np.newaxis].astype("float32")))[0]
        assert [v.value for v in cm.flatten_keras(maps)] == flat.tolist()
        by_channel = [v.value for v in cm.flatten_by_channel(maps)]
        assert by_channel == maps.transpose(2, 0, 1).ravel().tolist()
    keras_order = [(v.row, v.col, v.channel) for v in cm.flatten_keras(np.zeros((2, 2, 2)))]
    assert keras_order[:3] == [(0, 0, 0), (0, 0, 1), (0, 1, 0)]


def test_layer_count_matches_keras():
    for shape, filters, kernel in (((5, 5, 3), 4, 3), ((6, 6, 1), 1, 3), ((299, 299, 3), 128, 4)):
        count = cm.conv_layer_count(shape, filters, kernel, padding="same")
        model = keras.Sequential(
            [keras.Input(shape), keras.layers.Conv2D(filters, kernel, padding="same")]
        )
        assert count.params == model.count_params()
        assert count.output_shape == model.output_shape[1:]
    assert (
        cm.conv_layer_count((299, 299, 3), 128, 4).formula("Parameters").text
        == "(4·4·3 + 1)·128 = 6,272"
    )


# --------------------------------------------------------------------------------------------
# Sizes and their formulas
# --------------------------------------------------------------------------------------------


def test_size_formula_odd_cases():
    # Stride that does not divide evenly: rounded down, and the note says what is left over.
    size, text, note = cm.size_formula(7, 3, 3, "valid")
    assert (size, text) == (2, "⌊(7 − 3 + 2·0)/3⌋ + 1 = ⌊1.33333⌋ + 1 = 2")
    assert "not a multiple of the stride 3" in note
    # "same" with an even kernel: an odd number of zeros, the extra one after.
    size, text, note = cm.size_formula(6, 4, 1, "same")
    assert (size, text) == (6, "(6 − 4 + 1 + 2)/1 + 1 = 6")
    assert "extra zero goes after" in note
    # Explicit padding in the same style; P = 0 is exactly "valid".
    assert cm.size_formula(8, 3, 2, 1)[:2] == (4, "⌊(8 − 3 + 2·1)/2⌋ + 1 = ⌊3.5⌋ + 1 = 4")
    assert cm.size_formula(6, 3, 1, 0) == output_size(6, 3, 1, "valid")
    assert cm.size_formula(6, 3, 1, 1)[1] == output_size(6, 3, 1, "same")[1]


def test_window_that_does_not_fit_says_what_to_change():
    with pytest.raises(cm.ConvMathError) as err:
        cm.conv2d(np.zeros((4, 4)), np.zeros((5, 5)))
    assert "5×5 filter does not fit in the 4×4 input" in str(err.value)
    assert 'padding "same"' in str(err.value)
    assert cm.conv2d(np.zeros((4, 4)), np.zeros((5, 5)), padding="same").output_shape == (4, 4, 1)
    with pytest.raises(cm.ConvMathError, match="depth 1 but the input has 3 channels"):
        cm.conv2d(np.zeros((4, 4, 3)), np.zeros((3, 3, 1, 2)))
    with pytest.raises(cm.ConvMathError, match="stride"):
        cm.conv2d(np.zeros((4, 4)), np.zeros((3, 3)), strides=0)
    with pytest.raises(cm.ConvMathError, match="padding"):
        cm.conv2d(np.zeros((4, 4)), np.zeros((3, 3)), padding=-1)


# --------------------------------------------------------------------------------------------
# Grids typed by a learner
# --------------------------------------------------------------------------------------------


def test_parse_grid_reads_what_people_type():
    grid = cm.parse_grid([["3", "−1", "1/9"], [" 0,5 ", 2, np.float64(-4)]])
    np.testing.assert_allclose(grid, [[3, -1, 1 / 9], [0.5, 2, -4]])
    assert cm.grid_text(grid) == [["3", "-1", "0.111"], ["0.5", "2", "-4"]]


def test_parse_grid_lists_every_problem_with_its_place():
    with pytest.raises(cm.ConvMathError) as err:
        cm.parse_grid([["1", "abc", ""], [None, float("nan"), "1/0"]], "image")
    problems = err.value.problems
    assert problems[0] == (
        "image, row 1, column 2: 'abc' is not a number. Type a number such as 3, -1, 0.5 or 1/9."
    )
    assert problems[1] == "image, row 1, column 3 is empty. Type a number (0 if nothing is there)."
    assert "row 2, column 1 is empty" in problems[2] and "row 2, column 2 is empty" in problems[3]
    assert "divides by zero" in problems[4]
    with pytest.raises(cm.ConvMathError, match="different lengths"):
        cm.parse_grid([["1", "2"], ["3"]])
    with pytest.raises(cm.ConvMathError, match="largest allowed is 2×2"):
        cm.parse_grid([["1"] * 3] * 3, max_side=2)
    with pytest.raises(cm.ConvMathError, match="not a number"):
        cm.parse_grid([[True]])
    with pytest.raises(cm.ConvMathError, match="not a finite"):
        cm.parse_grid([["inf"]])


# --------------------------------------------------------------------------------------------
# Photos
# --------------------------------------------------------------------------------------------


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


PHOTO_LIMITS = {"max_side": 32, "max_pixels": 1_000_000, "max_bytes": 1_000_000}


def test_photo_is_grayscale_and_shrunk():
    photo = Image.new("RGB", (100, 50), (255, 0, 0))
    gray = cm.photo_to_grayscale(_png(photo), **PHOTO_LIMITS)
    assert gray.shape == (16, 32)
    assert gray[0, 0] == pytest.approx(76, abs=1)  # Pillow's luma of pure red
    transparent = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    assert cm.photo_to_grayscale(_png(transparent), **PHOTO_LIMITS).min() == 255  # white paper


def test_bad_photos_get_clear_messages():
    good = _png(Image.new("L", (40, 40), 128))
    with pytest.raises(cm.ConvMathError, match="not an image"):
        cm.photo_to_grayscale(b"hello, I am text", **PHOTO_LIMITS)
    with pytest.raises(cm.ConvMathError, match="damaged or cut short"):
        cm.photo_to_grayscale(good[: len(good) // 2], **PHOTO_LIMITS)
    with pytest.raises(cm.ConvMathError, match="empty"):
        cm.photo_to_grayscale(b"", **PHOTO_LIMITS)
    with pytest.raises(cm.ConvMathError, match=r"1,600 pixels; the limit is 1,000\."):
        cm.photo_to_grayscale(good, max_side=32, max_pixels=1000, max_bytes=10**6)
    with pytest.raises(cm.ConvMathError, match="MB; the limit is"):
        cm.photo_to_grayscale(good, max_side=32, max_pixels=10**6, max_bytes=10)


def test_number_text():
    assert [cm.number_text(v) for v in (-7, 2.5, 1 / 9, -0.0, 1e6)] == [
        "−7",
        "2.5",
        "0.111",
        "0",
        "1000000",
    ]
    assert cm.product_text(-1, -1) == "(−1)·(−1)"
    # a blur's 1/9 is written as a fraction, so the written terms add up to the written total
    assert cm.product_text(3, 1 / 9) == "3·(1/9)" and cm.product_text(2, 0.125) == "2·0.125"
    assert cm.product_text(1, -1 / 49) == "1·(−1/49)"
    assert cm.join_terms(["3", "−2", "1·(−1)"]) == "3 − 2 + 1·(−1)"


# --------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------


def test_cli_conv_writes_the_worked_example(capsys):
    from cnn_core.__main__ import main

    assert main(["conv", "--example", "edge_6x6", "--steps"]) == 0
    out = capsys.readouterr().out
    assert "Output height: (6 − 3 + 2·0)/1 + 1 = 4" in out
    assert "   −7   −2    2   −7" in out
    assert "row 1, column 2: 1·1 + 1·0 + 2·(−1)" in out and out.count("\nrow ") == 16
    assert main(["conv", "--example", "x_match"]) == 0
    assert "0.556" in capsys.readouterr().out


def test_cli_conv_bad_input_exits_2_with_a_message(capsys):
    from cnn_core.__main__ import main

    assert main(["conv", "--image", "1 2; 3 abc", "--kernel", "sobel_x"]) == 2
    assert "row 2, column 2: 'abc' is not a number" in capsys.readouterr().err
    assert main(["conv", "--example", "edge_6x6", "--kernel", "1 1 1 1 1 1 1"]) == 2
    assert "1×7 filter does not fit in the 6×6 input" in capsys.readouterr().err
    assert main(["conv", "--example", "edge_6x6", "--stride", "0"]) == 2
    assert main(["conv", "--example", "nope"]) == 2
    assert "choose one of: edge_6x6" in capsys.readouterr().err
    assert main(["conv"]) == 2
