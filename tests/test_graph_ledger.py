"""The ledger of graphs: merge rows and their rules, mismatches explained with the fix, the newer
layers' formulas, receptive fields through branches and dilation, block rows, and the famous
networks' published numbers. No TensorFlow here (test_graph_keras.py checks against Keras)."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from cnn_core.presets import ALL_PRESETS, FAMOUS, FAMOUS_FACTS, KERAS_APPLICATIONS, MINI, PRESETS
from cnn_core.shapes import ledger, validate
from cnn_core.share import ShareTooLarge, decode, encode
from cnn_core.spec import Conv2D, Spec, errors

HEAD = [{"type": "GlobalAveragePooling2D"}, {"type": "Dense", "units": 10, "activation": "softmax"}]


def led_of(*items: dict, input_shape=(28, 28, 3)):
    return ledger(Spec.from_dict({"input_shape": list(input_shape), "layers": [*items, *HEAD]}))


def texts(row) -> dict[str, str]:
    return {f.kind: f.text for f in row.formulas}


def conv(filters: int, kernel_size=3, **kwargs) -> dict:
    return {
        "type": "Conv2D",
        "filters": filters,
        "kernel_size": kernel_size,
        "padding": "same",
        **kwargs,
    }


# --------------------------------------------------------------------------------------------
# Merges
# --------------------------------------------------------------------------------------------


def test_a_residual_block_adds_its_paths_and_the_row_shows_both():
    led = led_of(
        conv(32),
        {
            "type": "Residual",
            "main": [conv(32), {"type": "BatchNormalization"}],
            "activation": "relu",
        },
    )
    add = led.rows[3]
    assert add.type == "Add" and add.is_merge and add.output_shape == (28, 28, 32)
    assert [(i.branch, i.shape) for i in add.incoming] == [
        ("main", (28, 28, 32)),
        ("shortcut", (28, 28, 32)),
    ]
    assert texts(add)["merge"] == "28×28×32 (main path) + 28×28×32 (shortcut) → 28×28×32"
    assert "Add sums the paths value by value" in add.formula("merge").note
    assert add.params == 0 and led.rows[4].label == "Activation relu"
    assert [r.branch for r in led.rows[:5]] == [None, "main", "main", None, None]


def test_the_example_of_a_shortcut_with_too_few_channels():
    """The main path gives 28×28×64, the shortcut 28×28×32: give the shortcut a 1×1 Conv2D with
    64 filters and stride 1."""
    led = led_of(conv(32), {"type": "Residual", "main": [conv(64)]})
    (problem,) = errors(led.problems)
    assert problem.code == "shapes.problem.add_mismatch"
    assert str(problem) == (
        "Layer 3 (Add), in the residual block starting at layer 2: the main path gives 28×28×64, "
        "the shortcut 28×28×32: Add needs equal shapes. Give the shortcut a 1×1 Conv2D with 64 "
        "filters and stride 1."
    )
    assert problem.render("zh-Hans") == (
        "第 3 层（Add），位于从第 2 层开始的残差块：主路径给出 28×28×64，捷径连接给出 28×28×32："
        "Add 需要形状相同。给捷径连接加一个 1×1 的 Conv2D，64 个滤波器，步长 1。"
    )
    assert [r.output_shape for r in led.rows[2:]] == [None, None, None]  # nothing after it


@pytest.mark.parametrize(
    ("block", "fix"),
    [
        (  # the main path halves the map, the identity shortcut does not
            {"type": "Residual", "main": [conv(32, strides=2)]},
            "Give the shortcut a 1×1 Conv2D with 32 filters and stride 2.",
        ),
        (  # the shortcut's projection has the wrong filters
            {
                "type": "Residual",
                "main": [conv(64)],
                "shortcut": [conv(16, 1), {"type": "BatchNormalization"}],
            },
            "Give the shortcut's Conv2D (layer 3) 64 filters.",
        ),
        (  # … and forgot the stride
            {
                "type": "Residual",
                "name": "down",
                "main": [conv(64, strides=2)],
                "shortcut": [conv(32, 1)],
            },
            "Give the shortcut's Conv2D (layer 3) 64 filters and stride 2.",
        ),
        (  # a shortcut that only pools cannot change the channels
            {
                "type": "Residual",
                "main": [conv(64, strides=2)],
                "shortcut": [{"type": "MaxPooling2D"}],
            },
            "End the shortcut with a 1×1 Conv2D with 64 filters and stride 1.",
        ),
        (  # the shortcut shrinks more than the main path
            {"type": "Residual", "main": [conv(32)], "shortcut": [{"type": "MaxPooling2D"}]},
            "The main path makes the map 28×28, the shortcut 14×14: shrink both the same way (the "
            'same strides, and padding "same" in each).',
        ),
    ],
)
def test_every_add_mismatch_comes_with_its_fix(block, fix):
    led = led_of(conv(32), block)
    (problem,) = errors(led.problems)
    assert str(problem).endswith(fix), str(problem)


def test_parallel_paths_concatenate_on_the_channels():
    led = led_of(
        {
            "type": "Parallel",
            "name": "mix",
            "paths": [[conv(8, 1)], [conv(4, 5)], []],
        },
        input_shape=(12, 12, 3),
    )
    merge = led.rows[2]
    assert merge.type == "Concatenate" and merge.output_shape == (12, 12, 15)
    assert texts(merge)["merge"] == "12×12×8 ‖ 12×12×4 ‖ 12×12×3 → 12×12×(8 + 4 + 3) = 12×12×15"
    # through branches, a value sees as far as the widest path
    assert merge.receptive_field == (5, 5)
    assert texts(merge)["receptive_field"] == (
        "the widest of the paths (path 1: 1×1, path 2: 5×5, path 3: 1×1) → 5×5"
    )
    assert [r.branch for r in led.rows[:3]] == ["path1", "path2", None]


def test_a_path_that_shrinks_is_named_with_its_layer():
    led = led_of(
        {"type": "Parallel", "paths": [[conv(8, 1)], [{"type": "MaxPooling2D", "pool_size": 3}]]},
    )
    (problem,) = errors(led.problems)
    assert problem.code == "shapes.problem.concatenate_sizes"
    assert str(problem) == (
        "Layer 3 (Concatenate), in the parallel block starting at layer 1: Concatenate stacks the "
        "paths along the channels, so every path must keep the same height and width (28×28), but "
        "path 1 gives 28×28×8, path 2 gives 9×9×3. On path 2, layer 2 (MaxPooling2D 3×3) shrinks "
        '28×28 to 9×9: give it padding "same" and strides 1.'
    )


def test_paths_of_image_and_vector_cannot_be_concatenated():
    led = led_of(
        {"type": "Parallel", "paths": [[conv(8, 1)], [{"type": "Flatten"}]]},
    )
    (problem,) = errors(led.problems)
    assert problem.code == "shapes.problem.concatenate_ranks"
    assert "path 1 gives 28×28×8, path 2 gives 2352" in str(problem)


def test_an_add_keras_would_broadcast_is_a_warning_not_an_error():
    """Keras' Add repeats axes of size 1 (28×28×1 + 28×28×8 → 28×28×8): legal, rarely meant."""
    led = led_of(
        {"type": "Residual", "main": [conv(8)], "shortcut": [conv(1, 1)]},
        input_shape=(28, 28, 3),
    )
    assert not errors(led.problems)
    (warning,) = led.problems
    assert warning.code == "shapes.problem.add_broadcast" and warning.severity == "warning"
    assert led.rows[2].output_shape == (28, 28, 8)


