"""Shapes & parameters: design a network and see every shape, parameter and multiply-add with its
formula. Pure arithmetic (cnn_core.shapes): this page never imports TensorFlow, so it opens
instantly."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

import ui  # noqa: F401  (before cnn_core: a fresh server's first request, see ui/__init__.py)
from cnn_core.build import to_keras_code
from cnn_core.config import LIMITS
from cnn_core.presets import FIRST_PRESET, PRESETS, Preset
from cnn_core.shapes import (
    LayerRow,
    Ledger,
    dense_weights_per_neuron,
    fmt,
    fully_connected_comparison,
    human_bytes,
    ledger,
    shape_text,
)
from cnn_core.spec import (
    LAYER_TYPES,
    NEW_LAYER_DEFAULTS,
    Block,
    Spec,
    SpecError,
    layer_from_dict,
)
from cnn_core.typed import parse_count, parse_shape
from ui import share
from ui.i18n import t
from ui.layer_form import layer_form
from ui.state import (
    design_snapshot,
    get_spec,
    restore_design,
    set_spec,
    spec_origin,
    spec_revision,
)
from ui.text import literal

HISTORY_KEY = "shapes_history"  # earlier designs (ui.state snapshots), newest last, for Undo
HISTORY_LIMIT = 30
# The selected layer's index: this page's own state, not a widget's, so that no browser can hand
# back a stale or crafted value for it. Share links carry it under this name.
SELECTED_KEY = "shapes_selected"
QUIZ_KEY = "shapes_quiz"
MESSAGE_KEY = "shapes_message"  # a message from a callback, shown on the next run
METRIC_WIDTH = 210  # pixels: room for "549,279,744" at the metric's size


# --------------------------------------------------------------------------------------------
# Widget keys. The browser keeps a widget's value for as long as its key lives (deleting the key
# from st.session_state does not reset it there), and sends that value back on the next run. So
# every widget that shows the design has a key derived from what it shows: the layer's index and
# the design's revision (ui.state). A new layer, or a new revision of the design (an edit, a
# preset, Undo, a share link), gets fresh widgets that start from the design's own values.
# --------------------------------------------------------------------------------------------


def layer_key(index: int) -> str:
    """The key prefix of the form's widgets for layer ``index`` (0-based) of this revision."""
    return f"shapes_layer_{index}_{spec_revision()}"


def input_key() -> str:
    """The key prefix of the input-shape widgets for this revision."""
    return f"shapes_input_{spec_revision()}"


def picker_key(index: int) -> str:
    """The key of the "Selected layer" box while layer ``index`` is selected in this revision
    (a new selection made by the page itself, e.g. "Another layer", gets a fresh box too)."""
    return f"shapes_select_{spec_revision()}_{index}"


def quiz_key(index: int) -> str:
    """The key prefix of the quiz's answer boxes for layer ``index``: each question starts empty."""
    return f"shapes_quiz_{spec_revision()}_{index}"


def selected_layer(count: int) -> int:
    """The selected layer's index, from 0 to ``count − 1``, whatever was stored before."""
    value = st.session_state.get(SELECTED_KEY)
    index = value if isinstance(value, int) and not isinstance(value, bool) else 0
    index = min(max(index, 0), count - 1)
    st.session_state[SELECTED_KEY] = index
    return index


# --------------------------------------------------------------------------------------------
# State changes (button callbacks run before the page is drawn)
# --------------------------------------------------------------------------------------------


def _commit(spec: Spec, *, select: int | None = None, origin: str | None = None) -> None:
    """Make ``spec`` the design, keeping the old one for Undo."""
    history = st.session_state.setdefault(HISTORY_KEY, [])
    history.append(design_snapshot())
    del history[:-HISTORY_LIMIT]
    set_spec(spec, origin=origin)
    if select is not None:
        st.session_state[SELECTED_KEY] = select


def _undo() -> None:
    history = st.session_state.get(HISTORY_KEY) or []
    if history:
        restore_design(history.pop())


