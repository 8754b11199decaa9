"""Shapes & parameters: design a network and see every shape, parameter and multiply-add with its
formula. Pure arithmetic (cnn_core.shapes): this page never imports TensorFlow, so it opens
instantly."""

from __future__ import annotations

import math
import random

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from cnn_core.build import to_keras_code
from cnn_core.config import LIMITS
from cnn_core.presets import PRESETS
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
from cnn_core.spec import LAYER_TYPES, NEW_LAYER_DEFAULTS, Spec, SpecError, layer_from_dict
from ui import share
from ui.layer_form import layer_form
from ui.state import get_spec, set_spec

HISTORY_KEY = "shapes_history"  # earlier designs, newest last, for Undo
HISTORY_LIMIT = 30
EDIT_PREFIX = "shapes_edit"  # widgets of the selected layer
INPUT_PREFIX = "shapes_input"  # the input-shape widgets
SELECTED_KEY = "shapes_selected"
MESSAGE_KEY = "shapes_message"  # a message from a callback, shown on the next run


# --------------------------------------------------------------------------------------------
# State changes (button callbacks run before the page is drawn)
# --------------------------------------------------------------------------------------------


def _clear_widgets(*prefixes: str) -> None:
    """Forget widget values so the widgets start again from the design's current values."""
    for key in list(st.session_state):
        if isinstance(key, str) and key.startswith(prefixes):
            del st.session_state[key]


def _commit(spec: Spec, *, structural: bool = True, select: int | None = None) -> None:
    """Make ``spec`` the design, keeping the old one for Undo."""
    history = st.session_state.setdefault(HISTORY_KEY, [])
    history.append(get_spec().to_dict())
    del history[:-HISTORY_LIMIT]
    set_spec(spec)
    if structural:
        _clear_widgets(EDIT_PREFIX, INPUT_PREFIX)
    if select is not None:
        st.session_state[SELECTED_KEY] = select


def _undo() -> None:
    history = st.session_state.get(HISTORY_KEY) or []
    if history:
        set_spec(Spec.from_dict(history.pop()))
        _clear_widgets(EDIT_PREFIX, INPUT_PREFIX)


def _load_preset() -> None:
    preset = PRESETS[st.session_state["shapes_preset"]]
    _commit(preset.spec, select=0)
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
            + "\n".join(f"- {p}" for p in err.problems)
        )
        return
    _commit(spec, select=0)
    st.session_state[MESSAGE_KEY] = "Loaded the JSON design. Undo brings your previous design back."


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
    layer_type = st.session_state["shapes_new_type"]
    layer = layer_from_dict({"type": layer_type, **NEW_LAYER_DEFAULTS[layer_type]})
    spec = get_spec()
    if len(spec.layers) >= LIMITS.max_layers:
        st.session_state[MESSAGE_KEY] = f"error:CNN Lab allows at most {LIMITS.max_layers} layers."
        return
    _commit(spec.insert_layer(index, layer), select=index)


def _select_changed() -> None:
    _clear_widgets(EDIT_PREFIX)


def _new_quiz_layer(led: Ledger) -> None:
    choices = [
        r.position - 1
        for r in led.rows
        if r.output_shape and r.position - 1 != st.session_state.get(SELECTED_KEY)
    ]
    if choices:
        st.session_state[SELECTED_KEY] = random.choice(choices)
        _clear_widgets(EDIT_PREFIX, "shapes_quiz_answer")


# --------------------------------------------------------------------------------------------
# Rendering helpers
# --------------------------------------------------------------------------------------------


def _receptive_text(row: LayerRow) -> str:
    if row.output_shape is None:
        return "—"
    return shape_text(row.receptive_field) if row.receptive_field else "whole image"


def ledger_frame(led: Ledger, hidden: int | None) -> pd.DataFrame:
    """The ledger as a table; row ``hidden`` (a 0-based layer index) shows '?' in quiz mode."""
    records = [
        {
            "#": "",
            "Layer": "Input",
            "Output shape": shape_text(led.spec.input_shape),
            "Parameters": "",
            "Trainable": "",
            "Non-trainable": "",
            "Multiply-adds": "",
            "Memory": human_bytes(math.prod(led.spec.input_shape) * 4),
            "Receptive field": "1×1",
            "Check": "",
        }
    ]
    for row in led.rows:
        computed = row.output_shape is not None
        errors = [p for p in row.problems if p.severity == "error"]
        warnings = [p for p in row.problems if p.severity == "warning"]
        status = (
            "❌ see below"
            if errors
            else ("⚠️ see below" if warnings else ("✓" if computed else "—"))
        )
        record = {
            "#": str(row.position),
            "Layer": row.label,
            "Output shape": shape_text(row.output_shape),
            "Parameters": fmt(row.params) if computed else "—",
            "Trainable": fmt(row.trainable_params) if computed else "—",
            "Non-trainable": fmt(row.non_trainable_params) if computed else "—",
            "Multiply-adds": fmt(row.macs) if computed else "—",
            "Memory": human_bytes(row.activation_bytes) if computed else "—",
            "Receptive field": _receptive_text(row),
            "Check": status,
        }
        if hidden is not None and row.position - 1 == hidden:
            for column in (
                "Output shape",
                "Parameters",
                "Trainable",
                "Non-trainable",
                "Multiply-adds",
                "Memory",
            ):
                record[column] = "?"
        records.append(record)
    records.append(
        {
            "#": "",
            "Layer": "Total",
            "Output shape": shape_text(led.output_shape),
            "Parameters": fmt(led.total_params),
            "Trainable": fmt(led.trainable_params),
            "Non-trainable": fmt(led.non_trainable_params),
            "Multiply-adds": fmt(led.total_macs),
            "Memory": human_bytes(led.total_activation_bytes),
            "Receptive field": "",
            "Check": "",
        }
    )
    if hidden is not None:
        records[-1].update(
            {
                c: "?"
                for c in ("Parameters", "Trainable", "Non-trainable", "Multiply-adds", "Memory")
            }
        )
    return pd.DataFrame.from_records(records)


