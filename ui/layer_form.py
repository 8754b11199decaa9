"""Widgets that edit one layer of a spec. Each argument gets the widget a learner expects; the
result goes back through ``layer_from_dict`` so the spec's own checks apply to every edit."""

from __future__ import annotations

from typing import Any

import streamlit as st

from cnn_core.config import LIMITS
from cnn_core.spec import ACTIVATIONS, PADDINGS, Layer, _Pooling2D, pair

NO_ACTIVATION = "none (linear)"

HELP = {
    "filters": "How many filters, so how many feature maps this layer outputs (its depth).",
    "kernel_size": "Height and width of each filter window.",
    "strides": "How many pixels the window moves per step. 2 roughly halves the image size.",
    "padding": '"valid" adds no zeros (the map shrinks); "same" adds zeros so that '
    "output size = ⌈input size / stride⌉.",
    "activation": "Applied to every output value. ReLU zeroes negatives; softmax turns the last "
    "layer's scores into probabilities.",
    "use_bias": "Add one learned bias per filter (or unit).",
    "pool_size": "Height and width of the pooling window.",
    "units": "How many neurons. The last Dense layer needs one per class.",
    "rate": "Fraction of values zeroed at random during training.",
    "momentum": "How slowly the moving mean and variance follow each batch (Keras default 0.99).",
    "epsilon": "Added to the variance so it never divides by zero.",
    "center": "Learn an offset β per channel.",
    "scale": "Learn a scale γ per channel.",
}


class _Form:
    """Collects edits: an argument is written back only when its widget moved from the value it
    was shown with, so a widget's range or rounding never rewrites a value the learner typed."""

    def __init__(self, layer: Layer, key: str):
        self.data: dict[str, Any] = layer.to_dict()
        self.key = key

    def number(
        self, name: str, low: float, high: float, value: float, step: float | None = None, **kw
    ) -> None:
        shown = min(max(value, low), high)
        new = st.number_input(
            name, low, high, shown, step, key=f"{self.key}_{name}", help=HELP.get(name), **kw
        )
        if new != shown:
            self.data[name] = new

    def window(self, label: str, name: str, value: Any) -> None:
        """Two inputs (height, width); an equal pair is stored as one int, as Keras allows."""
        shown = pair(value)
        c1, c2 = st.columns(2)
        h = c1.number_input(
            f"{label} height",
            1,
            LIMITS.max_window,
            min(shown[0], LIMITS.max_window),
            key=f"{self.key}_{name}_h",
            help=HELP.get(name),
        )
        w = c2.number_input(
            f"{label} width",
            1,
            LIMITS.max_window,
            min(shown[1], LIMITS.max_window),
            key=f"{self.key}_{name}_w",
        )
        if (h, w) != shown:
            self.data[name] = int(h) if h == w else [int(h), int(w)]

    def choice(self, name: str, options: list[str], value: str) -> None:
        new = st.selectbox(
            name, options, index=options.index(value), key=f"{self.key}_{name}", help=HELP.get(name)
        )
        if new != value:
            self.data[name] = new

    def activation(self, value: str | None, optional: bool) -> None:
        options = [NO_ACTIVATION, *ACTIVATIONS] if optional else list(ACTIVATIONS)
        shown = NO_ACTIVATION if value is None else value
        new = st.selectbox(
            "activation",
            options,
            index=options.index(shown),
            key=f"{self.key}_activation",
            help=HELP["activation"],
        )
        if new != shown:
            self.data["activation"] = None if new == NO_ACTIVATION else new

    def flag(self, name: str, label: str, value: bool, where=st) -> None:
        new = where.checkbox(label, value, key=f"{self.key}_{name}", help=HELP.get(name))
        if new != value:
            self.data[name] = new


def layer_form(layer: Layer, key: str) -> dict[str, Any]:
    """Render the widgets for ``layer``'s arguments; return the edited layer as a spec dict.

    ``key`` prefixes every widget key. It must name this very layer and revision of the design
    (e.g. ``shapes_layer_2_7``, see pages/shapes.py): a browser keeps a widget's value for as long
    as its key lives, so a key reused for another layer or an older design would show, and send
    back, that one's values. A fresh key starts from ``layer``'s own values.
    """
    form = _Form(layer, key)
    kwargs = layer.keras_kwargs()
    match layer.type:
        case "Conv2D":
            form.number("filters", 1, LIMITS.max_filters, layer.filters)
            form.window("kernel", "kernel_size", layer.kernel_size)
            form.window("stride", "strides", layer.strides)
            form.choice("padding", list(PADDINGS), layer.padding)
            form.activation(layer.activation, optional=True)
            form.flag("use_bias", "use_bias", layer.use_bias)
        case "MaxPooling2D" | "AveragePooling2D":
            assert isinstance(layer, _Pooling2D)
            form.window("pool", "pool_size", layer.pool_size)
            own_stride = st.checkbox(
                "stride differs from the pool size",
                layer.strides is not None,
                key=f"{key}_own_stride",
                help="Keras' default stride is the pool size: windows side by side, no overlap.",
            )
            if own_stride:
                form.window("stride", "strides", layer.effective_strides)
                form.data.setdefault("strides", list(layer.effective_strides))
            else:
                form.data.pop("strides", None)
            form.choice("padding", list(PADDINGS), layer.padding)
        case "Dense":
            form.number("units", 1, LIMITS.max_units, layer.units)
            form.activation(layer.activation, optional=True)
            form.flag("use_bias", "use_bias", layer.use_bias)
        case "Dropout":
            shown = min(layer.rate, 0.9)
            new = st.slider("rate", 0.0, 0.9, shown, 0.05, key=f"{key}_rate", help=HELP["rate"])
            if new != shown:
                form.data["rate"] = new
        case "BatchNormalization":
            form.number("momentum", 0.0, 0.9999, kwargs["momentum"], 0.01, format="%.4f")
            form.number("epsilon", 1e-7, 0.5, kwargs["epsilon"], 1e-4, format="%.7f")
            c1, c2 = st.columns(2)
            form.flag("center", "center (β)", layer.center, c1)
            form.flag("scale", "scale (γ)", layer.scale, c2)
        case "Activation":
            form.activation(layer.activation, optional=False)
        case _:
            st.caption(f"{layer.type} has no arguments to set.")
    return form.data
