"""Convolution, step by step: slide a filter over a grid of numbers, one multiply-add at a time,
then ReLU, pooling, depth, flatten, and the same filters on a real image.

All arithmetic is cnn_core.conv_math (plain numpy, checked against Keras in the tests). This page
never imports TensorFlow, so it opens instantly.
"""

from __future__ import annotations

import random

import numpy as np
import streamlit as st

import ui  # noqa: F401  (before cnn_core: a fresh server's first request, see ui/__init__.py)
from cnn_core import conv_math as cm
from cnn_core.config import LIMITS
from cnn_core.data import load_mnist
from cnn_core.shapes import ledger, shape_text
from cnn_core.share import MAX_SETTING_TEXT_CHARS
from cnn_core.spec import Conv2D, Flatten, MaxPooling2D, Spec
from ui import share
from ui.conv_charts import grid_figure, map_picture, strip_figure
from ui.conv_widgets import current_cells, grid_editor, resize_cells, set_cells, stepper
from ui.text import literal

IMAGE, KERNEL = "conv_image", "conv_kernel"  # the two editable grids
# Your turn: the question on screen, the (question, answer) last checked, the question solved.
QUIZ_QUESTION, QUIZ_CHECKED, QUIZ_SOLVED = (
    "conv_quiz_question",
    "conv_quiz_checked",
    "conv_quiz_solved",
)
DEFAULT_EXAMPLE = "edge_6x6"
PADDING_LABELS = {
    "valid": "valid: no zeros",
    "same": "same: keep the size",
    "explicit": "explicit: P zeros on every side",
}
STATIC = {"displayModeBar": False, "staticPlot": True}  # pictures, not plots to zoom
REAL_FILTERS = ["vertical_edge", "horizontal_edge", "sobel_x", "sobel_y", "blur", "sharpen"]
YOUR_FILTER = "yours"
PHOTO_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp"]
POOL_MODES = ["max", "average"]
POOL_PADDINGS = ["valid", "same"]
MAX_POOL = 4  # pooling window and stride, per side: the maps here are at most 12×12


# --------------------------------------------------------------------------------------------
# State: defaults, presets and resizing (callbacks run before the page is drawn)
# --------------------------------------------------------------------------------------------


def _load_kernel_cells(cells: tuple[tuple[str, ...], ...]) -> None:
    set_cells(KERNEL, cells)
    st.session_state["conv_kernel_rows"] = len(cells)
    st.session_state["conv_kernel_cols"] = len(cells[0])


def load_example() -> None:
    """Load the chosen example: its image, its filter and its settings."""
    state = st.session_state
    if state.get("conv_example") not in cm.EXAMPLES:  # a crafted value from the browser
        state["conv_example"] = DEFAULT_EXAMPLE
    example = cm.EXAMPLES[state["conv_example"]]
    set_cells(IMAGE, example.image)
    state["conv_image_rows"], state["conv_image_cols"] = len(example.image), len(example.image[0])
    _load_kernel_cells(cm.KERNELS[example.kernel].cells)
    state["conv_stride"] = example.stride
    if isinstance(example.padding, int):
        state["conv_padding"], state["conv_pad_amount"] = "explicit", example.padding
    else:
        state["conv_padding"] = example.padding
    state["conv_bias"] = float(example.bias)
    state["conv_normalised"] = example.normalised
    state["conv_step"] = state["conv_pool_step"] = 1
    state.pop("conv_quiz_cell", None)


def load_kernel() -> None:
    """Load a named filter into the filter grid (the image stays)."""
    name = st.session_state.get("conv_kernel_preset")
    if name in cm.KERNELS:  # (anything else is a crafted value from the browser)
        _load_kernel_cells(cm.KERNELS[name].cells)
    st.session_state["conv_kernel_preset"] = None  # back to "Load a filter…"


def resize_image() -> None:
    resize_cells(IMAGE, st.session_state["conv_image_rows"], st.session_state["conv_image_cols"])


def resize_kernel() -> None:
    resize_cells(KERNEL, st.session_state["conv_kernel_rows"], st.session_state["conv_kernel_cols"])


def new_quiz() -> None:
    st.session_state.pop("conv_quiz_cell", None)
    st.session_state["conv_quiz_answer"] = ""
    st.session_state.pop(QUIZ_CHECKED, None)


def check_quiz() -> None:
    """Check or Enter: the answer now in the box is checked against the question on screen."""
    state = st.session_state
    state[QUIZ_CHECKED] = (state.get(QUIZ_QUESTION), state.get("conv_quiz_answer", ""))