# --------------------------------------------------------------------------------------------
# The newer layers' formulas
# --------------------------------------------------------------------------------------------


def test_depthwise_separable_and_grouped_formulas_with_the_numbers():
    led = led_of(
        {"type": "DepthwiseConv2D", "kernel_size": 3, "padding": "same"},  # k·k·C + C
        {
            "type": "SeparableConv2D",
            "filters": 64,
            "kernel_size": 3,
            "padding": "same",
        },  # k·k·C + C·F + F
        {
            "type": "Conv2D",
            "filters": 64,
            "kernel_size": 3,
            "groups": 4,
            "padding": "same",
        },  # (k·k·C/g)·F + F
        {"type": "DepthwiseConv2D", "kernel_size": 3, "depth_multiplier": 2, "use_bias": False},
        input_shape=(32, 32, 3),
    )
    depthwise, separable, grouped, doubled = led.rows[:4]
    assert texts(depthwise)["params"] == "3·3·3 + 3 = 30" and depthwise.params == 30
    assert texts(separable)["params"] == "3·3·3 + 3·64 + 64 = 283" and separable.params == 283
    assert texts(grouped)["params"] == "(3·3·64/4)·64 + 64 = 9,280" and grouped.params == 9_280
    assert texts(grouped)["macs"] == "3·3·64/4 · 32·32·64 = 9,437,184"
    assert doubled.output_shape == (30, 30, 128) and texts(doubled)["params"] == "3·3·64·2 = 1,152"


