"""Shape, parameter, multiply-add and receptive-field arithmetic for a spec. No TensorFlow here.

Every number comes with the formula that produced it, written with the learner's own numbers::

    >>> size, text, _ = output_size(28, 3, 1, "valid")
    >>> size, text
    (26, '(28 − 3 + 2·0)/1 + 1 = 26')

The tests build the same networks with Keras and check that every shape and count here is
equal to Keras' own (Keras is the oracle).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from cnn_core.spec import (
    Activation,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    Layer,
    MaxPooling2D,
    Problem,
    Spec,
    _Pooling2D,
    pair,
)

BYTES_PER_VALUE = 4  # float32


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


def shape_text(shape: tuple[int, ...] | None) -> str:
    """(26, 26, 32) → '26×26×32'; (128,) → '128'."""
    if shape is None:
        return "—"
    return "×".join(str(d) for d in shape)


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
        window: kernel or pool length along the axis.
        stride: step between windows.
        padding: "valid" (no zeros added) or "same" (zeros added so output = ⌈size/stride⌉).

    Returns:
        ``(output, formula, note)``: the output length (zero or negative means the window does not
        fit), the formula with the numbers substituted, and a note on rounding or padding ("" if
        there is nothing to explain).

    >>> output_size(28, 3, 2, "valid")[:2]
    (13, '⌊(28 − 3 + 2·0)/2⌋ + 1 = ⌊12.5⌋ + 1 = 13')
    >>> output_size(28, 3, 2, "same")[:2]
    (14, '(28 − 3 + 0 + 1)/2 + 1 = 14')
    """
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
    notes = []
    if padding == "same":
        notes.append(
            f'"same" padding: Keras wants ⌈{size}/{stride}⌉ = {-(-size // stride)} outputs and adds '
            f"{before} zero{'s' if before != 1 else ''} before and {after} after"
            + (
                " (an odd total cannot be split evenly: the extra zero goes after)"
                if before != after
                else ""
            )
            + "."
        )
    if numerator >= 0 and numerator % stride:
        leftover = numerator % stride
        notes.append(
            f"{numerator} is not a multiple of the stride {stride}: Keras rounds down, so the last "
            f"{leftover} pixel{'s are' if leftover != 1 else ' is'} never covered by any window."
        )
    return out, formula, " ".join(notes)


# --------------------------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Formula:
    """One line of working: what is computed, and how, with the numbers filled in."""

    label: str
    text: str
    note: str = ""


@dataclass(frozen=True)
class LayerRow:
    """Everything the ledger knows about one layer. Shapes omit the batch dimension."""

    position: int  # 1-based
    layer: Layer
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None  # None when an earlier or this layer does not fit
    params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0
    macs: int = 0  # multiply-adds for one image
    receptive_field: tuple[int, int] | None = None  # input pixels one output value sees; None = all
    jump: tuple[int, int] | None = None  # input pixels between neighbouring output values
    formulas: tuple[Formula, ...] = ()
    problems: tuple[Problem, ...] = ()

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


@dataclass(frozen=True)
class Ledger:
    """The per-layer rows of a spec, its totals and every problem found while walking it."""

    spec: Spec
    rows: tuple[LayerRow, ...]
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

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
    def output_shape(self) -> tuple[int, ...] | None:
        return self.rows[-1].output_shape if self.rows else tuple(self.spec.input_shape)


def _window_text(window: tuple[int, int]) -> str:
    return str(window[0]) if window[0] == window[1] else shape_text(window)


def layer_label(layer: Layer) -> str:
    """A short name a learner recognises: 'Conv2D 32 3×3', 'MaxPooling2D 2×2', 'Dense 10 softmax'."""
    match layer:
        case Conv2D():
            kh, kw = pair(layer.kernel_size)
            extra = ""
            if pair(layer.strides) != (1, 1):
                extra += f" stride {_window_text(pair(layer.strides))}"
            if layer.padding == "same":
                extra += " same"
            act = f" {layer.activation}" if layer.activation else ""
            return f"Conv2D {layer.filters} {kh}×{kw}{extra}{act}"
        case _Pooling2D():
            extra = ""
            if layer.effective_strides != pair(layer.pool_size):
                extra += f" stride {_window_text(layer.effective_strides)}"
            if layer.padding == "same":
                extra += " same"
            return f"{layer.type} {shape_text(pair(layer.pool_size))}{extra}"
        case Dense():
            act = f" {layer.activation}" if layer.activation else ""
            return f"Dense {layer.units}{act}"
        case Dropout():
            return f"Dropout {layer.rate:g}"
        case Activation():
            return f"Activation {layer.activation}"
        case _:
            return layer.type


