"""Spec format 2: blocks that nest and repeat, the newer layers, versions, limits, and messages
that say where inside a block something is wrong."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from cnn_core.config import LIMITS
from cnn_core.presets import ALL_PRESETS, FAMOUS, MINI, PRESETS
from cnn_core.spec import (
    Conv2D,
    Dense,
    Parallel,
    Problem,
    Residual,
    Sequential,
    Spec,
    SpecError,
    depth_of,
    rows_of,
)
from tests.test_graph_keras import graphs

RESIDUAL = {
    "type": "Residual",
    "name": "block1",
    "main": [
        {"type": "Conv2D", "filters": 3, "kernel_size": 3, "padding": "same"},
        {"type": "BatchNormalization"},
    ],
    "shortcut": [],
    "activation": "relu",
}
MINI_SPEC = MINI["mini_resnet"].spec
HEAD = [{"type": "GlobalAveragePooling2D"}, {"type": "Dense", "units": 10, "activation": "softmax"}]


def graph_of(*items: dict, input_shape=(16, 16, 3)) -> Spec:
    return Spec.from_dict(
        {"format": 2, "input_shape": list(input_shape), "layers": [*items, *HEAD]}
    )


def problems_of(data) -> list[Problem]:
    with pytest.raises(SpecError) as refusal:
        Spec.from_json(data) if isinstance(data, str) else Spec.from_dict(data)
    return refusal.value.problems


# --------------------------------------------------------------------------------------------
# Versions
# --------------------------------------------------------------------------------------------


def test_a_version_1_document_reads_and_writes_exactly_as_before():
    """The format-1 writer's output, byte for byte: no "format" key, one layer per line."""
    text = (
        "{\n"
        '  "input_shape": [28, 28, 1],\n'
        '  "layers": [\n'
        '    {"type": "Conv2D", "filters": 8, "kernel_size": 3, "strides": 1, "padding": "valid", "activation": "relu"},\n'
        '    {"type": "MaxPooling2D", "pool_size": 2},\n'
        '    {"type": "Conv2D", "filters": 16, "kernel_size": 3, "strides": 1, "padding": "valid", "activation": "relu"},\n'
        '    {"type": "MaxPooling2D", "pool_size": 2},\n'
        '    {"type": "Flatten"},\n'
        '    {"type": "Dense", "units": 10, "activation": "softmax"}\n'
        "  ]\n"
        "}\n"
    )
    assert PRESETS["tiny"].spec.to_json() == text
    assert Spec.from_json(text) == PRESETS["tiny"].spec


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_stack_preset_is_still_a_version_1_document(name):
    spec = PRESETS[name].spec
    assert spec.format == 1 and "format" not in spec.to_dict() and not spec.is_graph


@pytest.mark.parametrize("name", list(ALL_PRESETS))
def test_every_preset_round_trips_through_json(name):
    spec = ALL_PRESETS[name].spec
    again = Spec.from_json(spec.to_json())
    assert again == spec and again.to_json() == spec.to_json()
    assert Spec.from_dict(json.loads(spec.to_json())) == spec


def test_blocks_and_newer_layers_make_a_version_2_document():
    assert graph_of(RESIDUAL).to_dict()["format"] == 2
    depthwise = Spec.from_dict(
        {"input_shape": [8, 8, 3], "layers": [{"type": "DepthwiseConv2D", "kernel_size": 3}, *HEAD]}
    )
    assert depthwise.format == 2 and not depthwise.is_graph
    dilated = Spec.from_dict(
        {
            "input_shape": [8, 8, 3],
            "layers": [
                {"type": "Conv2D", "filters": 4, "kernel_size": 3, "dilation_rate": 2},
                *HEAD,
            ],
        }
    )
    assert dilated.format == 2  # a version-1 reader would not know dilation_rate
    plain = dilated.replace_layer(0, Conv2D(filters=4, kernel_size=3))
    assert plain.format == 1