def init_state() -> None:
    """First visit: the tutorial's 6×6 example and every control's default."""
    state = st.session_state
    if f"{IMAGE}_cells" not in state:
        state["conv_example"] = DEFAULT_EXAMPLE
        load_example()
    defaults = {
        "conv_pad_amount": 1,
        "conv_pool_mode": "max",
        "conv_pool_size": 2,
        "conv_pool_stride": 2,
        "conv_pool_padding": "valid",
        "conv_depth_filters": 2,
        "conv_real_source": "digit",
        "conv_real_index": 0,
        "conv_real_filters": ["vertical_edge", "horizontal_edge", "blur", "sharpen"],
    }
    for key, value in defaults.items():
        state.setdefault(key, value)


# --------------------------------------------------------------------------------------------
# Share links: the example, the grids as typed (when they fit in a link), and every setting
# --------------------------------------------------------------------------------------------

GRID_SETTINGS = {IMAGE: "conv_image_grid", KERNEL: "conv_kernel_grid"}  # link key per grid


def grid_text(cells: list[list[str]]) -> str | None:
    """A grid as link text, "3 1 1;1 0 7", or None when it does not fit in a link or has a cell
    that is not a number (then the link carries the example's name instead)."""
    rows = [["".join(cell.split()) for cell in row] for row in cells]
    try:
        cm.parse_grid(rows)
    except cm.ConvMathError:
        return None
    text = ";".join(" ".join(row) for row in rows)
    return text if len(text) <= MAX_SETTING_TEXT_CHARS else None


def grid_validator(name: str, max_side: int) -> share.Validator:
    """Accept link text for a grid of numbers at most ``max_side`` a side; returns the cells."""

    def validate(value: object) -> list[list[str]]:
        if not isinstance(value, str):
            raise ValueError(f"it must be the {name}'s rows of numbers.")
        rows = [row.split() for row in value.split(";")]
        try:
            cm.parse_grid(rows, name, max_side)
        except cm.ConvMathError as err:
            raise ValueError(" ".join(err.problems)) from None
        return rows

    return validate


def apply_link() -> None:
    """A share link's example, grids and settings, before any widget is drawn."""
    if share.apply_link_settings({"conv_example": share.one_of(list(cm.EXAMPLES))}):
        load_example()  # its grids and settings; the link's own values go on top
    restored = share.apply_link_settings(
        {
            GRID_SETTINGS[IMAGE]: grid_validator("image", LIMITS.max_grid_side),
            GRID_SETTINGS[KERNEL]: grid_validator("filter", LIMITS.max_kernel_side),
            "conv_stride": share.whole_number(1, LIMITS.max_grid_side),
            "conv_padding": share.one_of(list(PADDING_LABELS)),
            "conv_pad_amount": share.whole_number(0, LIMITS.max_grid_padding),
            "conv_bias": share.number(-cm.MAX_TYPED, cm.MAX_TYPED),
            "conv_normalised": share.yes_no,
            "conv_pool_mode": share.one_of(POOL_MODES),
            "conv_pool_size": share.whole_number(1, MAX_POOL),
            "conv_pool_stride": share.whole_number(1, MAX_POOL),
            "conv_pool_padding": share.one_of(POOL_PADDINGS),
        }
    )
    for grid, key in GRID_SETTINGS.items():
        if key in restored:
            cells = st.session_state.pop(key)
            set_cells(grid, cells)
            st.session_state[f"{grid}_rows"], st.session_state[f"{grid}_cols"] = (
                len(cells),
                len(cells[0]),
            )


def update_link() -> str | None:
    """Make the address bar this page's share link; returns its token."""
    state = st.session_state
    return share.update_link(
        {
            "conv_example": state["conv_example"],
            **{key: grid_text(current_cells(grid)) for grid, key in GRID_SETTINGS.items()},
            **{
                key: state.get(key)
                for key in (
                    "conv_stride",
                    "conv_padding",
                    "conv_pad_amount",
                    "conv_bias",
                    "conv_normalised",
                    "conv_pool_mode",
                    "conv_pool_size",
                    "conv_pool_stride",
                    "conv_pool_padding",
                )
            },
        }
    )


def padding_choice() -> cm.Padding:
    choice = st.session_state["conv_padding"]
    return int(st.session_state["conv_pad_amount"]) if choice == "explicit" else choice


# --------------------------------------------------------------------------------------------
# Small pieces
# --------------------------------------------------------------------------------------------


def show(figure, key: str, column=None) -> None:
    """Draw a figure as a still picture. Keys are needed: two grids can be drawn identically."""
    (column or st).plotly_chart(figure, width="content", config=STATIC, key=f"conv_chart_{key}")


def size_lines(in_hw: tuple[int, int], window: tuple[int, int], stride: int, padding) -> None:
    """The output-size formula with the numbers, one line per axis (one if both are the same)."""
    height = cm.size_formula(in_hw[0], window[0], stride, padding)
    width = cm.size_formula(in_hw[1], window[1], stride, padding)
    lines = (
        [("height and width", height)]
        if height == width
        else [
            ("height", height),
            ("width", width),
        ]
    )
    for axis, (_, formula, note) in lines:
        st.markdown(f"Output {axis}: `{formula}`")
        if note:
            st.caption(note)