def _window_rows(
    name: str,
    in_hw: tuple[int, int],
    window: tuple[int, int],
    strides: tuple[int, int],
    padding: str,
) -> tuple[tuple[int, int], list[Formula]]:
    """Output (height, width) of a sliding window, with one formula per axis (or one for both)."""
    out_h, text_h, note_h = output_size(in_hw[0], window[0], strides[0], padding)
    out_w, text_w, note_w = output_size(in_hw[1], window[1], strides[1], padding)
    if (in_hw[0], window[0], strides[0]) == (in_hw[1], window[1], strides[1]):
        return (out_h, out_w), [Formula(f"{name} height and width", text_h, note_h)]
    return (out_h, out_w), [
        Formula(f"{name} height", text_h, note_h),
        Formula(f"{name} width", text_w, note_w),
    ]


def _receptive(
    rf: tuple[int, int], jump: tuple[int, int], window: tuple[int, int], strides: tuple[int, int]
) -> tuple[tuple[int, int], tuple[int, int], Formula]:
    new_rf = (rf[0] + (window[0] - 1) * jump[0], rf[1] + (window[1] - 1) * jump[1])
    new_jump = (jump[0] * strides[0], jump[1] * strides[1])
    if (
        window[0] == window[1]
        and rf[0] == rf[1]
        and jump[0] == jump[1]
        and strides[0] == strides[1]
    ):
        text = (
            f"{rf[0]} + ({window[0]} − 1)·{jump[0]} = {new_rf[0]}, so each output value sees "
            f"{new_rf[0]}×{new_rf[1]} input pixels; jump {jump[0]}·{strides[0]} = {new_jump[0]}"
        )
    else:
        text = (
            f"height {rf[0]} + ({window[0]} − 1)·{jump[0]} = {new_rf[0]}, "
            f"width {rf[1]} + ({window[1]} − 1)·{jump[1]} = {new_rf[1]}; "
            f"jump {jump[0]}·{strides[0]} = {new_jump[0]} down, {jump[1]}·{strides[1]} = {new_jump[1]} across"
        )
    note = "Neighbouring output values are `jump` input pixels apart."
    return new_rf, new_jump, Formula("Receptive field", text, note)


def _activation_formula(shape: tuple[int, ...]) -> Formula:
    n = math.prod(shape)
    dims = "·".join(str(d) for d in shape)
    text = (
        f"{dims} = {fmt(n)} values · {BYTES_PER_VALUE} bytes = {human_bytes(n * BYTES_PER_VALUE)}"
    )
    if len(shape) == 1:
        text = f"{fmt(n)} values · {BYTES_PER_VALUE} bytes = {human_bytes(n * BYTES_PER_VALUE)}"
    return Formula("Activations (one image, float32)", text)


def _not_image(
    position: int, layer: Layer, shape: tuple[int, ...], prev: LayerRow | None
) -> Problem:
    source = f"layer {prev.position} ({prev.type})" if prev else "the input"
    return Problem(
        f"needs an image-shaped input (height, width, channels), but {source} gives a flat vector "
        f"of {fmt(shape[0])} values. Move this layer before the Flatten (or GlobalAveragePooling2D), "
        "or remove it.",
        position,
        layer.type,
    )


def _window_too_big(
    position: int,
    layer: Layer,
    what: str,
    window: tuple[int, int],
    in_hw: tuple[int, int],
    out_hw: tuple[int, int],
) -> Problem:
    return Problem(
        f"its {window[0]}×{window[1]} {what} does not fit in its {in_hw[0]}×{in_hw[1]} input with "
        f'"valid" padding (which adds no zeros): the output size would be '
        f"{out_hw[0]}×{out_hw[1]}".replace("-", "−")
        + f", so no pixels are left. Use a smaller {'kernel_size' if what == 'kernel' else 'pool_size'}, "
        'padding "same", or remove a shrinking layer before it.',
        position,
        layer.type,
    )


