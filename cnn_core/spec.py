"""The architecture spec: the one description of a network that every page, link and export uses.

A spec is an input shape and an ordered list of layers. Its JSON form is a public file format::

    {"input_shape": [28, 28, 1],
     "layers": [
       {"type": "Conv2D", "filters": 32, "kernel_size": 3, "strides": 1, "padding": "valid",
        "activation": "relu"},
       {"type": "MaxPooling2D", "pool_size": 2},
       {"type": "Flatten"},
       {"type": "Dense", "units": 10, "activation": "softmax"}]}

``type`` is the Keras class name; every other key is that Keras layer's own argument name, with
Keras' default when omitted. ``kernel_size``, ``strides`` and ``pool_size`` take an int or a pair.

Layers are frozen dataclasses that check their own arguments when they are made, so a layer
object is always well-formed on its own. Whether the layers fit *together* (a window larger than
its input, a Dense layer on an image, a missing classifier) is checked by :func:`validate`, which
walks the shapes with :mod:`cnn_core.shapes`.

Every message is written for a learner: which layer (position and type), what is wrong and what
to change.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

from cnn_core.config import LIMITS

Window = int | tuple[int, int]

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


# --------------------------------------------------------------------------------------------
# Problems and errors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in a spec, said for a learner.

    ``position`` is 1-based like the ledger, or ``None`` for the spec as a whole.
    """

    message: str
    position: int | None = None
    layer_type: str | None = None
    severity: str = "error"  # "error" stops the model from being built; "warning" does not

    @property
    def where(self) -> str:
        """'Layer 3 (Dense)', 'Layer 3', 'Input', or '' for the spec as a whole."""
        if self.position is None:
            return self.layer_type or ""
        if self.layer_type:
            return f"Layer {self.position} ({self.layer_type})"
        return f"Layer {self.position}"

    def __str__(self) -> str:
        if not self.where:
            return self.message[:1].upper() + self.message[1:]
        return f"{self.where}: {self.message}"


