"""Keras is the oracle: every shape and count our arithmetic gives must equal the built model's.

Checked on every preset and on generated architectures: odd and even sizes, non-square inputs and
kernels, strides larger than kernels, both paddings, pooling strides other than the window,
batch norm (with and without centre/scale), global average pooling, use_bias=False.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnn_core.build import build_model, layer_name, to_keras_code
from cnn_core.presets import PRESETS
from cnn_core.shapes import ledger, validate
from cnn_core.spec import Spec, errors

GENERATED_EXAMPLES = 220


def count(weights) -> int:
    return int(sum(math.prod(w.shape) for w in weights))


def assert_matches_keras(spec: Spec) -> keras.Model:
    """Build ``spec`` with Keras and compare every row of our ledger with the real layer."""
    led = ledger(spec)
    assert led.ok, [str(p) for p in led.problems]
    model = build_model(spec)
    assert len(model.layers) == len(led.rows)
    for row, layer in zip(led.rows, model.layers, strict=True):
        where = f"layer {row.position} ({row.label}) of {spec.to_dict()}"
        assert layer.name == layer_name(row.position, row.layer)
        assert tuple(layer.output.shape[1:]) == row.output_shape, where
        assert layer.count_params() == row.params, where
        assert count(layer.trainable_weights) == row.trainable_params, where
        assert count(layer.non_trainable_weights) == row.non_trainable_params, where
    assert model.count_params() == led.total_params
    assert tuple(model.layers[-1].output.shape[1:]) == led.output_shape
    return model


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_match_keras(name):
    assert_matches_keras(PRESETS[name].spec)


def test_tutorial_cnn_numbers_from_the_lessons():
    """28×28×1 → Conv 32 3×3 valid → 26×26×32 → MaxPool 2 → 13×13×32 …; 110,474 parameters."""
    led = ledger(PRESETS["tutorial"].spec)
    assert [r.output_shape for r in led.rows[:2]] == [(26, 26, 32), (13, 13, 32)]
    assert led.total_params == 110_474


def test_product_examples_match_keras():
    """(4·4·3+1)·128 = 6,272 parameters; 549,279,744 multiply-adds on 299×299 with same padding."""
    spec = Spec.from_dict(
        {
            "input_shape": [299, 299, 3],
            "layers": [
                {"type": "Conv2D", "filters": 128, "kernel_size": 4, "padding": "same"},
                {"type": "GlobalAveragePooling2D"},
                {"type": "Dense", "units": 10, "activation": "softmax"},
            ],
        }
    )
    model = assert_matches_keras(spec)
    row = ledger(spec).rows[0]
    assert row.params == 6_272 == model.layers[0].count_params()
    assert row.output_shape == (299, 299, 128)
    assert row.macs == 549_279_744 == 4 * 4 * 3 * math.prod(model.layers[0].output.shape[1:])


def test_flatten_of_13_13_32_gives_5408_values():
    spec = Spec.from_dict(
        {
            "input_shape": [28, 28, 1],
            "layers": [
                {"type": "Conv2D", "filters": 32, "kernel_size": 3, "activation": "relu"},
                {"type": "MaxPooling2D", "pool_size": 2},
                {"type": "Flatten"},
                {"type": "Dense", "units": 10, "activation": "softmax"},
            ],
        }
    )
    model = assert_matches_keras(spec)
    assert model.layers[1].output.shape[1:] == (13, 13, 32)
    assert model.layers[2].output.shape[1:] == (5408,)


@st.composite
def architectures(draw) -> Spec:
    """A random network, drawn layer by layer from the shape so far, so most of them fit."""
    height, width = draw(st.integers(4, 40)), draw(st.integers(4, 40))
    channels = draw(st.sampled_from([1, 2, 3]))
    layers: list[dict] = []
    h, w = height, width
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["conv", "conv", "pool", "bn", "dropout", "activation"]))
        padding = draw(st.sampled_from(["valid", "same"]))
        if kind == "conv":
            kernel = [
                draw(st.integers(1, max(1, min(h, 6)))),
                draw(st.integers(1, max(1, min(w, 6)))),
            ]
            strides = [draw(st.integers(1, 4)), draw(st.integers(1, 4))]
            layer = {
                "type": "Conv2D",
                "filters": draw(st.integers(1, 12)),
                "kernel_size": kernel[0]
                if kernel[0] == kernel[1] and draw(st.booleans())
                else kernel,
                "strides": strides[0] if strides[0] == strides[1] else strides,
                "padding": padding,
                "activation": draw(st.sampled_from([None, "relu", "selu"])),
                "use_bias": draw(st.booleans()),
            }
        elif kind == "pool":
            window = [
                draw(st.integers(1, max(1, min(h, 4)))),
                draw(st.integers(1, max(1, min(w, 4)))),
            ]
            layer = {
                "type": draw(st.sampled_from(["MaxPooling2D", "AveragePooling2D"])),
                "pool_size": window,
                "padding": padding,
            }
            if draw(st.booleans()):
                layer["strides"] = [draw(st.integers(1, 4)), draw(st.integers(1, 4))]
        elif kind == "bn":
            layer = {
                "type": "BatchNormalization",
                "momentum": draw(st.sampled_from([0.9, 0.99])),
                "center": draw(st.booleans()),
                "scale": draw(st.booleans()),
            }
        elif kind == "dropout":
            layer = {"type": "Dropout", "rate": draw(st.sampled_from([0.1, 0.25, 0.5]))}
        else:
            layer = {"type": "Activation", "activation": draw(st.sampled_from(["relu", "tanh"]))}
        layers.append(layer)
        # Follow the size with our own arithmetic; a layer that does not fit ends the drawing.
        rows = ledger(
            Spec(
                (height, width, channels),
                tuple(
                    Spec.from_dict(
                        {"input_shape": [height, width, channels], "layers": layers}
                    ).layers
                ),
            )
        ).rows
        if rows[-1].output_shape is None:
            break
        h, w = rows[-1].output_shape[:2]
    head = draw(st.sampled_from(["flatten", "gap"]))
    layers.append({"type": "Flatten"} if head == "flatten" else {"type": "GlobalAveragePooling2D"})
    if draw(st.booleans()):
        layers.append(
            {
                "type": "Dense",
                "units": draw(st.integers(1, 32)),
                "activation": "relu",
                "use_bias": draw(st.booleans()),
            }
        )
        if draw(st.booleans()):
            layers.append({"type": "BatchNormalization", "scale": draw(st.booleans())})
    layers.append({"type": "Dense", "units": draw(st.integers(2, 12)), "activation": "softmax"})
    return Spec.from_dict({"input_shape": [height, width, channels], "layers": layers})


@settings(
    max_examples=GENERATED_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(spec=architectures())
def test_generated_architectures_match_keras(spec):
    """Where we say a design fits, Keras builds it with exactly our numbers; where we say a
    window does not fit, Keras refuses to build it too."""
    if errors(validate(spec)):
        with pytest.raises(ValueError, match="zero or negative"):
            build_model(spec, check=False)
    else:
        assert_matches_keras(spec)


def test_generated_architectures_are_mostly_buildable():
    """The oracle test above must really compare at least 200 architectures."""
    buildable = 0
    strategy = architectures()
    seen = set()

    @settings(max_examples=GENERATED_EXAMPLES, deadline=None, database=None, derandomize=True)
    @given(spec=strategy)
    def collect(spec):
        nonlocal buildable
        key = spec.to_json()
        if key not in seen:
            seen.add(key)
            buildable += not errors(validate(spec))

    collect()
    assert buildable >= 200, buildable


def test_exported_keras_code_builds_the_same_model():
    """Run the generated code and compare it with build_model, layer config by layer config."""
    for preset in PRESETS.values():
        namespace: dict = {}
        exec(compile(to_keras_code(preset.spec, preset.title), "<export>", "exec"), namespace)
        exported = namespace["model"]
        built = build_model(preset.spec)
        assert exported.count_params() == built.count_params()
        assert len(exported.layers) == len(built.layers)
        for a, b in zip(exported.layers, built.layers, strict=True):
            config_a, config_b = a.get_config(), b.get_config()
            config_a.pop("name"), config_b.pop("name")
            assert type(a) is type(b)
            assert config_a == config_b, preset.name
        assert exported.input_shape == built.input_shape


@settings(max_examples=25, deadline=None)
@given(spec=architectures())
def test_exported_code_of_generated_architectures(spec):
    if errors(validate(spec)):
        return
    namespace: dict = {}
    exec(compile(to_keras_code(spec), "<export>", "exec"), namespace)
    exported, built = namespace["model"], build_model(spec)
    assert [type(layer) for layer in exported.layers] == [type(layer) for layer in built.layers]
    for a, b in zip(exported.layers, built.layers, strict=True):
        config_a, config_b = a.get_config(), b.get_config()
        config_a.pop("name"), config_b.pop("name")
        assert config_a == config_b


def test_built_model_computes_something_sensible():
    model = build_model(PRESETS["tiny"].spec)
    probabilities = model(np.zeros((2, 28, 28, 1), "float32"), training=False).numpy()
    assert probabilities.shape == (2, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_build_refuses_an_invalid_spec_with_the_learners_message():
    from cnn_core.spec import SpecError

    spec = Spec.from_dict(
        {
            "input_shape": [28, 28, 1],
            "layers": [{"type": "Dense", "units": 10, "activation": "softmax"}],
        }
    )
    with pytest.raises(SpecError, match=r"Layer 1 \(Dense\): receives a 28×28×1 feature map"):
        build_model(spec)


def test_every_offered_activation_is_a_keras_activation():
    from cnn_core.spec import ACTIVATIONS

    for name in ACTIVATIONS:
        assert callable(keras.activations.get(name))