def _load_preset() -> None:
    preset = PRESETS.get(st.session_state.get("shapes_preset"))
    if preset is None:  # only a crafted request can name a preset the menu does not offer
        st.session_state[MESSAGE_KEY] = "error:Choose a preset from the list first."
        return
    _commit(preset.spec, select=0, origin=f"preset:{preset.name}")
    st.session_state[MESSAGE_KEY] = (
        f"Loaded “{preset.title}”. Undo brings your previous design back."
    )


def _load_json() -> None:
    text = st.session_state.get("shapes_json_text", "")
    if not text.strip():
        st.session_state[MESSAGE_KEY] = "error:Paste a spec's JSON into the box first."
        return
    try:
        spec = Spec.from_json(text)
    except SpecError as err:
        st.session_state[MESSAGE_KEY] = (
            "error:This JSON was not loaded; your design is unchanged.\n\n"
            + "\n".join(f"- {literal(p)}" for p in err.problems)
        )
        return
    _commit(spec, select=0, origin="json")
    st.session_state[MESSAGE_KEY] = "Loaded the JSON design. Undo brings your previous design back."


def _picked(key: str) -> None:
    """The learner chose a layer in the "Selected layer" box."""
    value = st.session_state.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value < len(get_spec().layers):
        st.session_state[SELECTED_KEY] = max(value, 0)
    else:
        # Not one of the box's options: only a crafted message sends that (a label of no layer,
        # a number, a NaN). Forget it, so that the box is drawn afresh at the selected layer;
        # kept, Streamlit would fail writing it back in the wrong type.
        del st.session_state[key]


def _move(index: int, offset: int) -> None:
    spec = get_spec()
    target = min(max(index + offset, 0), len(spec.layers) - 1)
    _commit(spec.move_layer(index, offset), select=target)


def _remove(index: int) -> None:
    spec = get_spec()
    if len(spec.layers) == 1:
        st.session_state[MESSAGE_KEY] = (
            "error:A network needs at least one layer; add another before removing this one."
        )
        return
    _commit(spec.remove_layer(index), select=max(0, min(index, len(spec.layers) - 2)))


def _insert(index: int) -> None:
    defaults = NEW_LAYER_DEFAULTS.get(st.session_state.get("shapes_new_type"))
    if defaults is None:  # only a crafted request can name a type the menu does not offer
        st.session_state[MESSAGE_KEY] = "error:Choose the new layer's type from the list first."
        return
    layer = layer_from_dict({"type": st.session_state["shapes_new_type"], **defaults})
    spec = get_spec()
    if len(spec.layers) >= LIMITS.max_layers:
        st.session_state[MESSAGE_KEY] = f"error:CNN Lab allows at most {LIMITS.max_layers} layers."
        return
    _commit(spec.insert_layer(index, layer), select=index)


def _new_quiz_layer() -> None:
    current = st.session_state.get(SELECTED_KEY)
    choices = [
        r.position - 1
        for r in ledger(get_spec()).rows
        if r.output_shape and r.position - 1 != current
    ]
    if choices:
        st.session_state[SELECTED_KEY] = random.choice(choices)


# --------------------------------------------------------------------------------------------
# Rendering helpers
# --------------------------------------------------------------------------------------------


def _receptive_text(row: LayerRow) -> str:
    if row.output_shape is None:
        return "—"
    return shape_text(row.receptive_field) if row.receptive_field else "whole image"


def counted_layers(led: Ledger) -> int:
    """How many layers, from the first, have a shape and so are counted in the totals: all of
    them unless one does not fit (nothing after that one can be computed)."""
    return next((r.position - 1 for r in led.rows if r.output_shape is None), len(led.rows))


def totals_note(led: Ledger) -> str | None:
    """Why the totals are missing, with what the layers that fit add up to; None when every
    layer is counted. A total over only some layers is never shown as if it were the whole."""
    counted = counted_layers(led)
    if counted == len(led.rows):
        return None
    first = led.rows[counted]
    if counted == 0:
        return (
            f"No totals: layer 1 ({first.label}) does not fit its input, so no layer has a "
            "shape and nothing can be counted yet."
        )
    fits = (
        "Layer 1, the one that fits, has"
        if counted == 1
        else f"The layers 1–{counted} that fit have"
    )
    return (
        f"No totals: layer {first.position} ({first.label}) does not fit, so it and the layers "
        f"after it have no shape and cannot be counted. {fits} "
        f"{fmt(sum(r.params for r in led.rows[:counted]))} parameters and "
        f"{fmt(sum(r.macs for r in led.rows[:counted]))} multiply-adds per image."
    )


