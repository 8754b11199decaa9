"""The architecture spec: the one description of a network that every page, link and export uses.

A spec is an input shape and an ordered list of layers and blocks. Its JSON form is a public file
format (docs/spec.md)::

    {"input_shape": [28, 28, 1],
     "layers": [
       {"type": "Conv2D", "filters": 32, "kernel_size": 3, "strides": 1, "padding": "valid",
        "activation": "relu"},
       {"type": "MaxPooling2D", "pool_size": 2},
       {"type": "Flatten"},
       {"type": "Dense", "units": 10, "activation": "softmax"}]}

``type`` is the Keras class name; every other key is that Keras layer's own argument name, with
Keras' default when omitted. ``kernel_size``, ``strides``, ``pool_size`` and ``dilation_rate``
take an int or a pair.

Format 2 adds blocks, which nest (a path may hold blocks) and may repeat (``"repeat": 3``):

- ``{"type": "Residual", "main": [...], "shortcut": [...], "activation": "relu"}``: the main
  path and the shortcut (an empty list: the input itself) joined by ``Add``, then an optional
  activation;
- ``{"type": "Parallel", "paths": [[...], [...]]}``: paths side by side, joined by
  ``Concatenate`` on the channel axis (Inception);
- ``{"type": "Sequential", "layers": [...]}``: layers one after another, grouped under a name
  (a ResNet stage, a MobileNet block).

A document that version 1 could read is still written as version 1 (no ``"format"`` key), so
files and links made for older CNN Lab keep working there; anything else says ``"format": 2``.

Layers and blocks are frozen dataclasses that check their own arguments when they are made, so
an object is always well-formed on its own. Whether they fit *together* (a window larger than its
input, a shortcut of another shape than its main path, a missing classifier) is checked by
:func:`cnn_core.shapes.validate`, which walks the shapes: this module knows the format only.

Every message is a :class:`~cnn_core.i18n.Message` written for a learner: which layer, what is
wrong and what to change.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

from cnn_core.config import LIMITS
from cnn_core.i18n import Message, msg

Window = int | tuple[int, int]
# ZeroPadding2D: one number for every side, (rows, columns), or ((top, bottom), (left, right)).
Padding2D = int | tuple[int, int] | tuple[tuple[int, int], tuple[int, int]]

FORMAT = 2  # the newest format this module writes and reads
PADDINGS = ("valid", "same")
# Activations a learner may pick. Each is a name `keras.activations.get` accepts (tested).
ACTIVATIONS = (
    "relu",
    "selu",
    "elu",
    "gelu",
    "leaky_relu",
    "swish",
    "sigmoid",
    "tanh",
    "softmax",
    "linear",
)
_NAME = re.compile(r"[\w .\-]{1,40}")  # a block's name: shown in the ledger, so short and plain
_SHOWN_CHARS = 60  # a bad value is echoed in a message at most this long


# --------------------------------------------------------------------------------------------
# Problems and errors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in a spec, said for a learner.

    ``position`` is 1-based like the ledger: a ledger row, or while a document is read, an item
    of the top-level list (then ``trail`` says where inside that item's blocks). ``None`` means
    the spec as a whole. ``block`` names the block a ledger row sits in. ``message`` is a
    Message (plain text is still accepted from code that has not moved to the catalogues).
    """

    message: Message | str
    position: int | None = None
    layer_type: str | None = None
    severity: str = "error"  # "error" stops the model from being built; "warning" does not
    trail: tuple[Message, ...] = ()  # e.g. ("main path", "layer 2"): inside item ``position``
    block: Message | None = None  # e.g. "in residual block conv2_block1, main path"

    @property
    def code(self) -> str:
        """The message's catalogue id (e.g. ``shapes.merge.add_mismatch``): what went wrong, for
        code that reacts to a kind of problem."""
        return self.message.id if isinstance(self.message, Message) else ""

    @property
    def where(self) -> Message | str:
        """'Layer 3 (Dense)', 'Layer 3', 'Input', or '' for the spec as a whole."""
        if self.position is None:
            return self.layer_type or ""
        if self.trail:
            inner: Message = self.trail[0]
            for step in self.trail[1:]:
                inner = msg("spec.where.step", outer=inner, inner=step)
            if self.layer_type:
                return msg(
                    "spec.where.nested_typed",
                    position=self.position,
                    inner=inner,
                    layer_type=self.layer_type,
                )
            return msg("spec.where.nested", position=self.position, inner=inner)
        if self.layer_type:
            where = msg("spec.where.typed", position=self.position, layer_type=self.layer_type)
        else:
            where = msg("spec.where.layer", position=self.position)
        if self.block is not None:
            return msg("spec.where.in_block", where=where, block=self.block)
        return where

    @property
    def sentence(self) -> Message:
        """The whole sentence, place and message: what a page shows (``tr(problem.sentence)``)."""
        message = (
            self.message
            if isinstance(self.message, Message)
            else msg("spec.plain", text=self.message)
        )
        where = self.where
        if not where:
            return msg("spec.problem.alone", message=message)
        return msg("spec.problem.at", where=where, message=message)

    def render(self, language: str) -> str:
        """The sentence in ``language``; a message on its own starts with a capital letter."""
        text = self.sentence.render(language)
        return text[:1].upper() + text[1:]

    def __str__(self) -> str:
        return self.render("en")


class SpecError(ValueError):
    """A spec (or one layer of it) that cannot be used, with every problem found."""

    def __init__(self, problems: list[Problem] | Problem | Message | str):
        if isinstance(problems, str | Message):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def errors(problems: list[Problem]) -> list[Problem]:
    """Only the problems that stop a model from being built."""
    return [p for p in problems if p.severity == "error"]


def _fail(layer_type: str, message: Message) -> SpecError:
    return SpecError(Problem(message, layer_type=layer_type))


# --------------------------------------------------------------------------------------------
# Argument checks shared by the layers
# --------------------------------------------------------------------------------------------