def cell_name(row: int, col: int) -> str:
    return f"row {row + 1}, column {col + 1}"


# --------------------------------------------------------------------------------------------
# 1. The image and the filter
# --------------------------------------------------------------------------------------------


def image_and_filter() -> tuple[cm.ConvResult | None, list[str]]:
    st.header("1. A grid of numbers and a filter", divider="gray")
    st.markdown(
        "An image is a grid of numbers: 0 is black, 255 is white (here, small numbers keep the "
        "arithmetic easy). A **filter** (or kernel) is a smaller grid of weights. Edit any cell, "
        "or start from an example."
    )
    top = st.columns([3, 2])
    top[0].selectbox(
        "Example",
        list(cm.EXAMPLES),
        format_func=lambda name: cm.EXAMPLES[name].title,
        key="conv_example",
        on_change=load_example,
    )
    top[1].selectbox(
        "Load a filter",
        list(cm.KERNELS),
        index=None,
        placeholder="Choose one: Sobel, blur, sharpen…",
        format_func=lambda name: cm.KERNELS[name].title,
        key="conv_kernel_preset",
        on_change=load_kernel,
    )
    st.caption(cm.EXAMPLES[st.session_state["conv_example"]].about)

    left, middle, right = st.columns([5, 3.2, 2.6], gap="medium")
    with left:
        image_cells = grid_editor(
            IMAGE, "Input image", "Type numbers: 3, -1, 0.5 or 1/9. Rows and columns count from 1."
        )
        rows, cols = st.columns(2)
        side = LIMITS.max_grid_side
        rows.number_input("Rows", 1, side, key="conv_image_rows", on_change=resize_image)
        cols.number_input("Columns", 1, side, key="conv_image_cols", on_change=resize_image)
    with middle:
        kernel_cells = grid_editor(KERNEL, "Filter", "The weights the filter multiplies by.")
        rows, cols = st.columns(2)
        side = LIMITS.max_kernel_side
        rows.number_input("Rows", 1, side, key="conv_kernel_rows", on_change=resize_kernel)
        cols.number_input("Columns", 1, side, key="conv_kernel_cols", on_change=resize_kernel)
    with right:
        st.number_input(
            "Stride",
            1,
            LIMITS.max_grid_side,
            key="conv_stride",
            help="How many cells the filter moves between two outputs.",
        )
        st.radio(
            "Padding",
            list(PADDING_LABELS),
            format_func=PADDING_LABELS.get,
            key="conv_padding",
            help='Zeros added around the image. "same" adds as many as Keras does to keep '
            "⌈size/stride⌉ outputs.",
        )
        if st.session_state["conv_padding"] == "explicit":
            st.number_input("P (zeros per side)", 0, LIMITS.max_grid_padding, key="conv_pad_amount")
        st.number_input(
            "Bias",
            -float(cm.MAX_TYPED),
            float(cm.MAX_TYPED),
            step=1.0,
            key="conv_bias",
            help="Added to every sum.",
        )
        st.toggle(
            "Normalised match",
            key="conv_normalised",
            help="Divide each sum by the number of filter cells, as the X/O tutorial does with ±1 "
            "images: 1 is a perfect match, −1 a perfect mismatch.",
        )

    problems: list[str] = []
    grids = {}
    for name, cells in (("image", image_cells), ("filter", kernel_cells)):
        try:
            grids[name] = cm.parse_grid(cells, name)
        except cm.ConvMathError as err:
            problems.extend(err.problems)

    stride, padding = int(st.session_state["conv_stride"]), padding_choice()
    in_hw = (len(image_cells), len(image_cells[0]))
    window = (len(kernel_cells), len(kernel_cells[0]))
    result = None
    if not problems:
        try:
            result = cm.conv2d(
                grids["image"],
                grids["filter"],
                bias=float(st.session_state["conv_bias"]),
                strides=stride,
                padding=padding,
                normalised=bool(st.session_state["conv_normalised"]),
            )
        except cm.ConvMathError as err:
            problems.extend(err.problems)
    if problems:  # right under the grids, where the learner is looking
        st.error(
            "The filter cannot slide yet. What you typed is kept; fix these and the steps appear:\n"
            + "\n".join(f"- {literal(p)}" for p in problems)
        )

    st.subheader("Output size")
    st.markdown("A window of size F slides over W cells with P zeros each side and stride S:")
    st.latex(r"\text{output} = \left\lfloor \frac{W - F + 2P}{S} \right\rfloor + 1")
    size_lines(in_hw, window, stride, padding)
    if result is not None:
        oh, ow, _ = result.output_shape
        st.success(
            f"{in_hw[0]}×{in_hw[1]} image, {window[0]}×{window[1]} filter → a {oh}×{ow} feature "
            f"map ({result.cells} output cell{'s' if result.cells != 1 else ''})."
        )
    return result, problems


