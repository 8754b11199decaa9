"""Share links on every page, under AppTest: a link made from settings that are not the defaults
restores them (each widget shows the value); a bad value in a good link is reported and the
default kept; a garbled, tampered or oversized link gives one message and the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnn_core.config import LIMITS
from cnn_core.presets import FIRST_PRESET, get_preset
from cnn_core.share import QUERY_KEY, decode, encode
from cnn_core.spec import Spec
from cnn_core.training import DEFAULTS
from tests.conftest import APP_TIMEOUT, shown
from tests.shapes_page import layer_picker, ledger_row

APP = str(Path(__file__).resolve().parents[1] / "app.py")
SHAPES, TRAIN, CONVOLUTION, DRAW = (
    f"pages/{name}.py" for name in ("shapes", "train", "convolution", "draw")
)


def open_page(page: str, token: str | None = None) -> AppTest:
    """The app opened at ``page``, as a visitor following ``?share=token`` would."""
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    if token is not None:
        at.query_params[QUERY_KEY] = token
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def link_settings(at: AppTest) -> dict:
    """The settings in the page's own share link (its address bar)."""
    return decode(at.query_params[QUERY_KEY]).settings


def shown_link(at: AppTest) -> str:
    """The link in the page's "Share this page" box."""
    codes = [c.value for c in at.code if f"?{QUERY_KEY}=" in c.value]
    assert len(codes) == 1, codes
    return codes[0]


def warnings(at: AppTest) -> list[str]:
    return [shown(w.value) for w in at.warning]


# --------------------------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------------------------


def test_shapes_link_restores_the_design_the_selected_layer_and_quiz_mode():
    spec = get_preset("tiny").spec
    at = open_page(SHAPES, encode(spec, {"shapes_selected": 2, "shapes_quiz": True}))
    assert not at.warning
    assert Spec.from_dict(at.session_state["spec"]) == spec
    assert layer_picker(at).value == 2
    assert at.toggle(key="shapes_quiz").value is True
    assert ledger_row(at, 3)["Parameters"] == "?"  # layer 3's numbers hidden: quiz mode
    # the page's own link carries the same, and the share box shows it
    assert decode(at.query_params[QUERY_KEY]).spec == spec
    assert link_settings(at) == {"shapes_selected": 2, "shapes_quiz": True}
    assert shown_link(at).endswith(at.query_params[QUERY_KEY])


def test_shapes_link_with_a_layer_that_is_not_there_keeps_the_first():
    spec = get_preset("tiny").spec
    at = open_page(SHAPES, encode(spec, {"shapes_selected": 99, "shapes_quiz": True}))
    assert len(at.warning) == 1
    assert "shapes_selected" in shown(at.warning[0].value)
    assert f"from 0 to {len(spec.layers) - 1}" in shown(at.warning[0].value)
    assert layer_picker(at).value == 0
    assert at.toggle(key="shapes_quiz").value is True  # the good value still applies


# --------------------------------------------------------------------------------------------
# Train
# --------------------------------------------------------------------------------------------

TRAIN_SETTINGS = {
    "train_dataset": "mnist",
    "train_samples": 500,
    "train_val_split": 0.2,
    "train_arch": "tiny",
    "train_epochs": 4,
    "train_batch_size": 64,
    "train_optimizer": "sgd",
    "train_learning_rate": 0.01,
    "train_schedule": "constant",
    "train_seed": 7,
    "train_aug_shift": 0.1,
    "train_aug_rotation": 10,
    "train_aug_zoom": 0.05,
    "train_aug_flip": "vertical",
}


def train_values(at: AppTest) -> dict:
    widgets = {
        w.key: w.value for kind in ("selectbox", "number_input", "slider") for w in at.get(kind)
    }
    return {key: widgets[key] for key in TRAIN_SETTINGS}


def test_train_link_restores_every_setting():
    at = open_page(TRAIN, encode(None, TRAIN_SETTINGS))
    assert train_values(at) == TRAIN_SETTINGS
    assert all("share link" not in w for w in warnings(at))  # only the flip warning
    assert link_settings(at) == TRAIN_SETTINGS
    assert "400 images to train on, 100 to validate" in " ".join(c.value for c in at.caption)


def test_train_settings_changed_on_the_page_travel_in_its_link():
    at = open_page(TRAIN)
    at.number_input(key="train_epochs").set_value(5)
    at.selectbox(key="train_optimizer").set_value("rmsprop")
    at.number_input(key="train_samples").set_value(2000).run()
    token = at.query_params[QUERY_KEY]
    assert shown_link(at).endswith(token)
    again = open_page(TRAIN, token)
    assert again.number_input(key="train_epochs").value == 5
    assert again.selectbox(key="train_optimizer").value == "rmsprop"
    assert again.number_input(key="train_samples").value == 2000
    # "all the images" is the default everywhere, so it stays out of the link
    at.number_input(key="train_samples").set_value(LIMITS.max_train_samples).run()
    assert "train_samples" not in link_settings(at)


def test_train_link_with_a_bad_value_keeps_that_default_and_applies_the_rest():
    at = open_page(TRAIN, encode(None, {"train_epochs": 10_000, "train_optimizer": "sgd"}))
    assert len(at.warning) == 1
    assert "train_epochs" in shown(at.warning[0].value) and "10000" in shown(at.warning[0].value)
    assert at.number_input(key="train_epochs").value == DEFAULTS.epochs
    assert at.selectbox(key="train_optimizer").value == "sgd"


# --------------------------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------------------------


