"""The architecture spec: the JSON format, round-trips, and messages a learner can act on."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnn_core.presets import PRESETS, get_preset
from cnn_core.shapes import validate
from cnn_core.spec import (
    Conv2D,
    Dense,
    MaxPooling2D,
    Problem,
    Spec,
    SpecError,
    errors,
    layer_from_dict,
)

EXAMPLE = """{"input_shape": [28, 28, 1],
 "layers": [
   {"type": "Conv2D", "filters": 32, "kernel_size": 3, "strides": 1, "padding": "valid", "activation": "relu"},
   {"type": "MaxPooling2D", "pool_size": 2},
   {"type": "Flatten"},
   {"type": "Dense", "units": 10, "activation": "softmax"}]}"""


def spec_of(*layers: dict, input_shape=(28, 28, 1)) -> Spec:
    return Spec.from_dict({"input_shape": list(input_shape), "layers": list(layers)})


def messages(spec: Spec, num_classes=None) -> list[str]:
    return [str(p) for p in errors(validate(spec, num_classes))]


def test_the_documented_example_parses_and_writes_back_identically():
    spec = Spec.from_json(EXAMPLE)
    assert spec.input_shape == (28, 28, 1)
    assert [layer.type for layer in spec.layers] == ["Conv2D", "MaxPooling2D", "Flatten", "Dense"]
    assert spec.layers[0] == Conv2D(filters=32, kernel_size=3, activation="relu")
    assert spec.to_dict() == json.loads(EXAMPLE)
    assert validate(spec) == []


def test_omitted_arguments_take_keras_defaults():
    conv = layer_from_dict({"type": "Conv2D", "filters": 8, "kernel_size": [3, 5]})
    assert conv.keras_kwargs() == {
        "filters": 8,
        "kernel_size": (3, 5),
        "strides": (1, 1),
        "padding": "valid",
        "activation": None,
        "use_bias": True,
        "dilation_rate": (1, 1),
        "groups": 1,
    }
    pool = layer_from_dict({"type": "AveragePooling2D"})
    assert pool.keras_kwargs() == {"pool_size": (2, 2), "strides": None, "padding": "valid"}
    assert layer_from_dict({"type": "BatchNormalization"}).keras_kwargs() == {
        "momentum": 0.99,
        "epsilon": 0.001,
        "center": True,
        "scale": True,
    }


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_round_trip_through_json_and_are_valid(name):
    spec = PRESETS[name].spec
    assert Spec.from_json(spec.to_json()) == spec
    assert errors(validate(spec, num_classes=10)) == []


def test_get_preset_by_slug_or_title_and_unknown_names():
    assert get_preset("Tutorial CNN") is get_preset("tutorial")
    with pytest.raises(KeyError, match="choose one of: tutorial"):
        get_preset("resnet")


_layer = st.one_of(
    st.builds(
        lambda f, k, s, p, a, b: {
            "type": "Conv2D",
            "filters": f,
            "kernel_size": k,
            "strides": s,
            "padding": p,
            "activation": a,
            "use_bias": b,
        },
        st.integers(1, 64),
        st.one_of(st.integers(1, 7), st.tuples(st.integers(1, 7), st.integers(1, 7)).map(list)),
        st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)).map(list)),
        st.sampled_from(["valid", "same"]),
        st.sampled_from([None, "relu", "tanh", "selu"]),
        st.booleans(),
    ),
    st.builds(
        lambda t, p, s: {"type": t, "pool_size": p, **({"strides": s} if s else {})},
        st.sampled_from(["MaxPooling2D", "AveragePooling2D"]),
        st.integers(1, 4),
        st.one_of(st.none(), st.integers(1, 4)),
    ),
    st.builds(
        lambda m, c: {"type": "BatchNormalization", "momentum": m, "center": c},
        st.floats(0, 0.999),
        st.booleans(),
    ),
    st.builds(lambda r: {"type": "Dropout", "rate": r}, st.floats(0, 0.9)),
    st.just({"type": "Flatten"}),
    st.just({"type": "GlobalAveragePooling2D"}),
    st.builds(
        lambda u, a: {"type": "Dense", "units": u, "activation": a},
        st.integers(1, 512),
        st.sampled_from([None, "relu", "softmax"]),
    ),
    st.builds(
        lambda a: {"type": "Activation", "activation": a},
        st.sampled_from(["relu", "softmax", "sigmoid"]),
    ),
)


@settings(max_examples=150, deadline=None)
@given(
    input_shape=st.tuples(st.integers(1, 64), st.integers(1, 64), st.sampled_from([1, 3])),
    layers=st.lists(_layer, min_size=1, max_size=8),
)
def test_any_spec_round_trips_through_json(input_shape, layers):
    spec = spec_of(*layers, input_shape=input_shape)
    again = Spec.from_json(spec.to_json())
    assert again == spec
    assert again.to_json() == spec.to_json()
    validate(spec)  # never raises, whatever the layers


# ------------------------------------------------------------------------------------------
# Messages: each names the layer, says what is wrong and what to change
# ------------------------------------------------------------------------------------------


def load_error(data) -> list[Problem]:
    with pytest.raises(SpecError) as info:
        Spec.from_json(data) if isinstance(data, str | bytes) else Spec.from_dict(data)
    return info.value.problems


def test_unknown_type_suggests_the_right_name():
    (problem,) = load_error(
        {"input_shape": [28, 28, 1], "layers": [{"type": "Conv2d", "filters": 3}]}
    )
    assert problem.position == 1
    assert 'Did you mean "Conv2D"?' in str(problem)
    assert str(problem).startswith("Layer 1: unknown layer type 'Conv2d'")


def test_unknown_argument_suggests_the_right_name_and_lists_the_allowed_ones():
    (problem,) = load_error(
        {"input_shape": [28, 28, 1], "layers": [{"type": "Conv2D", "filters": 3, "kernal_size": 3}]}
    )
    text = str(problem)
    assert text.startswith("Layer 1 (Conv2D): unknown argument 'kernal_size'.")
    assert 'Did you mean "kernel_size"?' in text
    assert "filters, kernel_size, strides, padding, activation, use_bias" in text


def test_missing_required_argument():
    (problem,) = load_error({"input_shape": [28, 28, 1], "layers": [{"type": "Dense"}]})
    assert str(problem) == 'Layer 1 (Dense): the argument "units" is required.'


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        (
            {"type": "Conv2D", "filters": 0, "kernel_size": 3},
            "Layer 2 (Conv2D): filters is 0; it must be at least 1.",
        ),
        (
            {"type": "Conv2D", "filters": -4, "kernel_size": 3},
            "filters is -4; it must be at least 1.",
        ),
        (
            {"type": "Conv2D", "filters": 8, "kernel_size": [3, 0]},
            "kernel_size width is 0; it must be at least 1.",
        ),
        (
            {"type": "Conv2D", "filters": 8, "kernel_size": [3, 3, 3]},
            "kernel_size must be one number or a pair",
        ),
        (
            {"type": "Conv2D", "filters": 2.5, "kernel_size": 3},
            "filters must be a whole number, not 2.5.",
        ),
        (
            {"type": "Conv2D", "filters": True, "kernel_size": 3},
            "filters must be a whole number, not True.",
        ),
        (
            {"type": "Conv2D", "filters": "32", "kernel_size": 3},
            "filters must be a whole number, not '32'.",
        ),
        (
            {"type": "Conv2D", "filters": 8, "kernel_size": 3, "padding": "sme"},
            'Did you mean "same"?',
        ),
        (
            {"type": "Conv2D", "filters": 8, "kernel_size": 3, "activation": "rellu"},
            'Did you mean "relu"?',
        ),
        (
            {"type": "MaxPooling2D", "pool_size": 2, "strides": 0},
            "strides is 0; it must be at least 1.",
        ),
        ({"type": "Dropout", "rate": 1.5}, "rate is 1.5; it must be at least 0 and below 1"),
        ({"type": "Dense", "units": 10, "use_bias": "yes"}, "use_bias must be true or false"),
        (
            {"type": "BatchNormalization", "momentum": 1},
            "momentum is 1; it must be at least 0 and below 1.",
        ),
        ({"type": "Dense", "units": 10**9}, "units is 1,000,000,000; CNN Lab allows at most"),
    ],
)
def test_bad_arguments_are_explained(layer, expected):
    problems = load_error({"input_shape": [28, 28, 1], "layers": [{"type": "Flatten"}, layer]})
    assert len(problems) == 1
    assert expected in str(problems[0])
    assert problems[0].position == 2


def test_all_broken_layers_are_reported_at_once():
    problems = load_error(
        {
            "input_shape": [28, 0, 1],
            "layers": [
                {"type": "Conv2D", "filters": 0, "kernel_size": 3},
                {"type": "Nope"},
                {"type": "Flatten"},
            ],
        }
    )
    assert [p.position for p in problems] == [None, 1, 2]
    assert str(problems[0]) == "Input: width is 0; it must be at least 1."


def test_a_whole_number_written_as_a_float_is_accepted():
    assert layer_from_dict({"type": "Dense", "units": 10.0}).units == 10


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{", "This is not valid JSON (line 1, column 2"),
        ("[1, 2]", "A spec must be an object"),
        ('{"layers": [{"type": "Flatten"}]}', '"input_shape" is missing'),
        ('{"input_shape": [28, 28, 1], "layers": []}', '"layers" must be a non-empty list'),
        (
            '{"input_shape": [28, 28], "layers": [{"type": "Flatten"}]}',
            "input_shape must be [height, width, channels]",
        ),
        (
            '{"input_shape": [28, 28, 1], "layers": [{"type": "Flatten"}], "name": "x"}',
            "Unknown key(s) 'name'",
        ),
        ('{"input_shape": [28, 28, 1], "layers": ["Conv2D"]}', "each layer must be an object"),
        (b"\x89PNG\r\n\x1a\n\x00\xff", "This file is not text"),
        ("[" * 100_000, "nested far too deeply"),
    ],
)
def test_garbage_json_gets_a_message_not_a_traceback(text, expected):
    problems = load_error(text)
    assert expected in "\n".join(map(str, problems))


def test_too_many_layers_is_refused():
    from cnn_core.config import LIMITS

    problems = load_error(
        {"input_shape": [28, 28, 1], "layers": [{"type": "Flatten"}] * (LIMITS.max_layers + 1)}
    )
    assert f"CNN Lab allows at most {LIMITS.max_layers}" in str(problems[0])


# ------------------------------------------------------------------------------------------
# Layers that do not fit together
# ------------------------------------------------------------------------------------------

HEAD = [{"type": "Flatten"}, {"type": "Dense", "units": 10, "activation": "softmax"}]


def test_pool_window_larger_than_its_input():
    spec = spec_of(
        {"type": "Conv2D", "filters": 4, "kernel_size": 3},
        {"type": "MaxPooling2D", "pool_size": 4},
        *HEAD,
        input_shape=(5, 5, 1),
    )
    (message,) = messages(spec)
    assert message == (
        'Layer 2 (MaxPooling2D): its 4×4 pool window does not fit in its 3×3 input with "valid" '
        "padding (which adds no zeros): the output size would be 0×0, so no pixels are left. Use a "
        'smaller pool_size, padding "same", or remove a shrinking layer before it.'
    )


def test_spatial_size_reaching_zero_after_many_layers():
    conv = {"type": "Conv2D", "filters": 4, "kernel_size": 3}
    spec = spec_of(
        conv,
        {"type": "MaxPooling2D"},
        conv,
        {"type": "MaxPooling2D"},
        conv,
        *HEAD,
        input_shape=(12, 12, 1),
    )
    (message,) = messages(spec)
    assert message.startswith("Layer 5 (Conv2D): its 3×3 kernel does not fit in its 1×1 input")
    rows = __import__("cnn_core.shapes", fromlist=["ledger"]).ledger(spec).rows
    assert (
        rows[3].output_shape == (1, 1, 4)
        and rows[4].output_shape is None
        and rows[5].output_shape is None
    )


def test_dense_on_a_feature_map_suggests_flatten():
    spec = spec_of(
        {"type": "Conv2D", "filters": 4, "kernel_size": 3},
        {"type": "Dense", "units": 10, "activation": "softmax"},
    )
    (message,) = messages(spec)
    assert message.startswith("Layer 2 (Dense): receives a 26×26×4 feature map, not a vector.")
    assert "add a Flatten (or GlobalAveragePooling2D) layer before it" in message


def test_conv_after_flatten_is_explained():
    spec = spec_of({"type": "Flatten"}, {"type": "Conv2D", "filters": 4, "kernel_size": 3}, *HEAD)
    (message,) = messages(spec)
    assert "Layer 2 (Conv2D): needs an image-shaped input" in message
    assert "layer 1 (Flatten) gives a flat vector of 784 values" in message


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        (
            [{"type": "Conv2D", "filters": 4, "kernel_size": 3}],
            "the network ends with a 26×26×4 feature map",
        ),
        (
            [{"type": "Flatten"}, {"type": "Dropout", "rate": 0.5}],
            "must end with a classifier, but its last layer is Dropout",
        ),
        (
            [{"type": "Flatten"}, {"type": "Dense", "units": 10}],
            "has activation 'none', so its 10 outputs are not probabilities",
        ),
        (
            [{"type": "Flatten"}, {"type": "Dense", "units": 1, "activation": "softmax"}],
            "has 1 unit",
        ),
        (
            [
                {"type": "Flatten"},
                {"type": "Dense", "units": 10, "activation": "relu"},
                {"type": "Activation", "activation": "softmax"},
            ],
            "applies 'relu' right before the final softmax",
        ),
    ],
)
def test_a_missing_or_broken_classifier_is_explained(layers, expected):
    (message,) = messages(spec_of(*layers))
    assert expected in message


def test_dense_then_softmax_activation_is_a_valid_classifier():
    spec = spec_of(
        {"type": "Flatten"},
        {"type": "Dense", "units": 10},
        {"type": "Activation", "activation": "softmax"},
    )
    assert messages(spec) == []


def test_number_of_classes_is_checked_when_known():
    spec = get_preset("tutorial").spec
    assert messages(spec, num_classes=10) == []
    (message,) = messages(spec, num_classes=2)
    assert (
        message == "Layer 9 (Dense): has 10 units, but the data set has 2 classes: set units to 2."
    )


def test_warnings_do_not_stop_a_build():
    spec = spec_of(
        {"type": "Conv2D", "filters": 4, "kernel_size": 2, "strides": 3},
        {"type": "Flatten"},
        {"type": "Dense", "units": 16, "activation": "softmax"},
        {"type": "Dense", "units": 10, "activation": "softmax"},
    )
    problems = validate(spec)
    assert errors(problems) == []
    warnings = [str(p) for p in problems]
    assert warnings[0].startswith("Layer 1 (Conv2D): its stride 3×3 is larger than its 2×2 window")
    assert warnings[1].startswith("Layer 3 (Dense): uses softmax in the middle of the network")


def test_spec_editing_returns_new_specs():
    spec = get_preset("tiny").spec
    moved = spec.move_layer(0, 1)
    assert moved.layers[1] == spec.layers[0] and spec.layers[0].type == "Conv2D"
    assert spec.move_layer(0, -1) == spec  # already at the top: stays
    inserted = spec.insert_layer(1, Dense(units=3))
    assert len(inserted.layers) == len(spec.layers) + 1 and inserted.layers[1] == Dense(units=3)
    assert inserted.remove_layer(1) == spec
    assert spec.replace_layer(1, MaxPooling2D(pool_size=3)).layers[1].pool_size == 3
    assert spec.with_input_shape((32, 32, 3)).input_shape == (32, 32, 3)
