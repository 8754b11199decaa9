"""Figures and image grids for the Train page: live curves, confusion matrix, filters, feature maps.

Pure functions from numbers to plotly figures or uint8 image mosaics; the page decides where they
go. No TensorFlow here.
"""

from __future__ import annotations

import numpy as np

# Plotly looks pandas up in sys.modules without importing it; a training thread that is importing
# it at that moment leaves it half-initialised there and plotly fails. Import it fully first.
import pandas  # noqa: F401
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnn_core.training import History, smooth

# One colour per meaning, the same in every chart.
RAW = "rgba(76, 120, 168, 0.35)"
SMOOTH = "#4C78A8"
TRAIN = "#F58518"
VALIDATION = "#54A24B"
# Plotly sends every point to the browser on every redraw: past this many, the raw per-batch
# curve is thinned (the smoothed one keeps its shape) so live redraws stay light.
MAX_POINTS = 1200
RUN_COLOURS = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#FF9DA6")


def _thin(x: np.ndarray, *ys: np.ndarray) -> tuple[np.ndarray, ...]:
    if len(x) <= MAX_POINTS:
        return (x, *ys)
    keep = np.linspace(0, len(x) - 1, MAX_POINTS).round().astype(int)
    return (x[keep], *(y[keep] for y in ys))