def _stride_warning(
    position: int, layer: Layer, window: tuple[int, int], strides: tuple[int, int]
) -> Problem | None:
    if strides[0] > window[0] or strides[1] > window[1]:
        return Problem(
            f"its stride {shape_text(strides)} is larger than its {shape_text(window)} window, so some "
            "input pixels are never looked at. That is allowed, but rarely what you want.",
            position,
            layer.type,
            severity="warning",
        )
    return None


def ledger(spec: Spec, num_classes: int | None = None) -> Ledger:
    """Walk ``spec`` layer by layer: shapes, parameters, multiply-adds, receptive fields, problems.

    Args:
        spec: the network.
        num_classes: when given, the final layer must have this many units.

    Returns:
        A :class:`Ledger` with one row per layer. Layers after the first one that does not fit get
        rows with ``output_shape=None``; the problems say what to change.
    """
    rows = walk(tuple(spec.input_shape), spec.layers)
    problems = [p for row in rows for p in row.problems]
    if not rows or rows[-1].output_shape is not None:  # the whole network fits
        problems.extend(_classifier_problems(spec, rows, num_classes))
    return Ledger(spec, tuple(rows), problems)


def walk(input_shape: tuple[int, ...], layers: tuple[Layer, ...] | list[Layer]) -> list[LayerRow]:
    """The ledger's rows for ``layers`` applied to ``input_shape``, without the classifier checks.

    Unlike a :class:`Spec`, the input may be any shape: an exercise can start inside a network,
    from a 13×13×32 feature map. Rows after a layer that does not fit have ``output_shape=None``.
    """
    rows: list[LayerRow] = []
    shape: tuple[int, ...] | None = tuple(input_shape)
    rf: tuple[int, int] | None = (1, 1)
    jump: tuple[int, int] | None = (1, 1)
    for position, layer in enumerate(layers, start=1):
        if shape is None:  # an earlier layer did not fit; nothing after it can be computed
            rows.append(LayerRow(position, layer, None, None))
            continue
        row = _layer_row(position, layer, shape, rf, jump, rows[-1] if rows else None)
        rows.append(row)
        shape, rf, jump = row.output_shape, row.receptive_field, row.jump
    return rows