def test_convolution_link_restores_edited_grids_and_settings():
    settings = {
        "conv_example": "x_match",
        "conv_image_grid": "1 2 0;3 -4 1/2;0 0 7",
        "conv_kernel_grid": "1 -1;0 2",
        "conv_stride": 2,
        "conv_padding": "explicit",
        "conv_pad_amount": 1,
        "conv_bias": 1.5,
        "conv_normalised": False,
        "conv_pool_mode": "average",
        "conv_pool_size": 1,
        "conv_pool_stride": 1,
        "conv_pool_padding": "same",
    }
    at = open_page(CONVOLUTION, encode(None, settings))
    assert not at.warning
    assert at.session_state["conv_image_cells"] == [["1", "2", "0"], ["3", "-4", "1/2"], ["0"] * 2 + ["7"]]  # fmt: skip
    assert at.session_state["conv_kernel_cells"] == [["1", "-1"], ["0", "2"]]
    assert at.number_input(key="conv_image_rows").value == 3
    assert at.number_input(key="conv_kernel_cols").value == 2
    assert at.number_input(key="conv_stride").value == 2
    assert at.radio(key="conv_padding").value == "explicit"
    assert at.number_input(key="conv_pad_amount").value == 1
    assert at.number_input(key="conv_bias").value == 1.5
    assert at.toggle(key="conv_normalised").value is False  # x_match's own is True
    assert at.radio(key="conv_pool_mode").value == "average"
    assert at.radio(key="conv_pool_padding").value == "same"
    # (3 − 2 + 2·1)/2 + 1 = 2 per side
    assert "3×3 image, 2×2 filter → a 2×2 feature map" in shown(at.success[0].value)
    assert link_settings(at) == settings


def test_convolution_link_with_only_an_example_loads_the_example():
    at = open_page(CONVOLUTION, encode(None, {"conv_example": "square"}))
    assert not at.warning
    assert at.selectbox(key="conv_example").value == "square"
    assert at.number_input(key="conv_image_rows").value == 8
    assert at.radio(key="conv_padding").value == "same"  # the example's own setting


def test_convolution_link_with_bad_values_keeps_the_defaults():
    at = open_page(
        CONVOLUTION,
        encode(None, {"conv_stride": 99, "conv_image_grid": "1 2;3", "conv_pool_mode": "min"}),
    )
    said = " ".join(warnings(at))
    assert len(at.warning) == 3, said
    assert "conv_stride" in said and "conv_pool_mode" in said
    assert "rows have different lengths" in said  # the grid's own message
    assert at.number_input(key="conv_stride").value == 1
    assert at.radio(key="conv_pool_mode").value == "max"
    assert at.number_input(key="conv_image_rows").value == 6  # the 6×6 worked example


def test_a_grid_too_large_for_a_link_travels_as_its_example():
    at = open_page(CONVOLUTION)
    side = LIMITS.max_grid_side
    at.session_state["conv_image_cells"] = [["123.456"] * side for _ in range(side)]
    at.session_state["conv_image_rows"] = at.session_state["conv_image_cols"] = side
    at.run()
    assert not at.exception
    assert at.number_input(key="conv_image_rows").value == side
    settings = link_settings(at)
    assert "conv_image_grid" not in settings  # over 1,000 characters: not in the link
    assert settings["conv_example"] == "edge_6x6"
    assert settings["conv_kernel_grid"] == "1 0 -1;1 0 -1;1 0 -1"  # the small filter still is


# --------------------------------------------------------------------------------------------
# Draw
# --------------------------------------------------------------------------------------------


def test_draw_link_restores_the_pen_and_the_kind_of_model():
    settings = {"draw_pen_width": 30, "draw_model_source": "Upload a .keras file"}
    at = open_page(DRAW, encode(None, settings))
    assert not at.warning
    assert at.slider(key="draw_pen_width").value == 30
    assert at.radio(key="draw_model_source").value == "Upload a .keras file"
    assert link_settings(at) == settings


def test_draw_link_with_a_bad_pen_keeps_the_default():
    at = open_page(DRAW, encode(None, {"draw_pen_width": 500}))
    assert len(at.warning) == 1 and "draw_pen_width" in shown(at.warning[0].value)
    assert at.slider(key="draw_pen_width").value == 22


# --------------------------------------------------------------------------------------------
# Bad links, on every page
# --------------------------------------------------------------------------------------------


def tampered() -> str:
    token = encode(get_preset("tiny").spec, {"train_epochs": 4})
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


BAD_LINKS = {
    "garbled": "hello, world",
    "tampered": tampered(),
    "oversized": "1." + "A" * (LIMITS.max_share_link_chars + 1),
}

# One widget per page and its default, to see that the defaults are what the visitor gets.
DEFAULTS_SHOWN = {
    SHAPES: ("toggle", "shapes_quiz", False),
    TRAIN: ("number_input", "train_epochs", DEFAULTS.epochs),
    CONVOLUTION: ("number_input", "conv_stride", 1),
    DRAW: ("slider", "draw_pen_width", 22),
}


@pytest.mark.parametrize("kind", list(BAD_LINKS))
@pytest.mark.parametrize("page", list(DEFAULTS_SHOWN))
def test_a_bad_link_gives_one_message_and_the_defaults(page, kind):
    at = open_page(page, BAD_LINKS[kind])
    assert len(at.warning) == 1, warnings(at)
    message = shown(at.warning[0].value)
    assert message.startswith("This share link ") and message.endswith(
        "Showing the defaults instead."
    )
    element, key, default = DEFAULTS_SHOWN[page]
    assert at.get(element) and getattr(at, element)(key=key).value == default
    design = at.session_state.get("spec")
    assert design is None or Spec.from_dict(design) == get_preset(FIRST_PRESET).spec
    # the address bar now holds a good link for the defaults, and the message is not repeated
    decode(at.query_params[QUERY_KEY])
    at.run()
    assert not at.warning