LEDGER_NOTE = (
    "Memory: the layer's output for one image, as float32. Receptive field: the input pixels "
    "one output value sees. A red row does not fit (see the message above). Select a layer to "
    "see its formulas with your numbers, and its trainable and non-trainable parameters."
)


def _memory(n_bytes: int) -> str:
    """``human_bytes`` that a narrow table never breaks in two ("512 bytes" stays on a line)."""
    return human_bytes(n_bytes).replace(" ", "\u00a0")


def layer_text(row: LayerRow, space: str = " ") -> str:
    """A layer as the ledger and the "Selected layer" box name it: "3. Conv2D 64 3×3 relu", with
    ❌ when it does not fit and ⚠️ when it is worth a look. The ledger's table reads Markdown,
    where "3. " would start a numbered list: it passes a no-break space as ``space``."""
    severities = {p.severity for p in row.problems}
    mark = " ❌" if "error" in severities else (" ⚠️" if "warning" in severities else "")
    return f"{row.position}.{space}{row.label}{mark}"


def ledger_frame(led: Ledger, hidden: int | None) -> pd.DataFrame:
    """The ledger as a table; row ``hidden`` (a 0-based layer index) shows '?' in quiz mode.

    Like Keras' ``model.summary()``, a layer's parameters are one number (the split into
    trainable and non-trainable is in the totals and in the selected layer's formulas). The
    Total row shows "—" when a layer does not fit (see :func:`totals_note`).
    """

    def record(layer: str, shape: str, numbers: dict, receptive: str) -> dict:
        return {"Layer": layer, "Output shape": shape, **numbers, "Receptive field": receptive}

    input_memory = _memory(math.prod(led.spec.input_shape) * 4)
    records = [
        record(
            "Input",
            shape_text(led.spec.input_shape),
            {"Parameters": "", "Multiply-adds": "", "Memory": input_memory},
            "1×1",
        )
    ]
    for row in led.rows:
        numbers = {
            "Parameters": fmt(row.params),
            "Multiply-adds": fmt(row.macs),
            "Memory": _memory(row.activation_bytes),
        }
        shape = shape_text(row.output_shape)
        if row.output_shape is None:
            numbers = dict.fromkeys(numbers, "—")
        if hidden == row.position - 1:
            numbers, shape = dict.fromkeys(numbers, "?"), "?"
        records.append(record(layer_text(row, "\u00a0"), shape, numbers, _receptive_text(row)))
    totals = {
        "Parameters": fmt(led.total_params),
        "Multiply-adds": fmt(led.total_macs),
        "Memory": _memory(led.total_activation_bytes),
    }
    if counted_layers(led) < len(led.rows):
        totals = dict.fromkeys(totals, "—")
    elif hidden is not None:
        totals = dict.fromkeys(totals, "?")
    records.append(record("Total", shape_text(led.output_shape), totals, ""))
    return pd.DataFrame.from_records(records)


def _style(frame: pd.DataFrame, selected: int | None):
    def colour(row: pd.Series) -> list[str]:
        if row["Layer"].endswith("❌"):
            css = "background-color: #fde2e1"
        elif row["Layer"] == "Total":
            css = "font-weight: bold; background-color: #f0f2f6"
        elif selected is not None and row["Layer"].startswith(f"{selected + 1}.\u00a0"):
            css = "background-color: #e3f0ff"
        else:
            css = ""
        return [css] * len(row)

    return frame.style.apply(colour, axis=1)


def same_network(a: Spec, b: Spec) -> bool:
    """Whether two specs build the same network (``3`` and ``[3, 3]`` are the same kernel)."""
    return a.same_network(b)