def _layer_row(
    position: int,
    layer: Layer,
    in_shape: tuple[int, ...],
    rf: tuple[int, int] | None,
    jump: tuple[int, int] | None,
    prev: LayerRow | None,
) -> LayerRow:
    image = len(in_shape) == 3
    formulas: list[Formula] = []
    problems: list[Problem] = []

    def row(out_shape, params=0, trainable=0, non_trainable=0, macs=0, new_rf=rf, new_jump=jump):
        if out_shape is not None:
            formulas.append(_activation_formula(out_shape))
        return LayerRow(
            position,
            layer,
            in_shape,
            out_shape,
            params,
            trainable,
            non_trainable,
            macs,
            new_rf if out_shape is not None else None,
            new_jump if out_shape is not None else None,
            tuple(formulas),
            tuple(problems),
        )

    if isinstance(layer, Conv2D | _Pooling2D | GlobalAveragePooling2D) and not image:
        problems.append(_not_image(position, layer, in_shape, prev))
        return row(None)

    match layer:
        case Conv2D():
            h, w, c_in = in_shape
            kernel, strides = pair(layer.kernel_size), pair(layer.strides)
            (oh, ow), size_formulas = _window_rows("Output", (h, w), kernel, strides, layer.padding)
            formulas.extend(size_formulas)
            if oh <= 0 or ow <= 0:
                problems.append(
                    _window_too_big(position, layer, "kernel", kernel, (h, w), (oh, ow))
                )
                return row(None)
            formulas.append(
                Formula(
                    "Output depth",
                    f"{layer.filters} filters → {layer.filters} feature maps",
                    f"Each filter spans the full input depth ({c_in} channel{'s' if c_in != 1 else ''}).",
                )
            )
            kh, kw = kernel
            per_filter = kh * kw * c_in
            if layer.use_bias:
                params = (per_filter + 1) * layer.filters
                ptext = f"({kh}·{kw}·{c_in} + 1)·{layer.filters} = {fmt(params)}"
                pnote = f"Each filter has {kh}·{kw}·{c_in} = {fmt(per_filter)} weights and 1 bias, shared by every position."
            else:
                params = per_filter * layer.filters
                ptext = f"{kh}·{kw}·{c_in}·{layer.filters} = {fmt(params)}"
                pnote = "use_bias=False: no bias per filter."
            formulas.append(Formula("Parameters", ptext, pnote))
            macs = per_filter * oh * ow * layer.filters
            formulas.append(
                Formula(
                    "Multiply-adds",
                    f"{kh}·{kw}·{c_in} · {oh}·{ow}·{layer.filters} = {fmt(macs)}",
                    f"Each of the {oh}·{ow}·{layer.filters} output values costs {kh}·{kw}·{c_in} multiply-adds.",
                )
            )
            if (warning := _stride_warning(position, layer, kernel, strides)) is not None:
                problems.append(warning)
            new_rf, new_jump, rf_formula = _receptive(rf, jump, kernel, strides)
            formulas.append(rf_formula)
            return row((oh, ow, layer.filters), params, params, 0, macs, new_rf, new_jump)

        case _Pooling2D():
            h, w, c = in_shape
            window, strides = pair(layer.pool_size), layer.effective_strides
            (oh, ow), size_formulas = _window_rows("Output", (h, w), window, strides, layer.padding)
            formulas.extend(size_formulas)
            if oh <= 0 or ow <= 0:
                problems.append(
                    _window_too_big(position, layer, "pool window", window, (h, w), (oh, ow))
                )
                return row(None)
            kind = "largest value" if isinstance(layer, MaxPooling2D) else "average"
            formulas.append(
                Formula(
                    "Parameters",
                    "0",
                    f"Pooling learns nothing: it keeps the {kind} of each window, in each of the "
                    f"{c} maps separately, so the depth stays {c}.",
                )
            )
            if (warning := _stride_warning(position, layer, window, strides)) is not None:
                problems.append(warning)
            new_rf, new_jump, rf_formula = _receptive(rf, jump, window, strides)
            formulas.append(rf_formula)
            return row((oh, ow, c), new_rf=new_rf, new_jump=new_jump)

        case GlobalAveragePooling2D():
            h, w, c = in_shape
            formulas.append(
                Formula(
                    "Output",
                    f"mean over {h}·{w} positions for each of the {c} maps → {c} values",
                    "Parameters: 0. A parameter-free alternative to Flatten before the classifier.",
                )
            )
            return row((c,), new_rf=None, new_jump=None)

        case Flatten():
            n = math.prod(in_shape)
            if image:
                h, w, c = in_shape
                text = f"{h}·{w}·{c} = {fmt(n)} values"
                note = (
                    f"Keras flattens channels-last: the {c} channel values of the pixel in row 1, "
                    "column 1 come first, then those of row 1, column 2, and so on — not one whole "
                    "map after another as many tutorials draw it. Parameters: 0."
                )
            else:
                text = f"already flat: {fmt(n)} values"
                note = "Flatten on a vector changes nothing."
            formulas.append(Formula("Output", text, note))
            return row((n,))

        case Dense():
            if image:
                problems.append(
                    Problem(
                        f"receives a {shape_text(in_shape)} feature map, not a vector. Keras would "
                        "apply this Dense layer to each pixel separately, which is almost never what "
                        "you want: add a Flatten (or GlobalAveragePooling2D) layer before it.",
                        position,
                        layer.type,
                    )
                )
                return row(None)
            (n_in,) = in_shape
            if layer.use_bias:
                params = (n_in + 1) * layer.units
                ptext = f"({fmt(n_in)} + 1)·{layer.units} = {fmt(params)}"
                pnote = f"Each of the {layer.units} units has a weight for each of the {fmt(n_in)} inputs, plus a bias."
            else:
                params = n_in * layer.units
                ptext = f"{fmt(n_in)}·{layer.units} = {fmt(params)}"
                pnote = "use_bias=False: no bias per unit."
            formulas.append(Formula("Parameters", ptext, pnote))
            macs = n_in * layer.units
            formulas.append(Formula("Multiply-adds", f"{fmt(n_in)}·{layer.units} = {fmt(macs)}"))
            if layer.activation == "softmax":
                formulas.append(
                    Formula(
                        "Softmax",
                        f"{layer.units} scores → {layer.units} probabilities that sum to 1",
                        "e.g. [0.02, 0.05, 0.10, 0.60, …]: the largest, 0.60 at index 3, is the prediction “3”.",
                    )
                )
            return row((layer.units,), params, params, 0, macs, None, None)

        case BatchNormalization():
            c = in_shape[-1]
            learned = int(layer.center) + int(layer.scale)
            trainable, non_trainable = learned * c, 2 * c
            names = " and ".join(
                n for n, on in (("γ (scale)", layer.scale), ("β (offset)", layer.center)) if on
            )
            formulas.append(
                Formula(
                    "Trainable parameters",
                    f"{learned}·{c} = {fmt(trainable)}",
                    f"{names or 'nothing'} per channel, learned by gradient descent.",
                )
            )
            formulas.append(
                Formula(
                    "Non-trainable parameters",
                    f"2·{c} = {fmt(non_trainable)}",
                    "A moving mean and a moving variance per channel: updated during training "
                    f"(momentum {layer.momentum:g}), not by gradients, and used at test time.",
                )
            )
            return row(in_shape, trainable + non_trainable, trainable, non_trainable)

        case Dropout():
            formulas.append(
                Formula(
                    "Output",
                    f"same shape, {shape_text(in_shape)}; parameters: 0",
                    f"While training it zeroes a random {layer.rate:.0%} of the values and scales "
                    f"the rest by 1/(1 − {layer.rate:g}); at test time it lets everything through.",
                )
            )
            return row(in_shape)

        case Activation():
            what = {
                "relu": "ReLU: max(0, x) — negatives become 0",
                "softmax": "softmax: scores → probabilities that sum to 1",
            }.get(layer.activation, f"{layer.activation}, applied to each value on its own")
            formulas.append(
                Formula("Output", f"same shape, {shape_text(in_shape)}; parameters: 0", what)
            )
            return row(in_shape)

    raise TypeError(f"no arithmetic for layer type {layer.type}")  # pragma: no cover