def test_a_separable_convolution_is_compared_with_the_standard_one():
    led = led_of(
        conv(32),
        {"type": "SeparableConv2D", "filters": 64, "kernel_size": 3, "padding": "same"},
        input_shape=(32, 32, 3),
    )
    row = led.rows[1]
    c = row.comparison
    assert c is not None and c.rows == (2,)
    assert c.standard_macs == 3 * 3 * 32 * 64 * 32 * 32 == 18_874_368
    assert c.separable_macs == row.macs == 3 * 3 * 32 * 32 * 32 + 32 * 64 * 32 * 32
    assert c.ratio == pytest.approx(1 / (1 / 64 + 1 / 9))  # the ratio MobileNet's paper gives
    assert texts(row)["cost_comparison"].endswith("; 7.9× fewer multiply-adds")
    assert "1/64 + 1/(3·3) = 0.127 of the standard one" in row.formula("cost_comparison").note


def test_mobilenet_s_depthwise_and_pointwise_pair_is_compared_as_one():
    """In MobileNetV2 a DepthwiseConv2D, batch norm and ReLU6 come before the 1×1 Conv2D."""
    rows = ledger(FAMOUS["mobilenetv2"].spec).rows
    compared = [r for r in rows if r.comparison is not None]
    assert len(compared) == 17  # every inverted residual block's projection
    first = compared[0]
    assert first.comparison.rows == (4, 7) and rows[3].type == "DepthwiseConv2D"
    assert first.comparison.standard_macs == 3 * 3 * 32 * 16 * 112 * 112
    assert first.comparison.separable_macs == rows[3].macs + first.macs


def test_dilation_widens_the_window_and_the_receptive_field():
    led = led_of(conv(8, 3, padding="valid", dilation_rate=2), input_shape=(20, 20, 1))
    row = led.rows[0]
    assert texts(row)["dilated_window"] == "2·(3 − 1) + 1 = 5"
    assert texts(row)["output_size"] == "(20 − 5 + 2·0)/1 + 1 = 16"
    assert row.output_shape == (16, 16, 8) and row.receptive_field == (5, 5)
    assert row.params == (3 * 3 * 1 + 1) * 8  # the gaps cost nothing


def test_zero_padding_and_relu6_rows():
    led = led_of(
        {"type": "ZeroPadding2D", "padding": [[0, 1], [2, 3]]},
        {"type": "ReLU", "max_value": 6},
        input_shape=(10, 10, 1),
    )
    padding, relu = led.rows[:2]
    assert padding.label == "ZeroPadding2D (0, 1), (2, 3)"
    assert texts(padding) == {
        "output_height": "10 + 0 + 1 = 11",
        "output_width": "10 + 2 + 3 = 15",
        "params": "0",
        "activations": "11·15·1 = 165 values · 4 bytes = 660 bytes",
    }
    assert relu.label == "ReLU max 6" and "ReLU6 when it is 6" in relu.formula("output").note


def test_a_window_that_does_not_fit_after_dilation_says_so():
    led = led_of(conv(8, 3, padding="valid", dilation_rate=4), input_shape=(8, 8, 1))
    (problem,) = errors(led.problems)
    assert str(problem).startswith(
        "Layer 1 (Conv2D): its 3×3 (dilated to 9×9) kernel does not fit in its 8×8 input"
    )


# --------------------------------------------------------------------------------------------
# Blocks in the ledger
# --------------------------------------------------------------------------------------------