def test_a_graph_without_the_format_key_still_reads():
    data = json.loads(graph_of(RESIDUAL).to_json())
    del data["format"]
    assert Spec.from_dict(data) == graph_of(RESIDUAL)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (
            3,
            "This spec is in format 3, made by a newer CNN Lab; this one reads formats 1 to 2. "
            "Update CNN Lab to open it.",
        ),
        ("2", "\"format\" must be a whole number such as 2, not '2'."),
        (0, '"format" must be a whole number such as 2, not 0.'),
        (True, '"format" must be a whole number such as 2, not True.'),
    ],
)
def test_the_format_number_is_checked(version, expected):
    data = {"format": version, "input_shape": [28, 28, 1], "layers": HEAD}
    assert [str(p) for p in problems_of(data)] == [expected]


@settings(max_examples=80, deadline=None)
@given(spec=graphs())
def test_any_graph_round_trips_through_json(spec):
    again = Spec.from_json(spec.to_json())
    assert again == spec and again.to_json() == spec.to_json()


def test_a_resnet_50_reads_as_a_page_of_json():
    text = FAMOUS["resnet50"].spec.to_json()
    assert len(text.splitlines()) < 160 and len(text) < 15_000  # 4 stages of 2 kinds of block
    assert '"type": "Residual", "name": "conv2_block1", "activation": "relu",' in text


# --------------------------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------------------------


def test_blocks_are_made_from_json():
    spec = graph_of(
        RESIDUAL,
        {"type": "Parallel", "paths": [[{"type": "Conv2D", "filters": 4, "kernel_size": 1}], []]},
        {
            "type": "Sequential",
            "name": "stage",
            "repeat": 2,
            "layers": [{"type": "ReLU", "max_value": 6}],
        },
    )
    residual, parallel, sequential = spec.layers[:3]
    assert (
        isinstance(residual, Residual) and residual.activation == "relu" and residual.shortcut == ()
    )
    assert isinstance(parallel, Parallel) and len(parallel.paths) == 2 and parallel.paths[1] == ()
    assert isinstance(sequential, Sequential) and sequential.repeat == 2
    assert sequential.layers[0].max_value == 6.0
    # 2 + Add + activation, 1 + Concatenate, 2 × 1, and the head's 2
    assert rows_of(spec.layers) == 4 + 2 + 2 + 2
    assert depth_of(spec.layers) == 1


def test_items_are_found_and_replaced_by_their_path():
    spec = FAMOUS["googlenet"].spec
    path = (6, "paths", 2, 2)  # inception_3a, its 3×3 path, the 3×3 convolution
    assert spec.item_at(path) == Conv2D(
        filters=128, kernel_size=3, padding="same", activation="relu"
    )
    wider = spec.replace_at(path, Conv2D(filters=160, kernel_size=3, padding="same"))
    assert wider.item_at(path).filters == 160 and wider.item_at((6, "paths", 2, 1)).filters == 96
    assert spec.item_at(path).filters == 128  # specs never change in place
    resnet = FAMOUS["resnet50"].spec
    assert resnet.item_at((7, "layers", 1, "shortcut", 1)).filters == 256
    assert resnet.item_at((7, "layers", 2)).repeat == 2


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            {
                "type": "Residual",
                "main": [{"type": "Conv2D", "filters": 8, "kernel_size": 3}],
                "shortcat": [],
            },
            "Layer 1 (Residual): unknown key 'shortcat'. Did you mean \"shortcut\"? A Residual block "
            "has: type, name, repeat, main, shortcut, activation.",
        ),
        (
            {"type": "Residual", "shortcut": []},
            'Layer 1 (Residual): "main" must be a list of layers (and blocks), e.g. [{"type": "Conv2D", ...}].',
        ),
        (
            {"type": "Residual", "main": []},
            "Layer 1 (Residual): the main path is empty; a residual block needs at least one layer on "
            "its main path (an empty shortcut is fine: it is the block's input itself).",
        ),
        (
            {"type": "Parallel", "paths": [[]]},
            "Layer 1 (Parallel): a Parallel block has 2 to 8 paths, not 1.",
        ),
        (
            {"type": "Parallel", "paths": [{"type": "Conv2D"}, []]},
            'Layer 1 (Parallel): "paths" must be a list of paths, each a list of layers: [[...], [...]].',
        ),
        (
            {"type": "Sequential", "layers": [{"type": "ReLU"}], "repeat": 0},
            "Layer 1 (Sequential): repeat is 0; it must be at least 1.",
        ),
        (
            {"type": "Sequential", "layers": [{"type": "ReLU"}], "name": "<script>"},
            "Layer 1 (Sequential): name must be a short label (up to 40 letters, digits, spaces, _ - "
            "or .), not '<script>'.",
        ),
        (
            {"type": "Residul", "main": []},
            "Layer 1: unknown layer type 'Residul'. Did you mean \"Residual\"?",
        ),
    ],
)
def test_a_broken_block_is_explained(item, expected):
    (problem,) = problems_of({"input_shape": [8, 8, 3], "layers": [item, *HEAD]})
    assert str(problem).startswith(expected), str(problem)