def count_text(value: int) -> Message | str:
    """A whole number as a message shows it: 16,384, but about 10^308 rather than its 309 digits
    (a typo or a hostile file can hold any number; the message must stay readable).

    >>> str(count_text(16384)), str(count_text(-5)), str(count_text(10**308))
    ('16,384', '-5', 'about 10^308')
    >>> str(count_text(-(10**20)))
    'about -10^20'
    """
    if abs(value) < 10**15:
        return f"{value:,}"
    return msg("spec.about_power", sign="-" if value < 0 else "", power=len(str(abs(value))) - 1)


def shown(value: Any) -> str:
    """A value echoed in a message, as Python writes it, cut short if it is long.

    >>> shown("32"), shown(2.5), shown("x" * 100)[-4:]
    ("'32'", '2.5', 'xxx…')
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        return str(count_text(value))
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"


def _as_int(layer_type: str, name: Message | str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(layer_type, msg("spec.arg.not_whole", name=name, value=shown(value)))
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise _fail(layer_type, msg("spec.arg.not_whole", name=name, value=shown(value)))
        value = int(value)
    if value < low:
        raise _fail(
            layer_type, msg("spec.arg.too_small", name=name, value=count_text(value), low=low)
        )
    if value > high:
        raise _fail(
            layer_type, msg("spec.arg.too_large", name=name, value=count_text(value), high=high)
        )
    return value


def _as_window(layer_type: str, name: str, value: Any, low: int = 1) -> Window:
    """An int, or a pair of ints (height, width). Lists from JSON become tuples."""
    high = LIMITS.max_window
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise _fail(layer_type, msg("spec.arg.not_pair", name=name, value=shown(list(value))))
        return (
            _as_int(layer_type, msg("spec.arg.height_of", name=name), value[0], low, high),
            _as_int(layer_type, msg("spec.arg.width_of", name=name), value[1], low, high),
        )
    return _as_int(layer_type, name, value, low, high)


def _as_padding2d(layer_type: str, value: Any) -> Padding2D:
    """ZeroPadding2D's padding: 1, [1, 2] (rows, columns) or [[0, 1], [0, 1]] (per side)."""
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, list | tuple) for v in value)
    ):
        sides = (("top", "bottom"), ("left", "right"))
        out = []
        for pair_value, (first, second) in zip(value, sides, strict=True):
            if len(pair_value) != 2:
                raise _fail(layer_type, msg("spec.arg.bad_padding", value=shown(value)))
            out.append(
                (
                    _as_int(layer_type, f"padding {first}", pair_value[0], 0, LIMITS.max_window),
                    _as_int(layer_type, f"padding {second}", pair_value[1], 0, LIMITS.max_window),
                )
            )
        return (out[0], out[1])
    if isinstance(value, list | tuple) and len(value) != 2:
        raise _fail(layer_type, msg("spec.arg.bad_padding", value=shown(value)))
    return _as_window(layer_type, "padding", value, low=0)


