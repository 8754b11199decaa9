"""Keras is the oracle for graphs too: residual and parallel blocks, nesting, repeats and the newer
layers (DepthwiseConv2D, SeparableConv2D, ZeroPadding2D, ReLU, GlobalMaxPooling2D, grouped and
dilated Conv2D).

- Generated graph specs (small inputs, so the whole lot builds in seconds): where the ledger
  finds no error, the built functional model has exactly our shape and parameters in every layer;
  where it finds one, Keras refuses to build the model too (and the learner got a sentence, not
  a traceback).
- ``vgg16``, ``resnet50`` and ``mobilenetv2`` equal ``keras.applications`` exactly.
- The exported functional-API code builds the same model.
"""

from __future__ import annotations

import collections
import gc
import math

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnn_core.build import build_model, layer_name, to_keras_code
from cnn_core.presets import FAMOUS, MINI
from cnn_core.shapes import ledger, validate, walk
from cnn_core.spec import Spec, SpecError, errors, item_from_dict

GENERATED_EXAMPLES = 200


def count(weights) -> int:
    return int(sum(math.prod(w.shape) for w in weights))


def assert_graph_matches_keras(spec: Spec) -> keras.Model:
    """Build ``spec`` and compare every ledger row with the Keras layer of the same name."""
    led = ledger(spec)
    assert led.ok, [str(p) for p in led.problems]
    model = build_model(spec)
    built = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    assert len(built) == len(led.rows)
    for row in led.rows:
        layer = model.get_layer(layer_name(row.position, row.layer))
        where = f"row {row.position} ({row.label}) of {spec.to_json()}"
        assert tuple(layer.output.shape[1:]) == row.output_shape, where
        assert layer.count_params() == row.params, where
        assert count(layer.trainable_weights) == row.trainable_params, where
        assert count(layer.non_trainable_weights) == row.non_trainable_params, where
    assert model.count_params() == led.total_params
    assert tuple(model.layers[-1].output.shape[1:]) == led.output_shape
    return model


# --------------------------------------------------------------------------------------------
# Generated graphs
# --------------------------------------------------------------------------------------------


def _channel_layer(draw, channels: int) -> dict:
    """A layer that keeps the height, width and channels (mostly): batch norm, activations…"""
    kind = draw(st.sampled_from(["bn", "relu", "relu6", "activation", "dropout", "depthwise"]))
    if kind == "bn":
        return {
            "type": "BatchNormalization",
            "center": draw(st.booleans()),
            "scale": draw(st.booleans()),
        }
    if kind == "relu":
        return {"type": "ReLU"}
    if kind == "relu6":
        return {
            "type": "ReLU",
            "max_value": 6.0,
            "negative_slope": draw(st.sampled_from([0.0, 0.1])),
        }
    if kind == "activation":
        return {
            "type": "Activation",
            "activation": draw(st.sampled_from(["relu", "tanh", "swish"])),
        }
    if kind == "dropout":
        return {"type": "Dropout", "rate": 0.25}
    return {
        "type": "DepthwiseConv2D",
        "kernel_size": draw(st.integers(1, 3)),
        "padding": "same",
        "dilation_rate": draw(st.sampled_from([1, 1, 2])),
        "use_bias": draw(st.booleans()),
    }