def test_broken_layers_inside_blocks_say_where_they_are():
    problems = problems_of(
        {
            "input_shape": [8, 8, 3],
            "layers": [
                {"type": "ReLU"},
                {
                    "type": "Residual",
                    "main": [
                        {"type": "Conv2D", "filters": 0, "kernel_size": 3},
                        {
                            "type": "Parallel",
                            "paths": [[{"type": "Dense"}], [{"type": "Dropout", "rate": 2}]],
                        },
                    ],
                    "shortcut": [{"type": "Conv2d", "filters": 8, "kernel_size": 1}],
                },
                *HEAD,
            ],
        }
    )
    assert [str(p) for p in problems] == [
        "Layer 2, main path, layer 1 (Conv2D): filters is 0; it must be at least 1.",
        'Layer 2, main path, layer 2, path 1, layer 1 (Dense): the argument "units" is required.',
        "Layer 2, main path, layer 2, path 2, layer 1 (Dropout): rate is 2; it must be at least 0 "
        "and below 1 (e.g. 0.25).",
        "Layer 2, shortcut, layer 1: unknown layer type 'Conv2d'. Did you mean \"Conv2D\"? CNN Lab "
        "supports: Conv2D, DepthwiseConv2D, SeparableConv2D, MaxPooling2D, AveragePooling2D, "
        "ZeroPadding2D, BatchNormalization, Dropout, Flatten, GlobalAveragePooling2D, "
        "GlobalMaxPooling2D, Dense, Activation, ReLU, Sequential, Residual, Parallel.",
    ]
    assert (
        problems[0].render("zh-Hans")
        == "第 2 层，主路径第 1 层（Conv2D）：filters 是 0；它至少要是 1。"
    )


def test_unknown_top_level_keys_suggest_the_closest_one():
    (problem,) = problems_of({"input_shape": [28, 28, 1], "layer": HEAD})
    assert str(problem) == (
        'Unknown key(s) \'layer\'; a spec has only "format", "input_shape" and "layers". '
        'Did you mean "layers"?'
    )


# --------------------------------------------------------------------------------------------
# Limits: describing a network is cheap, but a hostile spec stays bounded
# --------------------------------------------------------------------------------------------


def _nested(depth: int) -> dict:
    item: dict = {"type": "ReLU"}
    for _ in range(depth):
        item = {"type": "Sequential", "layers": [item]}
    return item


def test_the_famous_networks_fit_the_limits_of_both_profiles():
    from cnn_core.config import PROFILES

    for limits in PROFILES.values():
        for preset in FAMOUS.values():
            assert rows_of(preset.spec.layers) <= limits.max_total_layers
            assert depth_of(preset.spec.layers) <= limits.max_block_depth
            assert len(preset.spec.to_json()) <= limits.max_spec_chars
            assert len(preset.spec.layers) <= limits.max_layers
        assert limits.max_filters >= 2048 and limits.max_units >= 4096  # ResNet-50, VGG16


def test_blocks_nested_too_deeply_are_refused():
    assert isinstance(graph_of(_nested(LIMITS.max_block_depth)).layers[0], Sequential)
    (problem,) = problems_of(
        {"input_shape": [8, 8, 3], "layers": [_nested(LIMITS.max_block_depth + 1)]}
    )
    assert "CNN Lab allows at most 6 blocks inside one another" in str(problem)