# --------------------------------------------------------------------------------------------
# 2. Sliding the filter
# --------------------------------------------------------------------------------------------


def conv_figures(
    result: cm.ConvResult, step: cm.ConvStep, prefix: str, *, hidden: bool = False
) -> None:
    """The padded input with the window, the filter, and the feature map filling in."""
    kh, kw = step.weights.shape[:2]
    oh, ow, _ = result.output_shape
    padded_w = result.padded.shape[1]
    widths = [max(padded_w, 4) + 1, max(kw, 3) + 1, max(ow, 3) + 1]
    input_col, kernel_col, output_col = st.columns(widths, gap="small")
    show(
        grid_figure(
            result.padded[:, :, 0],
            title="Input" + (" (grey: padding zeros)" if result.padding_mask.any() else ""),
            padding_mask=result.padding_mask if result.padding_mask.any() else None,
            window=(step.top, step.left, kh, kw),
            max_px=420,
        ),
        f"{prefix}_input",
        input_col,
    )
    show(
        grid_figure(result.kernel[:, :, 0, 0], title="× Filter", scale="diverging", max_px=220),
        f"{prefix}_kernel",
        kernel_col,
    )
    feature_map = result.output[:, :, 0]
    finite = (float(feature_map.min()), float(feature_map.max()))
    if hidden:
        fill = np.ones_like(feature_map, dtype=bool)
        title, hide = "Feature map", [(step.row, step.col)]
    else:
        index = step.row * ow + step.col
        fill = (np.arange(oh * ow) <= index).reshape(oh, ow)
        title, hide = "= Feature map", []
    show(
        grid_figure(
            feature_map,
            title=title,
            scale="diverging",
            cell=(step.row, step.col),
            show=fill,
            hidden=hide,
            zrange=finite,
            max_px=340,
        ),
        f"{prefix}_output",
        output_col,
    )


def sliding(result: cm.ConvResult) -> None:
    st.header("2. Slide the filter", divider="gray")
    st.markdown(
        "At each position, multiply every cell under the orange window by the filter weight on top "
        "of it, and add the products up (plus the bias): that sum is one cell of the **feature "
        "map**. Then the window moves on by the stride. The same weights are used at every "
        "position (**weight sharing**), and each output sees only its window (its **local "
        "receptive field**)."
    )

    def describe(index: int) -> str:
        row, col = result.position(index)
        step = result.step(row, col)
        rows, cols = step.input_cells(result.pads)
        return (
            f"Output {cell_name(row, col)}: the window covers image rows {rows.start + 1}–"
            f"{rows.stop} and columns {cols.start + 1}–{cols.stop}"
            + (" (0 or less, or past the edge, is padding)." if step.is_padding.any() else ".")
        )

    def render(index: int) -> None:
        step = result.step(*result.position(index))
        conv_figures(result, step, "slide")
        with st.container(border=True):
            st.markdown(f"**{cell_name(step.row, step.col)}:** {step.text}")
            if step.divisor != 1:
                st.caption(
                    f"Normalised match: the sum is divided by the {step.divisor} filter cells. On ±1 "
                    "images that is (matches − mismatches)/cells. The tutorial prints 5/9 = 0.5555… "
                    "as 0.55: it cuts the digits off rather than rounding."
                )

    stepper("conv_step", result.cells, describe, render)


# --------------------------------------------------------------------------------------------
# 3. Your turn
# --------------------------------------------------------------------------------------------


def quiz_question(step: cm.ConvStep) -> str:
    """What the hidden cell's question is: its place, its window, the filter and the bias. Any
    change to them (a new stride, an edited cell under the window) makes a new question."""
    parts = (step.row, step.col, step.window.tolist(), step.weights.tolist(), step.bias)
    return repr((*parts, step.divisor))