class SpecError(ValueError):
    """A spec (or one layer of it) that cannot be used, with every problem found."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def _fail(layer_type: str, message: str) -> SpecError:
    return SpecError(Problem(message, layer_type=layer_type))


# --------------------------------------------------------------------------------------------
# Argument checks shared by the layers
# --------------------------------------------------------------------------------------------


def _count_text(value: int) -> str:
    """A whole number as a message shows it: 16,384, but about 10^308 rather than its 309 digits
    (a typo or a hostile file can hold any number; the message must stay readable).

    >>> _count_text(16384), _count_text(-5), _count_text(10**308), _count_text(-(10**20))
    ('16,384', '-5', 'about 10^308', 'about -10^20')
    """
    if abs(value) < 10**15:
        return f"{value:,}"
    return f"about {'-' if value < 0 else ''}10^{len(str(abs(value))) - 1}"


def _as_int(layer_type: str, name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(layer_type, f"{name} must be a whole number, not {value!r}.")
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise _fail(layer_type, f"{name} must be a whole number, not {value!r}.")
        value = int(value)
    if value < low:
        hint = "at least 1" if low == 1 else f"at least {low}"
        raise _fail(layer_type, f"{name} is {_count_text(value)}; it must be {hint}.")
    if value > high:
        raise _fail(
            layer_type, f"{name} is {_count_text(value)}; CNN Lab allows at most {high:,} here."
        )
    return value


def _as_window(layer_type: str, name: str, value: Any) -> Window:
    """An int, or a pair of ints (height, width). Lists from JSON become tuples."""
    high = LIMITS.max_window
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise _fail(
                layer_type,
                f"{name} must be one number or a pair [height, width], not {list(value)!r}.",
            )
        return (
            _as_int(layer_type, f"{name} height", value[0], 1, high),
            _as_int(layer_type, f"{name} width", value[1], 1, high),
        )
    return _as_int(layer_type, name, value, 1, high)


def _as_float(layer_type: str, name: str, value: Any, low: float, high: float, rule: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(layer_type, f"{name} must be a number, not {value!r}.")
    if isinstance(value, int) and abs(value) >= 10**15:  # math.isfinite overflows past 10^308
        raise _fail(layer_type, f"{name} is {_count_text(value)}; it must be {rule}.")
    if not math.isfinite(value):
        raise _fail(layer_type, f"{name} must be a number, not {value!r}.")
    if not low <= value < high:
        raise _fail(layer_type, f"{name} is {value}; it must be {rule}.")
    return float(value)


def _as_bool(layer_type: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(layer_type, f"{name} must be true or false, not {value!r}.")
    return value


def _as_choice(layer_type: str, name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        close = difflib.get_close_matches(str(value).lower(), choices, n=1)
        hint = f' Did you mean "{close[0]}"?' if close else ""
        options = ", ".join(f'"{c}"' for c in choices)
        raise _fail(layer_type, f"{name} {value!r} is not one of {options}.{hint}")
    return value.lower()


def _as_activation(layer_type: str, value: Any, *, optional: bool) -> str | None:
    if value is None and optional:
        return None
    return _as_choice(layer_type, "activation", value, ACTIVATIONS)


def pair(window: Window) -> tuple[int, int]:
    """A window as (height, width): ``3`` → ``(3, 3)``."""
    return (window, window) if isinstance(window, int) else (int(window[0]), int(window[1]))


# --------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------


def _arg(default: Any = None, *, required: bool = False, shown: bool = False) -> Any:
    """A layer argument. ``shown`` arguments are written to JSON even at their default value,
    because a learner reading the JSON should see them (e.g. a Conv2D's padding)."""
    return field(default=default, metadata={"required": required, "shown": shown})


@dataclass(frozen=True)
class Layer:
    """Base of the layer specs. Subclasses are named exactly like the Keras classes."""

    # Keras' own snake-case base name, used for layer names in built models ("conv2d_1").
    keras_name: ClassVar[str] = ""

    @property
    def type(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the type, required and shown arguments, and any non-default ones."""
        out: dict[str, Any] = {"type": self.type}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata["required"] or f.metadata["shown"] or value != f.default:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def keras_kwargs(self) -> dict[str, Any]:
        """Every argument as Keras takes it (windows as pairs), defaults included."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("kernel_size", "strides", "pool_size") and value is not None:
                value = pair(value)
            out[f.name] = value
        return out

    @classmethod
    def argument_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


@dataclass(frozen=True)
class Conv2D(Layer):
    """A bank of ``filters`` small filters slid over the input; one feature map per filter."""

    keras_name: ClassVar[str] = "conv2d"
    filters: int = _arg(required=True)
    kernel_size: Window = _arg(required=True)
    strides: Window = _arg(1, shown=True)
    padding: str = _arg("valid", shown=True)
    activation: str | None = _arg(None, shown=True)
    use_bias: bool = _arg(True)

    def __post_init__(self) -> None:
        t = self.type
        object.__setattr__(
            self, "filters", _as_int(t, "filters", self.filters, 1, LIMITS.max_filters)
        )
        object.__setattr__(self, "kernel_size", _as_window(t, "kernel_size", self.kernel_size))
        object.__setattr__(self, "strides", _as_window(t, "strides", self.strides))
        object.__setattr__(self, "padding", _as_choice(t, "padding", self.padding, PADDINGS))
        object.__setattr__(self, "activation", _as_activation(t, self.activation, optional=True))
        object.__setattr__(self, "use_bias", _as_bool(t, "use_bias", self.use_bias))


@dataclass(frozen=True)
class _Pooling2D(Layer):
    """Shared by max and average pooling: a window slid over each feature map separately."""

    pool_size: Window = _arg(2, shown=True)
    strides: Window | None = _arg(None)  # None means "the same as pool_size", as in Keras
    padding: str = _arg("valid")

    def __post_init__(self) -> None:
        t = self.type
        object.__setattr__(self, "pool_size", _as_window(t, "pool_size", self.pool_size))
        if self.strides is not None:
            object.__setattr__(self, "strides", _as_window(t, "strides", self.strides))
        object.__setattr__(self, "padding", _as_choice(t, "padding", self.padding, PADDINGS))

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
class BatchNormalization(Layer):
    """Normalises each channel with batch statistics; keeps moving averages for test time."""

    keras_name: ClassVar[str] = "batch_normalization"
    momentum: float = _arg(0.99)
    epsilon: float = _arg(0.001)
    center: bool = _arg(True)  # learn an offset β per channel
    scale: bool = _arg(True)  # learn a scale γ per channel

    def __post_init__(self) -> None:
        t = self.type
        object.__setattr__(
            self,
            "momentum",
            _as_float(t, "momentum", self.momentum, 0.0, 1.0, "at least 0 and below 1"),
        )
        object.__setattr__(
            self,
            "epsilon",
            _as_float(t, "epsilon", self.epsilon, 1e-12, 1.0, "above 0 and below 1"),
        )
        object.__setattr__(self, "center", _as_bool(t, "center", self.center))
        object.__setattr__(self, "scale", _as_bool(t, "scale", self.scale))


@dataclass(frozen=True)
class Dropout(Layer):
    """During training, zeroes a random fraction ``rate`` of its inputs."""

    keras_name: ClassVar[str] = "dropout"
    rate: float = _arg(required=True)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "rate",
            _as_float(self.type, "rate", self.rate, 0.0, 1.0, "at least 0 and below 1 (e.g. 0.25)"),
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
class Dense(Layer):
    """Every output connected to every input."""

    keras_name: ClassVar[str] = "dense"
    units: int = _arg(required=True)
    activation: str | None = _arg(None, shown=True)
    use_bias: bool = _arg(True)

    def __post_init__(self) -> None:
        t = self.type
        object.__setattr__(self, "units", _as_int(t, "units", self.units, 1, LIMITS.max_units))
        object.__setattr__(self, "activation", _as_activation(t, self.activation, optional=True))
        object.__setattr__(self, "use_bias", _as_bool(t, "use_bias", self.use_bias))


@dataclass(frozen=True)
class Activation(Layer):
    """Applies a function to every value on its own (e.g. ReLU zeroes negatives)."""

    keras_name: ClassVar[str] = "activation"
    activation: str = _arg(required=True)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "activation", _as_activation(self.type, self.activation, optional=False)
        )


LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        Conv2D,
        MaxPooling2D,
        AveragePooling2D,
        BatchNormalization,
        Dropout,
        Flatten,
        GlobalAveragePooling2D,
        Dense,
        Activation,
    )
}