def _style(frame: pd.DataFrame, selected: int | None):
    def colour(row: pd.Series) -> list[str]:
        if row["Check"].startswith("❌"):
            css = "background-color: #fde2e1"
        elif row["Layer"] == "Total":
            css = "font-weight: bold; background-color: #f0f2f6"
        elif selected is not None and row["#"] == str(selected + 1):
            css = "background-color: #e3f0ff"
        else:
            css = ""
        return [css] * len(row)

    numbers = ["Parameters", "Trainable", "Non-trainable", "Multiply-adds", "Memory"]
    return frame.style.apply(colour, axis=1).set_properties(
        subset=numbers, **{"text-align": "right"}
    )


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


def parse_shape(text: str) -> tuple[int, ...] | None:
    """'26x26x32', '26, 26, 32', '(26,26,32)' or '128' → a tuple; None if it is not a shape."""
    cleaned = text.strip().strip("()[]").replace("×", "x").replace("*", "x").replace(",", "x")
    parts = [p.strip() for p in cleaned.split("x") if p.strip()]
    try:
        return tuple(int(p) for p in parts) if parts else None
    except ValueError:
        return None


def parse_count(text: str) -> int | None:
    try:
        return int(text.replace(",", "").replace("_", "").replace(" ", ""))
    except ValueError:
        return None


def quiz(row: LayerRow, led: Ledger) -> None:
    st.markdown(
        f"**Quiz: layer {row.position}, {row.label}**, receives {shape_text(row.input_shape)}."
    )
    shape_answer = st.text_input("Its output shape (e.g. 26×26×32)", key="shapes_quiz_answer_shape")
    params_answer = st.text_input("Its number of parameters", key="shapes_quiz_answer_params")
    c1, c2 = st.columns(2)
    checked = c1.button("Check", key="shapes_quiz_check", type="primary")
    c2.button("Another layer", key="shapes_quiz_next", on_click=_new_quiz_layer, args=(led,))
    if checked:
        shape_ok = parse_shape(shape_answer) == row.output_shape
        params_ok = parse_count(params_answer) == row.params
        if shape_ok and params_ok:
            st.success(
                f"Both right: {shape_text(row.output_shape)} and {fmt(row.params)} parameters."
            )
        else:
            if not shape_ok:
                st.error(
                    f"Output shape: you said “{shape_answer or '—'}”; it is {shape_text(row.output_shape)}."
                )
            if not params_ok:
                st.error(f"Parameters: you said “{params_answer or '—'}”; it is {fmt(row.params)}.")
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
    {SELECTED_KEY: share.whole_number(0, len(spec.layers) - 1), "shapes_quiz": share.yes_no}
)
message = st.session_state.pop(MESSAGE_KEY, None)
if message:
    (st.error if message.startswith("error:") else st.toast)(message.removeprefix("error:"))

# ----- design controls -----
top = st.columns([3, 1, 1, 2.4])
preset_names = list(PRESETS)
top[0].selectbox(
    "Preset",
    preset_names,
    format_func=lambda name: PRESETS[name].title,
    key="shapes_preset",
    help="Load one of the tutorial networks (or CNN Lab's own) to start from.",
)
top[1].button("Load preset", key="shapes_load", on_click=_load_preset, width="stretch")
top[2].button(
    "Undo",
    key="shapes_undo",
    on_click=_undo,
    disabled=not st.session_state.get(HISTORY_KEY),
    width="stretch",
)
with top[3]:
    c_h, c_w, c_c = st.columns(3)
    height = c_h.number_input(
        "Input height", 1, LIMITS.max_input_side, spec.input_shape[0], key=f"{INPUT_PREFIX}_h"
    )
    width = c_w.number_input(
        "Input width", 1, LIMITS.max_input_side, spec.input_shape[1], key=f"{INPUT_PREFIX}_w"
    )
    channels = c_c.number_input(
        "Channels",
        1,
        LIMITS.max_input_channels,
        spec.input_shape[2],
        key=f"{INPUT_PREFIX}_c",
        help="1 for grayscale, 3 for RGB.",
    )