def test_a_repeat_that_explodes_is_refused_without_expanding_it():
    """Six nested blocks repeated 64 times would be 64⁶ ≈ 7·10^10 layers: counted, not made."""
    item: dict = {"type": "ReLU"}
    for _ in range(LIMITS.max_block_depth):
        item = {"type": "Sequential", "repeat": LIMITS.max_repeat, "layers": [item]}
    (problem,) = problems_of({"input_shape": [8, 8, 3], "layers": [item, *HEAD]})
    assert str(problem) == (
        "The network has 68,719,476,738 layers in all, after repeats and merges; CNN Lab allows at "
        f"most {LIMITS.max_total_layers:,}."
    )
    (problem,) = problems_of(
        {
            "input_shape": [8, 8, 3],
            "layers": [{"type": "Sequential", "repeat": 65, "layers": [{"type": "ReLU"}]}],
        }
    )
    assert "repeat is 65; CNN Lab allows at most 64 here." in str(problem)


def test_long_lists_and_long_texts_are_refused_before_any_work():
    block = {"type": "Sequential", "layers": [{"type": "ReLU"}] * (LIMITS.max_layers + 1)}
    (problem,) = problems_of({"input_shape": [8, 8, 3], "layers": [block]})
    assert (
        'Layer 1 (Sequential): "layers" has 41 layers; CNN Lab allows at most 40 in one list'
        in str(problem)
    )
    (problem,) = problems_of(" " * (LIMITS.max_spec_chars + 1))
    assert str(problem).startswith(
        "This text is 200,001 characters long; a spec is at most 200,000"
    )
    parallel = {"type": "Parallel", "paths": [[]] * (LIMITS.max_paths + 1)}
    (problem,) = problems_of({"input_shape": [8, 8, 3], "layers": [parallel]})
    assert "a Parallel block has 2 to 8 paths, not 9" in str(problem)


def test_blocks_made_in_python_check_themselves_too():
    with pytest.raises(SpecError, match="the main path is empty"):
        Residual(main=())
    with pytest.raises(SpecError, match="2 to 8 paths"):
        Parallel(paths=((Dense(units=3),),))
    with pytest.raises(SpecError, match="must be a list of layers"):
        Sequential(layers=("Conv2D",))
    deep = Sequential(layers=(Dense(units=3),))
    for _ in range(LIMITS.max_block_depth):
        deep = Sequential(layers=(deep,))
    with pytest.raises(SpecError, match="Blocks are nested 7 deep"):
        Spec((8, 8, 1), (deep,))


def test_the_examples_in_docs_spec_md_are_real():
    """The documented residual block is ResNet-50's first, and every JSON example reads."""
    import re
    from pathlib import Path

    from cnn_core.spec import item_from_dict

    text = (Path(__file__).resolve().parents[1] / "docs" / "spec.md").read_text(encoding="utf-8")
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.S)]
    assert len(examples) == 3
    assert Spec.from_dict(examples[0]).input_shape == (28, 28, 1)
    resnet = FAMOUS["resnet50"].spec
    assert item_from_dict(examples[1]) == resnet.item_at((7, "layers", 1))
    assert item_from_dict(examples[2]) == FAMOUS["googlenet"].spec.item_at((6,))
    assert len(resnet.to_json().splitlines()) == 146  # as the text says


def test_two_specs_build_the_same_network_whatever_their_spelling():
    spec = FAMOUS["resnet50"].spec
    respelled = json.loads(spec.to_json().replace('"kernel_size": 3,', '"kernel_size": [3, 3],'))
    respelled["layers"][6]["name"] = "stage two"  # a label, not the network
    assert Spec.from_dict(respelled) != spec and Spec.from_dict(respelled).same_network(spec)
    wider = spec.replace_at((7, "layers", 1, "shortcut", 1), Conv2D(filters=128, kernel_size=1))
    assert not wider.same_network(spec)
    assert not MINI_SPEC.same_network(spec) and MINI_SPEC.same_network(MINI_SPEC)
    assert PRESETS["tiny"].spec.same_network(Spec.from_json(PRESETS["tiny"].spec.to_json()))