def _classifier_problems(
    spec: Spec, rows: list[LayerRow], num_classes: int | None
) -> list[Problem]:
    """A classifier ends with Dense(classes, softmax), or Dense(classes) then Activation(softmax)."""
    ending = (
        "End the network with Flatten (or GlobalAveragePooling2D) and Dense(number of classes, "
        'activation="softmax").'
    )
    problems: list[Problem] = []
    if not rows:
        return [Problem(f"the network has no layers. {ending}")]
    last = rows[-1]
    for row in rows[:-1]:
        if getattr(row.layer, "activation", None) == "softmax":
            problems.append(
                Problem(
                    "uses softmax in the middle of the network; softmax belongs on the last layer, "
                    'where it turns class scores into probabilities. Use "relu" here.',
                    row.position,
                    row.type,
                    severity="warning",
                )
            )
    if len(last.output_shape or ()) != 1:
        return [
            *problems,
            Problem(
                f"the network ends with a {shape_text(last.output_shape)} feature map, not one score "
                f"per class. {ending}",
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
                    f"has activation {last.layer.activation or 'none'!r}, so its {last.layer.units} "
                    "outputs are not probabilities. A classifier ends with softmax: set activation "
                    'to "softmax".',
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
                    f"applies {rows[-2].layer.activation!r} right before the final softmax, which "
                    "distorts the class scores. Leave its activation empty.",
                    rows[-2].position,
                    rows[-2].type,
                )
            )
    else:
        problems.append(
            Problem(
                f"the network must end with a classifier, but its last layer is {last.type}. {ending}",
                last.position,
                last.type,
            )
        )
    if classifier is not None:
        units = classifier.layer.units  # type: ignore[attr-defined]
        if units < 2:
            problems.append(
                Problem(
                    "has 1 unit; a softmax over one unit always says 1.0. A classifier needs one unit "
                    "per class (at least 2).",
                    classifier.position,
                    classifier.type,
                )
            )
        elif num_classes is not None and units != num_classes:
            problems.append(
                Problem(
                    f"has {units} units, but the data set has {num_classes} classes: set units to "
                    f"{num_classes}.",
                    classifier.position,
                    classifier.type,
                )
            )
    return problems


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
    """Compare the first Conv2D layer with a Dense layer over the same input and outputs."""
    led = led or ledger(spec)
    n, text = dense_weights_per_neuron(spec.input_shape)
    conv_row = next(
        (r for r in led.rows if isinstance(r.layer, Conv2D) and r.output_shape and r.input_shape),
        None,
    )
    if conv_row is None or len(conv_row.input_shape) != 3:
        return FullyConnectedComparison(spec.input_shape, n, text)
    conv: Conv2D = conv_row.layer  # type: ignore[assignment]
    h, w, c = conv_row.input_shape
    kh, kw = pair(conv.kernel_size)
    oh, ow, filters = conv_row.output_shape
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