def curves_figure(history: History, epochs: int, height: int = 360) -> go.Figure:
    """Loss (left) and accuracy (right) against epochs: each batch raw and smoothed, and each
    epoch's training mean and validation value as markers."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss (lower is better)", "Accuracy"))
    per_epoch = max(history.batches_per_epoch, 1)
    x = np.asarray(history.steps, dtype=float) / per_epoch  # position in epochs, e.g. 1.5
    if len(x):
        loss, accuracy = np.asarray(history.batch_loss), np.asarray(history.batch_accuracy)
        loss_smooth, accuracy_smooth = smooth(loss), smooth(accuracy)
        xs, loss_s, acc_s, loss_r, acc_r = _thin(x, loss_smooth, accuracy_smooth, loss, accuracy)
        panels = ((1, loss_r, loss_s, "loss"), (2, acc_r, acc_s, "accuracy"))
        for col, raw, smoothed, name in panels:
            fig.add_trace(
                go.Scatter(
                    x=xs, y=raw, mode="lines", line={"color": RAW, "width": 1},
                    name="each batch", legendgroup="raw", showlegend=col == 1,
                    hovertemplate=f"epoch %{{x:.2f}}<br>batch {name} %{{y:.3f}}<extra></extra>",
                ),
                row=1, col=col,
            )  # fmt: skip
            fig.add_trace(
                go.Scatter(
                    x=xs, y=smoothed, mode="lines", line={"color": SMOOTH, "width": 2.5},
                    name="smoothed", legendgroup="smooth", showlegend=col == 1,
                    hovertemplate=f"epoch %{{x:.2f}}<br>smoothed {name} %{{y:.3f}}<extra></extra>",
                ),
                row=1, col=col,
            )  # fmt: skip
    ends = [e.step / per_epoch for e in history.epochs]
    # An epoch's training figure is an average over the whole epoch, so it sits mid-epoch;
    # validation is measured at the end of the epoch, so it sits there.
    middles = [(e.step - history.batches_per_epoch / 2) / per_epoch for e in history.epochs]
    for col, train_values, val_values in (
        (1, [e.loss for e in history.epochs], [e.val_loss for e in history.epochs]),
        (2, [e.accuracy for e in history.epochs], [e.val_accuracy for e in history.epochs]),
    ):
        fig.add_trace(
            go.Scatter(
                x=middles, y=train_values, mode="lines+markers", marker={"size": 9, "color": TRAIN},
                line={"color": TRAIN, "width": 1.5}, name="epoch average: training",
                legendgroup="train", showlegend=col == 1,
            ),
            row=1, col=col,
        )  # fmt: skip
        if any(v is not None for v in val_values):
            fig.add_trace(
                go.Scatter(
                    x=ends, y=val_values, mode="lines+markers",
                    marker={"size": 10, "color": VALIDATION, "symbol": "diamond"},
                    line={"color": VALIDATION}, name="end of epoch: validation",
                    legendgroup="val", showlegend=col == 1,
                ),
                row=1, col=col,
            )  # fmt: skip
    fig.update_xaxes(
        title_text="epoch", range=[0, max(epochs, 1)], dtick=1 if epochs <= 20 else None
    )
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", row=1, col=2)
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.22, "x": 0.5, "xanchor": "center"},
        uirevision="keep",  # keep the learner's zoom while the chart redraws
    )
    return fig


def confusion_figure(confusion: np.ndarray, class_names: tuple[str, ...]) -> go.Figure:
    """A heatmap of counts, rows = true class, columns = prediction. The diagonal (right answers)
    is drawn in grey so the mistakes stand out; each cell can be clicked."""
    n = len(class_names)
    labels = [str(c) for c in class_names]
    mistakes = confusion.astype(float).copy()
    np.fill_diagonal(mistakes, np.nan)
    fig = go.Figure()
    fig.add_trace(
        go.Heatmap(
            z=np.where(np.eye(n, dtype=bool), confusion, np.nan),
            x=labels, y=labels, colorscale=[[0, "#E8E8E8"], [1, "#BDBDBD"]], showscale=False,
            hoverinfo="skip",
        )
    )  # fmt: skip
    fig.add_trace(
        go.Heatmap(
            z=mistakes, x=labels, y=labels, colorscale="Reds", zmin=0,
            colorbar={"title": {"text": "mistakes"}}, hoverinfo="skip",
        )
    )  # fmt: skip
    # Plotly cannot select heatmap cells, only points: one invisible square point per cell makes
    # every cell clickable (Streamlit reports the clicked point) and outlines the chosen one.
    true_grid, predicted_grid = np.meshgrid(range(n), range(n), indexing="ij")
    fig.add_trace(
        go.Scatter(
            x=[labels[j] for j in predicted_grid.ravel()],
            y=[labels[i] for i in true_grid.ravel()],
            customdata=confusion.ravel(),
            mode="markers",
            marker={"symbol": "square", "size": 30, "color": "rgba(0,0,0,0)",
                    "line": {"width": 0}},
            selected={"marker": {"color": "rgba(20, 20, 20, 0.35)"}},
            unselected={"marker": {"opacity": 0}},
            hovertemplate="true %{y}, predicted %{x}: %{customdata:,} images<br>"
            "click to see them<extra></extra>",
            showlegend=False,
        )
    )  # fmt: skip
    if n <= 12:  # counts written in the cells; white on the darkest reds so they stay legible
        dark = np.nanmax(mistakes, initial=1) * 0.6
        for i in range(n):
            for j in range(n):
                colour = "white" if i != j and confusion[i, j] > dark else "#222"
                fig.add_annotation(
                    x=labels[j], y=labels[i], text=f"{confusion[i, j]:,}", showarrow=False,
                    font={"size": 11, "color": colour},
                )  # fmt: skip
    fig.update_xaxes(title_text="predicted class", type="category", side="bottom")
    fig.update_yaxes(title_text="true class", type="category", autorange="reversed")
    fig.update_layout(
        height=460, margin={"l": 10, "r": 10, "t": 10, "b": 10}, plot_bgcolor="white",
        clickmode="event+select",
    )  # fmt: skip
    return fig


def mosaic(images: np.ndarray, columns: int, gap: int = 2, scale: int = 1) -> np.ndarray:
    """Tile uint8 images (n, h, w, c) into one grid image, separated by white lines; each image
    enlarged ``scale`` times with square pixels (so small images stay crisp)."""
    n, h, w, c = images.shape
    if scale > 1:
        images = images.repeat(scale, axis=1).repeat(scale, axis=2)
        h, w = h * scale, w * scale
    rows = max(-(-n // columns), 1)
    grid = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, c), 255, dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, columns)
        grid[r * (h + gap) : r * (h + gap) + h, col * (w + gap) : col * (w + gap) + w] = images[i]
    return grid[..., 0] if c == 1 else grid


def normalise(arrays: np.ndarray, per_item: bool = True) -> np.ndarray:
    """Float arrays (n, …) to uint8 0–255, each item stretched over its own range (so a weak
    filter or a dim feature map is still visible)."""
    arrays = np.asarray(arrays, dtype=np.float64)
    axes = tuple(range(1, arrays.ndim)) if per_item else None
    low = arrays.min(axis=axes, keepdims=True)
    high = arrays.max(axis=axes, keepdims=True)
    span = np.where(high - low > 1e-12, high - low, 1.0)
    return np.rint((arrays - low) / span * 255).astype(np.uint8)


def filters_mosaic(filters: np.ndarray, scale: int = 20) -> np.ndarray:
    """First-layer kernels (filters, h, w, in_channels) as one image: grayscale per filter for one
    input channel, colour for three; white = large positive weight, black = negative."""
    if filters.shape[-1] not in (1, 3):
        filters = filters.mean(axis=-1, keepdims=True)  # other depths: their mean, as one grey map
    columns = min(len(filters), 8)
    return mosaic(normalise(filters), columns=columns, gap=8, scale=scale)


def feature_maps_mosaic(maps: np.ndarray, max_maps: int = 32) -> tuple[np.ndarray, int]:
    """One conv layer's output (h, w, filters) as a grid of grey images, each map stretched over
    its own range. Returns (image, number shown)."""
    shown = min(maps.shape[-1], max_maps)
    stack = np.transpose(maps[..., :shown], (2, 0, 1))[..., np.newaxis]  # (shown, h, w, 1)
    side = maps.shape[0]
    scale = max(1, round(72 / max(side, 1)))  # small maps enlarged to ~72 px so they stay readable
    return mosaic(normalise(stack), columns=min(shown, 16), scale=scale), shown


def history_figure(runs: list[tuple[str, History]], height: int = 340) -> go.Figure:
    """The smoothed batch loss and the validation accuracy of several runs, overlaid."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("Smoothed training loss", "Validation accuracy per epoch")
    )
    for index, (label, history) in enumerate(runs):
        colour = RUN_COLOURS[index % len(RUN_COLOURS)]
        per_epoch = max(history.batches_per_epoch, 1)
        if history.steps:
            x = np.asarray(history.steps, dtype=float) / per_epoch
            (x, y) = _thin(x, smooth(history.batch_loss))
            fig.add_trace(
                go.Scatter(x=x, y=y, mode="lines", name=label, legendgroup=label,
                           line={"color": colour, "width": 2}),
                row=1, col=1,
            )  # fmt: skip
        val = [(e.step / per_epoch, e.val_accuracy) for e in history.epochs if e.val_accuracy]
        if val:
            fig.add_trace(
                go.Scatter(x=[v[0] for v in val], y=[v[1] for v in val], mode="lines+markers",
                           name=label, legendgroup=label, showlegend=False,
                           line={"color": colour, "width": 2}),
                row=1, col=2,
            )  # fmt: skip
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(tickformat=".1%", row=1, col=2)
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.25, "x": 0.5, "xanchor": "center"},
    )
    return fig


def counts_figure(counts: np.ndarray, class_names: tuple[str, ...]) -> go.Figure:
    """Images per class as bars."""
    fig = go.Figure(
        go.Bar(x=[str(c) for c in class_names], y=counts, marker_color=SMOOTH,
               text=[f"{c:,}" for c in counts], textposition="outside", cliponaxis=False)
    )  # fmt: skip
    fig.update_xaxes(type="category", title_text="class")
    fig.update_yaxes(title_text="training images", rangemode="tozero")
    fig.update_layout(height=260, margin={"l": 10, "r": 10, "t": 20, "b": 10})
    return fig