def _as_float(
    layer_type: str, name: str, value: Any, low: float, high: float, rule: Message
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(layer_type, msg("spec.arg.not_number", name=name, value=shown(value)))
    if isinstance(value, int) and abs(value) >= 10**15:  # math.isfinite overflows past 10^308
        raise _fail(
            layer_type, msg("spec.arg.out_of_range", name=name, value=count_text(value), rule=rule)
        )
    if not math.isfinite(value):
        raise _fail(layer_type, msg("spec.arg.not_number", name=name, value=shown(value)))
    if not low <= value < high:
        raise _fail(
            layer_type, msg("spec.arg.out_of_range", name=name, value=f"{value}", rule=rule)
        )
    return float(value)


def _as_bool(layer_type: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(layer_type, msg("spec.arg.not_bool", name=name, value=shown(value)))
    return value


def _did_you_mean(value: Any, choices: Sequence[str], cutoff: float = 0.6) -> Message | str:
    close = difflib.get_close_matches(str(value)[:100], list(choices), n=1, cutoff=cutoff)
    return msg("spec.did_you_mean", name=close[0]) if close else ""


def _as_choice(layer_type: str, name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        options = ", ".join(f'"{c}"' for c in choices)
        hint = _did_you_mean(str(value).lower(), choices)
        raise _fail(
            layer_type,
            msg("spec.arg.not_a_choice", name=name, value=shown(value), options=options, hint=hint),
        )
    return value.lower()


def _as_activation(layer_type: str, value: Any, *, optional: bool) -> str | None:
    if value is None and optional:
        return None
    return _as_choice(layer_type, "activation", value, ACTIVATIONS)


def pair(window: Window) -> tuple[int, int]:
    """A window as (height, width): ``3`` → ``(3, 3)``."""
    return (window, window) if isinstance(window, int) else (int(window[0]), int(window[1]))


def padding_sides(padding: Padding2D) -> tuple[tuple[int, int], tuple[int, int]]:
    """ZeroPadding2D's padding as ((top, bottom), (left, right)), as Keras reads it.

    >>> padding_sides(3), padding_sides((1, 2)), padding_sides(((0, 1), (0, 1)))
    (((3, 3), (3, 3)), ((1, 1), (2, 2)), ((0, 1), (0, 1)))
    """
    if isinstance(padding, int):
        return ((padding, padding), (padding, padding))
    rows, columns = padding
    if isinstance(rows, int) and isinstance(columns, int):
        return ((rows, rows), (columns, columns))
    return (tuple(rows), tuple(columns))  # type: ignore[return-value]


def _freeze(value: Any) -> Any:
    """Lists (from JSON) as tuples, so layers compare and hash by value."""
    return tuple(_freeze(v) for v in value) if isinstance(value, list | tuple) else value


def _thaw(value: Any) -> Any:
    """Tuples as lists again, for JSON."""
    return [_thaw(v) for v in value] if isinstance(value, tuple) else value


# --------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------


def _arg(
    default: Any = None, *, required: bool = False, shown: bool = False, since: int = 1
) -> Any:
    """A layer argument. ``shown`` arguments are written to JSON even at their default value,
    because a learner reading the JSON should see them (e.g. a Conv2D's padding). ``since``: the
    format that introduced the argument (a spec using it is written as that format)."""
    return field(default=default, metadata={"required": required, "shown": shown, "since": since})


# Keras takes these as a pair; the spec also allows one int for a square window.
_WINDOWS = ("kernel_size", "strides", "pool_size", "dilation_rate")


@dataclass(frozen=True)
class Layer:
    """Base of the layer specs. Subclasses are named exactly like the Keras classes."""

    # Keras' own snake-case base name, used for layer names in built models ("conv2d_1").
    keras_name: ClassVar[str] = ""
    since: ClassVar[int] = 1  # the format that introduced this layer type

    @property
    def type(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the type, required and shown arguments, and any non-default ones."""
        out: dict[str, Any] = {"type": self.type}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata["required"] or f.metadata["shown"] or value != f.default:
                out[f.name] = _thaw(value)
        return out

    def keras_kwargs(self) -> dict[str, Any]:
        """Every argument as Keras takes it (windows as pairs), defaults included."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _WINDOWS and value is not None:
                value = pair(value)
            out[f.name] = value
        return out

    def network(self) -> tuple[Any, ...]:
        """What this layer builds, comparable: its type and Keras arguments (``3`` and ``[3, 3]``
        give the same)."""
        return (self.type, tuple(self.keras_kwargs().items()))

    @property
    def format(self) -> int:
        """The oldest format that can hold this layer as it is written."""
        newest = self.since
        for f in fields(self):
            if f.metadata["since"] > newest and getattr(self, f.name) != f.default:
                newest = f.metadata["since"]
        return newest

    @classmethod
    def argument_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


def _set(layer: Layer, name: str, value: Any) -> None:
    object.__setattr__(layer, name, value)


def _check_dilation(layer: Layer) -> None:
    """Keras refuses a stride and a dilation above 1 together (BaseConv)."""
    strides, dilation = pair(layer.strides), pair(layer.dilation_rate)  # type: ignore[attr-defined]
    if max(strides) > 1 and max(dilation) > 1:
        raise _fail(layer.type, msg("spec.conv.stride_and_dilation"))


@dataclass(frozen=True)
class Conv2D(Layer):
    """A bank of ``filters`` small filters slid over the input; one feature map per filter.

    With ``groups`` = g, the input channels and the filters are split into g groups, each filter
    seeing only its group's channels (AlexNet's two GPUs, ResNeXt). ``dilation_rate`` spreads the
    kernel's taps apart: a 3×3 kernel with dilation 2 covers 5×5 pixels with 9 weights.
    """

    keras_name: ClassVar[str] = "conv2d"
    filters: int = _arg(required=True)
    kernel_size: Window = _arg(required=True)
    strides: Window = _arg(1, shown=True)
    padding: str = _arg("valid", shown=True)
    activation: str | None = _arg(None, shown=True)
    use_bias: bool = _arg(True)
    dilation_rate: Window = _arg(1, since=2)
    groups: int = _arg(1, since=2)

    def __post_init__(self) -> None:
        t = self.type
        _set(self, "filters", _as_int(t, "filters", self.filters, 1, LIMITS.max_filters))
        _set(self, "kernel_size", _as_window(t, "kernel_size", _freeze(self.kernel_size)))
        _set(self, "strides", _as_window(t, "strides", _freeze(self.strides)))
        _set(self, "padding", _as_choice(t, "padding", self.padding, PADDINGS))
        _set(self, "activation", _as_activation(t, self.activation, optional=True))
        _set(self, "use_bias", _as_bool(t, "use_bias", self.use_bias))
        _set(self, "dilation_rate", _as_window(t, "dilation_rate", _freeze(self.dilation_rate)))
        _set(self, "groups", _as_int(t, "groups", self.groups, 1, LIMITS.max_filters))
        _check_dilation(self)
        if self.filters % self.groups:
            raise _fail(
                t, msg("spec.conv.groups_filters", filters=self.filters, groups=self.groups)
            )


def _check_depthwise_arguments(layer: Layer) -> None:
    """The arguments DepthwiseConv2D and SeparableConv2D share (Keras allows a stride and a
    dilation together in these two)."""
    t = layer.type
    _set(layer, "kernel_size", _as_window(t, "kernel_size", _freeze(layer.kernel_size)))  # type: ignore[attr-defined]
    _set(layer, "strides", _as_window(t, "strides", _freeze(layer.strides)))  # type: ignore[attr-defined]
    _set(layer, "padding", _as_choice(t, "padding", layer.padding, PADDINGS))  # type: ignore[attr-defined]
    multiplier = layer.depth_multiplier  # type: ignore[attr-defined]
    _set(
        layer, "depth_multiplier", _as_int(t, "depth_multiplier", multiplier, 1, LIMITS.max_filters)
    )
    _set(layer, "activation", _as_activation(t, layer.activation, optional=True))  # type: ignore[attr-defined]
    _set(layer, "use_bias", _as_bool(t, "use_bias", layer.use_bias))  # type: ignore[attr-defined]
    dilation = _freeze(layer.dilation_rate)  # type: ignore[attr-defined]
    _set(layer, "dilation_rate", _as_window(t, "dilation_rate", dilation))


@dataclass(frozen=True)
class DepthwiseConv2D(Layer):
    """One small filter per input channel (``depth_multiplier`` of them): it filters each map on
    its own, without mixing channels. MobileNet follows it with a 1×1 Conv2D that mixes them."""

    keras_name: ClassVar[str] = "depthwise_conv2d"
    since: ClassVar[int] = 2
    kernel_size: Window = _arg(required=True)
    strides: Window = _arg(1, shown=True)
    padding: str = _arg("valid", shown=True)
    depth_multiplier: int = _arg(1)
    activation: str | None = _arg(None, shown=True)
    use_bias: bool = _arg(True)
    dilation_rate: Window = _arg(1)

    def __post_init__(self) -> None:
        _check_depthwise_arguments(self)


@dataclass(frozen=True)
class SeparableConv2D(Layer):
    """A depthwise convolution followed by a 1×1 convolution to ``filters`` maps, in one layer:
    far fewer weights and multiply-adds than a Conv2D of the same size (Xception)."""

    keras_name: ClassVar[str] = "separable_conv2d"
    since: ClassVar[int] = 2
    filters: int = _arg(required=True)
    kernel_size: Window = _arg(required=True)
    strides: Window = _arg(1, shown=True)
    padding: str = _arg("valid", shown=True)
    depth_multiplier: int = _arg(1)
    activation: str | None = _arg(None, shown=True)
    use_bias: bool = _arg(True)
    dilation_rate: Window = _arg(1)

    def __post_init__(self) -> None:
        t = self.type
        _set(self, "filters", _as_int(t, "filters", self.filters, 1, LIMITS.max_filters))
        _check_depthwise_arguments(self)


@dataclass(frozen=True)
class _Pooling2D(Layer):
    """Shared by max and average pooling: a window slid over each feature map separately."""

    pool_size: Window = _arg(2, shown=True)
    strides: Window | None = _arg(None)  # None means "the same as pool_size", as in Keras
    padding: str = _arg("valid")

    def __post_init__(self) -> None:
        t = self.type
        _set(self, "pool_size", _as_window(t, "pool_size", _freeze(self.pool_size)))
        if self.strides is not None:
            _set(self, "strides", _as_window(t, "strides", _freeze(self.strides)))
        _set(self, "padding", _as_choice(t, "padding", self.padding, PADDINGS))

    @property
    def effective_strides(self) -> tuple[int, int]:
        return pair(self.pool_size if self.strides is None else self.strides)


@dataclass(frozen=True)
class MaxPooling2D(_Pooling2D):
    """Keeps the largest value of each window."""

    keras_name: ClassVar[str] = "max_pooling2d"


@dataclass(frozen=True)
class AveragePooling2D(_Pooling2D):
    """Keeps the mean of each window."""

    keras_name: ClassVar[str] = "average_pooling2d"


@dataclass(frozen=True)
class ZeroPadding2D(Layer):
    """Adds rows and columns of zeros around each feature map (ResNet before its 7×7 stem)."""

    keras_name: ClassVar[str] = "zero_padding2d"
    since: ClassVar[int] = 2
    padding: Padding2D = _arg(1, shown=True)

    def __post_init__(self) -> None:
        _set(self, "padding", _as_padding2d(self.type, _freeze(self.padding)))


@dataclass(frozen=True)
class BatchNormalization(Layer):
    """Normalises each channel with batch statistics; keeps moving averages for test time."""

    keras_name: ClassVar[str] = "batch_normalization"
    momentum: float = _arg(0.99)
    epsilon: float = _arg(0.001)
    center: bool = _arg(True)  # learn an offset β per channel
    scale: bool = _arg(True)  # learn a scale γ per channel

    def __post_init__(self) -> None:
        t = self.type
        _set(
            self,
            "momentum",
            _as_float(t, "momentum", self.momentum, 0.0, 1.0, msg("spec.rule.zero_to_one")),
        )
        _set(
            self,
            "epsilon",
            _as_float(
                t, "epsilon", self.epsilon, 1e-12, 1.0, msg("spec.rule.above_zero_below_one")
            ),
        )
        _set(self, "center", _as_bool(t, "center", self.center))
        _set(self, "scale", _as_bool(t, "scale", self.scale))


@dataclass(frozen=True)
class Dropout(Layer):
    """During training, zeroes a random fraction ``rate`` of its inputs."""

    keras_name: ClassVar[str] = "dropout"
    rate: float = _arg(required=True)

    def __post_init__(self) -> None:
        _set(
            self,
            "rate",
            _as_float(self.type, "rate", self.rate, 0.0, 1.0, msg("spec.rule.rate")),
        )


@dataclass(frozen=True)
class Flatten(Layer):
    """Unrolls a (height, width, channels) map into one vector, channels-last."""

    keras_name: ClassVar[str] = "flatten"


@dataclass(frozen=True)
class GlobalAveragePooling2D(Layer):
    """Averages each feature map down to one number: (h, w, c) → (c,)."""

    keras_name: ClassVar[str] = "global_average_pooling2d"


@dataclass(frozen=True)
class GlobalMaxPooling2D(Layer):
    """Keeps the largest value of each feature map: (h, w, c) → (c,)."""

    keras_name: ClassVar[str] = "global_max_pooling2d"
    since: ClassVar[int] = 2


@dataclass(frozen=True)
class Dense(Layer):
    """Every output connected to every input."""

    keras_name: ClassVar[str] = "dense"
    units: int = _arg(required=True)
    activation: str | None = _arg(None, shown=True)
    use_bias: bool = _arg(True)

    def __post_init__(self) -> None:
        t = self.type
        _set(self, "units", _as_int(t, "units", self.units, 1, LIMITS.max_units))
        _set(self, "activation", _as_activation(t, self.activation, optional=True))
        _set(self, "use_bias", _as_bool(t, "use_bias", self.use_bias))


@dataclass(frozen=True)
class Activation(Layer):
    """Applies a function to every value on its own (e.g. ReLU zeroes negatives)."""

    keras_name: ClassVar[str] = "activation"
    activation: str = _arg(required=True)

    def __post_init__(self) -> None:
        _set(self, "activation", _as_activation(self.type, self.activation, optional=False))


_RELU_LIMIT = 1e6  # a ReLU argument beyond this is a typo, not a design


@dataclass(frozen=True)
class ReLU(Layer):
    """max(0, x), optionally capped at ``max_value`` (ReLU6 in MobileNet: ``max_value`` 6)."""

    keras_name: ClassVar[str] = "re_lu"
    since: ClassVar[int] = 2
    max_value: float | None = _arg(None)
    negative_slope: float = _arg(0.0)
    threshold: float = _arg(0.0)

    def __post_init__(self) -> None:
        t = self.type
        rule = msg("spec.rule.relu_argument", high=f"{_RELU_LIMIT:,.0f}")
        if self.max_value is not None:
            _set(
                self, "max_value", _as_float(t, "max_value", self.max_value, 0.0, _RELU_LIMIT, rule)
            )
        _set(
            self,
            "negative_slope",
            _as_float(t, "negative_slope", self.negative_slope, 0.0, _RELU_LIMIT, rule),
        )
        _set(self, "threshold", _as_float(t, "threshold", self.threshold, 0.0, _RELU_LIMIT, rule))


# Merges: made by the blocks (a Residual's Add, a Parallel's Concatenate), never written in a list.
@dataclass(frozen=True)
class Add(Layer):
    """Adds its inputs value by value: they must have the same shape."""

    keras_name: ClassVar[str] = "add"
    since: ClassVar[int] = 2


@dataclass(frozen=True)
class Concatenate(Layer):
    """Stacks its inputs along the channel axis: equal height and width, channels add up."""

    keras_name: ClassVar[str] = "concatenate"
    since: ClassVar[int] = 2


LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        Conv2D,
        DepthwiseConv2D,
        SeparableConv2D,
        MaxPooling2D,
        AveragePooling2D,
        ZeroPadding2D,
        BatchNormalization,
        Dropout,
        Flatten,
        GlobalAveragePooling2D,
        GlobalMaxPooling2D,
        Dense,
        Activation,
        ReLU,
    )
}

# A sensible new layer of each type, for "add a layer" buttons.
NEW_LAYER_DEFAULTS: dict[str, dict[str, Any]] = {
    "Conv2D": {"filters": 16, "kernel_size": 3, "activation": "relu"},
    "DepthwiseConv2D": {"kernel_size": 3, "padding": "same"},
    "SeparableConv2D": {"filters": 32, "kernel_size": 3, "padding": "same", "activation": "relu"},
    "MaxPooling2D": {"pool_size": 2},
    "AveragePooling2D": {"pool_size": 2},
    "ZeroPadding2D": {"padding": 1},
    "BatchNormalization": {},
    "Dropout": {"rate": 0.25},
    "Flatten": {},
    "GlobalAveragePooling2D": {},
    "GlobalMaxPooling2D": {},
    "Dense": {"units": 64, "activation": "relu"},
    "Activation": {"activation": "relu"},
    "ReLU": {"max_value": 6.0},
}


# --------------------------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------------------------


def _as_items(kind: str, name: str, value: Any) -> tuple[Layer | Block, ...]:
    """A block's list of layers and blocks, checked for type and length (not yet for depth)."""
    items = tuple(value) if isinstance(value, list | tuple) else None
    if items is None or not all(isinstance(item, Layer | Block) for item in items):
        raise _fail(kind, msg("spec.block.not_a_list", key=name))
    if len(items) > LIMITS.max_layers:
        raise _fail(
            kind,
            msg("spec.block.list_too_long", key=name, count=len(items), high=LIMITS.max_layers),
        )
    return items


@dataclass(frozen=True)
class Block:
    """Base of the blocks: a part of the network made of lists of layers (and blocks).

    ``repeat`` applies the block that many times in a row (ResNet's identity blocks); ``name``
    labels it in the ledger and the diagram.
    """

    kind: ClassVar[str] = ""
    lists: ClassVar[tuple[str, ...]] = ()  # the keys that hold lists of items, in JSON order

    @property
    def type(self) -> str:
        return self.kind

    def branches(self) -> tuple[tuple[str, int | None, tuple[Layer | Block, ...]], ...]:
        """(key, path number or None, items) for each list in the block, in order: a
        Residual's ("main", None, …) and ("shortcut", None, …), a Parallel's ("paths", 1, …)…"""
        return tuple((key, None, getattr(self, key)) for key in self.lists)

    def _check_common(self) -> None:
        kind = self.kind
        object.__setattr__(
            self, "repeat", _as_int(kind, "repeat", self.repeat, 1, LIMITS.max_repeat)
        )
        if self.name is not None and (
            not isinstance(self.name, str) or not _NAME.fullmatch(self.name)
        ):
            raise _fail(kind, msg("spec.block.bad_name", value=shown(self.name)))

    def _head(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind}
        if self.name is not None:
            out["name"] = self.name
        if self.repeat != 1:
            out["repeat"] = self.repeat
        return out

    def to_dict(self) -> dict[str, Any]:
        out = self._head()
        for key, _, items in self.branches():
            out[key] = [item.to_dict() for item in items]
        return out

    @property
    def format(self) -> int:
        return FORMAT

    def network(self) -> tuple[Any, ...]:
        """What this block builds, comparable (its name, a label, does not count)."""
        lists = tuple(tuple(item.network() for item in items) for _, _, items in self.branches())
        return (self.kind, self.repeat, getattr(self, "activation", None), lists)

    def children(self) -> Iterator[Layer | Block]:
        """The items of all the block's lists, in order."""
        for _, _, items in self.branches():
            yield from items


@dataclass(frozen=True)
class Sequential(Block):
    """Layers one after another, grouped under one name (a ResNet stage, a MobileNet block)."""

    kind: ClassVar[str] = "Sequential"
    lists: ClassVar[tuple[str, ...]] = ("layers",)
    layers: tuple[Layer | Block, ...] = ()
    repeat: int = 1
    name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", _as_items(self.kind, "layers", self.layers))
        if not self.layers:
            raise _fail(self.kind, msg("spec.block.empty", key="layers"))
        self._check_common()


@dataclass(frozen=True)
class Residual(Block):
    """``main`` and ``shortcut`` applied to the same input and added (Keras ``Add``); then
    ``activation``, if any. An empty shortcut is the identity: the input itself is added."""

    kind: ClassVar[str] = "Residual"
    lists: ClassVar[tuple[str, ...]] = ("main", "shortcut")
    main: tuple[Layer | Block, ...] = ()
    shortcut: tuple[Layer | Block, ...] = ()
    activation: str | None = None
    repeat: int = 1
    name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "main", _as_items(self.kind, "main", self.main))
        object.__setattr__(self, "shortcut", _as_items(self.kind, "shortcut", self.shortcut))
        if not self.main:
            raise _fail(self.kind, msg("spec.block.empty_main"))
        object.__setattr__(
            self, "activation", _as_activation(self.kind, self.activation, optional=True)
        )
        self._check_common()

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.activation is not None:
            out["activation"] = self.activation
        return out


@dataclass(frozen=True)
class Parallel(Block):
    """Paths applied to the same input, their outputs stacked on the channel axis (Keras
    ``Concatenate``): an Inception module. An empty path passes the input through."""

    kind: ClassVar[str] = "Parallel"
    lists: ClassVar[tuple[str, ...]] = ("paths",)
    paths: tuple[tuple[Layer | Block, ...], ...] = ()
    repeat: int = 1
    name: str | None = None

    def __post_init__(self) -> None:
        raw = self.paths
        if not isinstance(raw, list | tuple) or not all(isinstance(p, list | tuple) for p in raw):
            raise _fail(self.kind, msg("spec.block.paths_not_lists"))
        if not 2 <= len(raw) <= LIMITS.max_paths:
            raise _fail(
                self.kind, msg("spec.block.path_count", count=len(raw), high=LIMITS.max_paths)
            )
        object.__setattr__(
            self, "paths", tuple(_as_items(self.kind, "paths", path) for path in raw)
        )
        self._check_common()

    def branches(self) -> tuple[tuple[str, int | None, tuple[Layer | Block, ...]], ...]:
        return tuple(("paths", number, items) for number, items in enumerate(self.paths, 1))

    def to_dict(self) -> dict[str, Any]:
        out = self._head()
        out["paths"] = [[item.to_dict() for item in path] for path in self.paths]
        return out


BLOCK_TYPES: dict[str, type[Block]] = {cls.kind: cls for cls in (Sequential, Residual, Parallel)}
# The JSON keys of each block type (besides "type"), in the order the JSON is written.
BLOCK_KEYS: dict[str, tuple[str, ...]] = {
    "Sequential": ("name", "repeat", "layers"),
    "Residual": ("name", "repeat", "main", "shortcut", "activation"),
    "Parallel": ("name", "repeat", "paths"),
}


def rows_of(items: Sequence[Layer | Block]) -> int:
    """How many ledger rows (Keras layers) ``items`` expand to, repeats and merges included,
    counted without expanding anything (a hostile spec may claim billions)."""
    total = 0
    for item in items:
        if isinstance(item, Layer):
            total += 1
            continue
        inner = sum(rows_of(path) for _, _, path in item.branches())
        if isinstance(item, Residual):
            inner += 1 + (item.activation is not None)  # Add, then the activation
        elif isinstance(item, Parallel):
            inner += 1  # Concatenate
        total += item.repeat * inner
    return total


def depth_of(items: Sequence[Layer | Block]) -> int:
    """How deeply blocks nest in ``items``: 0 for a plain stack, 1 for blocks of layers."""
    depth = 0
    for item in items:
        if isinstance(item, Block):
            depth = max(depth, 1 + max(depth_of(path) for _, _, path in item.branches()))
    return depth


# --------------------------------------------------------------------------------------------
# Reading items from JSON
# --------------------------------------------------------------------------------------------


def _step(key: str, number: int | None, index: int) -> Message:
    """Where an item sits inside a block, for messages: 'main path, layer 2'."""
    if key == "paths":
        return msg("spec.where.path_item", path=number, index=index)
    return msg(f"spec.where.{key}_item", index=index)


def layer_from_dict(data: Any, position: int | None = None) -> Layer:
    """Make one layer from its JSON dict; every problem names the layer's position."""
    item = item_from_dict(data, position, blocks=False)
    assert isinstance(item, Layer)
    return item


def item_from_dict(
    data: Any,
    position: int | None = None,
    *,
    trail: tuple[Message, ...] = (),
    depth: int = 0,
    blocks: bool = True,
) -> Layer | Block:
    """Make one layer or block from its JSON dict.

    Args:
        data: the parsed JSON of the item.
        position: the item's place (1-based) in the top-level list, for messages.
        trail: where inside item ``position`` this one sits (for an item inside a block).
        depth: how many blocks enclose it (refused beyond ``LIMITS.max_block_depth``).
        blocks: whether a block is allowed here.

    Raises:
        SpecError: every problem found in the item (all of a block's broken layers at once).
    """

    def problem(message: Message, layer_type: str | None = None) -> SpecError:
        return SpecError(Problem(message, position=position, layer_type=layer_type, trail=trail))

    if not isinstance(data, dict):
        raise problem(msg("spec.item.not_an_object", value=shown(data)))
    kind = data.get("type")
    if kind is None:
        raise problem(msg("spec.item.no_type"))
    if blocks and isinstance(kind, str) and kind in BLOCK_TYPES:
        return _block_from_dict(data, kind, position, trail, depth)
    cls = LAYER_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = [*LAYER_TYPES, *(BLOCK_TYPES if blocks else ())]
        hint = _did_you_mean(kind, known, cutoff=0.5)
        raise problem(
            msg("spec.item.unknown_type", value=shown(kind), hint=hint, known=", ".join(known))
        )
    allowed = cls.argument_names()
    args = {k: v for k, v in data.items() if k != "type"}
    for name in args:
        if name not in allowed:
            takes = ", ".join(allowed) if allowed else msg("spec.item.no_arguments")
            raise problem(
                msg(
                    "spec.item.unknown_argument",
                    name=shown(name),
                    hint=_did_you_mean(name, allowed),
                    layer_type=cls.__name__,
                    takes=takes,
                ),
                cls.__name__,
            )
    for f in fields(cls):
        if f.metadata["required"] and f.name not in args:
            raise problem(msg("spec.item.required", name=f.name), cls.__name__)
    try:
        return cls(**args)
    except SpecError as err:
        raise SpecError(
            [replace(p, position=position, trail=trail) for p in err.problems]
        ) from None


def _block_from_dict(
    data: dict[str, Any],
    kind: str,
    position: int | None,
    trail: tuple[Message, ...],
    depth: int,
) -> Block:
    def problem(message: Message) -> SpecError:
        return SpecError(Problem(message, position=position, layer_type=kind, trail=trail))

    if depth >= LIMITS.max_block_depth:
        raise problem(msg("spec.block.too_deep", high=LIMITS.max_block_depth))
    keys = BLOCK_KEYS[kind]
    for key in data:
        if key != "type" and key not in keys:
            raise problem(
                msg(
                    "spec.block.unknown_key",
                    name=shown(key),
                    hint=_did_you_mean(key, keys),
                    kind=kind,
                    keys=", ".join(keys),
                )
            )
    problems: list[Problem] = []

    def items_of(key: str, raw: Any, number: int | None) -> tuple[Layer | Block, ...]:
        if not isinstance(raw, list):
            problems.append(
                Problem(msg("spec.block.not_a_list", key=key), position, kind, trail=trail)
            )
            return ()
        if len(raw) > LIMITS.max_layers:
            problems.append(
                Problem(
                    msg(
                        "spec.block.list_too_long", key=key, count=len(raw), high=LIMITS.max_layers
                    ),
                    position,
                    kind,
                    trail=trail,
                )
            )
            return ()
        out = []
        for index, entry in enumerate(raw, start=1):
            try:
                out.append(
                    item_from_dict(
                        entry,
                        position,
                        trail=(*trail, _step(key, number, index)),
                        depth=depth + 1,
                    )
                )
            except SpecError as err:
                problems.extend(err.problems)
        return tuple(out)

    args: dict[str, Any] = {k: data[k] for k in ("name", "repeat") if k in data}
    if kind == "Parallel":
        raw_paths = data.get("paths")
        if not isinstance(raw_paths, list) or not all(isinstance(p, list) for p in raw_paths):
            raise problem(msg("spec.block.paths_not_lists"))
        if not 2 <= len(raw_paths) <= LIMITS.max_paths:
            raise problem(msg("spec.block.path_count", count=len(raw_paths), high=LIMITS.max_paths))
        args["paths"] = tuple(
            items_of("paths", path, number) for number, path in enumerate(raw_paths, 1)
        )
    else:
        for key in BLOCK_TYPES[kind].lists:
            if key in data or key != "shortcut":
                args[key] = items_of(key, data.get(key), None)
        if kind == "Residual" and "activation" in data:
            args["activation"] = data["activation"]
    if problems:
        raise SpecError(problems)
    try:
        return BLOCK_TYPES[kind](**args)
    except SpecError as err:
        raise SpecError(
            [replace(p, position=position, trail=trail) for p in err.problems]
        ) from None


# --------------------------------------------------------------------------------------------
# The spec
# --------------------------------------------------------------------------------------------

Path = tuple[int | str, ...]  # an item's place, e.g. (6, "main", 2) or (9, "paths", 3, 1)


@dataclass(frozen=True)
class Spec:
    """An input shape (height, width, channels) and an ordered tuple of layers and blocks."""

    input_shape: tuple[int, int, int]
    layers: tuple[Layer | Block, ...]

    def __post_init__(self) -> None:
        shape = self.input_shape
        if not isinstance(shape, list | tuple) or len(shape) != 3:
            raise SpecError(
                Problem(msg("spec.input.not_a_shape", value=shown(shape)), layer_type="Input")
            )
        height = _as_int("Input", msg("spec.input.height"), shape[0], 1, LIMITS.max_input_side)
        width = _as_int("Input", msg("spec.input.width"), shape[1], 1, LIMITS.max_input_side)
        channels = _as_int(
            "Input", msg("spec.input.channels"), shape[2], 1, LIMITS.max_input_channels
        )
        object.__setattr__(self, "input_shape", (height, width, channels))
        object.__setattr__(self, "layers", tuple(self.layers))
        if not all(isinstance(item, Layer | Block) for item in self.layers):
            raise SpecError(msg("spec.not_layer_objects"))
        if len(self.layers) > LIMITS.max_layers:
            raise SpecError(
                msg("spec.too_many_layers", count=len(self.layers), high=LIMITS.max_layers)
            )
        if self.is_graph:
            if (depth := depth_of(self.layers)) > LIMITS.max_block_depth:
                raise SpecError(msg("spec.too_deep", depth=depth, high=LIMITS.max_block_depth))
            if (rows := rows_of(self.layers)) > LIMITS.max_total_layers:
                raise SpecError(
                    msg(
                        "spec.too_many_in_all", count=count_text(rows), high=LIMITS.max_total_layers
                    )
                )

    @property
    def is_graph(self) -> bool:
        """Whether the spec has blocks (a graph), or is a plain stack of layers."""
        return any(isinstance(item, Block) for item in self.layers)

    def same_network(self, other: Spec) -> bool:
        """Whether two specs build the same network: the same input and the same layers and
        blocks with the same Keras arguments (``3`` and ``[3, 3]`` are the same kernel; block
        names do not count)."""
        return self.input_shape == other.input_shape and [i.network() for i in self.layers] == [
            i.network() for i in other.layers
        ]

    @property
    def format(self) -> int:
        """The oldest format that can hold this spec: 1 for a stack of version-1 layers."""
        return max((item.format for item in self.layers), default=1)

    # ----- editing (each returns a new spec; specs never change in place) -----

    def with_layers(self, layers: list[Layer | Block] | tuple[Layer | Block, ...]) -> Spec:
        return Spec(self.input_shape, tuple(layers))

    def with_input_shape(self, input_shape: tuple[int, int, int]) -> Spec:
        return Spec(tuple(input_shape), self.layers)  # type: ignore[arg-type]

    def replace_layer(self, index: int, layer: Layer | Block) -> Spec:
        layers = list(self.layers)
        layers[index] = layer
        return self.with_layers(layers)

    def insert_layer(self, index: int, layer: Layer | Block) -> Spec:
        layers = list(self.layers)
        layers.insert(index, layer)
        return self.with_layers(layers)

    def remove_layer(self, index: int) -> Spec:
        layers = list(self.layers)
        del layers[index]
        return self.with_layers(layers)

    def move_layer(self, index: int, offset: int) -> Spec:
        """Move layer ``index`` by ``offset`` places (−1 = up), staying inside the list."""
        target = min(max(index + offset, 0), len(self.layers) - 1)
        layers = list(self.layers)
        layers.insert(target, layers.pop(index))
        return self.with_layers(layers)

    def item_at(self, path: Path) -> Layer | Block:
        """The layer or block at ``path``, as ledger rows give it: ``(6, "main", 2)`` is the
        second item of the main path of the sixth top-level item (1-based, like the JSON)."""
        items: tuple[Layer | Block, ...] = self.layers
        item: Layer | Block | None = None
        steps = list(path)
        while steps:
            index = steps.pop(0)
            item = items[int(index) - 1]
            if not steps:
                break
            key = steps.pop(0)
            assert isinstance(item, Block), path
            items = item.paths[int(steps.pop(0)) - 1] if key == "paths" else getattr(item, key)  # type: ignore[attr-defined]
        assert item is not None, path
        return item

    def replace_at(self, path: Path, item: Layer | Block) -> Spec:
        """A new spec with the item at ``path`` (see :meth:`item_at`) replaced by ``item``."""

        def rebuild(items: tuple[Layer | Block, ...], steps: list) -> tuple[Layer | Block, ...]:
            index = int(steps[0]) - 1
            if len(steps) == 1:
                return (*items[:index], item, *items[index + 1 :])
            block = items[index]
            assert isinstance(block, Block), path
            key = steps[1]
            if key == "paths":
                number = int(steps[2]) - 1
                new_paths = list(block.paths)  # type: ignore[attr-defined]
                new_paths[number] = rebuild(new_paths[number], steps[3:])
                new_block = replace(block, paths=tuple(new_paths))  # type: ignore[call-arg]
            else:
                new_block = replace(block, **{key: rebuild(getattr(block, key), steps[2:])})
            return (*items[:index], new_block, *items[index + 1 :])

        return self.with_layers(rebuild(self.layers, list(path)))

    # ----- JSON -----

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.format > 1:
            out["format"] = self.format
        out["input_shape"] = list(self.input_shape)
        out["layers"] = [item.to_dict() for item in self.layers]
        return out

    def to_json(self) -> str:
        """JSON with one layer per line and each block's lists indented under it, so a spec
        reads (and diffs) like a list of layers, even a ResNet-50."""
        head = f'  "format": {self.format},\n' if self.format > 1 else ""
        return (
            "{\n"
            f"{head}"
            f'  "input_shape": {json.dumps(list(self.input_shape))},\n'
            f'  "layers": {_json_list(self.layers, 2)}\n'
            "}\n"
        )

    @classmethod
    def from_dict(cls, data: Any) -> Spec:
        """Make a spec from parsed JSON. Collects the problems of every layer, not just the first."""
        if not isinstance(data, dict):
            raise SpecError(msg("spec.doc.not_an_object"))
        known = ("format", "input_shape", "layers")
        unknown = sorted(str(key) for key in data if key not in known)
        if unknown:
            hint = _did_you_mean(unknown[0], known)
            raise SpecError(
                msg("spec.doc.unknown_keys", keys=", ".join(map(shown, unknown)), hint=hint)
            )
        if "format" in data:
            version = data["format"]
            if isinstance(version, bool) or not isinstance(version, int) or version < 1:
                raise SpecError(msg("spec.doc.bad_format", value=shown(version)))
            if version > FORMAT:
                raise SpecError(msg("spec.doc.newer_format", version=version, newest=FORMAT))
        if "input_shape" not in data:
            raise SpecError(msg("spec.doc.no_input_shape"))
        raw_layers = data.get("layers")
        if not isinstance(raw_layers, list) or not raw_layers:
            raise SpecError(msg("spec.doc.no_layers"))
        if len(raw_layers) > LIMITS.max_layers:
            raise SpecError(
                msg("spec.too_many_layers", count=len(raw_layers), high=LIMITS.max_layers)
            )
        layers: list[Layer | Block] = []
        problems: list[Problem] = []
        for position, raw in enumerate(raw_layers, start=1):
            try:
                layers.append(item_from_dict(raw, position))
            except SpecError as err:
                problems.extend(err.problems)
        try:
            input_shape = data["input_shape"]
            spec = cls(tuple(input_shape) if isinstance(input_shape, list) else input_shape, ())
        except SpecError as err:
            problems = err.problems + problems
        if problems:
            raise SpecError(problems)
        return cls(spec.input_shape, tuple(layers))

    @classmethod
    def from_json(cls, text: str | bytes) -> Spec:
        """Parse JSON text. Bad JSON is reported with its line and column; a text longer than
        ``LIMITS.max_spec_chars`` is refused before it is parsed."""
        if len(text) > LIMITS.max_spec_chars:
            raise SpecError(
                msg("spec.doc.too_long", count=count_text(len(text)), high=LIMITS.max_spec_chars)
            )
        if isinstance(text, str):
            text = text.removeprefix("\ufeff")  # Windows editors start UTF-8 files with a BOM
        try:
            data = json.loads(text)
        except UnicodeDecodeError:
            raise SpecError(msg("spec.doc.not_text")) from None
        except json.JSONDecodeError as err:
            raise SpecError(
                msg("spec.doc.bad_json", line=err.lineno, column=err.colno, reason=err.msg)
            ) from None
        except RecursionError:
            raise SpecError(msg("spec.doc.too_nested")) from None
        except ValueError:  # Python refuses to read integers of more than 4,300 digits
            raise SpecError(msg("spec.doc.huge_number")) from None
        return cls.from_dict(data)


def _json_list(items: Sequence[Layer | Block], indent: int) -> str:
    """A list of items as JSON: a layer per line, a block's lists indented beneath it."""
    if not items:
        return "[]"
    pad = " " * (indent + 2)
    return (
        "[\n"
        + ",\n".join(pad + _json_item(item, indent + 2) for item in items)
        + "\n"
        + " " * indent
        + "]"
    )


def _json_item(item: Layer | Block, indent: int) -> str:
    if isinstance(item, Layer):
        return json.dumps(item.to_dict())
    data = item.to_dict()
    head = json.dumps({k: v for k, v in data.items() if k not in item.lists})[:-1]
    pad = " " * (indent + 2)
    if isinstance(item, Parallel):
        paths = ",\n".join(pad + "  " + _json_list(path, indent + 4) for path in item.paths)
        parts = [f'{pad}"paths": [\n{paths}\n{pad}]']
    else:
        parts = [
            f"{pad}{json.dumps(key)}: {_json_list(getattr(item, key), indent + 2)}"
            for key in item.lists
        ]
    return head + ",\n" + ",\n".join(parts) + "\n" + " " * indent + "}"