# A sensible new layer of each type, for "add a layer" buttons.
NEW_LAYER_DEFAULTS: dict[str, dict[str, Any]] = {
    "Conv2D": {"filters": 16, "kernel_size": 3, "activation": "relu"},
    "MaxPooling2D": {"pool_size": 2},
    "AveragePooling2D": {"pool_size": 2},
    "BatchNormalization": {},
    "Dropout": {"rate": 0.25},
    "Flatten": {},
    "GlobalAveragePooling2D": {},
    "Dense": {"units": 64, "activation": "relu"},
    "Activation": {"activation": "relu"},
}


def layer_from_dict(data: Any, position: int | None = None) -> Layer:
    """Make one layer from its JSON dict; every problem names the layer's position."""

    def problem(message: str, layer_type: str | None = None) -> SpecError:
        return SpecError(Problem(message, position=position, layer_type=layer_type))

    if not isinstance(data, dict):
        raise problem(f'each layer must be an object like {{"type": "Conv2D", ...}}, not {data!r}.')
    layer_type = data.get("type")
    if layer_type is None:
        raise problem('this layer has no "type" (e.g. "Conv2D", "Dense").')
    cls = LAYER_TYPES.get(layer_type) if isinstance(layer_type, str) else None
    if cls is None:
        close = difflib.get_close_matches(str(layer_type), list(LAYER_TYPES), n=1, cutoff=0.5)
        hint = f' Did you mean "{close[0]}"?' if close else ""
        raise problem(
            f"unknown layer type {layer_type!r}.{hint} CNN Lab supports: {', '.join(LAYER_TYPES)}."
        )
    allowed = cls.argument_names()
    args = {k: v for k, v in data.items() if k != "type"}
    for name in args:
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f' Did you mean "{close[0]}"?' if close else ""
            takes = ", ".join(allowed) if allowed else "no arguments"
            raise problem(
                f"unknown argument {name!r}.{hint} {cls.__name__} takes: {takes}.", cls.__name__
            )
    for f in fields(cls):
        if f.metadata["required"] and f.name not in args:
            raise problem(f'the argument "{f.name}" is required.', cls.__name__)
    try:
        return cls(**args)
    except SpecError as err:
        raise SpecError([replace(p, position=position) for p in err.problems]) from None


