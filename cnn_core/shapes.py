"""Shape, parameter, multiply-add and receptive-field arithmetic for a spec. No TensorFlow here.

Every number comes with the formula that produced it, written with the learner's own numbers::

    >>> size, text, _ = output_size(28, 3, 1, "valid")
    >>> size, text
    (26, '(28 − 3 + 2·0)/1 + 1 = 26')

Each layer type has one small rule (``_RULES``), as each Keras layer class has its own
``compute_output_shape``; :func:`ledger` walks the spec's graph (blocks, paths, merges, repeats)
and asks each rule for its row. The tests build the same networks with Keras and check that every
shape and count here is equal to Keras' own (Keras is the oracle).

Text for a person is a :class:`~cnn_core.i18n.Message`; a formula's symbols and numbers are the
same in every language, its words are catalogue entries (``shapes.toml``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cnn_core.i18n import Message, msg
from cnn_core.spec import (
    Activation,
    Add,
    AveragePooling2D,
    BatchNormalization,
    Block,
    Concatenate,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    Layer,
    MaxPooling2D,
    Parallel,
    Path,
    Problem,
    ReLU,
    Residual,
    SeparableConv2D,
    Sequential,
    Spec,
    ZeroPadding2D,
    _Pooling2D,
    errors,
    padding_sides,
    pair,
)

__all__ = [
    "BYTES_PER_VALUE",
    "BlockRow",
    "CostComparison",
    "Formula",
    "FullyConnectedComparison",
    "Incoming",
    "LayerRow",
    "Ledger",
    "dense_weights_per_neuron",
    "errors",
    "fmt",
    "fully_connected_comparison",
    "human_bytes",
    "layer_label",
    "ledger",
    "output_size",
    "output_size_message",
    "same_padding",
    "shape_text",
    "validate",
    "walk",
]

BYTES_PER_VALUE = 4  # float32
Shape = tuple[int, ...]
Pair = tuple[int, int]
# The layers with weights, counted for a network's depth ("ResNet-50": 50 of them on its
# longest path).
WEIGHT_LAYERS = (Conv2D, DepthwiseConv2D, SeparableConv2D, Dense)


def fmt(n: float) -> str:
    """A number with thousands separators: 5408 → '5,408'."""
    return f"{n:,}" if isinstance(n, int) else f"{n:,.6g}"


def human_bytes(n: int) -> str:
    """4096 → '4.0 KB' (powers of 1024, as memory is counted)."""
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def memory_text(n: int) -> Message | str:
    """:func:`human_bytes` for a person: '4.0 KB' is the same in every language, bytes are not."""
    return msg("shapes.bytes", count=n) if n < 1024 else human_bytes(n)


def shape_text(shape: tuple[int, ...] | None) -> str:
    """(26, 26, 32) → '26×26×32'; (128,) → '128'."""
    if shape is None:
        return "—"
    return "×".join(str(d) for d in shape)


def _window_text(window: Pair) -> str:
    return str(window[0]) if window[0] == window[1] else shape_text(window)


# --------------------------------------------------------------------------------------------
# Output size of a sliding window along one axis
# --------------------------------------------------------------------------------------------


def same_padding(size: int, window: int, stride: int) -> tuple[int, int]:
    """Zeros Keras adds (before, after) for ``same`` padding along one axis.

    Keras (TensorFlow) picks the output size ⌈size/stride⌉ first, then pads just enough for the
    last window to fit; an odd total puts the extra zero after (bottom or right).

    >>> same_padding(28, 3, 1)
    (1, 1)
    >>> same_padding(28, 4, 1)
    (1, 2)
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def output_size(size: int, window: int, stride: int, padding: str) -> tuple[int, str, str]:
    """Output length of a window sliding along one axis, as Keras computes it.

    Args:
        size: input length (pixels) along the axis.
        window: kernel or pool length along the axis (a dilated kernel's whole span).
        stride: step between windows.
        padding: "valid" (no zeros added) or "same" (zeros added so output = ⌈size/stride⌉).

    Returns:
        ``(output, formula, note)``: the output length (zero or negative means the window does not
        fit), the formula with the numbers substituted, and a note on rounding or padding in
        English ("" if there is nothing to explain); :func:`output_size_message` gives the note
        as a Message.

    >>> output_size(28, 3, 2, "valid")[:2]
    (13, '⌊(28 − 3 + 2·0)/2⌋ + 1 = ⌊12.5⌋ + 1 = 13')
    >>> output_size(28, 3, 2, "same")[:2]
    (14, '(28 − 3 + 0 + 1)/2 + 1 = 14')
    """
    out, formula, note = output_size_message(size, window, stride, padding)
    return out, formula, str(note)


