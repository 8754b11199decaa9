"""From a spec to a Keras model, and to Python code that builds the same model.

A plain stack of layers becomes a ``keras.Sequential``; a spec with blocks becomes a functional
``keras.Model`` (a residual block is an ``Add`` of its two paths, a parallel block a
``Concatenate``). Either way each Keras layer is named after its ledger row
(``conv2d_1``, ``add_17``), so a page can match a layer of the model with its row.

``to_keras_code`` needs no TensorFlow, so the Shapes page can offer the export without paying
TensorFlow's import time; ``build_model`` imports Keras when it is first called.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from cnn_core.i18n import msg, translate
from cnn_core.spec import (
    Activation,
    Add,
    Block,
    Concatenate,
    Layer,
    Parallel,
    Residual,
    Sequential,
    Spec,
    SpecError,
    errors,
    pair,
)

if TYPE_CHECKING:
    import keras

# The first argument Keras takes by position, as the Keras examples write it:
# layers.Conv2D(32, ...), layers.Dense(10, ...), layers.Dropout(0.5), layers.Activation("relu").
_POSITIONAL = {
    "Conv2D": "filters",
    "SeparableConv2D": "filters",
    "Dense": "units",
    "Dropout": "rate",
    "Activation": "activation",
}
_WINDOWS = ("kernel_size", "strides", "pool_size", "dilation_rate")


def layer_name(position: int, layer: Layer) -> str:
    """The name of the layer of ledger row ``position`` (1-based) in a built model: ``conv2d_1``."""
    return f"{layer.keras_name}_{position}"


def build_model(spec: Spec, *, check: bool = True) -> keras.Model:
    """Build ``spec`` as an (uncompiled) Keras model: a ``keras.Sequential`` for a stack of
    layers, a functional ``keras.Model`` for a spec with blocks.

    Args:
        spec: the network.
        check: refuse a spec with structural errors (default). The message is the learner's one.

    Raises:
        SpecError: the spec has errors; nothing is built.
    """
    from cnn_core.shapes import validate

    if check and (problems := errors(validate(spec))):
        raise SpecError(problems)
    import keras  # here, not at the top: see the module docstring

    if not spec.is_graph:
        model_layers: list[Any] = [keras.Input(shape=spec.input_shape, name="image")]
        for position, layer in enumerate(spec.layers, start=1):
            keras_class = getattr(keras.layers, layer.type)
            model_layers.append(
                keras_class(**layer.keras_kwargs(), name=layer_name(position, layer))
            )
        return keras.Sequential(model_layers, name="cnn_lab")
    inputs = keras.Input(shape=spec.input_shape, name="image")
    outputs = _GraphBuilder(keras).items(spec.layers, inputs)
    return keras.Model(inputs, outputs, name="cnn_lab")


class _GraphBuilder:
    """Applies a spec's items to a tensor in the ledger's order (each path in turn, then the
    merge, then a residual block's activation), so that layer names follow the ledger rows."""

    def __init__(self, keras: Any) -> None:
        self.keras = keras
        self.position = 0

    def layer(self, layer: Layer) -> Any:
        self.position += 1
        keras_class = getattr(self.keras.layers, layer.type)
        return keras_class(**layer.keras_kwargs(), name=layer_name(self.position, layer))

    def items(self, items: tuple[Layer | Block, ...], x: Any) -> Any:
        for item in items:
            if isinstance(item, Layer):
                x = self.layer(item)(x)
            else:
                for _ in range(item.repeat):
                    x = self.block(item, x)
        return x

    def block(self, block: Block, x: Any) -> Any:
        if isinstance(block, Sequential):
            return self.items(block.layers, x)
        if isinstance(block, Residual):
            main = self.items(block.main, x)
            shortcut = self.items(block.shortcut, x)
            out = self.layer(Add())([main, shortcut])
            if block.activation is not None:
                out = self.layer(Activation(block.activation))(out)
            return out
        assert isinstance(block, Parallel)
        ends = [self.items(path, x) for path in block.paths]
        return self.layer(Concatenate())(ends)


# --------------------------------------------------------------------------------------------
# Keras code
# --------------------------------------------------------------------------------------------


def _python_value(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def layer_code(layer: Layer) -> str:
    """One layer as the Keras examples write it, with only the arguments that matter."""
    args: list[str] = []
    positional = _POSITIONAL.get(layer.type)
    for f in fields(layer):
        value = getattr(layer, f.name)
        if f.name == positional:
            args.insert(0, _python_value(value))
            continue
        if value == f.default and f.name != "pool_size":
            continue  # Keras' default: the code reads better without it (the pool is shown)
        if f.name in _WINDOWS:
            value = pair(value)
        args.append(f"{f.name}={_python_value(value)}")
    return f"layers.{layer.type}({', '.join(args)})"


def _header(spec: Spec, title: str, language: str) -> str:
    from cnn_core.shapes import fmt, ledger

    led = ledger(spec)
    heading = f"{title} — " if title else ""
    exported = translate(language, "build.code.exported")
    counts = translate(
        language,
        "build.code.counts",
        total=fmt(led.total_params),
        trainable=fmt(led.trainable_params),
    )
    return f'''"""{heading}{exported}

{counts}
"""

import keras
from keras import layers'''


def _input_comment(spec: Spec, language: str) -> str:
    height, width, channels = spec.input_shape
    kind = {1: msg("build.code.grayscale"), 3: msg("build.code.rgb")}.get(
        channels, msg("build.code.channels", count=channels)
    )
    return "# " + translate(language, "build.code.input", height=height, width=width, kind=kind)


def to_keras_code(spec: Spec, title: str = "", language: str = "en") -> str:
    """Python source that builds exactly the model of ``spec`` with Keras 3, in the style of the
    Keras examples: a stack as ``keras.Sequential``, a graph in the functional API with one
    function per block. Its comments are in ``language``. Running it prints the model summary.
    """
    if spec.is_graph:
        return _functional_code(spec, title, language)
    layer_lines = "\n".join(f"        {layer_code(layer)}," for layer in spec.layers)
    return f"""{_header(spec, title, language)}

{_input_comment(spec, language)}
input_shape = {spec.input_shape!r}

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
{layer_lines}
    ]
)

if __name__ == "__main__":
    model.summary()
"""


class _FunctionalWriter:
    """Writes a graph spec as functional-API code: a function per block (the same function
    for every repetition, in a loop), then the network from input to output."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.functions: list[str] = []
        self.names: dict[int, str] = {}  # id(block) → its function's name
        self.taken: set[str] = {"x", "inputs", "model", "keras", "layers", "shortcut"}
        self.unnamed = 0

    def function_name(self, block: Block) -> str:
        if id(block) in self.names:
            return self.names[id(block)]
        if block.name:
            base = re.sub(r"\W+", "_", block.name.lower()).strip("_") or "block"
            base = base if base[0].isalpha() else f"block_{base}"
        else:
            self.unnamed += 1
            base = f"{block.kind.lower()}_block_{self.unnamed}"
        name, number = base, 2
        while name in self.taken:
            name, number = f"{base}_{number}", number + 1
        self.taken.add(name)
        self.names[id(block)] = name
        self.functions.append(self.function(block, name))  # inner blocks are written first
        return name

    def lines(self, items: tuple[Layer | Block, ...], var: str, source: str) -> list[str]:
        """Code applying ``items`` to ``source``, leaving the result in ``var``."""
        out: list[str] = []
        current = source
        for item in items:
            if isinstance(item, Layer):
                out.append(f"{var} = {layer_code(item)}({current})")
            else:
                name = self.function_name(item)
                if item.repeat > 1:
                    if current != var:
                        out.append(f"{var} = {current}")
                    out += [f"for _ in range({item.repeat}):", f"    {var} = {name}({var})"]
                else:
                    out.append(f"{var} = {name}({current})")
            current = var
        if current != var:  # no items: the path is its input
            out.append(f"{var} = {current}")
        return out

    def function(self, block: Block, name: str) -> str:
        def say(id: str, **params: Any) -> str:
            return translate(self.language, id, **params)

        label = f" “{block.name}”" if block.name else ""
        body: list[str] = []
        if isinstance(block, Sequential):
            doc = say("build.code.doc_sequential", name=label)
            body = self.lines(block.layers, "x", "x")
        elif isinstance(block, Residual):
            after = (
                say("build.code.then_activation", activation=block.activation)
                if block.activation
                else ""
            )
            which = "doc_residual" if block.shortcut else "doc_residual_identity"
            doc = say(f"build.code.{which}", name=label, after=after)
            body = self.lines(block.shortcut, "shortcut", "x")
            body += self.lines(block.main, "x", "x")
            body.append("x = layers.Add()([x, shortcut])")
            if block.activation:
                body.append(f'x = layers.Activation("{block.activation}")(x)')
        else:
            assert isinstance(block, Parallel)
            doc = say("build.code.doc_parallel", name=label, count=len(block.paths))
            names = [f"path_{number}" for number in range(1, len(block.paths) + 1)]
            for var, path in zip(names, block.paths, strict=True):
                body += self.lines(path, var, "x")
            body.append(f"x = layers.Concatenate()([{', '.join(names)}])")
        body.append("return x")
        indented = "\n".join(f"    {line}" for line in body)
        return f'def {name}(x):\n    """{doc}"""\n{indented}\n'


def _functional_code(spec: Spec, title: str, language: str) -> str:
    writer = _FunctionalWriter(language)
    network = "\n".join(writer.lines(spec.layers, "x", "inputs"))
    functions = "\n\n".join(writer.functions)
    return f"""{_header(spec, title, language)}


{functions}

{_input_comment(spec, language)}
inputs = keras.Input(shape={spec.input_shape!r})
{network}
model = keras.Model(inputs, x)

if __name__ == "__main__":
    model.summary()
"""
