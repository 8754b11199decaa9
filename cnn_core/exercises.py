"""Seeded, auto-checked exercises, and the training challenge.

An exercise sheet is a *set* (a fixed list of exercise kinds) and a *seed*. The same set and seed
give the same sheet on every machine, so an instructor shares ``?seed=42&set=mixed`` and the whole
class works on the same questions::

    >>> sheet = make_sheet(42, "shapes")
    >>> len(sheet.exercises), sheet.exercises[0].title
    (8, 'Output shape of a convolution')
    >>> check(sheet.exercises[0], sheet.exercises[0].answer_text).correct
    True

Every answer and every worked solution comes from the same arithmetic the pages use
(:mod:`cnn_core.shapes` for shapes and parameter counts, :mod:`cnn_core.conv_math` for the sums by
hand); nothing is derived twice. The tests build
each generated layer with Keras and check the expected answer against Keras' own (Keras is the
oracle).

Randomness: each exercise has its own ``random.Random`` seeded with a string made of the set, the
seed and the question number. Python turns a string seed into a number with SHA-512, so the sheet
does not depend on the machine, the process or ``PYTHONHASHSEED``; global random state is never
touched.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cnn_core import conv_math
from cnn_core.build import layer_code
from cnn_core.shapes import (
    LayerRow,
    dense_weights_per_neuron,
    fmt,
    fully_connected_comparison,
    ledger,
    output_size,
    shape_text,
    walk,
)
from cnn_core.spec import (
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Flatten,
    Layer,
    MaxPooling2D,
    Spec,
)
from cnn_core.typed import parse_number, parse_numbers, parse_shape

# A shape answer is a tuple of ints, a number answer an int or a float, a grid answer a tuple of
# numbers (row by row), a choice answer one of the exercise's choices.
Answer = int | float | tuple[int | float, ...] | str

MAX_SEED = 999_999_999  # nine digits: easy to read out to a class, plenty of different sheets
DEFAULT_SEED = 1
DEFAULT_SET = "mixed"
# Grid answers are compared with this tolerance, so "4.33" is accepted for 13/3.
GRID_TOLERANCE = 0.01


@dataclass(frozen=True)
class Network:
    """Layers on an input of any shape. A :class:`Spec`'s input is an image (at most 4 channels);
    an exercise may start inside a network, from a 13×13×32 feature map say."""

    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]

    def rows(self) -> list[LayerRow]:
        """The ledger's rows for these layers: the same per-layer arithmetic as
        :func:`cnn_core.shapes.ledger`, started from ``input_shape``."""
        rows = walk(self.input_shape, self.layers)
        for row in rows:
            if row.output_shape is None:  # generators only make layers that fit
                raise AssertionError(f"exercise layer does not fit: {row.problems}")
        return rows


class ExerciseError(ValueError):
    """A seed or set name that cannot be used; the message says what is allowed."""


# --------------------------------------------------------------------------------------------
# Exercises
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exercise:
    """One question with its answer, the worked solution and what Keras needs to check it."""

    number: int  # 1-based position on the sheet
    kind: str  # a key of KINDS
    title: str  # a short heading: "Output shape of a convolution"
    question: str  # Markdown
    answer: Answer
    answer_format: str  # "shape", "number", "grid" or "choice"
    solution: tuple[str, ...]  # Markdown lines of working, with the numbers substituted
    choices: tuple[str, ...] = ()  # for answer_format "choice"
    # Wrong answers learners often give, each with a hint that names the slip.
    mistakes: tuple[tuple[Answer, str], ...] = ()
    # For the Keras oracle: the network the question is about, and what is measured on it.
    network: Network | None = None
    measure: str = ""  # "output_shape", "params", "trainable", "non_trainable", "total_params", ...
    layer: int = 1  # which layer of ``network`` (1-based) the measure is about
    details: dict[str, Any] = field(default_factory=dict)  # grids, kernels, positions

    @property
    def answer_text(self) -> str:
        """The answer as a learner would write it: '26×26×32', '6,272', '3, 4.5, 2, 1'."""
        return format_answer(self.answer, self.answer_format)

    @property
    def hint(self) -> str:
        """What to type, for the answer box."""
        return ANSWER_HINTS[self.answer_format]


ANSWER_HINTS = {
    "shape": "height × width × channels, e.g. 26x26x32",
    "number": "a whole number, e.g. 6,272",
    "grid": "the values row by row, e.g. 3, 4.5, 2, 1",
    "choice": "pick one",
}


def format_answer(answer: Answer, answer_format: str) -> str:
    if answer_format == "shape":
        return shape_text(answer)  # type: ignore[arg-type]
    if answer_format == "grid":
        return ", ".join(_number_text(v) for v in answer)  # type: ignore[union-attr]
    if answer_format == "number":
        return _number_text(answer)  # type: ignore[arg-type]
    return str(answer)


def _number_text(value: float) -> str:
    """6272 → '6,272', −7 → '−7' (a real minus sign, as in the worked sums), 4.75 → '4.75'."""
    text = fmt(int(value)) if float(value).is_integer() else f"{value:.4g}"
    return text.replace("-", "−")


@dataclass(frozen=True)
class ExerciseSet:
    """A named list of exercise kinds: every sheet of the set asks them in this order."""

    name: str
    title: str
    description: str
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class Sheet:
    """The exercises of one set and seed."""

    seed: int
    set_name: str
    exercises: tuple[Exercise, ...]

    @property
    def exercise_set(self) -> ExerciseSet:
        return SETS[self.set_name]

    @property
    def query(self) -> str:
        """The URL query that opens this sheet on the Exercises page."""
        return f"?seed={self.seed}&set={self.set_name}"


# --------------------------------------------------------------------------------------------
# Small helpers for writing questions
# --------------------------------------------------------------------------------------------

# Image shapes that appear in the lessons: MNIST, CIFAR-sized RGB, photos, and the feature maps of
# the tutorial network.
_IMAGE_SHAPES = (
    (28, 28, 1),
    (28, 28, 1),
    (32, 32, 3),
    (64, 64, 3),
    (96, 96, 3),
    (224, 224, 3),
    (26, 26, 32),
    (13, 13, 32),
    (11, 11, 64),
    (15, 15, 16),
)


def _code(layer: Layer) -> str:
    """A layer as Keras code, e.g. ``layers.Conv2D(32, kernel_size=(3, 3), activation="relu")``."""
    return f"`{layer_code(layer).removeprefix('layers.')}`"


def _working(row: LayerRow, *labels: str) -> list[str]:
    """The ledger's own formulas for ``row`` (only those whose label starts with one of
    ``labels``), as Markdown lines."""
    lines = []
    for formula in row.formulas:
        if labels and not formula.label.startswith(labels):
            continue
        line = f"**{formula.label}:** {formula.text}"
        if formula.note:
            line += f". {formula.note}"
        lines.append(line)
    return lines


def _grid_block(*grids: tuple[str, np.ndarray]) -> str:
    """Small integer grids side by side in a Markdown code block, each under its caption."""
    columns = []
    for caption, grid in grids:
        width = max(len(str(int(v))) for v in grid.flat)
        lines = [" ".join(str(int(v)).rjust(width) for v in row) for row in grid]
        block_width = max(len(caption), *(len(line) for line in lines))
        columns.append([caption.ljust(block_width)] + [line.ljust(block_width) for line in lines])
    height = max(len(c) for c in columns)
    for column in columns:
        column.extend([" " * len(column[0])] * (height - len(column)))
    rows = ["     ".join(parts).rstrip() for parts in zip(*columns, strict=True)]
    return "```\n" + "\n".join(rows) + "\n```"


# --------------------------------------------------------------------------------------------
# Output shapes
# --------------------------------------------------------------------------------------------


def _conv_output_shape(rng: random.Random) -> Exercise:
    h, w, c = rng.choice(_IMAGE_SHAPES)
    kernel = rng.choice([k for k in (1, 3, 3, 5, 5, 7) if k <= h])
    stride = rng.choice((1, 1, 2, 2, 3))
    padding = rng.choice(("valid", "valid", "same"))
    filters = rng.choice((8, 16, 32, 64, 128))
    layer = Conv2D(filters, kernel, strides=stride, padding=padding, activation="relu")
    network = Network((h, w, c), (layer,))
    row = network.rows()[0]
    answer = row.output_shape

    other = "same" if padding == "valid" else "valid"
    side_other = output_size(h, kernel, stride, other)[0]
    side_stride1 = output_size(h, kernel, 1, padding)[0]
    mistakes = [
        (
            (side_other, side_other, filters),
            f'that would be padding "{other}"; this layer uses "{padding}".',
        ),
        (
            (side_stride1, side_stride1, filters),
            f"that is the size with stride 1; the stride here is {stride}.",
        ),
        (
            (answer[0], answer[1], c),
            f"the height and width are right, but the depth is the number of filters ({filters}): "
            "each filter makes one feature map.",
        ),
    ]
    return Exercise(
        0,
        "conv_output_shape",
        "Output shape of a convolution",
        f"A convolution layer {_code(layer)}"
        + (' (padding "valid", Keras\' default)' if padding == "valid" else "")
        + f" receives a **{shape_text((h, w, c))}** input. What is its output shape "
        "(height × width × channels)?",
        answer,
        "shape",
        tuple(_working(row, "Output")),
        mistakes=tuple(mistakes),
        network=network,
        measure="output_shape",
    )


def _pool_output_shape(rng: random.Random) -> Exercise:
    h, w, c = rng.choice([s for s in _IMAGE_SHAPES if s[0] >= 4])
    pool = rng.choice((2, 2, 2, 3))
    strides = rng.choice((None, None, None, 1, 2))
    padding = rng.choice(("valid", "valid", "valid", "same"))
    layer_class = rng.choice((MaxPooling2D, MaxPooling2D, AveragePooling2D))
    layer = layer_class(pool_size=pool, strides=strides, padding=padding)
    network = Network((h, w, c), (layer,))
    row = network.rows()[0]
    answer = row.output_shape

    stride = layer.effective_strides[0]
    mistakes = []
    if strides is None:
        side = output_size(h, pool, 1, padding)[0]
        mistakes.append(
            (
                (side, side, c),
                f"with no strides given, Keras uses the pool size ({pool}) as the stride, not 1.",
            )
        )
    else:
        side = output_size(h, pool, pool, padding)[0]
        mistakes.append(((side, side, c), f"the stride is given: {strides}, not the pool size."))
    other = "same" if padding == "valid" else "valid"
    side = output_size(h, pool, stride, other)[0]
    mistakes.append(
        ((side, side, c), f'that would be padding "{other}"; this layer uses "{padding}".')
    )
    mistakes.append(
        (
            (answer[0], answer[1], max(c // pool, 1)),
            f"pooling works on each feature map separately: the depth stays {c}.",
        )
    )
    return Exercise(
        0,
        "pool_output_shape",
        "Output shape of a pooling layer",
        f"A pooling layer {_code(layer)}"
        + (' (padding "valid", Keras\' default)' if padding == "valid" else "")
        + f" receives a **{shape_text((h, w, c))}** feature map. What is its output shape?",
        answer,
        "shape",
        tuple(_working(row, "Output", "Parameters")),
        mistakes=tuple(mistakes),
        network=network,
        measure="output_shape",
    )


def _padding_keeps_size(rng: random.Random) -> Exercise:
    size = 28
    if rng.random() < 0.3:
        # How many zeros, by the formula: (W − F + 2P)/S + 1 = W with S = 1 gives P = (F − 1)/2.
        kernel = rng.choice((3, 5, 7))
        zeros = (kernel - 1) // 2
        network = Network((size, size, 1), (Conv2D(8, kernel),))
        same, same_text, _ = output_size(size, kernel, 1, "same")
        return Exercise(
            0,
            "padding_keeps_size",
            "Zero padding that keeps 28×28",
            f"A {kernel}×{kernel} convolution with stride 1 slides over a **28×28** image. How "
            "many rows (and columns) of zeros P must be added on *each* side so that the output is "
            "28×28 again?",
            zeros,
            "number",
            (
                "Output size = (W − F + 2P)/S + 1. We want it to equal W = 28 with F = "
                f"{kernel}, S = 1:",
                f"(28 − {kernel} + 2P)/1 + 1 = 28 → 2P = {kernel} − 1 → P = {zeros}.",
                f'Keras does this for you with padding="same": {same_text}.',
            ),
            mistakes=((kernel - 1, "that is the total over both sides; P counts one side."),),
            network=network,
            measure="zero_padding",
            details={"size": size, "kernel": kernel, "zeros": zeros, "same": same},
        )

    kernel = rng.choice((1, 3, 3, 5, 5, 7))
    stride = rng.choice((1, 1, 1, 2))
    keeps = {}
    lines = []
    for padding in ("valid", "same"):
        out, text, note = output_size(size, kernel, stride, padding)
        keeps[padding] = out == size
        line = f'**padding="{padding}":** {text}' + (f". {note}" if note else "")
        lines.append(line)
    if keeps["valid"] and keeps["same"]:
        answer = "both"
        lines.append("A 1×1 kernel never hangs over the edge, so it needs no padding at all.")
    elif keeps["same"]:
        answer = "same"
        lines.append('Only "same" keeps 28×28: it adds just enough zeros around the image.')
    elif keeps["valid"]:  # pragma: no cover — valid keeps the size only when same does too
        answer = "valid"
    else:
        answer = "neither"
        lines.append(
            f'With stride {stride}, even "same" padding gives ⌈28/{stride}⌉ = '
            f"{-(-size // stride)}: a stride larger than 1 always shrinks the image."
        )
    choices = ("valid", "same", "both", "neither")
    layer = Conv2D(8, kernel, strides=stride)
    return Exercise(
        0,
        "padding_keeps_size",
        "Which padding keeps 28×28?",
        f"A convolution {_code(layer)} with padding to choose slides over a **28×28×1** image. "
        'Which padding keeps the output 28×28: "valid", "same", both, or neither?',
        answer,
        "choice",
        tuple(lines),
        choices=choices,
        network=Network((size, size, 1), (layer,)),
        measure="keeps_size",
        details={"size": size, "kernel": kernel, "stride": stride},
    )


# --------------------------------------------------------------------------------------------
# Parameter counts
# --------------------------------------------------------------------------------------------


def _conv_params(rng: random.Random) -> Exercise:
    h, w, c = rng.choice(_IMAGE_SHAPES)
    kernel = rng.choice([k for k in (1, 3, 3, 3, 4, 5) if k <= h])
    filters = rng.choice((8, 16, 32, 64, 128, 256))
    use_bias = rng.random() > 0.2
    layer = Conv2D(filters, kernel, activation="relu", use_bias=use_bias)
    network = Network((h, w, c), (layer,))
    row = network.rows()[0]
    per_filter = kernel * kernel * c
    mistakes = [
        (
            (kernel * kernel + int(use_bias)) * filters,
            f"each filter spans the full input depth: it has {kernel}·{kernel}·{c} weights, not "
            f"{kernel}·{kernel}.",
        ),
        (
            per_filter * filters * h * w,
            "the weights are shared by every position: the image size does not change the count.",
        ),
    ]
    if use_bias:
        mistakes.insert(0, (per_filter * filters, "you left out the biases: one per filter."))
    else:
        mistakes.insert(
            0, ((per_filter + 1) * filters, "this layer has use_bias=False: no biases.")
        )
    return Exercise(
        0,
        "conv_params",
        "Parameters of a convolution",
        f"How many parameters (weights and biases) does {_code(layer)} have when its input is "
        f"**{shape_text((h, w, c))}**?",
        row.params,
        "number",
        tuple(_working(row, "Output depth", "Parameters")),
        mistakes=tuple(mistakes),
        network=network,
        measure="params",
    )


def _dense_params(rng: random.Random) -> Exercise:
    use_bias = rng.random() > 0.2
    if rng.random() < 0.6:
        # Dense right after Flatten: the flattened size is the learner's first step.
        input_shape = rng.choice(((5, 5, 64), (3, 3, 128), (7, 7, 32), (13, 13, 32), (4, 4, 16)))
        units = rng.choice((10, 32, 64, 128))
        layer = Dense(units, activation="relu" if units != 10 else "softmax", use_bias=use_bias)
        network = Network(input_shape, (Flatten(), layer))
        intro = (
            f"A `Flatten()` layer unrolls a **{shape_text(input_shape)}** feature map; next comes "
            f"{_code(layer)}."
        )
    else:
        # Dense after Dense: the input is the previous layer's units.
        first_units = rng.choice((84, 120, 128, 256))
        units = rng.choice((10, 64, 84))
        layer = Dense(units, activation="softmax" if units == 10 else "relu", use_bias=use_bias)
        network = Network((5, 5, 16), (Flatten(), Dense(first_units, activation="relu"), layer))
        intro = f"A layer `Dense({first_units})` is followed by {_code(layer)}."
    rows = network.rows()
    row = rows[-1]
    (n_in,) = row.input_shape
    mistakes = (
        (
            n_in * units if use_bias else (n_in + 1) * units,
            "you left out the biases: one per unit."
            if use_bias
            else "this layer has use_bias=False: no biases.",
        ),
    )
    working = _working(rows[0], "Output") if len(rows) == 2 else []
    return Exercise(
        0,
        "dense_params",
        "Parameters of a dense layer",
        f"{intro} How many parameters does that last Dense layer have?",
        row.params,
        "number",
        tuple([*working, *_working(row, "Parameters")]),
        mistakes=mistakes,
        network=network,
        measure="params",
        layer=len(rows),
    )


def _batchnorm_params(rng: random.Random) -> Exercise:
    channels = rng.choice((8, 12, 16, 32, 64, 128))
    center = rng.random() > 0.2
    scale = rng.random() > 0.2
    bn = BatchNormalization(momentum=0.9, center=center, scale=scale)
    conv = Conv2D(channels, 3, padding="same", activation="relu")
    network = Network((28, 28, 1), (conv, bn))
    row = network.rows()[1]
    which = rng.choice(("trainable", "non_trainable", "total"))
    answer = {"trainable": row.trainable_params, "non_trainable": row.non_trainable_params}.get(
        which, row.params
    )
    asked = {
        "trainable": "How many **trainable** parameters does the BatchNormalization layer have?",
        "non_trainable": "How many **non-trainable** parameters does the BatchNormalization layer "
        "have?",
        "total": "How many parameters does the BatchNormalization layer have in total "
        "(trainable and non-trainable, as `model.summary()` counts them)?",
    }[which]
    mistakes = []
    for other, value in (
        ("trainable", row.trainable_params),
        ("non-trainable", row.non_trainable_params),
        ("total", row.params),
    ):
        if value != answer:
            mistakes.append((value, f"that is the {other} count."))
    if answer:
        mistakes.append(
            (answer * 28 * 28, "batch normalisation keeps its numbers per channel, not per pixel.")
        )
    return Exercise(
        0,
        "batchnorm_params",
        "Parameters of batch normalisation",
        f"{_code(conv)} on a 28×28×1 image is followed by {_code(bn)}. {asked}",
        answer,
        "number",
        (
            f"The convolution makes {channels} feature maps, so there are {channels} channels.",
            *_working(row, "Trainable", "Non-trainable"),
            f"Total: {fmt(row.trainable_params)} + {fmt(row.non_trainable_params)} = "
            f"{fmt(row.params)}.",
        ),
        mistakes=tuple(mistakes),
        network=network,
        measure={"trainable": "trainable", "non_trainable": "non_trainable"}.get(which, "params"),
        layer=2,
    )


def _network_params(rng: random.Random) -> Exercise:
    input_shape = rng.choice(((28, 28, 1), (28, 28, 1), (32, 32, 3)))
    layers: list[Layer] = [Conv2D(rng.choice((4, 8, 16)), rng.choice((3, 5)), activation="relu")]
    if rng.random() < 0.3:
        layers.append(BatchNormalization(momentum=0.9))
    layers += [
        MaxPooling2D(2),
        Conv2D(rng.choice((8, 16, 32)), 3, activation="relu"),
        MaxPooling2D(2),
        Flatten(),
    ]
    if rng.random() < 0.5:
        layers.append(Dense(rng.choice((16, 32, 64)), activation="relu"))
    layers.append(Dense(10, activation="softmax"))
    spec = Spec(input_shape, tuple(layers))
    led = ledger(spec)
    listing = "\n".join(
        [f"Input: {shape_text(input_shape)}"]
        + [layer_code(layer).removeprefix("layers.") for layer in layers]
    )
    working = []
    for row in led.rows:
        if row.params:
            formulas = [f.text for f in row.formulas if f.label == "Parameters"] or [
                f"{f.label.split()[0].lower()} {f.text}"  # batch norm: trainable and non-trainable
                for f in row.formulas
                if "arameters" in f.label
            ]
            working.append(
                f"**{row.position}. {row.label}** (input {shape_text(row.input_shape)}): "
                + "; ".join(formulas)
            )
        else:
            working.append(
                f"**{row.position}. {row.label}**: 0 — it learns nothing "
                f"(output {shape_text(row.output_shape)})"
            )
    counted = [fmt(row.params) for row in led.rows if row.params]
    working.append(f"**Total:** {' + '.join(counted)} = {fmt(led.total_params)}")
    no_bias = led.total_params - sum(
        getattr(row.layer, "filters", 0) or getattr(row.layer, "units", 0) for row in led.rows
    )
    mistakes = [(no_bias, "you left out the biases: one per filter and one per dense unit.")]
    if led.non_trainable_params:
        mistakes.append(
            (
                led.trainable_params,
                "that is the trainable count; the batch norm's moving mean and variance count too.",
            )
        )
    return Exercise(
        0,
        "network_params",
        "Total parameters of a small network",
        "How many parameters does this network have in total (as `model.summary()` counts them, "
        f"trainable and non-trainable)?\n\n```\n{listing}\n```",
        led.total_params,
        "number",
        tuple(working),
        mistakes=tuple(mistakes),
        network=Network(input_shape, tuple(layers)),
        measure="total_params",
        layer=len(layers),
    )


def _fully_connected(rng: random.Random) -> Exercise:
    if rng.random() < 0.5:
        image = rng.choice(
            ((28, 28, 3), (200, 200, 3), (32, 32, 3), (64, 64, 1), (96, 96, 3), (28, 28, 1))
        )
        weights, text = dense_weights_per_neuron(image)
        channels = image[2]
        return Exercise(
            0,
            "fully_connected",
            "Why not a fully connected network?",
            f"A fully connected (Dense) neuron looks at a whole **{shape_text(image)}** image. How "
            "many weights does that *one* neuron need (leave out its bias)?",
            weights,
            "number",
            (
                f"One weight per input value: {text}.",
                f"A 3×3 convolution filter on the same image needs only 3·3·{channels} = "
                f"{9 * channels} weights, "
                f"shared by every position, whatever the image size.",
            ),
            mistakes=((weights + 1, "leave out the bias: the question asks for weights."),),
            network=Network(image, (Flatten(), Dense(1, use_bias=False))),
            measure="params",
            layer=2,
        )
    side = rng.choice((8, 10, 12, 16))
    channels = rng.choice((1, 3))
    filters = rng.choice((2, 4, 8))
    conv = Conv2D(filters, 3, activation="relu")
    spec = Spec((side, side, channels), (conv,))
    comparison = fully_connected_comparison(spec)
    oh, ow, _ = ledger(spec).rows[0].output_shape
    image = shape_text(spec.input_shape)
    outputs = oh * ow * filters
    return Exercise(
        0,
        "fully_connected",
        "Convolution versus fully connected",
        f"{_code(conv)} on a **{image}** image outputs {oh}×{ow}×{filters} = "
        f"{fmt(outputs)} values with {fmt(comparison.conv_params)} parameters. A Dense layer "
        f"producing the same {fmt(outputs)} outputs from the same (flattened) image: how many "
        "parameters does it have, biases included?",
        comparison.dense_layer_params,
        "number",
        (
            f"Each of the {fmt(outputs)} outputs is connected to all {image} input values, "
            "plus a bias:",
            comparison.dense_layer_formula + ".",
            f"That is {comparison.ratio:,.0f} times the convolution's "
            f"{fmt(comparison.conv_params)}: "
            "the convolution shares each filter's weights across every position and looks only at "
            f"a 3×3 window ({comparison.conv_formula} weights per output).",
        ),
        mistakes=((side * side * channels * outputs, "you left out the biases: one per output."),),
        network=Network((side, side, channels), (Flatten(), Dense(outputs))),
        measure="params",
        layer=2,
    )


# --------------------------------------------------------------------------------------------
# By hand: one convolution cell, one pooling output. The arithmetic and the written-out sums are
# cnn_core.conv_math's, the same the Convolution page shows step by step.
# --------------------------------------------------------------------------------------------


# Kernels with a name a learner has met on the Convolution page.
_KERNELS = {
    "vertical edge": ((1, 0, -1), (1, 0, -1), (1, 0, -1)),
    "horizontal edge": ((1, 1, 1), (0, 0, 0), (-1, -1, -1)),
    "Sobel (x)": ((1, 0, -1), (2, 0, -2), (1, 0, -1)),
    "sharpen": ((0, -1, 0), (-1, 5, -1), (0, -1, 0)),
}


def _conv_cell(rng: random.Random) -> Exercise:
    size = rng.choice((5, 6, 6))
    stride = rng.choice((1, 1, 2)) if size == 5 else 1
    image = np.array([[rng.randint(0, 9) for _ in range(size)] for _ in range(size)])
    if rng.random() < 0.75:
        name = rng.choice(sorted(_KERNELS))
        kernel = np.array(_KERNELS[name])
        described = f"the 3×3 **{name}** filter"
    else:
        kernel = np.array([[rng.choice((-1, 0, 1)) for _ in range(3)] for _ in range(3)])
        described = "this 3×3 filter"
    out = (size - 3) // stride + 1
    row, col = rng.randrange(out), rng.randrange(out)
    step = conv_math.conv2d(image, kernel, strides=stride).step(row, col)
    window, total = step.window[:, :, 0], int(step.value)
    relu = rng.random() < 0.35
    answer = max(total, 0) if relu else total

    r0, c0 = row * stride, col * stride
    solution = [
        f"Feature-map cell (row {row + 1}, column {col + 1}) looks at input rows "
        f"{r0 + 1}–{r0 + 3}, columns {c0 + 1}–{c0 + 3}"
        + (f" (each step moves {stride} pixels)" if stride > 1 else "")
        + ":",
        _grid_block(("window", window), ("filter", kernel)),
        f"Multiply element by element and add: {step.text.replace(' = ', ' = **')}**.",
    ]
    if relu:
        relu_text = conv_math.relu(np.array([total])).step_text(0)
        solution.append(
            f"ReLU: {relu_text.replace(' = ', ' = **')}**"
            + (" — negatives become 0." if total < 0 else " — positive values pass unchanged.")
        )
    mistakes = []
    if relu and total < 0:
        mistakes.append((total, "that is the value before ReLU; ReLU turns negatives into 0."))
    flipped = int(conv_math.conv2d(image, kernel[::-1, ::-1], strides=stride).output[row, col, 0])
    if flipped != total:
        mistakes.append(
            (
                max(flipped, 0) if relu else flipped,
                "that is the filter turned upside down and back to front; CNNs (and Keras) lay it "
                "over the window as it is.",
            )
        )
    return Exercise(
        0,
        "conv_cell",
        "One convolution cell by hand",
        f"Slide {described} over this {size}×{size} image with stride {stride} and no padding "
        "(no bias). What is the value of the feature map at "
        f"**row {row + 1}, column {col + 1}** (counting from the top left)"
        + (" **after ReLU**" if relu else "")
        + "?\n\n"
        + _grid_block(("image", image), ("filter", kernel)),
        answer,
        "number",
        tuple(solution),
        mistakes=tuple(mistakes),
        network=Network((size, size, 1), (Conv2D(1, 3, strides=stride, use_bias=False),)),
        measure="conv_cell",
        details={
            "image": image.tolist(),
            "kernel": kernel.tolist(),
            "stride": stride,
            "row": row,
            "col": col,
            "relu": relu,
        },
    )


def _pool_output(rng: random.Random) -> Exercise:
    size, pool = rng.choice(((4, 2), (4, 2), (6, 2), (6, 3)))
    kind = "max" if pool == 3 else rng.choice(("max", "max", "average"))
    feature_map = np.array([[rng.randint(0, 9) for _ in range(size)] for _ in range(size)])
    pooled = conv_math.pool2d(feature_map, pool, mode=kind)
    steps = [pooled.step(*pooled.position(i)) for i in range(pooled.cells)]
    out = size // pool
    answer = tuple(int(v) if float(v).is_integer() else v for v in pooled.output[:, :, 0].flat)
    layer = (MaxPooling2D if kind == "max" else AveragePooling2D)(pool_size=pool)
    solution = [
        f"The {pool}×{pool} window steps {pool} pixels at a time (the stride defaults to the pool "
        f"size), so the output is {out}×{out}, one value per window, in each map separately:"
    ]
    for step in steps:
        solution.append(f"- row {step.row + 1}, column {step.col + 1}: {step.text}")
    other_kind = "max" if kind == "average" else "average"
    other_answer = tuple(conv_math.pool2d(feature_map, pool, mode=other_kind).output.flat)
    mistakes = ((other_answer, f"that is {other_kind} pooling."),)
    return Exercise(
        0,
        "pool_output",
        "A pooling output",
        f"Apply {_code(layer)} ({kind} pooling) to this {size}×{size} feature map. Write the "
        f"{out}×{out} output, row by row.\n\n" + _grid_block(("feature map", feature_map)),
        answer,
        "grid",
        tuple(solution),
        mistakes=mistakes,
        network=Network((size, size, 1), (layer,)),
        measure="pool_output",
        details={"feature_map": feature_map.tolist(), "pool": pool, "kind": kind},
    )


# --------------------------------------------------------------------------------------------
# Kinds and sets
# --------------------------------------------------------------------------------------------

KINDS: dict[str, Callable[[random.Random], Exercise]] = {
    "conv_output_shape": _conv_output_shape,
    "pool_output_shape": _pool_output_shape,
    "padding_keeps_size": _padding_keeps_size,
    "conv_params": _conv_params,
    "dense_params": _dense_params,
    "batchnorm_params": _batchnorm_params,
    "network_params": _network_params,
    "fully_connected": _fully_connected,
    "conv_cell": _conv_cell,
    "pool_output": _pool_output,
}

_SET_LIST = [
    ExerciseSet(
        "mixed",
        "A bit of everything",
        "Ten questions from every lesson: shapes, parameter counts, a convolution and a pooling "
        "by hand.",
        (
            "conv_output_shape",
            "conv_params",
            "conv_cell",
            "pool_output",
            "padding_keeps_size",
            "dense_params",
            "pool_output_shape",
            "batchnorm_params",
            "fully_connected",
            "network_params",
        ),
    ),
    ExerciseSet(
        "shapes",
        "Output shapes",
        "Eight questions on how kernels, strides, padding and pooling change the size of a "
        "feature map.",
        (
            "conv_output_shape",
            "pool_output_shape",
            "conv_output_shape",
            "padding_keeps_size",
            "conv_output_shape",
            "pool_output_shape",
            "padding_keeps_size",
            "conv_output_shape",
        ),
    ),
    ExerciseSet(
        "params",
        "Parameter counts",
        "Eight questions on counting weights and biases: convolutions, dense layers, batch "
        "normalisation, a whole network, and why not fully connected.",
        (
            "conv_params",
            "dense_params",
            "conv_params",
            "batchnorm_params",
            "dense_params",
            "fully_connected",
            "network_params",
            "network_params",
        ),
    ),
    ExerciseSet(
        "conv",
        "By hand",
        "Six questions with pencil and paper: convolution cells, pooling outputs and padding.",
        (
            "conv_cell",
            "pool_output",
            "conv_cell",
            "padding_keeps_size",
            "conv_cell",
            "pool_output",
        ),
    ),
]
SETS: dict[str, ExerciseSet] = {s.name: s for s in _SET_LIST}


def parse_seed(value: Any) -> int:
    """A seed from a URL, a form or the command line: a whole number from 0 to MAX_SEED.

    >>> parse_seed(" 42 ")
    42
    """
    text = str(value).strip().replace(",", "").replace("_", "") if value is not None else ""
    if isinstance(value, bool) or not re.fullmatch(r"[0-9]{1,9}", text):
        shown = str(value)[:40] if value is not None else "nothing"
        raise ExerciseError(
            f"the seed must be a whole number from 0 to {MAX_SEED:,}; got {shown!r}."
        )
    return int(text)


def parse_set(value: Any) -> str:
    """A set name (case and spaces forgiven), or an error listing the sets."""
    name = str(value).strip().lower() if value is not None else ""
    if name not in SETS:
        shown = str(value)[:40] if value is not None else "nothing"
        raise ExerciseError(
            f"there is no exercise set called {shown!r}; choose one of: {', '.join(SETS)}."
        )
    return name


def make_exercise(kind: str, seed: int, tag: str = "") -> Exercise:
    """One exercise of ``kind``, the same for the same seed and tag on every machine."""
    return KINDS[kind](random.Random(f"cnn-lab/{tag}/{kind}/{seed}"))


def make_sheet(seed: Any = DEFAULT_SEED, set_name: Any = DEFAULT_SET) -> Sheet:
    """The sheet for ``seed`` and ``set_name``; raises ExerciseError for a bad seed or set."""
    seed, set_name = parse_seed(seed), parse_set(set_name)
    exercises = tuple(
        replace(make_exercise(kind, seed, f"{set_name}/{number}"), number=number)
        for number, kind in enumerate(SETS[set_name].kinds, start=1)
    )
    return Sheet(seed, set_name, exercises)


# --------------------------------------------------------------------------------------------
# Reading and checking answers
# --------------------------------------------------------------------------------------------

# The readers of typed answers live in cnn_core.typed (shared with the Convolution and Shapes
# pages); parse_grid is this module's name for a grid answer.
parse_grid = parse_numbers


@dataclass(frozen=True)
class Check:
    """The verdict on one answer. ``status`` is "correct", "wrong" or "unreadable" (not counted)."""

    status: str
    message: str

    @property
    def correct(self) -> bool:
        return self.status == "correct"


def _same(answer: Answer, given: Answer, answer_format: str) -> bool:
    if answer_format == "grid":
        return len(given) == len(answer) and all(  # type: ignore[arg-type]
            abs(float(a) - float(g)) <= GRID_TOLERANCE
            for a, g in zip(answer, given, strict=True)  # type: ignore[arg-type]
        )
    if answer_format == "number":
        return float(given) == float(answer)  # type: ignore[arg-type]
    return given == answer


def check(exercise: Exercise, text: str | None) -> Check:
    """Check a learner's answer to ``exercise``, forgiving how it is written.

    Unreadable input (an empty box, letters where a shape belongs) is not counted as wrong: the
    message says how to write the answer.
    """
    text = (text or "").strip()
    kind = exercise.answer_format
    if not text:
        return Check("unreadable", f"Type your answer ({exercise.hint}).")
    try:
        if kind == "shape":
            given: Answer = parse_shape(text)
        elif kind == "number":
            given = parse_number(text)
        elif kind == "grid":
            given = parse_grid(text)
        else:
            given = text.lower().strip("\"' ")
            if given not in exercise.choices:
                raise ValueError(given)
    except ValueError:
        return Check("unreadable", f"I could not read {text[:60]!r}: write {exercise.hint}.")

    if _same(exercise.answer, given, kind):
        return Check("correct", f"Correct: {exercise.answer_text}.")
    if kind == "shape" and len(given) != len(exercise.answer):  # type: ignore[arg-type]
        return Check(
            "wrong",
            f"Not quite: give all {len(exercise.answer)} numbers, height × width × channels.",  # type: ignore[arg-type]
        )
    if kind == "grid" and len(given) != len(exercise.answer):  # type: ignore[arg-type]
        return Check(
            "wrong",
            f"Not quite: the output has {len(exercise.answer)} values "  # type: ignore[arg-type]
            f"and you wrote {len(given)}.",  # type: ignore[arg-type]
        )
    for mistake, why in exercise.mistakes:
        if _same(mistake, given, kind):
            return Check("wrong", f"Not quite: {why}")
    return Check("wrong", "Not quite. Try again, or open the worked solution.")


# --------------------------------------------------------------------------------------------
# The instructor's answer sheet
# --------------------------------------------------------------------------------------------


def answer_sheet_markdown(sheet: Sheet) -> str:
    """Questions, answers and worked solutions as Markdown, for an instructor."""
    exercise_set = sheet.exercise_set
    lines = [
        f"# CNN Lab exercises: {exercise_set.title}",
        "",
        f"Set `{sheet.set_name}`, seed {sheet.seed}: {len(sheet.exercises)} questions. "
        f"Learners open the same sheet on the Exercises page with `{sheet.query}`.",
        "",
    ]
    for exercise in sheet.exercises:
        lines += [f"## {exercise.number}. {exercise.title}", "", exercise.question, ""]
        if exercise.choices:
            lines += ["Choices: " + ", ".join(f"`{c}`" for c in exercise.choices), ""]
        lines += [f"**Answer:** {exercise.answer_text}", "", "Working:", ""]
        for line in exercise.solution:
            lines.append(line if line.startswith(("```", "- ")) else f"- {line}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------------------------
# The training challenge
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Challenge:
    """Train a model on the Train page that is accurate, small and quick to train."""

    name: str
    min_val_accuracy: float  # a fraction: 0.985 means 98.5 %
    max_params: int  # the model must have *fewer* parameters than this
    max_epochs: int  # the accuracy must be reached within this many epochs
    dataset: str = "MNIST"  # the data set the run must be trained on

    @property
    def text(self) -> str:
        return (
            f"Reach at least {self.min_val_accuracy:.1%} validation accuracy on {self.dataset} "
            f"with fewer than {fmt(self.max_params)} parameters within {self.max_epochs} epochs."
        )


CHALLENGES: dict[str, Challenge] = {
    c.name: c
    for c in (
        # The tutorials' 99 % needs 19 epochs and 110,000 parameters: this asks for ~1/6 of the
        # parameters and 3 epochs, reachable on a laptop CPU in about a minute.
        Challenge("small_and_fast", 0.985, 20_000, 3),
        # The harder one: 99 % with the same budget, a little more training time.
        Challenge("ninety_nine", 0.99, 20_000, 5),
    )
}
DEFAULT_CHALLENGE = "small_and_fast"


@dataclass(frozen=True)
class Criterion:
    label: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class ChallengeResult:
    challenge: Challenge
    criteria: tuple[Criterion, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.criteria)


def check_challenge(
    params: int,
    epochs: int,
    best_val_accuracy: float,
    challenge: Challenge | None = None,
) -> ChallengeResult:
    """Judge one training run against ``challenge`` (the default one when None).

    Args:
        params: the model's parameter count, trainable and non-trainable.
        epochs: the epochs it took to reach ``best_val_accuracy``.
        best_val_accuracy: the best validation accuracy within those epochs, a fraction 0–1.

    Raises:
        ValueError: a count that is not a whole number ≥ 0, or an accuracy outside 0–1.
    """
    challenge = challenge or CHALLENGES[DEFAULT_CHALLENGE]
    for name, value in (("params", params), ("epochs", epochs)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"{name} must be a whole number ≥ 0, not {value!r}.")
    if not isinstance(best_val_accuracy, int | float | np.floating) or not (
        0.0 <= float(best_val_accuracy) <= 1.0
    ):
        raise ValueError(
            "the accuracy must be a fraction from 0 to 1 (0.985 is 98.5 %), not "
            f"{best_val_accuracy!r}."
        )
    accuracy = float(best_val_accuracy)
    return ChallengeResult(
        challenge,
        (
            Criterion(
                "Accuracy",
                accuracy >= challenge.min_val_accuracy,
                f"best validation accuracy {accuracy:.2%} "
                f"(needs ≥ {challenge.min_val_accuracy:.1%})",
            ),
            Criterion(
                "Size",
                params < challenge.max_params,
                f"{fmt(int(params))} parameters (needs fewer than {fmt(challenge.max_params)})",
            ),
            Criterion(
                "Speed",
                0 < epochs <= challenge.max_epochs,
                f"{epochs} epoch{'s' if epochs != 1 else ''} (needs {challenge.max_epochs} at most)"
                if epochs
                else "no finished epoch yet",
            ),
        ),
    )


def check_challenge_history(
    params: int, val_accuracy: Sequence[float], challenge: Challenge | None = None
) -> ChallengeResult:
    """Judge a run from its per-epoch validation accuracies. Epochs after the challenge's limit
    do not count: the best accuracy is taken over the first ``max_epochs`` epochs."""
    challenge = challenge or CHALLENGES[DEFAULT_CHALLENGE]
    # A missing or broken epoch value (NaN) counts as no accuracy at all.
    counted = [
        float(a) if isinstance(a, int | float) and math.isfinite(a) else 0.0
        for a in list(val_accuracy)[: challenge.max_epochs]
    ]
    if not counted:
        return check_challenge(params, 0, 0.0, challenge)
    best = max(counted)
    # The epoch at which the best (or the first good-enough) accuracy was reached.
    reached = next(
        (i for i, a in enumerate(counted, 1) if a >= challenge.min_val_accuracy),
        counted.index(best) + 1,
    )
    return check_challenge(params, reached, best, challenge)


def check_training_run(
    params: int,
    dataset_name: str,
    val_accuracy: Sequence[float | None],
    challenge: Challenge | None = None,
) -> ChallengeResult:
    """Judge a run of the Train page: its parameter count, the data set it was trained on and its
    per-epoch validation accuracies (None for an epoch without validation)."""
    challenge = challenge or CHALLENGES[DEFAULT_CHALLENGE]
    values = [math.nan if a is None else a for a in val_accuracy]
    criteria = check_challenge_history(params, values, challenge).criteria
    if values and all(a is None for a in val_accuracy):
        no_validation = (
            "no validation accuracy: train with a validation split so it can be measured"
        )
        criteria = (Criterion("Accuracy", False, no_validation), *criteria[1:])
    data = Criterion(
        "Data",
        dataset_name == challenge.dataset,
        f"trained on {dataset_name}"
        + ("" if dataset_name == challenge.dataset else f" (needs {challenge.dataset})"),
    )
    return ChallengeResult(challenge, (data, *criteria))