def output_size_message(
    size: int, window: int, stride: int, padding: str
) -> tuple[int, str, Message | str]:
    """As :func:`output_size`, with the note as a Message for a person ("" when none)."""
    if padding == "same":
        before, after = same_padding(size, window, stride)
    else:
        before = after = 0
    pad_text = f"2·{before}" if before == after else f"{before} + {after}"
    numerator = size - window + before + after
    out = numerator // stride + 1  # floor division, exactly as Keras rounds
    if numerator % stride == 0:
        formula = f"({size} − {window} + {pad_text})/{stride} + 1 = {out}"
    else:
        formula = (
            f"⌊({size} − {window} + {pad_text})/{stride}⌋ + 1 = ⌊{fmt(numerator / stride)}⌋ + 1 "
            f"= {out}"
        )
    notes: list[Message] = []
    if padding == "same":
        odd = msg("shapes.note.same_odd") if before != after else ""
        notes.append(
            msg(
                "shapes.note.same",
                size=size,
                stride=stride,
                out=-(-size // stride),
                count=before,
                after=after,
                odd=odd,
            )
        )
    if numerator >= 0 and numerator % stride:
        notes.append(
            msg("shapes.note.rounded", numerator=numerator, stride=stride, count=numerator % stride)
        )
    if not notes:
        return out, formula, ""
    return (
        out,
        formula,
        notes[0] if len(notes) == 1 else msg("shapes.note.two", first=notes[0], second=notes[1]),
    )


# --------------------------------------------------------------------------------------------
# The ledger's data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Formula:
    """One line of working: what is computed, and how, with the numbers filled in.

    ``kind`` is a stable key (``"params"``, ``"macs"``, ``"output_size"``…) for code that picks a
    formula; ``title``, ``expression`` and ``explanation`` are for a person (a page renders them
    with ``tr``). ``label``, ``text`` and ``note`` are the same in English, for the command line.
    """

    kind: str
    title: Message
    expression: Message | str
    explanation: Message | str = ""

    @property
    def label(self) -> str:
        return str(self.title)

    @property
    def text(self) -> str:
        return str(self.expression)

    @property
    def note(self) -> str:
        return str(self.explanation)


def _formula(kind: str, expression: Message | str, explanation: Message | str = "") -> Formula:
    return Formula(kind, msg(f"shapes.formula.{kind}"), expression, explanation)


@dataclass(frozen=True)
class Incoming:
    """One input of a merge: which path it comes from and its shape."""

    branch: str  # "main", "shortcut", "path1", "path2"…
    shape: Shape | None  # None when that path did not fit
    receptive_field: Pair | None = None

    @property
    def name(self) -> Message:
        """'main path', 'shortcut', 'path 2'."""
        return branch_name(self.branch)


def branch_name(branch: str) -> Message:
    """A path of a block as a learner reads it: 'main path', 'shortcut', 'path 2'."""
    if branch.startswith("path"):
        return msg("shapes.branch.path", number=int(branch[4:]))
    return msg(f"shapes.branch.{branch}")


@dataclass(frozen=True)
class CostComparison:
    """A depthwise-separable convolution next to the standard Conv2D it replaces.

    ``rows`` are the ledger positions that make the separable convolution: one SeparableConv2D,
    or a DepthwiseConv2D and the 1×1 Conv2D after it (MobileNet).
    """

    kernel: Pair
    in_channels: int
    depth_multiplier: int
    out_channels: int
    output_hw: Pair
    standard_macs: int
    separable_macs: int
    standard_params: int
    separable_params: int
    rows: tuple[int, ...]

    @property
    def ratio(self) -> float:
        """How many times more multiply-adds the standard convolution needs."""
        return self.standard_macs / self.separable_macs


@dataclass(frozen=True)
class LayerRow:
    """Everything the ledger knows about one layer. Shapes omit the batch dimension.

    In a graph, ``depth`` is how many blocks enclose the row (0 at the top level), ``block`` the
    id of the innermost one (a :class:`BlockRow`), ``branch`` which of its paths the row is on
    (``"main"``, ``"shortcut"``, ``"path2"``; None for a merge or a block's own activation), and
    ``path`` where its layer is in the spec (:meth:`cnn_core.spec.Spec.item_at`). A merge row
    (Add, Concatenate) lists its inputs in ``incoming``.
    """

    position: int  # 1-based, counting every row of the expanded graph
    layer: Layer
    input_shape: Shape | None
    output_shape: Shape | None  # None when an earlier or this layer does not fit
    params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0
    macs: int = 0  # multiply-adds for one image
    receptive_field: Pair | None = None  # input pixels one output value sees; None = all
    jump: Pair | None = None  # input pixels between neighbouring output values
    formulas: tuple[Formula, ...] = ()
    problems: tuple[Problem, ...] = ()
    depth: int = 0
    block: str | None = None
    branch: str | None = None
    path: Path = ()
    incoming: tuple[Incoming, ...] = ()
    comparison: CostComparison | None = None

    @property
    def type(self) -> str:
        return self.layer.type

    @property
    def activations(self) -> int:
        """Number of values this layer outputs for one image."""
        return math.prod(self.output_shape) if self.output_shape else 0

    @property
    def activation_bytes(self) -> int:
        return self.activations * BYTES_PER_VALUE

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    @property
    def label(self) -> str:
        return layer_label(self.layer)

    @property
    def is_merge(self) -> bool:
        return isinstance(self.layer, Add | Concatenate)

    def formula(self, kind: str) -> Formula | None:
        """This row's formula of ``kind`` (e.g. ``"params"``), or None."""
        return next((f for f in self.formulas if f.kind == kind), None)


@dataclass(frozen=True)
class BlockRow:
    """One block of a graph (each repetition of a repeated block is its own), with the totals
    of its rows: what a page shows as the header of a collapsible group."""

    id: str  # unique in the ledger, e.g. "6", "6.2" (its 2nd repetition), "6.2/main/3"
    kind: str  # "Residual", "Parallel" or "Sequential"
    name: str | None
    path: Path  # the block in the spec (the same for every repetition)
    parent: str | None  # the enclosing block's id
    depth: int  # 0 for a block in the top-level list
    repetition: int  # 1-based
    repeats: int
    first: int  # position of its first row
    last: int  # position of its last row
    input_shape: Shape | None
    output_shape: Shape | None
    params: int
    trainable_params: int
    non_trainable_params: int
    macs: int

    @property
    def label(self) -> Message:
        """'Residual block “conv2_block1” (2 of 3)', 'Parallel block (layers 12–30)'."""
        kind = msg(f"shapes.block.kind.{self.kind.lower()}")
        if self.name:
            base = msg("shapes.block.named", kind=kind, name=self.name)
        else:
            base = msg("shapes.block.unnamed", kind=kind, first=self.first, last=self.last)
        if self.repeats > 1:
            return msg(
                "shapes.block.repetition",
                block=base,
                repetition=self.repetition,
                repeats=self.repeats,
            )
        return base


@dataclass(frozen=True)
class Ledger:
    """The per-layer rows of a spec, its totals and every problem found while walking it."""

    spec: Spec
    rows: tuple[LayerRow, ...]
    problems: list[Problem] = field(default_factory=list)
    blocks: tuple[BlockRow, ...] = ()  # in the order they start; empty for a stack
    # Weight layers (Conv2D, DepthwiseConv2D, SeparableConv2D, Dense) on the longest path from
    # the input to the output: the depth in a network's name (VGG16: 16, ResNet-50: 50).
    weighted_depth: int = 0

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    @property
    def is_graph(self) -> bool:
        return bool(self.blocks)

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def trainable_params(self) -> int:
        return sum(r.trainable_params for r in self.rows)

    @property
    def non_trainable_params(self) -> int:
        return sum(r.non_trainable_params for r in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.rows)

    @property
    def total_activations(self) -> int:
        """Values produced by all layers for one image (what a forward pass keeps for backprop)."""
        return sum(r.activations for r in self.rows)

    @property
    def total_activation_bytes(self) -> int:
        return self.total_activations * BYTES_PER_VALUE

    @property
    def weight_bytes(self) -> int:
        return self.total_params * BYTES_PER_VALUE

    @property
    def output_shape(self) -> Shape | None:
        return self.rows[-1].output_shape if self.rows else tuple(self.spec.input_shape)

    def block(self, block_id: str) -> BlockRow:
        """The block with this id."""
        return next(b for b in self.blocks if b.id == block_id)

    def rows_in(self, block_id: str) -> tuple[LayerRow, ...]:
        """Every row inside block ``block_id``, nested blocks' rows included."""
        block = self.block(block_id)
        return self.rows[block.first - 1 : block.last]

    def children(self, block_id: str | None) -> tuple[BlockRow, ...]:
        """The blocks directly inside ``block_id`` (None: the top-level blocks)."""
        return tuple(b for b in self.blocks if b.parent == block_id)


def layer_label(layer: Layer) -> str:
    """A short name a learner recognises: 'Conv2D 32 3×3', 'MaxPooling2D 2×2', 'Dense 10 softmax'.

    Only Keras names and numbers, the same in every language.
    """
    match layer:
        case Conv2D() | SeparableConv2D() | DepthwiseConv2D():
            kh, kw = pair(layer.kernel_size)
            filters = "" if isinstance(layer, DepthwiseConv2D) else f" {layer.filters}"
            extra = ""
            if pair(layer.strides) != (1, 1):
                extra += f" stride {_window_text(pair(layer.strides))}"
            if pair(layer.dilation_rate) != (1, 1):
                extra += f" dilation {_window_text(pair(layer.dilation_rate))}"
            if isinstance(layer, Conv2D) and layer.groups > 1:
                extra += f" groups {layer.groups}"
            if not isinstance(layer, Conv2D) and layer.depth_multiplier > 1:
                extra += f" ×{layer.depth_multiplier}"
            if layer.padding == "same":
                extra += " same"
            act = f" {layer.activation}" if layer.activation else ""
            return f"{layer.type}{filters} {kh}×{kw}{extra}{act}"
        case _Pooling2D():
            extra = ""
            if layer.effective_strides != pair(layer.pool_size):
                extra += f" stride {_window_text(layer.effective_strides)}"
            if layer.padding == "same":
                extra += " same"
            return f"{layer.type} {shape_text(pair(layer.pool_size))}{extra}"
        case ZeroPadding2D():
            (top, bottom), (left, right) = padding_sides(layer.padding)
            if top == bottom == left == right:
                return f"ZeroPadding2D {top}"
            return f"ZeroPadding2D ({top}, {bottom}), ({left}, {right})"
        case Dense():
            act = f" {layer.activation}" if layer.activation else ""
            return f"Dense {layer.units}{act}"
        case Dropout():
            return f"Dropout {layer.rate:g}"
        case Activation():
            return f"Activation {layer.activation}"
        case ReLU():
            return "ReLU" if layer.max_value is None else f"ReLU max {layer.max_value:g}"
        case _:
            return layer.type


# --------------------------------------------------------------------------------------------
# The rules: one per layer type
# --------------------------------------------------------------------------------------------


_KEEP: Any = object()  # a rule's receptive field or jump that does not change


@dataclass
class _Work:
    """What a rule is given (the input and where the layer sits) and what it writes down."""

    position: int
    layer: Any
    in_shape: Shape
    rf: Pair | None
    jump: Pair | None
    source: Message  # what feeds the layer: "the input", "layer 3 (Flatten)"
    block: Message | None
    formulas: list[Formula] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def add(self, kind: str, expression: Message | str, explanation: Message | str = "") -> None:
        self.formulas.append(_formula(kind, expression, explanation))

    def problem(self, message: Message, severity: str = "error") -> None:
        self.problems.append(
            Problem(message, self.position, self.layer.type, severity, block=self.block)
        )


@dataclass(frozen=True)
class _Result:
    """A rule's answer: the output shape (None: the layer does not fit) and its numbers."""

    shape: Shape | None
    params: int = 0
    non_trainable: int = 0
    macs: int = 0
    rf: Any = _KEEP
    jump: Any = _KEEP


_Rule = Callable[[Any, _Work], _Result]
_RULES: dict[type[Layer], _Rule] = {}
_NEEDS_IMAGE: set[type[Layer]] = set()


def _rule(*types: type[Layer], image: bool = False) -> Callable[[_Rule], _Rule]:
    """Register the rule of ``types``; ``image``: they need a (height, width, channels) input."""

    def register(rule: _Rule) -> _Rule:
        for layer_type in types:
            _RULES[layer_type] = rule
            if image:
                _NEEDS_IMAGE.add(layer_type)
        return rule

    return register


def _window_rows(work: _Work, window: Pair, strides: Pair, padding: str) -> Pair:
    """Output (height, width) of a sliding window, with one formula per axis (or one for both)."""
    h, w = work.in_shape[0], work.in_shape[1]
    out_h, text_h, note_h = output_size_message(h, window[0], strides[0], padding)
    out_w, text_w, note_w = output_size_message(w, window[1], strides[1], padding)
    if (h, window[0], strides[0]) == (w, window[1], strides[1]):
        work.add("output_size", text_h, note_h)
    else:
        work.add("output_height", text_h, note_h)
        work.add("output_width", text_w, note_w)
    return out_h, out_w


def _slide(
    work: _Work,
    window: Pair,
    strides: Pair,
    padding: str,
    what: str,
    dilation: Pair = (1, 1),
) -> Pair | None:
    """The output (height, width) of a kernel or pool window, or None (and the problem) when it
    does not fit. A dilated kernel spans d·(k − 1) + 1 pixels per axis."""
    span = (dilation[0] * (window[0] - 1) + 1, dilation[1] * (window[1] - 1) + 1)
    if dilation != (1, 1):
        if span[0] == span[1] and window[0] == window[1] and dilation[0] == dilation[1]:
            text = f"{dilation[0]}·({window[0]} − 1) + 1 = {span[0]}"
        else:
            text = (
                f"{dilation[0]}·({window[0]} − 1) + 1 = {span[0]}, "
                f"{dilation[1]}·({window[1]} − 1) + 1 = {span[1]}"
            )
        work.add(
            "dilated_window",
            text,
            msg(
                "shapes.note.dilated",
                window=shape_text(window),
                span=shape_text(span),
                taps=window[0] * window[1],
            ),
        )
    out = _window_rows(work, span, strides, padding)
    if out[0] <= 0 or out[1] <= 0:
        shown_window = shape_text(window)
        if span != window:
            shown_window = msg(
                "shapes.window_dilated", window=shape_text(window), span=shape_text(span)
            )
        work.problem(
            msg(
                f"shapes.problem.{what}_too_big",
                window=shown_window,
                input=shape_text(work.in_shape[:2]),
                output=shape_text(out).replace("-", "−"),
            )
        )
        return None
    # A 1×1 convolution with a stride is how ResNet subsamples its projections: no warning.
    pointwise = what == "kernel" and window == (1, 1)
    if not pointwise and (strides[0] > span[0] or strides[1] > span[1]):
        work.problem(
            msg(
                "shapes.problem.stride_skips", strides=shape_text(strides), window=shape_text(span)
            ),
            "warning",
        )
    return out


def _receptive(work: _Work, window: Pair, strides: Pair) -> tuple[Pair, Pair]:
    """The receptive field and jump after a window (a dilated kernel's whole span), with its
    formula."""
    rf, jump = work.rf, work.jump
    assert rf is not None and jump is not None
    new_rf = (rf[0] + (window[0] - 1) * jump[0], rf[1] + (window[1] - 1) * jump[1])
    new_jump = (jump[0] * strides[0], jump[1] * strides[1])
    if (
        window[0] == window[1]
        and rf[0] == rf[1]
        and jump[0] == jump[1]
        and strides[0] == strides[1]
    ):
        text = msg(
            "shapes.expr.receptive_square",
            rf=rf[0],
            window=window[0],
            jump=jump[0],
            new_rf=new_rf[0],
            stride=strides[0],
            new_jump=new_jump[0],
        )
    else:
        text = msg(
            "shapes.expr.receptive",
            rf_h=rf[0],
            rf_w=rf[1],
            window_h=window[0],
            window_w=window[1],
            jump_h=jump[0],
            jump_w=jump[1],
            new_rf_h=new_rf[0],
            new_rf_w=new_rf[1],
            stride_h=strides[0],
            stride_w=strides[1],
            new_jump_h=new_jump[0],
            new_jump_w=new_jump[1],
        )
    work.add("receptive_field", text, msg("shapes.note.jump"))
    return new_rf, new_jump


def _depth_formula(work: _Work, filters: int, channels: int, groups: int = 1) -> None:
    if groups == 1:
        note = msg("shapes.note.full_depth", count=channels)
    else:
        note = msg(
            "shapes.note.grouped_depth", per_group=channels // groups, count=channels, groups=groups
        )
    work.add("output_depth", msg("shapes.expr.filters_maps", count=filters), note)


@_rule(Conv2D, image=True)
def _conv2d(layer: Conv2D, work: _Work) -> _Result:
    c_in = work.in_shape[2]
    kernel, strides, groups = pair(layer.kernel_size), pair(layer.strides), layer.groups
    out = _slide(work, kernel, strides, layer.padding, "kernel", pair(layer.dilation_rate))
    if out is None:
        return _Result(None)
    if c_in % groups:
        work.problem(msg("shapes.problem.groups_channels", groups=groups, channels=c_in))
        return _Result(None)
    (oh, ow), (kh, kw), filters = out, kernel, layer.filters
    _depth_formula(work, filters, c_in, groups)
    depth = f"{c_in}" if groups == 1 else f"{c_in}/{groups}"
    per_filter = kh * kw * (c_in // groups)
    if groups == 1 and layer.use_bias:
        params = (per_filter + 1) * filters
        text = f"({kh}·{kw}·{c_in} + 1)·{filters} = {fmt(params)}"
        note = msg("shapes.note.conv_params", weights=f"{kh}·{kw}·{c_in}", count=per_filter)
    elif layer.use_bias:
        params = (per_filter + 1) * filters
        text = f"({kh}·{kw}·{depth})·{filters} + {filters} = {fmt(params)}"
        note = msg(
            "shapes.note.grouped_params",
            weights=f"{kh}·{kw}·{depth}",
            count=per_filter,
            groups=groups,
        )
    else:
        params = per_filter * filters
        text = f"{kh}·{kw}·{depth}·{filters} = {fmt(params)}"
        note = msg("shapes.note.no_bias_filter")
    work.add("params", text, note)
    macs = per_filter * oh * ow * filters
    work.add(
        "macs",
        f"{kh}·{kw}·{depth} · {oh}·{ow}·{filters} = {fmt(macs)}",
        msg("shapes.note.macs_each", outputs=f"{oh}·{ow}·{filters}", cost=f"{kh}·{kw}·{depth}"),
    )
    span = (
        pair(layer.dilation_rate)[0] * (kh - 1) + 1,
        pair(layer.dilation_rate)[1] * (kw - 1) + 1,
    )
    rf, jump = _receptive(work, span, strides)
    return _Result((oh, ow, filters), params, 0, macs, rf, jump)


@_rule(DepthwiseConv2D, image=True)
def _depthwise(layer: DepthwiseConv2D, work: _Work) -> _Result:
    c_in = work.in_shape[2]
    kernel, strides = pair(layer.kernel_size), pair(layer.strides)
    dilation, m = pair(layer.dilation_rate), layer.depth_multiplier
    out = _slide(work, kernel, strides, layer.padding, "kernel", dilation)
    if out is None:
        return _Result(None)
    (oh, ow), (kh, kw), maps = out, kernel, c_in * m
    times = f"·{m}" if m > 1 else ""
    work.add(
        "output_depth",
        f"{c_in}{times} = {maps}" if m > 1 else f"{c_in}",
        msg("shapes.note.depthwise_depth", count=c_in, multiplier=m),
    )
    weights = kh * kw * maps
    if layer.use_bias:
        params = weights + maps
        text = f"{kh}·{kw}·{c_in}{times} + {c_in}{times} = {fmt(params)}"
    else:
        params = weights
        text = f"{kh}·{kw}·{c_in}{times} = {fmt(params)}"
    work.add("params", text, msg("shapes.note.depthwise_params", window=f"{kh}·{kw}", count=maps))
    macs = kh * kw * oh * ow * maps
    work.add(
        "macs",
        f"{kh}·{kw} · {oh}·{ow}·{maps} = {fmt(macs)}",
        msg("shapes.note.macs_each", outputs=f"{oh}·{ow}·{maps}", cost=f"{kh}·{kw}"),
    )
    span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    rf, jump = _receptive(work, span, strides)
    return _Result((oh, ow, maps), params, 0, macs, rf, jump)


@_rule(SeparableConv2D, image=True)
def _separable(layer: SeparableConv2D, work: _Work) -> _Result:
    c_in = work.in_shape[2]
    kernel, strides = pair(layer.kernel_size), pair(layer.strides)
    dilation, m, filters = pair(layer.dilation_rate), layer.depth_multiplier, layer.filters
    out = _slide(work, kernel, strides, layer.padding, "kernel", dilation)
    if out is None:
        return _Result(None)
    (oh, ow), (kh, kw), maps = out, kernel, c_in * m
    times = f"·{m}" if m > 1 else ""
    work.add(
        "output_depth",
        msg("shapes.expr.filters_maps", count=filters),
        msg("shapes.note.separable_depth", count=c_in),
    )
    params = kh * kw * maps + maps * filters + (filters if layer.use_bias else 0)
    bias = f" + {filters}" if layer.use_bias else ""
    work.add(
        "params",
        f"{kh}·{kw}·{c_in}{times} + {c_in}{times}·{filters}{bias} = {fmt(params)}",
        msg(
            "shapes.note.separable_params",
            window=f"{kh}·{kw}·{c_in}{times}",
            pointwise=f"{c_in}{times}·{filters}",
        ),
    )
    depthwise_macs, pointwise_macs = kh * kw * oh * ow * maps, maps * oh * ow * filters
    macs = depthwise_macs + pointwise_macs
    work.add(
        "macs",
        f"{kh}·{kw} · {oh}·{ow}·{maps} + {maps} · {oh}·{ow}·{filters} = "
        f"{fmt(depthwise_macs)} + {fmt(pointwise_macs)} = {fmt(macs)}",
    )
    span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    rf, jump = _receptive(work, span, strides)
    return _Result((oh, ow, filters), params, 0, macs, rf, jump)


@_rule(MaxPooling2D, AveragePooling2D, image=True)
def _pooling(layer: _Pooling2D, work: _Work) -> _Result:
    c = work.in_shape[2]
    window, strides = pair(layer.pool_size), layer.effective_strides
    out = _slide(work, window, strides, layer.padding, "pool")
    if out is None:
        return _Result(None)
    kind = "max" if isinstance(layer, MaxPooling2D) else "average"
    work.add("params", "0", msg(f"shapes.note.pool_{kind}", count=c))
    rf, jump = _receptive(work, window, strides)
    return _Result((*out, c), rf=rf, jump=jump)


@_rule(ZeroPadding2D, image=True)
def _zero_padding(layer: ZeroPadding2D, work: _Work) -> _Result:
    h, w, c = work.in_shape
    (top, bottom), (left, right) = padding_sides(layer.padding)
    oh, ow = h + top + bottom, w + left + right
    if (h, top, bottom) == (w, left, right):
        work.add("output_size", f"{h} + {top} + {bottom} = {oh}")
    else:
        work.add("output_height", f"{h} + {top} + {bottom} = {oh}")
        work.add("output_width", f"{w} + {left} + {right} = {ow}")
    work.add(
        "params",
        "0",
        msg("shapes.note.zero_padding", top=top, bottom=bottom, left=left, right=right),
    )
    return _Result((oh, ow, c))


@_rule(GlobalAveragePooling2D, GlobalMaxPooling2D, image=True)
def _global_pooling(layer: Layer, work: _Work) -> _Result:
    h, w, c = work.in_shape
    kind = "max" if isinstance(layer, GlobalMaxPooling2D) else "average"
    work.add(
        "output",
        msg(f"shapes.expr.global_{kind}", positions=f"{h}·{w}", count=c),
        msg("shapes.note.global_pooling"),
    )
    return _Result((c,), rf=None, jump=None)


@_rule(Flatten)
def _flatten(layer: Flatten, work: _Work) -> _Result:
    n = math.prod(work.in_shape)
    if len(work.in_shape) == 3:
        h, w, c = work.in_shape
        work.add(
            "output",
            msg("shapes.expr.values", product=f"{h}·{w}·{c} = ", count=n),
            msg("shapes.note.flatten", count=c),
        )
    else:
        work.add(
            "output", msg("shapes.expr.already_flat", count=n), msg("shapes.note.flatten_flat")
        )
    return _Result((n,))


@_rule(Dense)
def _dense(layer: Dense, work: _Work) -> _Result:
    if len(work.in_shape) != 1:
        work.problem(msg("shapes.problem.dense_on_image", shape=shape_text(work.in_shape)))
        return _Result(None)
    (n_in,), units = work.in_shape, layer.units
    if layer.use_bias:
        params = (n_in + 1) * units
        text = f"({fmt(n_in)} + 1)·{units} = {fmt(params)}"
        note = msg("shapes.note.dense_params", units=units, inputs=fmt(n_in))
    else:
        params = n_in * units
        text = f"{fmt(n_in)}·{units} = {fmt(params)}"
        note = msg("shapes.note.no_bias_unit")
    work.add("params", text, note)
    macs = n_in * units
    work.add("macs", f"{fmt(n_in)}·{units} = {fmt(macs)}")
    if layer.activation == "softmax":
        work.add("softmax", msg("shapes.expr.softmax", count=units), msg("shapes.note.softmax"))
    return _Result((units,), params, 0, macs, None, None)


@_rule(BatchNormalization)
def _batch_norm(layer: BatchNormalization, work: _Work) -> _Result:
    c = work.in_shape[-1]
    learned = int(layer.center) + int(layer.scale)
    trainable, non_trainable = learned * c, 2 * c
    which = {
        (True, True): "both",
        (True, False): "scale",
        (False, True): "offset",
        (False, False): "none",
    }[(layer.scale, layer.center)]
    work.add(
        "trainable", f"{learned}·{c} = {fmt(trainable)}", msg(f"shapes.note.bn_learned_{which}")
    )
    work.add(
        "non_trainable",
        f"2·{c} = {fmt(non_trainable)}",
        msg("shapes.note.bn_moving", momentum=f"{layer.momentum:g}"),
    )
    return _Result(work.in_shape, trainable + non_trainable, non_trainable)


@_rule(Dropout)
def _dropout(layer: Dropout, work: _Work) -> _Result:
    work.add(
        "output",
        msg("shapes.expr.same_shape", shape=shape_text(work.in_shape)),
        msg("shapes.note.dropout", percent=f"{layer.rate:.0%}", rate=f"{layer.rate:g}"),
    )
    return _Result(work.in_shape)


_ACTIVATION_NOTES = ("relu", "softmax")


@_rule(Activation)
def _activation(layer: Activation, work: _Work) -> _Result:
    if layer.activation in _ACTIVATION_NOTES:
        what = msg(f"shapes.note.activation_{layer.activation}")
    else:
        what = msg("shapes.note.activation_other", activation=layer.activation)
    work.add("output", msg("shapes.expr.same_shape", shape=shape_text(work.in_shape)), what)
    return _Result(work.in_shape)


@_rule(ReLU)
def _relu(layer: ReLU, work: _Work) -> _Result:
    plain = not layer.negative_slope and not layer.threshold
    if plain and layer.max_value is None:
        what = msg("shapes.note.activation_relu")
    elif plain:
        what = msg("shapes.note.relu_capped", max_value=f"{layer.max_value:g}")
    else:
        cap = (
            ""
            if layer.max_value is None
            else msg("shapes.note.relu_cap", max_value=f"{layer.max_value:g}")
        )
        what = msg(
            "shapes.note.relu_custom",
            threshold=f"{layer.threshold:g}",
            slope=f"{layer.negative_slope:g}",
            cap=cap,
        )
    work.add("output", msg("shapes.expr.same_shape", shape=shape_text(work.in_shape)), what)
    return _Result(work.in_shape)


def _activation_formula(shape: Shape) -> Formula:
    n = math.prod(shape)
    size = memory_text(n * BYTES_PER_VALUE)
    if len(shape) == 1:
        return _formula("activations", msg("shapes.expr.activations_flat", count=n, size=size))
    dims = "·".join(str(d) for d in shape)
    return _formula("activations", msg("shapes.expr.activations", dims=dims, count=n, size=size))


def _source(row: LayerRow | None) -> Message:
    if row is None:
        return msg("shapes.source.input")
    return msg("shapes.source.layer", position=row.position, layer_type=row.type)


def _layer_row(
    position: int,
    layer: Layer,
    in_shape: Shape,
    rf: Pair | None,
    jump: Pair | None,
    prev: LayerRow | None,
    block: Message | None = None,
) -> tuple[LayerRow, _Result]:
    """The row of one layer: its rule's numbers, formulas and problems, and its memory."""
    work = _Work(position, layer, in_shape, rf, jump, _source(prev), block)
    if type(layer) in _NEEDS_IMAGE and len(in_shape) != 3:
        work.problem(
            msg("shapes.problem.needs_image", source=work.source, count=math.prod(in_shape))
        )
        result = _Result(None)
    else:
        result = _RULES[type(layer)](layer, work)
    if result.shape is not None:
        work.formulas.append(_activation_formula(result.shape))
    new_rf = rf if result.rf is _KEEP else result.rf
    new_jump = jump if result.jump is _KEEP else result.jump
    done = result.shape is not None
    row = LayerRow(
        position,
        layer,
        in_shape,
        result.shape,
        result.params,
        result.params - result.non_trainable,
        result.non_trainable,
        result.macs,
        new_rf if done else None,
        new_jump if done else None,
        tuple(work.formulas),
        tuple(work.problems),
    )
    return row, result


# --------------------------------------------------------------------------------------------
# Walking the graph
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Flow:
    """What flows along a path: the shape so far, its receptive field and jump, the row that
    made it, and the weight layers on the longest path to it."""

    shape: Shape | None
    rf: Pair | None = (1, 1)
    jump: Pair | None = (1, 1)
    last: LayerRow | None = None
    weighted_depth: int = 0


@dataclass(frozen=True)
class _Place:
    """Where the items being walked sit: nesting depth, block, path and spec path."""

    depth: int = 0
    block: str | None = None
    branch: str | None = None
    path: Path = ()
    block_text: Message | None = None  # for problems: "in residual block “x”, main path"


class _Walker:
    """Walks a list of items, appending a row per layer (and per merge) and a BlockRow per
    block repetition."""

    def __init__(self) -> None:
        self.rows: list[LayerRow] = []
        self.blocks: list[BlockRow | None] = []

    def items(self, items: Sequence[Layer | Block], flow: _Flow, place: _Place) -> _Flow:
        for index, item in enumerate(items, start=1):
            path = (*place.path, index)
            if isinstance(item, Layer):
                flow = self.layer(item, flow, place, path)
            else:
                for repetition in range(1, item.repeat + 1):
                    flow = self.block(item, flow, place, path, index, repetition)
        return flow

    def layer(self, layer: Layer, flow: _Flow, place: _Place, path: Path) -> _Flow:
        position = len(self.rows) + 1
        where = {"depth": place.depth, "block": place.block, "branch": place.branch, "path": path}
        if flow.shape is None:  # an earlier layer did not fit; nothing after it can be computed
            self.rows.append(LayerRow(position, layer, None, None, **where))
            return _Flow(None, last=self.rows[-1])
        row, _ = _layer_row(
            position, layer, flow.shape, flow.rf, flow.jump, flow.last, place.block_text
        )
        row = _placed(row, **where)
        self.rows.append(row)
        weighted = flow.weighted_depth + isinstance(layer, WEIGHT_LAYERS)
        return _Flow(row.output_shape, row.receptive_field, row.jump, row, weighted)

    def block(
        self, block: Block, flow: _Flow, place: _Place, path: Path, index: int, repetition: int
    ) -> _Flow:
        step = f"{index}.{repetition}" if block.repeat > 1 else f"{index}"
        block_id = (
            step if place.block is None else f"{place.block}/{place.branch or 'layers'}/{step}"
        )
        slot = len(self.blocks)
        self.blocks.append(None)  # filled in below, once its rows are known
        first = len(self.rows) + 1
        placeholder = BlockRow(
            block_id,
            block.kind,
            block.name,
            path,
            place.block,
            place.depth,
            repetition,
            block.repeat,
            first,
            first,
            flow.shape,
            None,
            0,
            0,
            0,
            0,
        )
        inner = _Place(place.depth + 1, block_id, None, path, None)

        def on(branch: str | None) -> _Place:
            text = _block_text(placeholder, branch)
            return _Place(inner.depth, block_id, branch, (*path, _json_key(branch)), text)

        if isinstance(block, Sequential):
            out = self.items(block.layers, flow, on(None))
        elif isinstance(block, Residual):
            main = self.items(block.main, flow, on("main"))
            shortcut = self.items(block.shortcut, flow, on("shortcut"))
            merged = self.merge(
                Add(), [("main", main), ("shortcut", shortcut)], flow, on(None), path, block
            )
            out = merged
            if block.activation is not None:
                out = self.layer(Activation(block.activation), merged, on(None), path)
        else:
            assert isinstance(block, Parallel)
            ends = [
                (f"path{number}", self.items(items, flow, _with_path(on(f"path{number}"), number)))
                for number, items in enumerate(block.paths, start=1)
            ]
            out = self.merge(Concatenate(), ends, flow, on(None), path, block)
        rows = self.rows[first - 1 :]
        self.blocks[slot] = BlockRow(
            block_id, block.kind, block.name, path, place.block, place.depth, repetition,
            block.repeat, first, len(self.rows), flow.shape, out.shape,
            sum(r.params for r in rows), sum(r.trainable_params for r in rows),
            sum(r.non_trainable_params for r in rows), sum(r.macs for r in rows),
        )  # fmt: skip
        return out

    def merge(
        self,
        layer: Add | Concatenate,
        ends: list[tuple[str, _Flow]],
        start: _Flow,
        place: _Place,
        path: Path,
        block: Block,
    ) -> _Flow:
        position = len(self.rows) + 1
        incoming = tuple(Incoming(branch, f.shape, f.rf) for branch, f in ends)
        where = {
            "depth": place.depth,
            "block": place.block,
            "branch": None,
            "path": path,
            "incoming": incoming,
        }
        shapes = [f.shape for _, f in ends]
        if any(shape is None for shape in shapes):
            self.rows.append(LayerRow(position, layer, None, None, **where))
            return _Flow(None, last=self.rows[-1])
        work = _Work(position, layer, shapes[0], None, None, _source(start.last), place.block_text)
        if isinstance(layer, Add):
            shape = _add_rule(work, ends, block, _rows_on(self.rows, place.block, "shortcut"))
        else:
            on_paths = {branch: _rows_on(self.rows, place.block, branch) for branch, _ in ends}
            shape = _concatenate_rule(work, ends, start, on_paths)
        rf, jump = _merged_receptive(work, ends) if shape is not None else (None, None)
        if shape is not None:
            work.add("params", "0", msg("shapes.note.merge_params"))
            work.formulas.append(_activation_formula(shape))
        row = LayerRow(
            position, layer, shapes[0], shape, 0, 0, 0, 0, rf, jump,
            tuple(work.formulas), tuple(work.problems), **where,
        )  # fmt: skip
        self.rows.append(row)
        deepest = max(f.weighted_depth for _, f in ends)
        return _Flow(shape, rf, jump, row, deepest)


def _placed(row: LayerRow, **where: Any) -> LayerRow:
    """``row`` with its place in the graph (the rules make rows without one)."""
    return replace(row, **where)


def _rows_on(rows: list[LayerRow], block: str | None, branch: str) -> list[LayerRow]:
    """The rows on path ``branch`` of block ``block``, those of blocks nested in it included."""
    nested = f"{block}/{branch}/"
    return [
        r
        for r in rows
        if (r.block == block and r.branch == branch) or (r.block or "").startswith(nested)
    ]


def _json_key(branch: str | None) -> str:
    """The JSON key of a block's list: "main", "shortcut", "paths" or "layers"."""
    if branch is None:
        return "layers"
    return "paths" if branch.startswith("path") else branch


def _with_path(place: _Place, number: int) -> _Place:
    """A Parallel path's place: its spec path has the path number after "paths"."""
    return _Place(place.depth, place.block, place.branch, (*place.path, number), place.block_text)


def _block_text(block: BlockRow, branch: str | None) -> Message:
    """'residual block “x” (2 of 3), main path', for the problems of the rows inside it."""
    kind = msg(f"shapes.block.kind_lower.{block.kind.lower()}")
    if block.name:
        text = msg("shapes.block.named", kind=kind, name=block.name)
    else:
        text = msg("shapes.block.starting", kind=kind, first=block.first)
    if block.repeats > 1:
        text = msg(
            "shapes.block.repetition",
            block=text,
            repetition=block.repetition,
            repeats=block.repeats,
        )
    if branch is not None:
        text = msg("shapes.block.on_branch", block=text, branch=branch_name(branch))
    return text


# --------------------------------------------------------------------------------------------
# Merges: Add and Concatenate, and what to change when the paths do not agree
# --------------------------------------------------------------------------------------------


def _keras_broadcast(first: Shape, second: Shape) -> Shape | None:
    """Keras' shape rule for Add (``Merge._compute_elemwise_op_output_shape``): trailing axes
    must be equal or 1; a shorter shape is aligned to the end. None when Keras refuses."""
    if len(first) < len(second):
        first, second = second, first
    out = list(first[: len(first) - len(second)])
    for a, b in zip(first[len(first) - len(second) :], second, strict=True):
        if a == 1:
            out.append(b)
        elif b == 1 or a == b:
            out.append(a)
        else:
            return None
    return tuple(out)


def _add_rule(
    work: _Work, ends: list[tuple[str, _Flow]], block: Block, shortcut_rows: list[LayerRow]
) -> Shape | None:
    (_, main), (_, shortcut) = ends
    a, b = main.shape, shortcut.shape
    assert a is not None and b is not None
    work.add(
        "merge",
        msg(
            "shapes.expr.add",
            main=shape_text(a),
            shortcut=shape_text(b),
            out=shape_text(a if a == b else _keras_broadcast(a, b)),
        ),
        msg("shapes.note.add"),
    )
    if a == b:
        return a
    broadcast = _keras_broadcast(a, b)
    fix = _add_fix(a, b, block, shortcut_rows)
    if broadcast is None:
        work.problem(
            msg("shapes.problem.add_mismatch", main=shape_text(a), shortcut=shape_text(b), fix=fix)
        )
        return None
    work.problem(
        msg(
            "shapes.problem.add_broadcast",
            main=shape_text(a),
            shortcut=shape_text(b),
            out=shape_text(broadcast),
            fix=fix,
        ),
        "warning",
    )
    return broadcast


def _shrink_stride(size: Shape, target: Shape) -> int | None:
    """The stride s for which a 1×1 "valid" convolution turns ``size`` (h, w) into ``target``
    (⌈h/s⌉ = target height, and the same across), or None."""
    for stride in range(1, max(size[0], size[1]) + 1):
        if -(-size[0] // stride) == target[0] and -(-size[1] // stride) == target[1]:
            return stride
    return None


def _add_fix(main: Shape, shortcut: Shape, block: Block, shortcut_rows: list[LayerRow]) -> Message:
    """What to change so that the shortcut gives the main path's shape, in words."""
    if len(main) == 1 and len(shortcut) == 1:
        return msg("shapes.fix.add_vectors", units=main[0])
    if len(main) != 3 or len(shortcut) != 3:
        return msg("shapes.fix.add_ranks")
    channels = main[2]
    stride = _shrink_stride(shortcut[:2], main[:2])
    if stride is None:
        return msg(
            "shapes.fix.add_sizes", main=shape_text(main[:2]), shortcut=shape_text(shortcut[:2])
        )
    if isinstance(block, Residual) and not block.shortcut:
        return msg("shapes.fix.add_projection", filters=channels, stride=stride)
    convs = [r for r in shortcut_rows if isinstance(r.layer, Conv2D | SeparableConv2D)]
    if convs and convs[-1].input_shape is not None:
        # Change the shortcut's last convolution, when the layers after it keep its size.
        last = convs[-1]
        after = shortcut_rows[shortcut_rows.index(last) + 1 :]
        layer: Any = last.layer
        slides = pair(layer.kernel_size) == (1, 1) or layer.padding == "same"
        needed = _shrink_stride(last.input_shape[:2], main[:2])
        if slides and needed is not None and all(r.input_shape == r.output_shape for r in after):
            where = {"position": last.position, "layer_type": last.type, "filters": channels}
            if pair(layer.strides) == (needed, needed):
                return msg("shapes.fix.add_set_filters", **where)
            return msg("shapes.fix.add_set_conv", stride=needed, **where)
    return msg("shapes.fix.add_shortcut_conv", filters=channels, stride=stride)


def _concatenate_rule(
    work: _Work,
    ends: list[tuple[str, _Flow]],
    start: _Flow,
    on_paths: dict[str, list[LayerRow]],
) -> Shape | None:
    shapes: list[Shape] = [f.shape for _, f in ends if f.shape is not None]
    joined = " ‖ ".join(shape_text(s) for s in shapes)
    ranks = {len(s) for s in shapes}
    if len(ranks) == 1 and len({s[:-1] for s in shapes}) == 1:
        lead, depths = shapes[0][:-1], [s[-1] for s in shapes]
        out = (*lead, sum(depths))
        head = shape_text(lead) + "×" if lead else ""
        work.add(
            "merge",
            f"{joined} → {head}({' + '.join(map(str, depths))}) = {shape_text(out)}",
            msg("shapes.note.concatenate"),
        )
        return out
    work.add("merge", joined, msg("shapes.note.concatenate"))
    listing = [
        msg("shapes.expr.branch_gives", branch=branch_name(b), shape=shape_text(f.shape))
        for b, f in ends
    ]
    if len(ranks) > 1:
        work.problem(msg("shapes.problem.concatenate_ranks", shapes=listing))
        return None
    # Match the size most paths keep (the block's input size, if a path keeps it).
    sizes = [s[:-1] for s in shapes]
    entry = start.shape[:-1] if start.shape is not None else None
    target = entry if entry in sizes else max(set(sizes), key=sizes.count)
    fixes = []
    for branch, flow in ends:
        if flow.shape is None or flow.shape[:-1] == target:
            continue
        culprit = next(
            (
                r
                for r in on_paths[branch]
                if r.input_shape is not None
                and r.output_shape is not None
                and len(r.input_shape) == 3
                and r.input_shape[:-1] == target
                and r.output_shape[:-1] != target
            ),
            None,
        )
        if culprit is None:
            fixes.append(
                msg(
                    "shapes.fix.concatenate_path",
                    branch=branch_name(branch),
                    size=shape_text(target),
                )
            )
        else:
            fixes.append(
                msg(
                    "shapes.fix.concatenate_layer",
                    branch=branch_name(branch),
                    position=culprit.position,
                    label=culprit.label,
                    before=shape_text(target),
                    after=shape_text(culprit.output_shape[:-1]),  # type: ignore[index]
                )
            )
    work.problem(
        msg(
            "shapes.problem.concatenate_sizes", shapes=listing, size=shape_text(target), fixes=fixes
        )
    )
    return None


def _merged_receptive(
    work: _Work, ends: list[tuple[str, _Flow]]
) -> tuple[Pair | None, Pair | None]:
    """A merge sees what its widest input sees: the largest receptive field over the paths."""
    if any(f.rf is None for _, f in ends):
        return None, None
    rf = (max(f.rf[0] for _, f in ends), max(f.rf[1] for _, f in ends))  # type: ignore[index]
    jump = (max(f.jump[0] for _, f in ends), max(f.jump[1] for _, f in ends))  # type: ignore[index]
    parts = [
        msg("shapes.expr.branch_sees", branch=branch_name(b), shape=shape_text(f.rf))
        for b, f in ends
    ]
    work.add(
        "receptive_field",
        msg("shapes.expr.receptive_merge", parts=parts, rf=shape_text(rf)),
        msg("shapes.note.receptive_merge"),
    )
    return rf, jump


# --------------------------------------------------------------------------------------------
# Standard against depthwise-separable convolution
# --------------------------------------------------------------------------------------------

# Layers that may sit between a DepthwiseConv2D and its 1×1 Conv2D (MobileNet puts batch norm
# and ReLU6 there).
_BETWEEN = (BatchNormalization, Activation, ReLU, Dropout)


def _comparison(
    kernel: Pair,
    c_in: int,
    m: int,
    filters: int,
    out_hw: Pair,
    use_bias: bool,
    rows: tuple[int, ...],
) -> CostComparison:
    kh, kw = kernel
    oh, ow = out_hw
    bias = filters if use_bias else 0
    return CostComparison(
        kernel,
        c_in,
        m,
        filters,
        out_hw,
        standard_macs=kh * kw * c_in * filters * oh * ow,
        separable_macs=kh * kw * c_in * m * oh * ow + c_in * m * filters * oh * ow,
        standard_params=kh * kw * c_in * filters + bias,
        separable_params=kh * kw * c_in * m + c_in * m * filters + bias,
        rows=rows,
    )


def _comparison_formula(c: CostComparison) -> Formula:
    kh, kw = c.kernel
    oh, ow = c.output_hw
    maps = c.in_channels * c.depth_multiplier
    depthwise = kh * kw * maps * oh * ow
    pointwise = maps * c.out_channels * oh * ow
    expression = msg(
        "shapes.expr.cost",
        kernel=f"{kh}×{kw}",
        c_in=c.in_channels,
        filters=c.out_channels,
        standard=f"{kh}·{kw}·{c.in_channels}·{c.out_channels} · {oh}·{ow} = {fmt(c.standard_macs)}",
        separable=(
            f"{kh}·{kw}·{maps} · {oh}·{ow} + {maps}·{c.out_channels} · {oh}·{ow} = "
            f"{fmt(depthwise)} + {fmt(pointwise)} = {fmt(c.separable_macs)}"
        ),
        ratio=f"{c.ratio:.1f}",
    )
    if c.depth_multiplier == 1:
        share = 1 / c.out_channels + 1 / (kh * kw)
        note = msg(
            "shapes.note.cost",
            formula=f"1/{c.out_channels} + 1/({kh}·{kw}) = {share:.3f}",
            standard_params=fmt(c.standard_params),
            separable_params=fmt(c.separable_params),
        )
    else:
        note = msg(
            "shapes.note.cost_params",
            standard_params=fmt(c.standard_params),
            separable_params=fmt(c.separable_params),
        )
    return _formula("cost_comparison", expression, note)


def _with_comparisons(rows: list[LayerRow]) -> list[LayerRow]:
    """Rows with the standard-against-separable comparison added where it applies: on each
    SeparableConv2D, and on the 1×1 Conv2D that follows a DepthwiseConv2D on the same path."""
    out = list(rows)
    for index, row in enumerate(rows):
        comparison = None
        if isinstance(row.layer, SeparableConv2D) and row.output_shape and row.input_shape:
            layer = row.layer
            comparison = _comparison(
                pair(layer.kernel_size), row.input_shape[2], layer.depth_multiplier,
                layer.filters, row.output_shape[:2], layer.use_bias, (row.position,),
            )  # fmt: skip
        elif _is_pointwise(row):
            depthwise = _depthwise_before(rows, index)
            if depthwise is not None and depthwise.input_shape:
                comparison = _comparison(
                    pair(depthwise.layer.kernel_size), depthwise.input_shape[2],  # type: ignore[attr-defined]
                    depthwise.layer.depth_multiplier, row.layer.filters,  # type: ignore[attr-defined]
                    row.output_shape[:2], row.layer.use_bias,  # type: ignore[index, attr-defined]
                    (depthwise.position, row.position),
                )  # fmt: skip
        if comparison is not None:
            formulas = (*row.formulas, _comparison_formula(comparison))
            out[index] = replace(row, formulas=formulas, comparison=comparison)
    return out


def _is_pointwise(row: LayerRow) -> bool:
    layer = row.layer
    return (
        isinstance(layer, Conv2D)
        and row.output_shape is not None
        and pair(layer.kernel_size) == (1, 1)
        and pair(layer.strides) == (1, 1)
        and layer.groups == 1
    )


def _depthwise_before(rows: list[LayerRow], index: int) -> LayerRow | None:
    """The DepthwiseConv2D feeding row ``index`` through only batch norm and activations."""
    for earlier in reversed(rows[:index]):
        if (earlier.block, earlier.branch) != (rows[index].block, rows[index].branch):
            return None
        if isinstance(earlier.layer, DepthwiseConv2D):
            return earlier if earlier.output_shape is not None else None
        if not isinstance(earlier.layer, _BETWEEN):
            return None
    return None


# --------------------------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------------------------


def ledger(spec: Spec, num_classes: int | None = None) -> Ledger:
    """Walk ``spec``: shapes, parameters, multiply-adds, receptive fields and problems, one row
    per Keras layer (blocks expanded, repeats repeated, a row per merge).

    Args:
        spec: the network.
        num_classes: when given, the final layer must have this many units.

    Returns:
        A :class:`Ledger`. Layers after the first one that does not fit (on a path: until the
        path's merge) get rows with ``output_shape=None``; the problems say what to change.
    """
    walker = _Walker()
    end = walker.items(spec.layers, _Flow(tuple(spec.input_shape)), _Place())
    rows = _with_comparisons(walker.rows)
    problems = [p for row in rows for p in row.problems]
    if not rows or rows[-1].output_shape is not None:  # the whole network fits
        problems.extend(_classifier_problems(rows, num_classes))
    blocks = tuple(b for b in walker.blocks if b is not None)
    return Ledger(spec, tuple(rows), problems, blocks, end.weighted_depth)


def walk(input_shape: Shape, layers: Sequence[Layer | Block]) -> list[LayerRow]:
    """The ledger's rows for ``layers`` applied to ``input_shape``, without the classifier checks.

    Unlike a :class:`Spec`, the input may be any shape: an exercise can start inside a network,
    from a 13×13×32 feature map. Rows after a layer that does not fit have ``output_shape=None``.
    """
    walker = _Walker()
    walker.items(layers, _Flow(tuple(input_shape)), _Place())
    return _with_comparisons(walker.rows)


def validate(spec: Spec, num_classes: int | None = None) -> list[Problem]:
    """Every structural problem of ``spec``: layers that do not fit together, paths that do not
    merge, a missing classifier, and (when ``num_classes`` is given) a classifier of the wrong
    size. Errors and warnings both; :func:`cnn_core.spec.errors` keeps the errors."""
    return ledger(spec, num_classes=num_classes).problems


def _classifier_problems(rows: list[LayerRow], num_classes: int | None) -> list[Problem]:
    """A classifier ends with Dense(classes, softmax), or Dense(classes) then Activation(softmax)."""
    ending = msg("shapes.problem.ending")
    problems: list[Problem] = []
    if not rows:
        return [Problem(msg("shapes.problem.no_layers", ending=ending))]
    last = rows[-1]
    for row in rows[:-1]:
        if getattr(row.layer, "activation", None) == "softmax":
            problems.append(
                Problem(msg("shapes.problem.softmax_inside"), row.position, row.type, "warning")
            )
    if len(last.output_shape or ()) != 1:
        return [
            *problems,
            Problem(
                msg(
                    "shapes.problem.ends_with_map",
                    shape=shape_text(last.output_shape),
                    ending=ending,
                ),
                last.position,
                last.type,
            ),
        ]
    classifier: LayerRow | None = None
    if isinstance(last.layer, Dense):
        classifier = last
        if last.layer.activation != "softmax":
            problems.append(
                Problem(
                    msg(
                        "shapes.problem.not_softmax",
                        activation=shown_activation(last.layer.activation),
                        units=last.layer.units,
                    ),
                    last.position,
                    last.type,
                )
            )
    elif (
        isinstance(last.layer, Activation)
        and last.layer.activation == "softmax"
        and len(rows) >= 2
        and isinstance(rows[-2].layer, Dense)
    ):
        classifier = rows[-2]
        if rows[-2].layer.activation not in (None, "linear"):
            problems.append(
                Problem(
                    msg(
                        "shapes.problem.before_softmax", activation=repr(rows[-2].layer.activation)
                    ),
                    rows[-2].position,
                    rows[-2].type,
                )
            )
    else:
        problems.append(
            Problem(
                msg("shapes.problem.no_classifier", layer_type=last.type, ending=ending),
                last.position,
                last.type,
            )
        )
    if classifier is not None:
        units = classifier.layer.units  # type: ignore[attr-defined]
        if units < 2:
            problems.append(
                Problem(msg("shapes.problem.one_unit"), classifier.position, classifier.type)
            )
        elif num_classes is not None and units != num_classes:
            problems.append(
                Problem(
                    msg("shapes.problem.wrong_classes", units=units, classes=num_classes),
                    classifier.position,
                    classifier.type,
                )
            )
    return problems


def shown_activation(activation: str | None) -> str:
    """An activation as a message quotes it: 'relu', or 'none'."""
    return repr(activation or "none")


# --------------------------------------------------------------------------------------------
# Why not a fully connected network?
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FullyConnectedComparison:
    """How many weights a fully connected layer needs on an image, next to a conv layer."""

    input_shape: tuple[int, int, int]
    dense_weights_per_neuron: int  # one Dense neuron connects to every input value
    dense_formula: str
    conv_weights_per_neuron: int | None = None  # one conv output sees only its window
    conv_formula: str = ""
    conv_positions: int | None = None  # positions that share those weights
    conv_params: int | None = None
    dense_layer_params: int | None = None  # a Dense layer with as many outputs as the conv layer
    dense_layer_formula: str = ""

    @property
    def ratio(self) -> float | None:
        if self.conv_params is None or self.dense_layer_params is None or not self.conv_params:
            return None
        return self.dense_layer_params / self.conv_params


def dense_weights_per_neuron(input_shape: tuple[int, int, int]) -> tuple[int, str]:
    """Weights one fully connected neuron needs over a whole image (bias not counted).

    >>> dense_weights_per_neuron((28, 28, 3))
    (2352, '28·28·3 = 2,352')
    >>> dense_weights_per_neuron((200, 200, 3))[0]
    120000
    """
    n = math.prod(input_shape)
    return n, f"{'·'.join(str(d) for d in input_shape)} = {fmt(n)}"


def fully_connected_comparison(spec: Spec, led: Ledger | None = None) -> FullyConnectedComparison:
    """Compare the first Conv2D layer on the input with a Dense layer over the same input and
    outputs."""
    led = led or ledger(spec)
    n, text = dense_weights_per_neuron(spec.input_shape)
    conv_row = next(
        (
            r
            for r in led.rows
            if isinstance(r.layer, Conv2D)
            and r.layer.groups == 1
            and r.output_shape
            and r.input_shape
        ),
        None,
    )
    if conv_row is None or conv_row.input_shape is None or len(conv_row.input_shape) != 3:
        return FullyConnectedComparison(spec.input_shape, n, text)
    conv: Conv2D = conv_row.layer  # type: ignore[assignment]
    h, w, c = conv_row.input_shape
    kh, kw = pair(conv.kernel_size)
    oh, ow, filters = conv_row.output_shape  # type: ignore[misc]
    n_in = h * w * c
    outputs = oh * ow * filters
    dense_params = (n_in + 1) * outputs
    return FullyConnectedComparison(
        spec.input_shape,
        n,
        text,
        conv_weights_per_neuron=kh * kw * c,
        conv_formula=f"{kh}·{kw}·{c} = {fmt(kh * kw * c)}",
        conv_positions=oh * ow,
        conv_params=conv_row.params,
        dense_layer_params=dense_params,
        dense_layer_formula=(
            f"({h}·{w}·{c} + 1)·({oh}·{ow}·{filters}) = ({fmt(n_in)} + 1)·{fmt(outputs)} = "
            f"{fmt(dense_params)}"
        ),
    )
