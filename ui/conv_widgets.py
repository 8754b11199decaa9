"""Widgets for the Convolution page: editable number grids and a stepper over output cells.

A grid's cells are kept as the text the learner typed (``<key>_cells`` in st.session_state), so a
cell holding "abc" or nothing is kept as it is and reported, never silently replaced. The
``st.data_editor`` on top (``<key>_editor``) records the learner's edits relative to those cells.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

Cells = list[list[str]]


# --------------------------------------------------------------------------------------------
# Editable grids
# --------------------------------------------------------------------------------------------


def _cells_key(key: str) -> str:
    return f"{key}_cells"


def _editor_key(key: str) -> str:
    return f"{key}_editor"


def current_cells(key: str) -> Cells:
    """The grid as the learner sees it now: the stored cells with the editor's edits applied."""
    cells = [list(row) for row in st.session_state.get(_cells_key(key), [])]
    edits = st.session_state.get(_editor_key(key)) or {}
    for row, changes in (edits.get("edited_rows") or {}).items():
        for col, value in changes.items():
            i, j = int(row), int(col) - 1  # columns are labelled 1, 2, 3, …
            if 0 <= i < len(cells) and 0 <= j < len(cells[i]):
                cells[i][j] = "" if value is None else str(value)
    return cells


def set_cells(key: str, cells: Sequence[Sequence[object]]) -> None:
    """Replace a grid's contents (loading a preset, resizing). Call from a callback or before
    the grid's editor is drawn."""
    st.session_state[_cells_key(key)] = [[str(c) for c in row] for row in cells]
    st.session_state.pop(_editor_key(key), None)  # the old edits belong to the old grid


def resize_cells(key: str, rows: int, cols: int, fill: str = "0") -> None:
    """Change a grid's size, keeping what was typed in the cells that remain."""
    old = current_cells(key)
    new = [
        [old[i][j] if i < len(old) and j < len(old[i]) else fill for j in range(cols)]
        for i in range(rows)
    ]
    set_cells(key, new)


def grid_editor(key: str, label: str, help: str = "") -> Cells:
    """An editable grid of numbers (typed as text, so nothing the learner types is lost).

    Returns the cells as text, row by row; parse them with ``cnn_core.conv_math.parse_grid``.
    """
    cells = st.session_state.get(_cells_key(key), [["0"]])
    columns = [str(j + 1) for j in range(len(cells[0]))]
    frame = pd.DataFrame(
        cells, columns=columns, index=[str(i + 1) for i in range(len(cells))], dtype="string"
    )
    st.markdown(f"**{label}**", help=help or None)
    edited = st.data_editor(
        frame,
        key=_editor_key(key),
        num_rows="fixed",
        column_config={c: st.column_config.TextColumn(c, width=44) for c in columns},
    )
    return [["" if pd.isna(v) else str(v) for v in row] for row in edited.to_numpy().tolist()]


# --------------------------------------------------------------------------------------------
# Stepping through output cells
# --------------------------------------------------------------------------------------------


def _move(key: str, delta: int, cells: int) -> None:
    """Button callback: the previous or next cell, wrapping around at the ends."""
    current = int(st.session_state.get(key, 1))
    st.session_state[key] = (current - 1 + delta) % cells + 1


def stepper(
    key: str,
    cells: int,
    describe: Callable[[int], str],
    render: Callable[[int], None],
    interval: float = 1.0,
) -> None:
    """Buttons, a slider and an "animate" switch over ``cells`` output cells; ``render(index)``
    draws the chosen step (index counts from 0).

    The slider's value lives in st.session_state[key] (1-based, as the learner counts). The steps
    are drawn inside a fragment, so stepping redraws only this part of the page; while "animate"
    is on, the fragment reruns itself every ``interval`` seconds and moves one cell on.
    """
    animate = st.toggle(
        "Animate", key=f"{key}_animate", help="Slide the window one cell on every second."
    )

    @st.fragment(run_every=interval if animate and cells > 1 else None)
    def body() -> None:
        if int(st.session_state.get(key, 1)) > cells:  # the grid got smaller
            st.session_state[key] = cells
        tick_key = f"{key}_tick"
        if animate and cells > 1:
            # The first run of a full page rerun must not jump ahead: only timed reruns move on.
            now = time.monotonic()
            if now - st.session_state.get(tick_key, now) >= interval * 0.8:
                _move(key, 1, cells)
            st.session_state[tick_key] = now
        else:
            st.session_state.pop(tick_key, None)
        back, slider, forward = st.columns([1, 8, 1], vertical_alignment="bottom")
        back.button(
            "◀", key=f"{key}_prev", on_click=_move, args=(key, -1, cells), help="Previous cell"
        )
        forward.button(
            "▶", key=f"{key}_next", on_click=_move, args=(key, 1, cells), help="Next cell"
        )
        if cells > 1:
            index = slider.slider("Step", 1, cells, key=key, format=f"%d of {cells}")
        else:
            slider.caption("There is only one output cell.")
            index = 1
        st.caption(describe(index - 1))
        render(index - 1)

    body()
