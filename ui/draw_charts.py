"""Pictures for the Draw & classify page: probabilities, feature maps, dense outputs, steps.

Plain functions from numbers to plotly figures or image arrays; the page decides where they go.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from cnn_core.classify import LayerOutput

PREDICTED_COLOR = "#E45756"
OTHER_COLOR = "#4C78A8"
FEATURE_COLORS = "Viridis"  # ReLU outputs: 0 (dark) to strongest (yellow)
SIGNED_COLORS = "RdBu_r"  # outputs with negatives (no ReLU yet): blue < 0 < red
PLOT_CONFIG = {"displayModeBar": False}
PLOT_WIDTH = 600  # the path's plots share about this many pixels of width, colour bar aside


def enlarge(image: np.ndarray, size: int = 112) -> np.ndarray:
    """A [0, 1] image as a square uint8 picture, small ones blown up with square pixels so that
    a 20×20 step stays crisp.

    ``st.image`` would let the browser smooth a tiny image into a blur; repeating pixels keeps
    each one visible, which is the point of showing a 28×28 input.
    """
    height, width = image.shape
    side = max(height, width)  # padded to a square with black, so every step looks alike
    square = np.zeros((side, side), np.float32)
    top, left = (side - height) // 2, (side - width) // 2
    square[top : top + height, left : left + width] = np.clip(image, 0, 1)
    if side > 2 * size:  # a photo: no need to send the browser more pixels than it shows
        shrunk = Image.fromarray(square).resize((2 * size, 2 * size), Image.Resampling.BOX)
        return (np.clip(np.asarray(shrunk), 0, 1) * 255).astype(np.uint8)
    factor = max(1, size // side)
    big = np.kron(square, np.ones((factor, factor), np.float32))
    return (big * 255).astype(np.uint8)


def probability_chart(probabilities: np.ndarray, class_names: tuple[str, ...]) -> go.Figure:
    """One bar per class; the predicted one in red, with its percentage written on each bar."""
    best = int(np.argmax(probabilities))
    colors = [PREDICTED_COLOR if i == best else OTHER_COLOR for i in range(len(probabilities))]
    fig = go.Figure(
        go.Bar(
            x=list(class_names),
            y=probabilities,
            marker_color=colors,
            text=[f"{p:.0%}" if p >= 0.005 else "" for p in probabilities],
            textposition="outside",
            hovertemplate="%{x}: %{y:.2%}<extra></extra>",
        )
    )
    fig.update_xaxes(type="category", title=None, tickfont={"size": 15})
    fig.update_yaxes(range=[0, 1.15], tickformat=".0%", title="probability", dtick=0.25)
    fig.update_layout(
        height=260, margin={"l": 0, "r": 0, "t": 10, "b": 0}, plot_bgcolor="white", bargap=0.25
    )
    return fig


def feature_map_grid(output: LayerOutput, max_columns: int | None = None) -> go.Figure:
    """Every feature map of a layer as a grid of heatmaps sharing one colour scale.

    One colour scale for the whole layer, so a map that stays dark really is weak for this
    drawing. The maps are tiled into one heatmap with blank gaps (one trace per layer: plotly
    takes ~1 ms per trace to build, and a layer can have hundreds of maps); hovering names the
    map and gives the value.
    """
    values = output.values  # (height, width, maps)
    height, width, count = values.shape
    if max_columns is None:
        max_columns = 8 if width >= 20 else 16
    columns = min(count, max_columns)
    rows = math.ceil(count / columns)
    gap = max(1, round(width / 8))
    mosaic = np.full(
        (rows * (height + gap) - gap, columns * (width + gap) - gap), np.nan, np.float32
    )
    which = np.zeros(mosaic.shape, np.int16)  # the map number (1-based) under each mosaic pixel
    for k in range(count):
        row, col = divmod(k, columns)
        top, left = row * (height + gap), col * (width + gap)
        mosaic[top : top + height, left : left + width] = values[:, :, k]
        which[top : top + height, left : left + width] = k + 1
    low, high = float(values.min()), float(values.max())
    signed = low < 0
    if signed:
        bound = max(abs(low), abs(high), 1e-6)
        low, high = -bound, bound
    elif high <= low:
        high = low + 1e-6
    fig = go.Figure(
        go.Heatmap(
            z=mosaic,
            customdata=which,
            colorscale=SIGNED_COLORS if signed else FEATURE_COLORS,
            zmin=low,
            zmax=high,
            hoverongaps=False,
            hovertemplate="map %{customdata}<br>value %{z:.3f}<extra></extra>",
            colorbar={"thickness": 12, "len": 0.9},
        )
    )
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")
    # The plot is about PLOT_WIDTH px wide on a wide layout; size its height to the grid's shape.
    plot_height = PLOT_WIDTH * mosaic.shape[0] / mosaic.shape[1]
    fig.update_layout(
        height=int(min(max(plot_height, 90), 520)) + 20,
        margin={"l": 0, "r": 0, "t": 10, "b": 10},
        plot_bgcolor="white",
    )
    return fig


def vector_chart(output: LayerOutput, class_names: tuple[str, ...] | None = None) -> go.Figure:
    """A dense layer's outputs as bars, one per unit (the classes, for the last layer)."""
    values = output.values.reshape(-1)
    if class_names is not None and len(class_names) == len(values):
        x = list(class_names)
        axis_type = "category"
        best = int(np.argmax(values))
        colors = [PREDICTED_COLOR if i == best else OTHER_COLOR for i in range(len(values))]
    else:
        x = list(range(1, len(values) + 1))
        axis_type = "linear"
        colors = OTHER_COLOR
    fig = go.Figure(
        go.Bar(
            x=x,
            y=values,
            marker_color=colors,
            hovertemplate="unit %{x}: %{y:.3f}<extra></extra>",
        )
    )
    fig.update_xaxes(type=axis_type, title="class" if axis_type == "category" else "unit")
    fig.update_yaxes(title="output", zeroline=True, zerolinecolor="#888")
    fig.update_layout(
        height=190, margin={"l": 0, "r": 0, "t": 10, "b": 0}, plot_bgcolor="white", bargap=0.1
    )
    return fig


def input_heatmap(image: np.ndarray) -> go.Figure:
    """The model's input with the value of every pixel on hover (channel 1 if several)."""
    values = image[:, :, 0] if image.ndim == 3 else image
    fig = go.Figure(
        go.Heatmap(
            z=np.round(values, 3),
            colorscale="Greys_r",
            zmin=0,
            zmax=max(1.0, float(values.max())),
            hovertemplate="row %{y}, column %{x}<br>value %{z:.3f}<extra></extra>",
            colorbar={"thickness": 12, "len": 0.9},
        )
    )
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")
    fig.update_layout(height=230, margin={"l": 0, "r": 0, "t": 0, "b": 0})
    return fig
