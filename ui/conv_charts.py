"""Plotly pictures for the Convolution page: grids with their numbers printed in the cells, the
sliding window drawn on top, and rows of feature maps for real images.

Pure plotly (no Streamlit calls), so the figures can be checked in tests and reused by others.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from cnn_core.conv_math import number_text

# Pale colours so that black numbers stay readable on every cell.
INPUT_SCALE = [[0.0, "#f4f6f8"], [1.0, "#8fb8de"]]
DIVERGING_SCALE = [[0.0, "#e8927c"], [0.5, "#f7f7f7"], [1.0, "#7fb3d5"]]
CHANNEL_SCALES = {
    "red": [[0.0, "#fbf3f3"], [1.0, "#e88a8a"]],
    "green": [[0.0, "#f3faf3"], [1.0, "#86c98a"]],
    "blue": [[0.0, "#f3f6fb"], [1.0, "#8aaee8"]],
}
WINDOW_COLOR = "#ff7f0e"  # the sliding window and the cell it fills
PADDING_TEXT = "#9aa0a6"  # the zeros added around the image
EMPTY_CELL = "#eef0f2"  # a cell not computed yet, or hidden
HIDDEN_TEXT = "?"
CELL_PX = 34  # side of one cell on screen
MAX_CELL_PX = 46
MIN_FIGURE_PX = 150


def _cell_px(rows: int, cols: int, max_px: int) -> int:
    """Cell size so that the grid stays within ``max_px`` on its longer side."""
    return int(max(18, min(MAX_CELL_PX, max_px // max(rows, cols, 1))))


def grid_figure(
    values: np.ndarray,
    *,
    title: str = "",
    scale: str | list = "input",
    padding_mask: np.ndarray | None = None,
    window: tuple[int, int, int, int] | None = None,
    cell: tuple[int, int] | None = None,
    hidden: Sequence[tuple[int, int]] = (),
    show: np.ndarray | None = None,
    max_px: int = 380,
    zrange: tuple[float, float] | None = None,
    pick: tuple[int, int] | None = None,
) -> go.Figure:
    """A small grid as a heatmap with its numbers written in the cells.

    Args:
        values: (rows, cols); NaN cells are drawn empty.
        title: shown above the grid.
        scale: "input" (pale blue), "diverging" (negative red, positive blue), a key of
            CHANNEL_SCALES, or a plotly colorscale.
        padding_mask: True where a cell is a padding zero: drawn grey, with a dashed outline
            around the real image.
        window: (top, left, height, width) of the sliding window, drawn as an orange frame.
        cell: (row, col) of a single cell to frame (the output cell being filled).
        hidden: (row, col) of each cell shown as "?" (the learner's turn, and what would give
            its answer away).
        show: bool (rows, cols): cells not yet computed are left blank (the map filling in).
        max_px: the longer side of the grid on screen, at most.
        zrange: fixed colour range (so a map keeps its colours while it fills in).
        pick: (row, col) of a cell to write in bold (the value max pooling keeps).
    """
    values = np.asarray(values, dtype=float)
    rows, cols = values.shape
    shown = values.copy()
    if show is not None:
        shown[~show] = np.nan
    text = [[number_text(v) if np.isfinite(v) else "" for v in row] for row in shown]
    if padding_mask is not None:
        for i, j in zip(*np.nonzero(padding_mask), strict=True):
            text[i][j] = f"<span style='color:{PADDING_TEXT}'>{text[i][j]}</span>"
    if pick is not None:
        text[pick[0]][pick[1]] = f"<b>{text[pick[0]][pick[1]]}</b>"
    for row, col in hidden:
        shown[row, col] = np.nan
        text[row][col] = f"<b>{HIDDEN_TEXT}</b>"

    finite = values[np.isfinite(values)]
    low, high = zrange or ((finite.min(), finite.max()) if finite.size else (0.0, 1.0))
    colorscale, centred = _scale(scale)
    if centred:  # white at 0, the same depth of colour for −x and +x
        high = max(abs(low), abs(high), 1e-9)
        low = -high
    elif low == high:  # a flat grid: plotly would paint it all the top colour
        low, high = low - 1, high + 1

    shapes = []
    if padding_mask is not None and padding_mask.any() and (~padding_mask).any():
        inner = np.argwhere(~padding_mask)
        (top, left), (bottom, right) = inner.min(axis=0), inner.max(axis=0)
        shapes.append(_frame(top, left, bottom - top + 1, right - left + 1, "#5f6368", 1.5, "dash"))
    if window is not None:
        shapes.append(_frame(*window, WINDOW_COLOR, 4))
    if cell is not None:
        shapes.append(_frame(cell[0], cell[1], 1, 1, WINDOW_COLOR, 4))
    px = _cell_px(rows, cols, max_px)
    top_margin = 28 if title else 4
    # Built from one dict: plotly validates it once, far faster than a chain of update calls.
    return go.Figure(
        {
            "data": [
                {  # pale empty cells underneath, so a map still filling in shows its full size
                    "type": "heatmap",
                    "z": np.zeros((rows, cols)).tolist(),
                    "colorscale": [[0.0, EMPTY_CELL], [1.0, EMPTY_CELL]],
                    "showscale": False,
                    "hoverinfo": "skip",
                    "xgap": 1,
                    "ygap": 1,
                },
                {
                    "type": "heatmap",
                    "z": np.where(np.isfinite(shown), shown, None).tolist(),
                    "text": text,
                    "texttemplate": "%{text}",
                    "textfont": {"size": 12 if max(rows, cols) <= 10 else 10, "color": "#1f2328"},
                    "colorscale": colorscale,
                    "showscale": False,
                    "hoverinfo": "skip",
                    "xgap": 1,
                    "ygap": 1,
                    "zmin": float(low),
                    "zmax": float(high),
                },
            ],
            "layout": {
                "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 13}},
                "shapes": shapes,
                "xaxis": {"visible": False, "range": [-0.55, cols - 0.45], "fixedrange": True},
                "yaxis": {
                    "visible": False,
                    "range": [rows - 0.45, -0.55],
                    "fixedrange": True,
                    "scaleanchor": "x",
                    "scaleratio": 1,
                },
                # Streamlit draws a plotly chart at least MIN_FIGURE_PX wide but keeps the
                # figure's own width for its frame: a narrower figure (a 2×2 map) was clipped.
                "width": max(cols * px + 12, MIN_FIGURE_PX),
                "height": rows * px + top_margin + 8,
                "margin": {"l": 4, "r": 4, "t": top_margin, "b": 4},
                "plot_bgcolor": "white",
            },
        }
    )


def _scale(scale: str | list) -> tuple[list, bool]:
    """The colorscale, and whether it is centred on 0."""
    if isinstance(scale, list):
        return scale, False
    if scale == "input":
        return INPUT_SCALE, False
    if scale == "diverging":
        return DIVERGING_SCALE, True
    return CHANNEL_SCALES[scale], False


def _frame(
    top: float,
    left: float,
    height: float,
    width: float,
    color: str,
    line_width: float,
    dash: str = "solid",
) -> dict:
    """A rectangle around cells, as a plotly shape."""
    return {
        "type": "rect",
        "x0": left - 0.5,
        "x1": left + width - 0.5,
        "y0": top - 0.5,
        "y1": top + height - 0.5,
        "line": {"color": color, "width": line_width, "dash": dash},
        "fillcolor": "rgba(0,0,0,0)",
    }


def window_of(figure: go.Figure) -> tuple[float, float] | None:
    """(top, left) of the orange frame in a grid figure, for tests and checks."""
    for shape in figure.layout.shapes:
        if shape.line.color == WINDOW_COLOR:
            return shape.y0 + 0.5, shape.x0 + 0.5
    return None


def map_picture(values: np.ndarray, scale: str = "gray", min_px: int = 140) -> np.ndarray:
    """A feature map as an RGB picture for ``st.image``: no numbers, just brightness or colour.

    "gray" stretches min…max to black…white; "diverging" puts 0 at white, negative values red and
    positive blue (plotly's RdBu). Small maps are enlarged with square pixels (no blur), so a
    28×28 digit still looks like pixels.
    """
    values = np.asarray(values, dtype=float)
    if scale == "diverging":
        limit = float(np.abs(values).max()) or 1.0
        unit = (values / limit + 1) / 2  # −limit…limit → 0…1, 0 → 0.5 (white)
        picture = _RDBU[np.round(unit * 255).astype(np.uint8)]
    else:
        low, high = float(values.min()), float(values.max())
        unit = (values - low) / (high - low) if high > low else np.zeros_like(values)
        picture = np.repeat(np.round(unit * 255).astype(np.uint8)[..., np.newaxis], 3, axis=2)
    zoom = max(1, -(-min_px // max(values.shape)))
    return np.kron(picture, np.ones((zoom, zoom, 1), dtype=np.uint8))


def _rgb_table(colorscale: str) -> np.ndarray:
    """256 RGB colours sampled from a named plotly colorscale (a lookup table for pictures)."""
    colors = sample_colorscale(colorscale, [i / 255 for i in range(256)], colortype="tuple")
    return np.round(np.array(colors) * 255).astype(np.uint8)


_RDBU = _rgb_table("RdBu")


def strip_figure(
    values: Sequence[float],
    channels: Sequence[int],
    labels: Sequence[str],
    title: str,
) -> go.Figure:
    """A flattened vector as one row of cells, coloured by the channel each value came from."""
    palette = ["#f6c6c6", "#c6dcf6", "#cdeccd", "#f3e3b5"]
    n = len(values)
    shapes, notes = [], []
    for i, (value, channel, label) in enumerate(zip(values, channels, labels, strict=True)):
        shapes.append(
            {
                "type": "rect",
                "x0": i,
                "x1": i + 0.94,
                "y0": 0,
                "y1": 1,
                "fillcolor": palette[channel % len(palette)],
                "line": {"color": "#5f6368", "width": 1},
            }
        )
        notes.append(
            {
                "x": i + 0.47,
                "y": 0.5,
                "text": f"<b>{number_text(value)}</b>",
                "showarrow": False,
                "font": {"size": 15, "color": "#1f2328"},
            }
        )
        notes.append(
            {
                "x": i + 0.47,
                "y": -0.35,
                "text": label,
                "showarrow": False,
                "font": {"size": 10, "color": "#5f6368"},
            }
        )
    return go.Figure(
        {
            "data": [],
            "layout": {
                "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 13}},
                "shapes": shapes,
                "annotations": notes,
                "xaxis": {"visible": False, "range": [-0.1, n + 0.05], "fixedrange": True},
                "yaxis": {"visible": False, "range": [-0.75, 1.1], "fixedrange": True},
                "height": 120,
                "width": max(320, 70 * n),
                "margin": {"l": 4, "r": 4, "t": 30, "b": 4},
                "plot_bgcolor": "white",
            },
        }
    )