def your_turn(result: cm.ConvResult) -> tuple[int, int] | None:
    """One hidden output cell to compute. Returns that cell while it is unsolved (the sections
    below hide it too), or None once the learner got it right."""
    st.header("3. Your turn", divider="gray")
    state = st.session_state
    if state.get("conv_quiz_cell") is None or state["conv_quiz_cell"] >= result.cells:
        state["conv_quiz_cell"] = random.randrange(result.cells)
    row, col = result.position(state["conv_quiz_cell"])
    step = result.step(row, col)
    question = quiz_question(step)
    if state.get(QUIZ_QUESTION) != question:
        if QUIZ_QUESTION in state:  # the settings changed under the learner: a new question
            state["conv_quiz_answer"] = ""
        state.pop(QUIZ_CHECKED, None)
        state[QUIZ_QUESTION] = question
    st.markdown(
        f"One cell of the feature map is hidden: {cell_name(row, col)}, marked **?**. Work it out "
        "from the window in orange and the filter, then type your answer."
    )
    conv_figures(result, step, "quiz", hidden=True)
    answer_col, check_col, new_col = st.columns([3, 1, 1.4], vertical_alignment="bottom")
    answer = answer_col.text_input(
        "Your value for the ? cell",
        key="conv_quiz_answer",
        placeholder="for example −7 or 5/9",
        on_change=check_quiz,
    )
    check_col.button("Check", key="conv_quiz_check", type="primary", on_click=check_quiz)
    new_col.button("Another cell", key="conv_quiz_new", on_click=new_quiz)
    solved = state.get(QUIZ_SOLVED) == question
    if not answer.strip() or state.get(QUIZ_CHECKED) != (question, answer):
        return None if solved else (row, col)  # nothing checked yet for this question
    try:
        value = cm.parse_number(answer)
    except ValueError as err:
        st.warning(f"{literal(err)}. Type a number such as −7, 2.5 or 5/9.")
        return None if solved else (row, col)
    if value is None:
        return None if solved else (row, col)
    if abs(value - step.value) <= 0.01 + 1e-6 * abs(step.value):
        state[QUIZ_SOLVED] = question
        st.success(f"Right! {step.text}")
        return None
    st.error(
        f"Not quite: you wrote {cm.number_text(value)}. Multiply each number in the orange "
        "window by the filter weight in the same place, add the products"
        + (", then divide by the number of filter cells" if step.divisor != 1 else "")
        + (", then add the bias" if step.bias else "")
        + "."
    )
    with st.expander("Show the worked sum"):
        st.markdown(step.text)
    return None if solved else (row, col)


# --------------------------------------------------------------------------------------------
# 4. ReLU and pooling
# --------------------------------------------------------------------------------------------


def relu_and_pooling(result: cm.ConvResult, quiz_cell: tuple[int, int] | None) -> None:
    """ReLU and pooling of the feature map. ``quiz_cell``: the cell of section 3 the learner has
    not solved yet, kept hidden here too, with every pooled cell that would give it away."""
    st.header("4. ReLU, then pooling", divider="gray")
    rectified = cm.relu(result.output)
    feature_map, relu_map = result.output[:, :, 0], rectified.output[:, :, 0]
    hidden = [quiz_cell] if quiz_cell is not None else []
    negatives = [tuple(cell) for cell in np.argwhere(feature_map < 0) if tuple(cell) not in hidden]
    example = f" For example {rectified.step_text(*negatives[0], 0)}." if negatives else ""
    zeroed = "" if hidden else f" Here it zeroed {rectified.zeroed} of {feature_map.size} values."
    st.markdown(
        "**ReLU** replaces every negative value by 0 and keeps the rest: max(0, x)."
        f"{zeroed}{example}"
    )
    if hidden:
        st.caption(
            f"The **?** is your turn's cell ({cell_name(*quiz_cell)}): solve it above first."
        )
    before, after, _ = st.columns([1, 1, 1.4])
    zrange = (float(feature_map.min()), float(feature_map.max()))
    show(
        grid_figure(
            feature_map, title="Feature map", scale="diverging", zrange=zrange, hidden=hidden
        ),
        "relu_before",
        before,
    )
    show(
        grid_figure(relu_map, title="After ReLU", scale="diverging", zrange=zrange, hidden=hidden),
        "relu_after",
        after,
    )

    st.markdown(
        "**Pooling** slides a window over each map too, but has no weights: max pooling keeps the "
        "largest value of the window, average pooling their mean. The map shrinks; features "
        "survive small shifts."
    )
    mode_col, size_col, stride_col, pad_col = st.columns(4)
    mode_col.radio(
        "Pooling",
        POOL_MODES,
        format_func=str.capitalize,
        key="conv_pool_mode",
        horizontal=True,
    )
    size_col.number_input("Window", 1, MAX_POOL, key="conv_pool_size")
    stride_col.number_input("Stride", 1, MAX_POOL, key="conv_pool_stride")
    pad_col.radio("Padding", POOL_PADDINGS, key="conv_pool_padding", horizontal=True)
    size = int(st.session_state["conv_pool_size"])
    stride = int(st.session_state["conv_pool_stride"])
    padding = st.session_state["conv_pool_padding"]
    size_lines(relu_map.shape, (size, size), stride, padding)
    try:
        pooled = cm.pool2d(
            rectified.output, size, stride, padding, st.session_state["conv_pool_mode"]
        )
    except cm.ConvMathError as err:
        st.warning(
            f"{err} Pooling needs its window to fit in the {shape_text(relu_map.shape)} map."
        )
        return

    pool_map = pooled.output[:, :, 0]
    mask = np.isnan(pooled.padded[:, :, 0])
    (pad_top, _), (pad_left, _) = pooled.pads
    padded_hidden = [(row + pad_top, col + pad_left) for row, col in hidden]
    pooled_hidden = pooled.outputs_reading(*quiz_cell) if quiz_cell is not None else []

    def describe(index: int) -> str:
        row, col = pooled.position(index)
        return f"Pooled {cell_name(row, col)}"

    def render(index: int) -> None:
        step = pooled.step(*pooled.position(index))
        ph, pw = pooled.pool_size
        left, right, _ = st.columns(
            [max(relu_map.shape[1], 3) + 1, max(pool_map.shape[1], 2) + 2, 2]
        )
        pick = None
        if step.picked is not None:
            pick = (step.top + step.picked[0], step.left + step.picked[1])
        show(
            grid_figure(
                pooled.padded[:, :, 0],
                title="After ReLU",
                scale="diverging",
                padding_mask=mask if mask.any() else None,
                window=(step.top, step.left, ph, pw),
                zrange=zrange,
                pick=pick if (step.row, step.col) not in pooled_hidden else None,
                hidden=padded_hidden,
            ),
            "pool_input",
            left,
        )
        oh, ow = pool_map.shape
        fill = (np.arange(oh * ow) <= index).reshape(oh, ow)
        show(
            grid_figure(
                pool_map,
                title=f"{st.session_state['conv_pool_mode'].capitalize()} pooled",
                scale="diverging",
                cell=(step.row, step.col),
                show=fill,
                zrange=zrange,
                hidden=pooled_hidden,
            ),
            "pool_output",
            right,
        )
        with st.container(border=True):
            if (step.row, step.col) in pooled_hidden:
                st.markdown(
                    f"**{cell_name(step.row, step.col)}:** this window holds your turn's **?** "
                    "cell: solve it in section 3 and its pooling appears here."
                )
            else:
                st.markdown(f"**{cell_name(step.row, step.col)}:** {step.text}")

    stepper("conv_pool_step", pooled.cells, describe, render)
    classic = cm.pool2d(np.zeros((26, 26, 32)), 2).output.shape
    st.caption(
        f"Size {shape_text(rectified.output.shape)} → {shape_text(pooled.output.shape)}. Pooling "
        "works on every feature map on its own, so the depth never changes: in the tutorials' "
        f"network, 26×26×32 → {shape_text(classic)}."
    )