def test_block_rows_nest_repeat_and_total_their_layers():
    led = ledger(FAMOUS["resnet50"].spec)
    stages = led.children(None)
    assert [b.name for b in stages] == ["conv2_x", "conv3_x", "conv4_x", "conv5_x"]
    conv3 = stages[1]
    blocks = led.children(conv3.id)
    assert [(b.name, b.repetition, b.repeats) for b in blocks] == [
        ("conv3_block1", 1, 1),
        ("conv3_block2-4", 1, 3),
        ("conv3_block2-4", 2, 3),
        ("conv3_block2-4", 3, 3),
    ]
    assert [b.output_shape for b in blocks] == [(28, 28, 512)] * 4
    assert (
        conv3.params
        == sum(b.params for b in blocks)
        == sum(r.params for r in led.rows_in(conv3.id))
    )
    assert str(blocks[2].label) == "Residual block “conv3_block2-4”, 2 of 3"
    inside = led.rows_in(blocks[2].id)
    assert {r.depth for r in inside} == {2} and {r.block for r in inside} == {blocks[2].id}
    assert inside[-2].type == "Add" and inside[-1].label == "Activation relu"
    assert inside[0].path == (8, "layers", 2, "main", 1)  # the same spec layer in every repetition
    assert len({b.id for b in led.blocks}) == len(led.blocks)


def test_a_problem_inside_a_repeated_block_names_the_repetition():
    spec = Spec.from_dict(
        {
            "input_shape": [8, 8, 3],
            "layers": [
                {
                    "type": "Residual",
                    "name": "grow",
                    "repeat": 2,
                    "main": [conv(3)],
                    "shortcut": [],
                },
                {
                    "type": "Residual",
                    "name": "oops",
                    "repeat": 3,
                    "main": [conv(3, padding="valid")],
                },
                *HEAD,
            ],
        }
    )
    (problem,) = errors(validate(spec))
    assert str(problem).startswith(
        "Layer 6 (Add), in residual block “oops”, 1 of 3: the main path gives 6×6×3, the shortcut 8×8×3"
    )


@pytest.mark.parametrize(
    ("name", "depth"),
    [
        ("lenet5_classic", 5),
        ("alexnet", 8),
        ("vgg16", 16),
        ("googlenet", 22),
        ("resnet50", 50),
        ("mobilenetv2", 53),
    ],
)
def test_the_depth_in_a_network_s_name_is_its_longest_path_of_weight_layers(name, depth):
    assert ledger(FAMOUS[name].spec).weighted_depth == depth


# --------------------------------------------------------------------------------------------
# The papers' numbers
# --------------------------------------------------------------------------------------------


def test_lenet5_classic_is_the_paper_s_network_on_32_by_32():
    led = ledger(FAMOUS["lenet5_classic"].spec)
    assert led.total_params == 61_706
    assert [r.output_shape for r in led.rows] == [
        (28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16), (1, 1, 120), (120,), (84,), (10,),
    ]  # fmt: skip
    # C1 156 and C5 48,120, F6 10,164 as in the paper (section II.B)
    assert [led.rows[i].params for i in (0, 4, 6)] == [156, 48_120, 10_164]


def test_alexnet_on_one_gpu_and_on_two():
    spec = FAMOUS["alexnet"].spec
    led = ledger(spec)
    assert led.total_params == 62_378_344
    assert [r.output_shape for r in led.rows[:8:2]] == [
        (55, 55, 96),
        (27, 27, 256),
        (13, 13, 384),
        (13, 13, 256),
    ]
    assert sum(r.params for r in led.rows if r.type == "Dense") == 58_631_144
    split = spec
    for index in (2, 5, 6):  # conv2, conv4, conv5 saw only their own GPU's half of the maps
        layer = spec.layers[index]
        split = split.replace_layer(index, Conv2D(**{**layer.keras_kwargs(), "groups": 2}))
    two_gpus = ledger(split)
    assert [two_gpus.rows[i].params for i in (2, 5, 6)] == [307_456, 663_936, 442_624]
    assert two_gpus.total_params == 60_965_224