if (height, width, channels) != spec.input_shape:
    _commit(spec.with_input_shape((int(height), int(width), int(channels))), structural=False)
    st.rerun()  # draw every widget (layer labels included) from the new design
st.caption(PRESETS[st.session_state["shapes_preset"]].description)

# The ledger is drawn at the top but filled last, after the layer editor below has run.
ledger_area = st.container()
editor, details = st.columns([1.3, 2], gap="large")

# ----- the layer editor (drawn first: its edits must reach the ledger of this same run) -----
with editor:
    st.subheader("Layers")
    led = ledger(spec)
    if st.session_state.get(SELECTED_KEY, 0) >= len(spec.layers):
        st.session_state[SELECTED_KEY] = len(spec.layers) - 1

    def option_label(index: int) -> str:
        row = led.rows[index]
        mark = " ❌" if not row.ok else ""
        return f"{index + 1}. {row.label}{mark}"

    selected = st.selectbox(
        "Selected layer",
        range(len(spec.layers)),
        format_func=option_label,
        key=SELECTED_KEY,
        on_change=_select_changed,
        help="The selected layer is highlighted in the ledger; its formulas are shown on the right.",
    )
    with st.container(border=True):
        layer = spec.layers[selected]
        edited = layer_form(layer, EDIT_PREFIX)
        if edited != layer.to_dict():
            try:
                _commit(
                    spec.replace_layer(selected, layer_from_dict(edited, selected + 1)),
                    structural=False,
                )
            except SpecError as err:
                st.error(str(err))
            else:
                st.rerun()  # draw every widget (layer labels included) from the new design
        b1, b2, b3 = st.columns([1, 1, 2])
        b1.button(
            "↑",
            key="shapes_up",
            on_click=_move,
            args=(selected, -1),
            disabled=selected == 0,
            width="stretch",
        )
        b2.button(
            "↓",
            key="shapes_down",
            on_click=_move,
            args=(selected, 1),
            disabled=selected == len(spec.layers) - 1,
            width="stretch",
        )
        b3.button(
            "Remove", key="shapes_remove", on_click=_remove, args=(selected,), width="stretch"
        )
    c1, c2 = st.columns([2, 1.3], vertical_alignment="bottom")
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
    quiz_mode = st.session_state.get("shapes_quiz", False)
    problems = led.problems
    errors = [p for p in problems if p.severity == "error"]
    for problem in errors:
        st.error(str(problem), icon="❌")
    for problem in problems:
        if problem.severity == "warning":
            st.warning(str(problem), icon="⚠️")

    frame = ledger_frame(led, selected if quiz_mode else None)
    st.dataframe(
        _style(frame, selected),
        hide_index=True,
        width="stretch",
        height=35 * (len(frame) + 1) + 3,  # every row visible, no inner scrolling
    )

    if not quiz_mode:
        m1, m2, m3, m4 = st.columns(4)
        m1.metric(
            "Parameters",
            fmt(led.total_params),
            help=f"{fmt(led.trainable_params)} trainable, {fmt(led.non_trainable_params)} non-trainable",
        )
        m2.metric(
            "Weights on disk", human_bytes(led.weight_bytes), help="float32: 4 bytes per parameter"
        )
        m3.metric("Multiply-adds per image", fmt(led.total_macs))
        m4.metric(
            "Activation memory per image",
            human_bytes(led.total_activation_bytes),
            help="All layer outputs for one image, float32",
        )

with details:
    st.toggle(
        "Quiz me",
        key="shapes_quiz",
        help="Hide the selected layer's numbers in the ledger and work them out yourself.",
    )
    tab_formulas, tab_chart, tab_fc, tab_export, tab_examples = st.tabs(
        ["Formulas", "Chart", "Why not fully connected?", "Export", "Worked examples"]
    )
    row = led.rows[selected]
    with tab_formulas:
        if quiz_mode and row.output_shape is not None:
            quiz(row, led)
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
            kwargs={"select": 0},
        )
        st.markdown(
            "**Flatten:** in the Tutorial CNN, the first pooling layer outputs 13×13×32, and a Flatten there "
            "gives `13·13·32 = 5,408` values. Keras flattens channels-last: the 32 values of pixel (0, 0) "
            "come first."
        )

# ----- the share link: the design itself, the selected layer and quiz mode -----
share_token = share.update_link({SELECTED_KEY: int(selected), "shapes_quiz": bool(quiz_mode)})
with editor, st.expander("Share this page", icon=":material/share:"):
    st.caption(
        "This link opens this design on the Shapes page (and on the Train page under “My "
        "design”), with the same layer selected and quiz mode as it is now. Hand it to a class "
        "with quiz mode on, and each learner works out the hidden numbers."
    )
    share.show_share_link(share_token)