def design_caption(spec: Spec, chosen: Preset) -> str:
    """Where the design on the page comes from, and what Load preset would load instead."""
    origin, edited = spec_origin()
    matching = next((p for p in PRESETS.values() if same_network(p.spec, spec)), None)
    if matching is not None:
        via = " (opened from a share link)" if origin == "link" and not edited else ""
        text = f"**Your design:** the preset “{matching.title}”{via}."
    else:
        started = (origin or f"preset:{FIRST_PRESET}").split(":", 1)
        if started[0] == "preset" and started[1] in PRESETS:
            text = f"**Your design:** “{PRESETS[started[1]].title}” with your changes."
        else:
            where = {
                "link": "opened from a share link",
                "json": "loaded from JSON",
                "example": "the worked example (a 4×4 filter over a 299×299 RGB image)",
            }.get(started[0], "your own")
            text = f"**Your design:** {where}{', with your changes' if edited else ''}."
    if matching is chosen:
        return f"{text} {chosen.description}"
    return f"{text} **Load preset** replaces it with “{chosen.title}”: {chosen.description}"


def ledger_chart(led: Ledger) -> go.Figure:
    rows = [r for r in led.rows if r.output_shape is not None]
    names = [f"{r.position}. {r.label}" for r in rows]
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Parameters per layer", "Activations per layer (values for one image)"),
        horizontal_spacing=0.12,
    )
    fig.add_trace(
        go.Bar(
            x=names,
            y=[r.params for r in rows],
            marker_color="#4C78A8",
            name="parameters",
            hovertemplate="%{x}<br>%{y:,} parameters<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            x=names,
            y=[r.activations for r in rows],
            marker_color="#F58518",
            name="activations",
            hovertemplate="%{x}<br>%{y:,} values<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.update_layout(height=380, showlegend=False, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    fig.update_xaxes(tickangle=-40)
    return fig


def show_formulas(row: LayerRow) -> None:
    st.markdown(
        f"**Layer {row.position}: {row.label}**  \ninput {shape_text(row.input_shape)} → output {shape_text(row.output_shape)}"
    )
    for formula in row.formulas:
        st.markdown(f"**{formula.label}:** `{formula.text}`")
        if formula.note:
            st.caption(formula.note)
    if row.output_shape is None and not row.problems:
        st.caption(
            "Not computed: an earlier layer does not fit (see the message above the ledger)."
        )


def reads_as(parse: Callable[[str], object], text: str, expected: object) -> bool:
    """Whether the typed ``text``, read by a cnn_core.typed reader, is ``expected``."""
    try:
        return parse(text) == expected
    except ValueError:
        return False


def quiz(row: LayerRow, key: str) -> None:
    """Ask for ``row``'s output shape and parameters; ``key`` prefixes the answer boxes."""
    st.markdown(
        f"**Quiz: layer {row.position}, {row.label}**, receives {shape_text(row.input_shape)}."
    )
    shape_answer = st.text_input("Its output shape (e.g. 26×26×32)", key=f"{key}_shape")
    params_answer = st.text_input("Its number of parameters", key=f"{key}_params")
    c1, c2 = st.columns(2)
    checked = c1.button("Check", key="shapes_quiz_check", type="primary")
    c2.button("Another layer", key="shapes_quiz_next", on_click=_new_quiz_layer)
    if checked:
        shape_ok = reads_as(parse_shape, shape_answer, row.output_shape)
        params_ok = reads_as(parse_count, params_answer, row.params)
        if shape_ok and params_ok:
            st.success(
                f"Both right: {shape_text(row.output_shape)} and {fmt(row.params)} parameters."
            )
        else:
            if not shape_ok:
                st.error(
                    f"Output shape: you said “{literal(shape_answer) or '—'}”; it is {shape_text(row.output_shape)}."
                )
            if not params_ok:
                st.error(
                    f"Parameters: you said “{literal(params_answer) or '—'}”; it is {fmt(row.params)}."
                )
        show_formulas(row)


# --------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------

st.title("Shapes & parameters")
st.caption(
    "Build a network layer by layer. Every output shape, parameter count and multiply-add is "
    "computed with its formula — the same numbers Keras gives (the tests check it). Your design "
    "is shared with the Train and Draw pages."
)

share.restore_from_link()  # app.py does it first; again for a page run on its own
share.show_link_message()
spec = get_spec()  # a share link's design, if this visit came with one
share.apply_link_settings(
    {SELECTED_KEY: share.whole_number(0, len(spec.layers) - 1), QUIZ_KEY: share.yes_no}
)
message = st.session_state.pop(MESSAGE_KEY, None)
if message:
    (st.error if message.startswith("error:") else st.toast)(message.removeprefix("error:"))

# ----- design controls -----
top = st.columns([3, 1.2, 1], vertical_alignment="bottom")
chosen = top[0].selectbox(
    "Preset",
    list(PRESETS),
    format_func=lambda name: PRESETS[name].title if name in PRESETS else str(name),
    key="shapes_preset",
    help="A tutorial network (or one of CNN Lab's own) to start from: Load preset replaces your "
    "design with it (Undo brings yours back).",
)
top[1].button("Load preset", key="shapes_load", on_click=_load_preset, width="stretch")
top[2].button(
    "Undo",
    key="shapes_undo",
    on_click=_undo,
    disabled=not st.session_state.get(HISTORY_KEY),
    width="stretch",
)
st.caption(design_caption(spec, PRESETS.get(chosen, PRESETS[FIRST_PRESET])))

# The ledger is drawn at the top but filled last, after the layer editor below has run.
ledger_area = st.container()
editor, details = st.columns([1, 1.25], gap="medium")

# ----- the layer editor (drawn first: its edits must reach the ledger of this same run) -----
with editor:
    st.subheader("Layers")
    led = ledger(spec)
    selected = selected_layer(len(spec.layers))
    st.markdown("**Input:** height × width × channels (1 for grayscale, 3 for RGB)")
    c_h, c_w, c_c = st.columns(3)
    shape_widget = input_key()
    height = c_h.number_input(
        "Input height",
        1,
        LIMITS.max_input_side,
        spec.input_shape[0],
        key=f"{shape_widget}_h",
        label_visibility="collapsed",
    )
    width = c_w.number_input(
        "Input width",
        1,
        LIMITS.max_input_side,
        spec.input_shape[1],
        key=f"{shape_widget}_w",
        label_visibility="collapsed",
    )
    channels = c_c.number_input(
        "Channels",
        1,
        LIMITS.max_input_channels,
        spec.input_shape[2],
        key=f"{shape_widget}_c",
        label_visibility="collapsed",
    )
    if (height, width, channels) != spec.input_shape:
        _commit(spec.with_input_shape((int(height), int(width), int(channels))))
        st.rerun()  # draw every widget (layer labels included) from the new design

    picker = picker_key(selected)
    st.selectbox(
        "Selected layer",
        range(len(spec.layers)),
        index=selected,
        format_func=lambda index: layer_text(led.rows[index]),
        key=picker,
        on_change=_picked,
        args=(picker,),
        help="The selected layer is highlighted in the ledger; its formulas are shown on the right.",
    )
    with st.container(border=True):
        layer = spec.layers[selected]
        if isinstance(layer, Block):  # a block's editor is still to come: its JSON edits it
            st.caption(t("shapes.block_as_json", block=layer.type))
            edited = layer.to_dict()
        else:
            edited = layer_form(layer, layer_key(selected))
        if edited != layer.to_dict():
            try:
                _commit(spec.replace_layer(selected, layer_from_dict(edited, selected + 1)))
            except SpecError as err:
                st.error(literal(err))
            else:
                st.rerun()  # draw every widget (layer labels included) from the new design
        b1, b2, b3 = st.columns([1, 1, 2])
        b1.button(
            "↑",
            key="shapes_up",
            on_click=_move,
            args=(selected, -1),
            disabled=selected == 0,
            help="Move the selected layer up.",
            width="stretch",
        )
        b2.button(
            "↓",
            key="shapes_down",
            on_click=_move,
            args=(selected, 1),
            disabled=selected == len(spec.layers) - 1,
            help="Move the selected layer down.",
            width="stretch",
        )
        b3.button(
            "Remove", key="shapes_remove", on_click=_remove, args=(selected,), width="stretch"
        )
    c1, c2 = st.columns(2, vertical_alignment="bottom")
    c1.selectbox("New layer", list(LAYER_TYPES), key="shapes_new_type")
    c2.button(
        "Insert below",
        key="shapes_insert",
        on_click=_insert,
        args=(selected + 1,),
        help="Insert the new layer just below the selected one.",
        width="stretch",
    )

    with st.expander("Load or edit as JSON"):
        st.text_area(
            "Paste a spec",
            key="shapes_json_text",
            height=180,
            placeholder='{"input_shape": [28, 28, 1], "layers": [{"type": "Conv2D", ...}, ...]}',
            help="The format is documented in docs/spec.md. Your current design's JSON is under Export.",
        )
        st.button("Load this JSON", key="shapes_json_load", on_click=_load_json)

# ----- the ledger and everything computed from it -----
with ledger_area:
    quiz_mode = st.session_state.get(QUIZ_KEY) is True
    problems = led.problems
    errors = [p for p in problems if p.severity == "error"]
    for problem in errors:
        st.error(literal(problem), icon="❌")
    for problem in problems:
        if problem.severity == "warning":
            st.warning(literal(problem), icon="⚠️")

    frame = ledger_frame(led, selected if quiz_mode else None)
    # A static table wraps its headers and labels to the width it has: the whole ledger fits on
    # a 1024-pixel screen with the sidebar open, with no sideways scrolling.
    st.table(_style(frame, selected), hide_index=True, border="horizontal")
    st.caption(LEDGER_NOTE)

    if not quiz_mode:
        note = totals_note(led)
        # Side by side where there is room, two by two on a narrow screen: never cut short.
        with st.container(horizontal=True, gap="small"):
            st.metric(
                "Parameters",
                "—" if note else fmt(led.total_params),
                help=note
                or f"{fmt(led.trainable_params)} trainable, {fmt(led.non_trainable_params)} non-trainable",
                width=METRIC_WIDTH,
            )
            st.metric(
                "Weights on disk",
                "—" if note else human_bytes(led.weight_bytes),
                help=note or "float32: 4 bytes per parameter",
                width=METRIC_WIDTH,
            )
            st.metric(
                "Multiply-adds per image",
                "—" if note else fmt(led.total_macs),
                help=note,
                width=METRIC_WIDTH,
            )
            st.metric(
                "Activation memory per image",
                "—" if note else human_bytes(led.total_activation_bytes),
                help=note or "All layer outputs for one image, float32",
                width=METRIC_WIDTH,
            )
        if note:
            st.caption(note)
        elif led.non_trainable_params:
            st.caption(
                f"Of the {fmt(led.total_params)} parameters, {fmt(led.trainable_params)} are "
                f"trainable and {fmt(led.non_trainable_params)} non-trainable: batch "
                "normalization's moving means and variances, which training updates by "
                "averaging, not by gradient descent."
            )

with details:
    st.toggle(
        "Quiz me",
        key=QUIZ_KEY,
        help="Hide the selected layer's numbers in the ledger and work them out yourself.",
    )
    tab_formulas, tab_chart, tab_fc, tab_export, tab_examples = st.tabs(
        ["Formulas", "Chart", "Why not fully connected?", "Export", "Worked examples"]
    )
    row = led.rows[selected]
    with tab_formulas:
        if quiz_mode and row.output_shape is not None:
            quiz(row, quiz_key(selected))
        else:
            show_formulas(row)
    with tab_chart:
        if quiz_mode:
            st.caption("The chart is hidden in quiz mode: it would give the answers away.")
        else:
            st.plotly_chart(ledger_chart(led), width="stretch", config={"displayModeBar": False})
    with tab_fc:
        comparison = fully_connected_comparison(spec, led)
        st.markdown(
            f"One **fully connected** neuron on this {shape_text(spec.input_shape)} input needs "
            f"`{comparison.dense_formula}` weights (plus a bias)."
        )
        if comparison.conv_params is not None:
            st.markdown(
                f"One output of the first **Conv2D** layer sees only its window: `{comparison.conv_formula}` "
                f"weights (plus a bias), and the same weights are reused at all {fmt(comparison.conv_positions)} positions."
            )
            c1, c2, c3 = st.columns(3)
            c1.metric("First Conv2D layer", f"{fmt(comparison.conv_params)} parameters")
            c2.metric(
                "Dense layer, same inputs and outputs",
                f"{fmt(comparison.dense_layer_params)} parameters",
            )
            c3.metric("Ratio", f"{comparison.ratio:,.0f}×")
            st.caption(f"Dense layer: `{comparison.dense_layer_formula}`")
        examples = [(28, 28, 3), (200, 200, 3)]
        st.markdown("The tutorials' examples, per fully connected neuron:")
        st.table(
            pd.DataFrame(
                [
                    {"Image": shape_text(s), "Weights per neuron": dense_weights_per_neuron(s)[1]}
                    for s in examples
                ]
            )
        )
    with tab_export:
        st.code(spec.to_json(), language="json")
        c1, c2 = st.columns(2)
        c1.download_button(
            "Download JSON",
            spec.to_json(),
            "cnn_lab_spec.json",
            "application/json",
            key="shapes_download_json",
        )
        if errors:
            c2.button(
                "Download Keras code",
                disabled=True,
                key="shapes_download_code_disabled",
                help="Fix the problems above first: Keras would refuse this design.",
            )
        else:
            code = to_keras_code(spec)
            c2.download_button(
                "Download Keras code",
                code,
                "cnn_lab_model.py",
                "text/x-python",
                key="shapes_download_code",
            )
            with st.expander("Keras code"):
                st.code(code, language="python")
    with tab_examples:
        conv_params = (4 * 4 * 3 + 1) * 128
        macs_128 = 4 * 4 * 3 * 299 * 299 * 128
        macs_150 = 4 * 4 * 3 * 299 * 299 * 150
        st.markdown(
            f"**A 4×4 filter over RGB, 128 feature maps:** `(4·4·3 + 1)·128 = {fmt(conv_params)}` parameters. "
            f'On a 299×299 image with "same" padding the output is 299×299×128, so it costs '
            f"`4·4·3 · 299·299·128 = {fmt(macs_128)}` multiply-adds per image."
        )
        st.info(
            f"One tutorial prints {fmt(macs_150)} here. That is `4·4·3 · 299·299 · 150`: the same product "
            "with 150 feature maps instead of 128 — a slip in the tutorial. Load the example and check the "
            "first row of the ledger."
        )
        example = Spec.from_dict(
            {
                "input_shape": [299, 299, 3],
                "layers": [
                    {
                        "type": "Conv2D",
                        "filters": 128,
                        "kernel_size": 4,
                        "padding": "same",
                        "activation": "relu",
                    },
                    {"type": "GlobalAveragePooling2D"},
                    {"type": "Dense", "units": 10, "activation": "softmax"},
                ],
            }
        )
        st.button(
            "Load this example",
            key="shapes_example_299",
            on_click=_commit,
            args=(example,),
            kwargs={"select": 0, "origin": "example"},
        )
        st.markdown(
            "**Flatten:** in the Tutorial CNN, the first pooling layer outputs 13×13×32, and a Flatten there "
            "gives `13·13·32 = 5,408` values. Keras flattens channels-last: the 32 values of the pixel in "
            "row 1, column 1 come first."
        )

# ----- the share link: the design itself, the selected layer and quiz mode -----
share_token = share.update_link({SELECTED_KEY: selected, QUIZ_KEY: quiz_mode})
with editor, st.expander("Share this page", icon=":material/share:"):
    st.caption(
        "This link opens this design on the Shapes page (and on the Train page under “My "
        "design”), with the same layer selected and quiz mode as it is now. Hand it to a class "
        "with quiz mode on, and each learner works out the hidden numbers."
    )
    share.show_share_link(share_token)
