"""The arithmetic and the formulas it writes out, with the learner's own numbers."""

import doctest
import subprocess
import sys

import pytest

import cnn_core.shapes
from cnn_core.presets import get_preset
from cnn_core.shapes import (
    dense_weights_per_neuron,
    fully_connected_comparison,
    human_bytes,
    ledger,
    output_size,
    same_padding,
)
from cnn_core.spec import Spec


def spec_of(*layers, input_shape=(28, 28, 1)) -> Spec:
    return Spec.from_dict({"input_shape": list(input_shape), "layers": list(layers)})


def formulas(row) -> dict[str, str]:
    return {f.label: f.text for f in row.formulas}


def test_doctests():
    failures, tried = doctest.testmod(cnn_core.shapes)
    assert tried > 0 and failures == 0


def test_shapes_module_does_not_import_tensorflow():
    code = "import sys, cnn_core.shapes, cnn_core.spec, cnn_core.build, cnn_core.presets; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False False"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((28, 3, 1, "valid"), (26, "(28 − 3 + 2·0)/1 + 1 = 26")),
        ((28, 3, 2, "valid"), (13, "⌊(28 − 3 + 2·0)/2⌋ + 1 = ⌊12.5⌋ + 1 = 13")),
        ((27, 3, 2, "valid"), (13, "(27 − 3 + 2·0)/2 + 1 = 13")),
        ((28, 3, 1, "same"), (28, "(28 − 3 + 2·1)/1 + 1 = 28")),
        ((28, 4, 1, "same"), (28, "(28 − 4 + 1 + 2)/1 + 1 = 28")),
        ((28, 3, 2, "same"), (14, "(28 − 3 + 0 + 1)/2 + 1 = 14")),
        ((28, 2, 5, "same"), (6, "⌊(28 − 2 + 2·0)/5⌋ + 1 = ⌊5.2⌋ + 1 = 6")),
        ((6, 3, 1, "valid"), (4, "(6 − 3 + 2·0)/1 + 1 = 4")),
        ((2, 3, 1, "valid"), (0, "(2 − 3 + 2·0)/1 + 1 = 0")),
        ((2, 3, 2, "valid"), (0, "⌊(2 − 3 + 2·0)/2⌋ + 1 = ⌊-0.5⌋ + 1 = 0")),
    ],
)
def test_output_size_formula(args, expected):
    size, text, _ = output_size(*args)
    assert (size, text) == expected


def test_rounding_and_padding_notes_explain_what_keras_does():
    _, _, note = output_size(28, 3, 2, "valid")
    assert str(note) == (
        "25 is not a multiple of the stride 2: Keras rounds down, so the last 1 pixel is never "
        "covered by any window."
    )
    assert str(output_size(31, 2, 3, "valid")[2]).endswith(
        "the last 2 pixels are never covered by any window."
    )
    _, _, note = output_size(28, 4, 1, "same")
    assert (
        '"same" padding: Keras wants ⌈28/1⌉ = 28 outputs and adds 1 zero before and 2 after'
        in str(note)
    )
    assert "the extra zero goes after" in str(note)
    assert output_size(28, 3, 1, "valid")[2] == ""


def test_same_padding_puts_the_odd_zero_after():
    assert same_padding(28, 3, 1) == (1, 1)
    assert same_padding(28, 4, 1) == (1, 2)
    assert same_padding(28, 3, 3) == (1, 1)  # ⌈28/3⌉ = 10 outputs need (10−1)·3 + 3 = 30 pixels
    assert same_padding(28, 1, 3) == (0, 0)


def test_conv_row_formulas_use_the_learners_numbers():
    row = ledger(get_preset("tutorial").spec).rows[0]
    texts = formulas(row)
    assert texts["Output height and width"] == "(28 − 3 + 2·0)/1 + 1 = 26"
    assert texts["Parameters"] == "(3·3·1 + 1)·32 = 320"
    assert texts["Multiply-adds"] == "3·3·1 · 26·26·32 = 194,688"
    assert (
        texts["Activations (one image, float32)"] == "26·26·32 = 21,632 values · 4 bytes = 84.5 KB"
    )
    assert row.receptive_field == (3, 3) and row.jump == (1, 1)


def test_non_square_layers_get_a_formula_per_axis():
    spec = spec_of(
        {"type": "Conv2D", "filters": 4, "kernel_size": [3, 5], "strides": [1, 2]},
        {"type": "Flatten"},
        {"type": "Dense", "units": 10, "activation": "softmax"},
        input_shape=(20, 31, 3),
    )
    row = ledger(spec).rows[0]
    texts = formulas(row)
    assert texts["Output height"] == "(20 − 3 + 2·0)/1 + 1 = 18"
    assert texts["Output width"] == "(31 − 5 + 2·0)/2 + 1 = 14"
    assert texts["Parameters"] == "(3·5·3 + 1)·4 = 184"
    assert row.output_shape == (18, 14, 4)
    assert row.receptive_field == (3, 5) and row.jump == (1, 2)