def test_googlenet_follows_table_1():
    led = ledger(FAMOUS["googlenet"].spec)
    modules = {b.name: b.output_shape for b in led.blocks}
    assert modules == {
        "inception_3a": (28, 28, 256), "inception_3b": (28, 28, 480),
        "inception_4a": (14, 14, 512), "inception_4b": (14, 14, 512), "inception_4c": (14, 14, 512),
        "inception_4d": (14, 14, 528), "inception_4e": (14, 14, 832),
        "inception_5a": (7, 7, 832), "inception_5b": (7, 7, 1024),
    }  # fmt: skip
    assert led.total_params == 6_998_552 and led.output_shape == (1000,)
    assert 1.5e9 < led.total_macs < 1.6e9  # "1.5 billion multiply-adds" (section 5)


def test_the_comparison_facts():
    assert [f.preset for f in FAMOUS_FACTS] == list(FAMOUS)
    years = [f.year for f in FAMOUS_FACTS]
    assert years == sorted(years)
    by_name = {f.preset: f for f in FAMOUS_FACTS}
    for name in ("vgg16", "resnet50", "mobilenetv2"):
        assert by_name[name].source == KERAS_APPLICATIONS
    assert (by_name["vgg16"].top1, by_name["resnet50"].top1, by_name["mobilenetv2"].top1) == (
        0.713,
        0.749,
        0.713,
    )
    for facts in FAMOUS_FACTS:
        led = ledger(FAMOUS[facts.preset].spec)
        assert (facts.params, facts.macs, facts.depth) == (
            led.total_params,
            led.total_macs,
            led.weighted_depth,
        )
        assert str(facts.note)
    # The story of the chart: MobileNetV2 needs far fewer multiply-adds than VGG16 for its accuracy.
    assert by_name["vgg16"].macs / by_name["mobilenetv2"].macs > 50


# --------------------------------------------------------------------------------------------
# Every preset, the command line and share links
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ALL_PRESETS))
def test_every_preset_is_sound(name):
    led = ledger(ALL_PRESETS[name].spec)
    assert led.problems == [], [str(p) for p in led.problems]
    num_classes = 10 if name in PRESETS or name in MINI or name == "lenet5_classic" else 1000
    assert errors(validate(ALL_PRESETS[name].spec, num_classes=num_classes)) == []


def test_summary_json_of_resnet50():
    done = subprocess.run(
        [sys.executable, "-m", "cnn_core", "summary", "--preset", "resnet50", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(done.stdout)
    assert (
        summary["total_params"],
        summary["trainable_params"],
        summary["non_trainable_params"],
    ) == (
        25_636_712,
        25_583_592,
        53_120,
    )
    assert len(summary["layers"]) == 176 and summary["weighted_depth"] == 50
    assert summary["layers"][-1]["output_shape"] == [1000]
    add = summary["layers"][16]
    assert add["type"] == "Add" and add["name"] == "add_17" and add["depth"] == 2
    assert [i["output_shape"] for i in add["inputs"]] == [[56, 56, 256], [56, 56, 256]]
    assert [b["name"] for b in summary["blocks"] if b["depth"] == 0] == [
        "conv2_x",
        "conv3_x",
        "conv4_x",
        "conv5_x",
    ]


@pytest.mark.parametrize("name", [*FAMOUS, *MINI])
def test_graph_presets_travel_in_short_links(name):
    spec = ALL_PRESETS[name].spec
    token = encode(spec, {"train_epochs": 3})
    assert token.startswith("2." if spec.format == 2 else "1.") and len(token) < 1000
    assert decode(token).spec == spec


def test_a_design_too_big_for_a_link_says_so():
    """A large design with little repetition (every dropout rate different) does not compress."""
    rng = random.Random(7)
    stages = [
        {
            "type": "Sequential",
            "layers": [{"type": "Dropout", "rate": rng.random()} for _ in range(25)],
        }
        for _ in range(30)
    ]
    spec = Spec.from_dict({"input_shape": [28, 28, 1], "layers": [*stages, *HEAD]})
    with pytest.raises(ShareTooLarge) as refusal:
        encode(spec)
    assert refusal.value.length > refusal.value.limit
    assert str(refusal.value).startswith("This design is too large to share as a link")
    assert str(refusal.value).endswith("Export it as JSON instead.")
    assert Spec.from_json(spec.to_json()) == spec  # the JSON carries it