# --------------------------------------------------------------------------------------------
# 5. Depth
# --------------------------------------------------------------------------------------------

CHANNELS = ("red", "green", "blue")


@st.cache_resource(show_spinner=False)
def depth_example() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A fixed 6×6 RGB image, four 3×3×3 filters and their biases (small integers, read-only)."""
    rng = np.random.default_rng(2035)  # a seed whose four maps mix + and −
    image = rng.integers(0, 10, (6, 6, 3)).astype(float)
    kernels = rng.integers(-1, 2, (3, 3, 3, 4)).astype(float)
    biases = np.array([1.0, 0.0, -2.0, 3.0])
    for array in (image, kernels, biases):
        array.setflags(write=False)
    return image, kernels, biases


def depth() -> None:
    st.header("5. Depth: colour images and many filters", divider="gray")
    st.markdown(
        "A colour image has 3 channels, so each filter has 3 layers of weights too: **a filter "
        "always spans the full depth of its input**. One output cell is the sum over all 3 × 3 × 3 "
        "products, plus the filter's bias. Each filter makes one feature map, and the maps stack: "
        "K filters give an output of depth K."
    )
    image, kernels, biases = depth_example()
    controls = st.columns(3)
    filters = controls[0].slider("Filters (K)", 1, 4, key="conv_depth_filters")
    result = cm.conv2d(image, kernels[..., :filters], biases[:filters], channel_names=CHANNELS)
    chosen = st.session_state.get("conv_depth_filter", 1)
    if not isinstance(chosen, int) or isinstance(chosen, bool) or chosen < 1:
        chosen = 1  # a crafted value from the browser
    st.session_state["conv_depth_filter"] = min(chosen, filters)
    chosen = controls[1].radio(
        "Show filter", list(range(1, filters + 1)), key="conv_depth_filter", horizontal=True
    )
    index = controls[2].slider("Output cell", 1, result.cells, key="conv_depth_cell")
    row, col = result.position(index - 1)
    step = result.step(row, col, chosen - 1)

    image_cols = st.columns(4)
    image_cols[0].markdown("**Input 6×6×3**")
    image_cols[0].caption(
        "Each channel is a grid of its own; the orange window covers the same place in all three."
    )
    for c, name in enumerate(CHANNELS):
        show(
            grid_figure(
                image[:, :, c],
                title=name,
                scale=name,
                window=(step.top, step.left, 3, 3),
                zrange=(0, 9),
                max_px=200,
            ),
            f"depth_{name}",
            image_cols[c + 1],
        )
    kernel_cols = st.columns(4)
    kernel_cols[0].markdown(f"**Filter {chosen}: 3×3×3**")
    kernel_cols[0].caption(f"Its bias is {cm.number_text(step.bias)}.")
    for c, name in enumerate(CHANNELS):
        show(
            grid_figure(
                kernels[:, :, c, chosen - 1],
                title=f"weights on {name}",
                scale="diverging",
                max_px=130,
            ),
            f"depth_weights_{name}",
            kernel_cols[c + 1],
        )
    with st.container(border=True):
        st.markdown(f"**Filter {chosen}, output {cell_name(row, col)}**")
        for line in step.lines:
            st.markdown(line)

    map_cols = st.columns(max(filters, 2) + 1)
    map_cols[0].markdown(f"**Output {shape_text(result.output_shape)}**")
    map_cols[0].caption(f"{filters} feature map{'s' if filters != 1 else ''}, stacked.")
    for k in range(filters):
        show(
            grid_figure(
                result.output[:, :, k],
                title=f"map {k + 1}",
                scale="diverging",
                cell=(row, col) if k == chosen - 1 else None,
                max_px=170,
            ),
            f"depth_map_{k}",
            map_cols[k + 1],
        )
    count = cm.conv_layer_count(image.shape, filters, 3)
    params = count.formula("Parameters")
    pooled = cm.pool2d(result.output, 2)
    st.markdown(
        f"**Parameters of this layer:** `{params.text}` — {params.note}  \n"
        f"**Shapes:** {shape_text(image.shape)} → Conv2D({filters}, 3×3) → "
        f"{shape_text(count.output_shape)} → 2×2 max pooling → {shape_text(pooled.output.shape)}: "
        "the size shrinks, the depth stays."
    )


# --------------------------------------------------------------------------------------------
# 6. Flatten
# --------------------------------------------------------------------------------------------


def flatten() -> None:
    st.header("6. Flatten", divider="gray")
    maps = np.stack([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], axis=-1).astype(float)  # (2, 2, 2)
    st.markdown(
        "Before the dense layers, the stack of maps is unrolled into one long vector. A 2×2×2 "
        "stack has 8 values; the question is their order."
    )
    map_cols = st.columns([1, 1, 4])
    for c in range(2):
        show(
            grid_figure(
                maps[:, :, c], title=f"channel {c + 1}", scale=["red", "blue"][c], max_px=110
            ),
            f"flatten_channel_{c}",
            map_cols[c],
        )
    keras_order, tutorial_order = cm.flatten_keras(maps), cm.flatten_by_channel(maps)

    def strip(order: list[cm.FlatValue], title: str):
        # Rows and columns count from 1, as everywhere on this page (and in the note below).
        labels = [f"r{v.row + 1} c{v.col + 1} ch{v.channel + 1}" for v in order]
        return strip_figure([v.value for v in order], [v.channel for v in order], labels, title)

    st.caption(
        "Under each value: where it came from, as row, column and channel (r1 c2 ch1: row 1, "
        "column 2, channel 1)."
    )
    show(
        strip(keras_order, "Keras (channels last): both channels of a pixel, then the next pixel"),
        "flatten_keras",
    )
    show(
        strip(tutorial_order, "Many tutorials draw: all of channel 1, then all of channel 2"),
        "flatten_by_channel",
    )
    # The tutorials' first block, 28×28×1 → Conv 32 3×3 → 26×26×32 → MaxPool 2 → 13×13×32, then
    # Flatten: the Shapes page's own ledger gives the count and Keras' order note.
    classic = Spec((28, 28, 1), (Conv2D(32, 3), MaxPooling2D(2), Flatten()))
    formula = ledger(classic).rows[-1].formulas[0]
    st.caption(
        f"The tutorials' network flattens 13×13×32 maps: {formula.text}. {formula.note} The count "
        "is the same either way; the order matters when you read dense weights or port a model."
    )


# --------------------------------------------------------------------------------------------
# 7. A real image
# --------------------------------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the MNIST digits…")
def mnist_test() -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST test digits and labels (bundled, read-only, shared by every visitor)."""
    data = load_mnist()
    return data.x_test, data.y_test