def test_use_bias_false_drops_the_plus_one():
    spec = spec_of(
        {"type": "Conv2D", "filters": 32, "kernel_size": 3, "use_bias": False},
        {"type": "Flatten"},
        {"type": "Dense", "units": 10, "use_bias": False, "activation": "softmax"},
    )
    rows = ledger(spec).rows
    assert formulas(rows[0])["Parameters"] == "3·3·1·32 = 288"
    assert formulas(rows[2])["Parameters"] == "21,632·10 = 216,320"


def test_batch_norm_splits_trainable_and_non_trainable():
    spec = spec_of(
        {"type": "Conv2D", "filters": 16, "kernel_size": 3},
        {"type": "BatchNormalization", "momentum": 0.9},
        {"type": "BatchNormalization", "center": False},
        {"type": "GlobalAveragePooling2D"},
        {"type": "Dense", "units": 10, "activation": "softmax"},
    )
    rows = ledger(spec).rows
    assert (rows[1].params, rows[1].trainable_params, rows[1].non_trainable_params) == (64, 32, 32)
    assert formulas(rows[1])["Trainable parameters"] == "2·16 = 32"
    assert formulas(rows[1])["Non-trainable parameters"] == "2·16 = 32"
    assert (rows[2].params, rows[2].trainable_params, rows[2].non_trainable_params) == (48, 16, 32)
    assert rows[3].output_shape == (16,)


def test_receptive_field_grows_through_the_tutorial_cnn():
    rows = ledger(get_preset("tutorial").spec).rows
    assert [r.receptive_field for r in rows[:6]] == [
        (3, 3),
        (4, 4),
        (8, 8),
        (10, 10),
        (18, 18),
        (22, 22),
    ]
    assert [r.jump for r in rows[:6]] == [(1, 1), (2, 2), (2, 2), (4, 4), (4, 4), (8, 8)]
    assert rows[-1].receptive_field is None  # a Dense output sees the whole image


def test_flatten_row_explains_channels_last():
    rows = ledger(
        spec_of(
            {"type": "Conv2D", "filters": 32, "kernel_size": 3},
            {"type": "MaxPooling2D"},
            {"type": "Flatten"},
            {"type": "Dense", "units": 10, "activation": "softmax"},
        )
    ).rows
    flatten = rows[2].formulas[0]
    assert flatten.text == "13·13·32 = 5,408 values"
    assert "channels-last" in flatten.note


def test_totals():
    led = ledger(get_preset("tutorial").spec)
    assert led.total_params == 110_474
    assert led.trainable_params == 110_474 and led.non_trainable_params == 0
    assert led.total_macs == sum(r.macs for r in led.rows) == 3_106_176
    assert led.weight_bytes == 110_474 * 4
    assert led.output_shape == (10,)


def test_fully_connected_comparison_from_the_lessons():
    assert dense_weights_per_neuron((28, 28, 3)) == (2_352, "28·28·3 = 2,352")
    assert dense_weights_per_neuron((200, 200, 3)) == (120_000, "200·200·3 = 120,000")
    spec = get_preset("tutorial").spec.with_input_shape((28, 28, 3))
    comparison = fully_connected_comparison(spec)
    assert comparison.dense_weights_per_neuron == 2_352
    assert comparison.conv_weights_per_neuron == 27 and comparison.conv_formula == "3·3·3 = 27"
    assert comparison.conv_positions == 26 * 26
    assert comparison.conv_params == (27 + 1) * 32
    assert comparison.dense_layer_params == (2_352 + 1) * 26 * 26 * 32
    assert comparison.ratio == pytest.approx(comparison.dense_layer_params / comparison.conv_params)


def test_comparison_without_a_conv_layer_gives_only_the_dense_count():
    spec = spec_of({"type": "Flatten"}, {"type": "Dense", "units": 10, "activation": "softmax"})
    comparison = fully_connected_comparison(spec)
    assert comparison.dense_weights_per_neuron == 784 and comparison.conv_params is None
    assert comparison.ratio is None


def test_human_bytes():
    assert human_bytes(40) == "40 bytes"
    assert human_bytes(4096) == "4.0 KB"
    assert human_bytes(3 * 1024**2) == "3.0 MB"