def _shaping_layer(draw, channels: int, filters: int, stride: int) -> dict:
    """A layer that gives ``filters`` channels with this stride (when it is "same"), or now and
    then one that does not fit its neighbours: a "valid" window, zero padding, odd filters."""
    kind = draw(
        st.sampled_from(["conv"] * 3 + ["grouped", "separable", "depthwise", "pool", "pad"])
    )
    padding = draw(st.sampled_from(["same"] * 7 + ["valid"]))
    kernel = draw(st.integers(1, 3))
    dilation = draw(st.sampled_from([1, 1, 2])) if stride == 1 else 1
    if kind == "grouped":
        groups = draw(st.sampled_from([g for g in (1, 2, 3) if filters % g == 0]))
        return {"type": "Conv2D", "filters": filters, "kernel_size": kernel, "strides": stride,
                "padding": padding, "groups": groups, "use_bias": draw(st.booleans())}  # fmt: skip
    if kind == "separable":
        return {"type": "SeparableConv2D", "filters": filters, "kernel_size": kernel,
                "strides": stride, "padding": padding, "dilation_rate": dilation,
                "depth_multiplier": draw(st.integers(1, 2))}  # fmt: skip
    if kind == "depthwise":  # channels · multiplier: right only when that is the filters
        multiplier = max(1, filters // channels) if filters % channels == 0 else 1
        return {"type": "DepthwiseConv2D", "kernel_size": kernel, "strides": stride,
                "padding": padding, "depth_multiplier": multiplier}  # fmt: skip
    if kind == "pool":
        return {"type": draw(st.sampled_from(["MaxPooling2D", "AveragePooling2D"])),
                "pool_size": draw(st.integers(1, 3)), "strides": stride, "padding": padding}  # fmt: skip
    if kind == "pad" and draw(st.booleans()):
        return {
            "type": "ZeroPadding2D",
            "padding": draw(st.sampled_from([1, [0, 1], [[0, 1], [1, 0]]])),
        }
    return {"type": "Conv2D", "filters": filters, "kernel_size": kernel, "strides": stride,
            "padding": padding, "dilation_rate": dilation,
            "activation": draw(st.sampled_from([None, "relu"]))}  # fmt: skip


def _path(draw, channels: int, filters: int, stride: int, depth: int, *, empty: bool) -> list[dict]:
    """A path from ``channels`` to ``filters`` channels, shrinking by ``stride``."""
    if empty and draw(st.integers(0, 3)) == 0:
        return []
    items: list[dict] = []
    if depth < 2 and draw(st.integers(0, 4)) == 0:  # a block inside the path
        items.append(_block(draw, channels, depth + 1))
    for _ in range(draw(st.integers(0, 1))):
        items.append(_channel_layer(draw, channels))
    items.append(_shaping_layer(draw, channels, filters, stride))
    if draw(st.booleans()):
        items.append(_channel_layer(draw, filters))
    return items


def _block(draw, channels: int, depth: int) -> dict:
    kind = draw(st.sampled_from(["residual", "residual", "parallel", "sequential"]))
    repeat = draw(st.sampled_from([1, 1, 2]))
    if kind == "sequential":
        return {"type": "Sequential", "repeat": repeat,
                "layers": [_channel_layer(draw, channels), _shaping_layer(draw, channels, channels, 1)]}  # fmt: skip
    if kind == "residual":
        stride = draw(st.sampled_from([1, 1, 2]))
        filters = draw(st.sampled_from([channels, channels, 2 * channels, 4]))
        identity = stride == 1 and filters == channels and draw(st.integers(0, 3)) > 0
        main = _path(draw, channels, filters, stride, depth, empty=False)
        if identity:
            shortcut = []
        elif draw(st.integers(0, 3)):  # a projection, as ResNet's
            projection = {"type": "Conv2D", "filters": filters, "kernel_size": 1, "strides": stride}
            shortcut = [projection, {"type": "BatchNormalization"}][: draw(st.integers(1, 2))]
        else:
            shortcut = _path(draw, channels, filters, stride, depth, empty=True)
        block = {"type": "Residual", "main": main, "shortcut": shortcut,
                 "activation": draw(st.sampled_from([None, "relu"]))}  # fmt: skip
        if repeat > 1 and filters == channels:
            block["repeat"] = repeat
        return block
    stride = draw(st.sampled_from([1, 1, 1, 2]))
    paths = [
        _path(draw, channels, draw(st.integers(1, 6)), stride, depth, empty=True)
        for _ in range(draw(st.integers(2, 3)))
    ]
    return {"type": "Parallel", "paths": paths, "repeat": repeat}


@st.composite
def graphs(draw) -> Spec:
    """A random network with blocks, drawn item by item from the shape so far (followed with our
    own ledger), so that most of them fit and some do not."""
    input_shape = (
        draw(st.integers(6, 16)),
        draw(st.integers(6, 16)),
        draw(st.sampled_from([1, 2, 3])),
    )
    items: list[dict] = []
    shape: tuple[int, ...] = input_shape
    for _ in range(draw(st.integers(1, 3))):
        item = (
            _block(draw, shape[2], 0) if draw(st.integers(0, 3)) else _channel_layer(draw, shape[2])
        )
        try:
            item_from_dict(item)
        except SpecError:
            continue  # an argument Keras refuses on its own (tested separately)
        items.append(item)
        rows = walk(input_shape, [item_from_dict(i) for i in items])
        if rows[-1].output_shape is None or len(rows[-1].output_shape) != 3:
            break
        shape = rows[-1].output_shape
    head = draw(st.sampled_from(["GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten"]))
    items += [
        {"type": head},
        {"type": "Dense", "units": draw(st.integers(2, 5)), "activation": "softmax"},
    ]
    return Spec.from_dict({"input_shape": list(input_shape), "layers": items})


@settings(
    max_examples=GENERATED_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(spec=graphs())
def test_generated_graphs_match_keras(spec):
    """Where we say a graph fits, Keras builds it with exactly our numbers in every layer; where
    we say it does not, Keras refuses it too."""
    problems = errors(validate(spec))
    if problems:
        assert all(p.sentence for p in problems)
        with pytest.raises(ValueError):
            build_model(spec, check=False)
    else:
        assert_graph_matches_keras(spec)


def test_generated_graphs_are_mostly_buildable_and_some_are_not():
    """The test above must compare well over a hundred graphs, and see some of each kind of
    mistake."""
    kinds: collections.Counter[str] = collections.Counter()
    seen: set[str] = set()

    @settings(max_examples=GENERATED_EXAMPLES, deadline=None, database=None, derandomize=True)
    @given(spec=graphs())
    def collect(spec):
        key = spec.to_json()
        if key in seen:
            return
        seen.add(key)
        led = ledger(spec)
        problems = errors(led.problems)
        kinds["buildable" if not problems else "refused"] += 1
        kinds["with blocks"] += spec.is_graph
        kinds["repeated"] += any(b.repeats > 1 for b in led.blocks)
        kinds["nested"] += any(b.depth > 0 for b in led.blocks)
        for p in problems:
            kinds[p.code] += 1

    collect()
    assert kinds["buildable"] >= 110, kinds
    assert kinds["refused"] >= 20, kinds
    assert kinds["with blocks"] >= 100 and kinds["repeated"] >= 20 and kinds["nested"] >= 20, kinds
    assert kinds["shapes.problem.add_mismatch"] >= 5, kinds
    assert kinds["shapes.problem.concatenate_sizes"] >= 5, kinds


@pytest.mark.parametrize(
    ("layer", "code"),
    [
        ({"type": "Conv2D", "filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2},
         "spec.conv.stride_and_dilation"),
        ({"type": "Conv2D", "filters": 5, "kernel_size": 3, "groups": 2}, "spec.conv.groups_filters"),
        ({"type": "ReLU", "max_value": -1}, "spec.arg.out_of_range"),
        ({"type": "ReLU", "negative_slope": -0.5}, "spec.arg.out_of_range"),
    ],
)  # fmt: skip
def test_arguments_keras_refuses_are_refused_with_a_sentence(layer, code):
    with pytest.raises(SpecError) as refusal:
        item_from_dict(layer, 3)
    assert refusal.value.problems[0].code == code
    assert str(refusal.value).startswith(f"Layer 3 ({layer['type']}): ")
    arguments = {k: v for k, v in layer.items() if k != "type"}
    with pytest.raises(ValueError):
        getattr(keras.layers, layer["type"])(**arguments)


# --------------------------------------------------------------------------------------------
# The famous networks against keras.applications
# --------------------------------------------------------------------------------------------


def _layers_of(model: keras.Model) -> collections.Counter:
    """Every layer of a model as (class, output shape, parameters), as a multiset."""
    return collections.Counter(
        (type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params())
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    )


def _block_outputs(name: str, reference: keras.Model) -> list[tuple[int, ...]]:
    """The output shape after every block of a keras.applications model, in order."""
    names = [layer.name for layer in reference.layers]
    if name == "vgg16":
        picked = [n for n in names if n.endswith("_pool")]
    elif name == "resnet50":
        picked = [n for n in names if n.endswith("_out")]
    else:  # MobileNetV2: a block ends with its Add, or else with its projection's batch norm
        picked = ["expanded_conv_project_BN"]
        for number in range(1, 17):
            added = f"block_{number}_add"
            picked.append(added if added in names else f"block_{number}_project_BN")
    return [tuple(reference.get_layer(n).output.shape[1:]) for n in picked]


APPLICATIONS = {
    "vgg16": "VGG16",
    "resnet50": "ResNet50",
    "mobilenetv2": "MobileNetV2",
}


@pytest.mark.parametrize("name", list(APPLICATIONS))
def test_famous_presets_equal_keras_applications(name):
    """All three counts, every layer, and the shape after every block; then the model CNN Lab
    builds from the preset has the same layers as Keras' own."""
    reference = getattr(keras.applications, APPLICATIONS[name])(weights=None)
    led = ledger(FAMOUS[name].spec)
    assert led.ok, [str(p) for p in led.problems]
    assert led.total_params == reference.count_params()
    assert led.trainable_params == count(reference.trainable_weights)
    assert led.non_trainable_params == count(reference.non_trainable_weights)
    ours = collections.Counter((r.type, r.output_shape, r.params) for r in led.rows)
    assert ours == _layers_of(reference)
    if name == "resnet50":
        blocks = [b.output_shape for b in led.blocks if b.kind == "Residual"]
    else:
        blocks = [b.output_shape for b in led.blocks if b.depth == 0]
    assert blocks == _block_outputs(name, reference)
    expected = _layers_of(reference)
    del reference
    keras.backend.clear_session()
    gc.collect()
    built = build_model(FAMOUS[name].spec)
    assert _layers_of(built) == expected
    assert_graph_matches_keras(FAMOUS[name].spec) if name != "vgg16" else None
    del built
    keras.backend.clear_session()
    gc.collect()


def test_the_famous_counts_people_quote():
    """VGG16 138,357,544; ResNet50 25,636,712; MobileNetV2 3,538,984 (keras.applications)."""
    assert ledger(FAMOUS["vgg16"].spec).total_params == 138_357_544
    assert ledger(FAMOUS["resnet50"].spec).total_params == 25_636_712
    assert ledger(FAMOUS["mobilenetv2"].spec).total_params == 3_538_984


@pytest.mark.parametrize("name", ["lenet5_classic", "alexnet", "googlenet", *MINI])
def test_the_other_famous_and_mini_presets_match_keras(name):
    preset = FAMOUS.get(name) or MINI[name]
    assert_graph_matches_keras(preset.spec) if preset.spec.is_graph else None
    if not preset.spec.is_graph:
        model = build_model(preset.spec)
        assert model.count_params() == ledger(preset.spec).total_params
    keras.backend.clear_session()


# --------------------------------------------------------------------------------------------
# Exported code
# --------------------------------------------------------------------------------------------


def _configs(model: keras.Model) -> collections.Counter:
    """Each layer's class and Keras config without its name, as a multiset."""
    out: collections.Counter = collections.Counter()
    for layer in model.layers:
        config = layer.get_config()
        config.pop("name", None)
        out[(type(layer).__name__, repr(sorted(config.items())))] += 1
    return out


def _run_export(spec: Spec) -> keras.Model:
    namespace: dict = {}
    exec(compile(to_keras_code(spec, "Exported"), "<export>", "exec"), namespace)
    return namespace["model"]


@pytest.mark.parametrize("name", ["mini_resnet", "mini_inception", "googlenet", "mobilenetv2"])
def test_exported_functional_code_builds_the_same_model(name):
    spec = (MINI.get(name) or FAMOUS[name]).spec
    exported, built = _run_export(spec), build_model(spec)
    assert exported.count_params() == built.count_params() == ledger(spec).total_params
    assert count(exported.trainable_weights) == count(built.trainable_weights)
    assert _configs(exported) == _configs(built)
    keras.backend.clear_session()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=graphs())
def test_exported_code_of_generated_graphs(spec):
    if errors(validate(spec)):
        return
    exported, built = _run_export(spec), build_model(spec)
    assert _configs(exported) == _configs(built)


def test_a_built_graph_computes_something_sensible():
    model = build_model(MINI["mini_inception"].spec)
    probabilities = model(np.zeros((2, 28, 28, 1), "float32"), training=False).numpy()
    assert probabilities.shape == (2, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert model.get_layer("concatenate_12").output.shape[1:] == (14, 14, 80)
