"""Finding the Shapes page's widgets under AppTest.

The page keys the widgets that show the design by the layer and the design's revision
(``shapes_layer_2_7_filters``, ``shapes_input_7_h``, ``shapes_select_7_2``), so a test finds them
by what they are, as a person would by their labels, rather than by a fixed key.
"""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

PICKER_LABEL = "Selected layer"


def _one(widgets, pattern: str, what: str):
    found = [w for w in widgets if w.key and re.fullmatch(pattern, w.key)]
    assert len(found) == 1, f"{what}: {[w.key for w in widgets]}"
    return found[0]


def layer_widget(at: AppTest, name: str, kind: str = "number_input"):
    """The selected layer's form widget for argument ``name`` (e.g. "filters", "kernel_size_w")."""
    return _one(at.get(kind), rf"shapes_layer_\d+_\d+_{name}", f"no single {name} widget")


def input_widget(at: AppTest, axis: str):
    """The input-shape box ``axis``: "h", "w" or "c"."""
    return _one(at.number_input, rf"shapes_input_\d+_{axis}", f"no single input {axis} box")


def layer_picker(at: AppTest):
    """The "Selected layer" box."""
    (picker,) = [s for s in at.selectbox if s.label == PICKER_LABEL]
    return picker


def quiz_box(at: AppTest, name: str):
    """The quiz's answer box ``name``: "shape" or "params"."""
    return _one(at.text_input, rf"shapes_quiz_\d+_\d+_{name}", f"no single quiz {name} box")


def select_layer(at: AppTest, index: int) -> AppTest:
    """Choose layer ``index`` (0-based) in the "Selected layer" box and run the page."""
    layer_picker(at).select(index)
    at.run()
    assert not at.exception, at.exception
    return at


def widget_name(key: str) -> str:
    """A form or input widget's key without its layer and revision: ``shapes_layer_2_7_filters``
    → ``layer_filters``, ``shapes_input_7_h`` → ``input_h``; other keys unchanged."""
    return re.sub(r"^shapes_(layer|input)_(?:\d+_)+", r"\1_", key)


def ledger_table(at: AppTest):
    """The ledger as the page shows it (a DataFrame: one row per layer, Input first, Total last)."""
    return at.table[0].value


def ledger_row(at: AppTest, position: int) -> dict:
    """Layer ``position``'s row (1-based, as the ledger numbers it: "5. Conv2D 128 3×3 relu";
    its Layer is returned with a plain space where the table has a no-break one)."""
    frame = ledger_table(at)
    found = frame[frame["Layer"].str.startswith(f"{position}.\u00a0")].iloc[0].to_dict()
    return found | {"Layer": found["Layer"].replace("\u00a0", " ")}


def ledger_total(at: AppTest) -> dict:
    """The Total row."""
    frame = ledger_table(at)
    return frame[frame["Layer"] == "Total"].iloc[0].to_dict()