# --------------------------------------------------------------------------------------------
# The spec
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """An input shape (height, width, channels) and an ordered tuple of layers."""

    input_shape: tuple[int, int, int]
    layers: tuple[Layer, ...]

    def __post_init__(self) -> None:
        shape = self.input_shape
        if not isinstance(shape, list | tuple) or len(shape) != 3:
            raise SpecError(
                Problem(
                    f"input_shape must be [height, width, channels], e.g. [28, 28, 1]; got {shape!r}.",
                    layer_type="Input",
                )
            )
        height = _as_int("Input", "height", shape[0], 1, LIMITS.max_input_side)
        width = _as_int("Input", "width", shape[1], 1, LIMITS.max_input_side)
        channels = _as_int("Input", "channels", shape[2], 1, LIMITS.max_input_channels)
        object.__setattr__(self, "input_shape", (height, width, channels))
        object.__setattr__(self, "layers", tuple(self.layers))
        if not all(isinstance(layer, Layer) for layer in self.layers):
            raise SpecError("layers must be layer objects (Conv2D, Dense, ...).")
        if len(self.layers) > LIMITS.max_layers:
            raise SpecError(
                f"the network has {len(self.layers)} layers; CNN Lab allows at most {LIMITS.max_layers}."
            )

    # ----- editing (each returns a new spec; specs never change in place) -----

    def with_layers(self, layers: list[Layer] | tuple[Layer, ...]) -> Spec:
        return Spec(self.input_shape, tuple(layers))

    def with_input_shape(self, input_shape: tuple[int, int, int]) -> Spec:
        return Spec(tuple(input_shape), self.layers)  # type: ignore[arg-type]

    def replace_layer(self, index: int, layer: Layer) -> Spec:
        layers = list(self.layers)
        layers[index] = layer
        return self.with_layers(layers)

    def insert_layer(self, index: int, layer: Layer) -> Spec:
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

    # ----- JSON -----

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_shape": list(self.input_shape),
            "layers": [layer.to_dict() for layer in self.layers],
        }

    def to_json(self) -> str:
        """JSON with one layer per line, so a spec reads (and diffs) like a list of layers."""
        lines = ",\n".join(f"    {json.dumps(layer.to_dict())}" for layer in self.layers)
        return (
            "{\n"
            f'  "input_shape": {json.dumps(list(self.input_shape))},\n'
            f'  "layers": [\n{lines}\n  ]\n'
            "}\n"
        )

    @classmethod
    def from_dict(cls, data: Any) -> Spec:
        """Make a spec from parsed JSON. Collects the problems of every layer, not just the first."""
        if not isinstance(data, dict):
            raise SpecError('a spec must be an object: {"input_shape": [...], "layers": [...]}.')
        unknown = sorted(set(data) - {"input_shape", "layers"})
        if unknown:
            raise SpecError(
                f"unknown key(s) {', '.join(map(repr, unknown))}; a spec has only "
                '"input_shape" and "layers".'
            )
        if "input_shape" not in data:
            raise SpecError('"input_shape" is missing, e.g. "input_shape": [28, 28, 1].')
        raw_layers = data.get("layers")
        if not isinstance(raw_layers, list) or not raw_layers:
            raise SpecError('"layers" must be a non-empty list of layers.')
        if len(raw_layers) > LIMITS.max_layers:
            raise SpecError(
                f"the network has {len(raw_layers)} layers; CNN Lab allows at most {LIMITS.max_layers}."
            )
        layers: list[Layer] = []
        problems: list[Problem] = []
        for position, raw in enumerate(raw_layers, start=1):
            try:
                layers.append(layer_from_dict(raw, position))
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
        """Parse JSON text. Bad JSON is reported with its line and column."""
        if isinstance(text, str):
            text = text.removeprefix("\ufeff")  # Windows editors start UTF-8 files with a BOM
        try:
            data = json.loads(text)
        except UnicodeDecodeError:
            raise SpecError("this file is not text; a spec is a JSON text file.") from None
        except json.JSONDecodeError as err:
            raise SpecError(
                f"this is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})."
            ) from None
        except RecursionError:
            raise SpecError("this JSON is nested far too deeply to be a spec.") from None
        except ValueError:  # Python refuses to read integers of more than 4,300 digits
            raise SpecError(
                "this JSON holds a number thousands of digits long; no layer takes one."
            ) from None
        return cls.from_dict(data)


def validate(spec: Spec, num_classes: int | None = None) -> list[Problem]:
    """Every structural problem of ``spec``: layers that do not fit together, a missing classifier,
    and (when ``num_classes`` is given) a classifier of the wrong size. Errors and warnings both;
    filter with ``[p for p in problems if p.severity == "error"]``."""
    from cnn_core.shapes import ledger  # shapes imports this module; import here to avoid a cycle

    return ledger(spec, num_classes=num_classes).problems


def errors(problems: list[Problem]) -> list[Problem]:
    """Only the problems that stop a model from being built."""
    return [p for p in problems if p.severity == "error"]
