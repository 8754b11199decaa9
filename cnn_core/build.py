"""From a spec to a Keras model, and to Python code that builds the same model.

``to_keras_code`` needs no TensorFlow, so the Shapes page can offer the export without paying
TensorFlow's import time; ``build_model`` imports Keras when it is first called.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

from cnn_core.spec import Layer, Spec, SpecError, errors, pair

if TYPE_CHECKING:
    import keras

# The first argument Keras takes by position, as the Keras examples write it:
# layers.Conv2D(32, ...), layers.Dense(10, ...), layers.Dropout(0.5), layers.Activation("relu").
_POSITIONAL = {"Conv2D": "filters", "Dense": "units", "Dropout": "rate", "Activation": "activation"}
_WINDOWS = ("kernel_size", "strides", "pool_size")


def layer_name(position: int, layer: Layer) -> str:
    """The name of layer ``position`` (1-based) in a built model, e.g. ``conv2d_1``."""
    return f"{layer.keras_name}_{position}"


def build_model(spec: Spec, *, check: bool = True) -> keras.Sequential:
    """Build ``spec`` as an (uncompiled) ``keras.Sequential``.

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

    model_layers: list[Any] = [keras.Input(shape=spec.input_shape, name="image")]
    for position, layer in enumerate(spec.layers, start=1):
        keras_class = getattr(keras.layers, layer.type)
        model_layers.append(keras_class(**layer.keras_kwargs(), name=layer_name(position, layer)))
    return keras.Sequential(model_layers, name="cnn_lab")


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


def to_keras_code(spec: Spec, title: str = "") -> str:
    """Python source that builds exactly the model of ``spec`` with Keras 3, in the style of the
    Keras MNIST example. Running it prints the model summary."""
    from cnn_core.shapes import fmt, ledger

    led = ledger(spec)
    heading = f"{title} — " if title else ""
    layer_lines = "\n".join(f"        {layer_code(layer)}," for layer in spec.layers)
    height, width, channels = spec.input_shape
    kind = {1: "grayscale", 3: "RGB"}.get(channels, f"{channels} channels")
    return f'''"""{heading}a convolutional network exported from CNN Lab.

{fmt(led.total_params)} parameters ({fmt(led.trainable_params)} trainable). Needs Keras 3: pip install keras tensorflow
"""

import keras
from keras import layers

# Input: {height}×{width} pixels, {kind}.
input_shape = {spec.input_shape!r}

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
{layer_lines}
    ]
)

if __name__ == "__main__":
    model.summary()
'''