def real_image(kernel: np.ndarray | None) -> None:
    st.header("7. The same filters on a real image", divider="gray")
    st.markdown(
        "Each filter makes its own feature map. Edge filters light up where the brightness "
        "changes (red and blue: opposite directions of change); blur smooths; sharpen exaggerates. Then "
        "ReLU keeps the positive answers and 2×2 max pooling halves the size."
    )
    source_col, pick_col, filters_col = st.columns([1.1, 1.6, 3.6])
    source = source_col.radio(
        "Image",
        ["digit", "photo"],
        format_func={"digit": "A handwritten digit", "photo": "Your photo"}.get,
        key="conv_real_source",
    )
    picture = None
    with pick_col:
        if source == "digit":
            images, labels = mnist_test()
            number = st.number_input(
                f"MNIST test image (0–{len(images) - 1:,})",
                0,
                len(images) - 1,
                key="conv_real_index",
            )
            picture = images[number, :, :, 0].astype(float)
            st.caption(f"This one is a {labels[number]}. 28×28 pixels, 0 = black, 255 = white.")
        else:
            upload = st.file_uploader(
                "A photo (shrunk and turned grey)",
                type=PHOTO_TYPES,
                key="conv_real_upload",
                max_upload_size=LIMITS.max_upload_mb,
            )
            if upload is None:
                st.caption(
                    f"PNG, JPEG, GIF, BMP or WebP, up to {LIMITS.max_upload_mb} MB. It is shrunk "
                    f"to at most {LIMITS.max_photo_side} pixels a side and stays in your session."
                )
            else:
                try:
                    picture = cm.photo_to_grayscale(
                        upload.getvalue(),
                        max_side=LIMITS.max_photo_side,
                        max_pixels=LIMITS.max_photo_pixels,
                        max_bytes=LIMITS.max_upload_mb * 2**20,
                        name=f"“{upload.name}”",
                    )
                except cm.ConvMathError as err:
                    st.error(literal(err))
                else:
                    st.caption(f"Grey, {shape_text(picture.shape)} pixels.")
    options = REAL_FILTERS + ([YOUR_FILTER] if kernel is not None else [])
    st.session_state["conv_real_filters"] = [
        name for name in st.session_state["conv_real_filters"] if name in options
    ]
    chosen = filters_col.multiselect(
        "Filters",
        options,
        format_func=lambda n: (
            "Your filter (section 1)" if n == YOUR_FILTER else cm.KERNELS[n].title
        ),
        key="conv_real_filters",
        max_selections=6,
    )
    if picture is None:
        return
    if not chosen:
        st.info("Choose at least one filter.")
        return
    maps, titles, scales = [], [], []
    for name in chosen:
        weights = kernel if name == YOUR_FILTER else cm.KERNELS[name].weights
        maps.append(cm.conv2d(picture, weights, padding="same").output[:, :, 0])
        # Weights that sum to 0 answer "how much does the brightness change here?": red and
        # blue around 0. Others (blur, sharpen) keep the brightness: grey, like the image.
        scales.append("diverging" if abs(weights.sum()) < 1e-9 else "gray")
        titles.append(
            "Your filter" if name == YOUR_FILTER else cm.KERNELS[name].title.split(" (")[0]
        )
    relus = [cm.relu(m).output for m in maps]
    pooled = [cm.pool2d(r, 2).output[:, :, 0] for r in relus]
    gray = ["gray"] * len(maps)
    stages = [
        (f"Feature maps, {shape_text(maps[0].shape)}", maps, scales),
        ("After ReLU", relus, gray),
        (f"After 2×2 max pooling, {shape_text(pooled[0].shape)}", pooled, gray),
    ]
    input_col, stages_col = st.columns([1, 4.5], gap="medium")
    input_col.image(map_picture(picture), caption=f"Input, {shape_text(picture.shape)}")
    with stages_col:
        for label, pictures, stage_scales in stages:
            st.markdown(f"**{label}**")
            for column, values, title, scale in zip(
                st.columns(6), pictures, titles, stage_scales, strict=False
            ):
                column.image(map_picture(values, scale, min_px=110), caption=title)
    st.caption(
        'Stride 1 and padding "same", so every feature map keeps the image\'s size; pooling then '
        "halves it. A thin line around an edge map is the padding at work: a bright image meets "
        "the black zeros added around it. A trained network learns its own filters; the first "
        "layer's often look like these edge detectors."
    )


# --------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------

init_state()
share.restore_from_link()  # app.py does it first; again for a page run on its own
share.show_link_message()
apply_link()
st.title("Convolution, step by step")
st.markdown(
    "A convolutional layer slides small filters over an image and, at every position, multiplies "
    "and adds. Here you do that arithmetic with the machine: step the window cell by cell with the "
    "real numbers written out, compute a cell yourself, then follow the result through ReLU, "
    "pooling and flatten, and see the same filters on a real digit or photo."
)

conv_result, grid_problems = image_and_filter()
share_box = st.container()  # filled at the end, once every setting of this run is known
if conv_result is not None:
    sliding(conv_result)
    relu_and_pooling(conv_result, your_turn(conv_result))
else:
    st.info(
        "Sections 2–4 (sliding, your turn, ReLU and pooling) appear once the grids above are fixed."
    )
depth()
flatten()
real_image(conv_result.kernel[:, :, 0, 0] if conv_result is not None else None)

with share_box, st.expander("Share this page", icon=":material/share:"):
    st.caption(
        "This link opens this page with these grids (or the example, if a grid is too large to "
        "fit in a link), stride, padding, bias and pooling: send it to a class, and everyone "
        "starts from the same numbers."
    )
    share.show_share_link(update_link())
