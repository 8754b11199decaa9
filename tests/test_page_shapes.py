"""The Shapes & parameters page under Streamlit's AppTest: it renders, edits change the ledger,
bad designs and bad JSON get messages, and it never imports TensorFlow."""

import base64
import json
import math
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnn_core.presets import PRESETS
from cnn_core.share import QUERY_KEY, decode, encode
from cnn_core.spec import Spec
from tests.conftest import APP_TIMEOUT, shown
from tests.shapes_page import (
    input_widget,
    layer_picker,
    layer_widget,
    ledger_row,
    ledger_total,
    quiz_box,
    select_layer,
)

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "shapes.py")
APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=APP_TIMEOUT)
    app.run()
    assert not app.exception
    return app


def row(app: AppTest, position: int) -> dict:
    return ledger_row(app, position)


def total(app: AppTest) -> str:
    return ledger_total(app)["Parameters"]


def current_spec(app: AppTest) -> Spec:
    return (
        Spec.from_dict(app.session_state["spec"])
        if "spec" in app.session_state
        else PRESETS["tutorial"].spec
    )


def test_renders_the_tutorial_cnn_ledger(at):
    assert [shown(e.value) for e in at.error] == []
    assert row(at, 1) | {} == row(at, 1)
    assert row(at, 1)["Output shape"] == "26×26×32" and row(at, 1)["Parameters"] == "320"
    assert row(at, 2)["Output shape"] == "13×13×32"
    assert total(at) == "110,474"
    markdown = " ".join(m.value for m in at.markdown)
    assert "(28 − 3 + 2·0)/1 + 1 = 26" in markdown and "(3·3·1 + 1)·32 = 320" in markdown


def test_loading_a_preset_changes_the_ledger_and_undo_brings_it_back(at):
    at.selectbox(key="shapes_preset").select("lenet5_bn")
    at.button(key="shapes_load").click().run()
    assert not at.exception
    assert total(at) == "107,190"
    assert row(at, 2)["Parameters"] == "48"  # BatchNormalization over 12 channels
    captions = [c.value for c in at.caption]
    assert any(
        c.startswith("Of the 107,190 parameters, 107,134 are trainable and 56 non-trainable")
        for c in captions
    ), captions
    at.button(key="shapes_undo").click().run()
    assert total(at) == "110,474"


def test_editing_a_layer_changes_its_row_and_the_shared_spec(at):
    layer_widget(at, "filters").set_value(8).run()
    assert row(at, 1)["Output shape"] == "26×26×8" and row(at, 1)["Parameters"] == "80"
    assert row(at, 3)["Parameters"] == f"{(3 * 3 * 8 + 1) * 64:,}"
    assert current_spec(at).layers[0].filters == 8  # the Train and Draw pages read this

    layer_widget(at, "kernel_size_w").set_value(5).run()
    assert row(at, 1)["Output shape"] == "26×24×8"
    assert current_spec(at).layers[0].kernel_size == (3, 5)


def test_selecting_another_layer_edits_that_layer(at):
    select_layer(at, 7)  # Dense 128
    assert layer_widget(at, "units").value == 128  # the form shows the selected layer
    layer_widget(at, "units").set_value(64).run()
    assert row(at, 8)["Parameters"] == f"{(128 + 1) * 64:,}"
    assert row(at, 1)["Parameters"] == "320"  # layer 1 untouched


def test_an_input_too_small_marks_the_layer_with_a_plain_message(at):
    input_widget(at, "h").set_value(12).run()
    assert not at.exception
    errors = [shown(e.value) for e in at.error]
    assert errors == [
        'Layer 5 (Conv2D): its 3×3 kernel does not fit in its 1×5 input with "valid" padding '
        "(which adds no zeros): the output size would be −1×3, so no pixels are left. Use a "
        'smaller kernel_size, padding "same", or remove a shrinking layer before it.'
    ]
    assert row(at, 5)["Layer"] == "5. Conv2D 128 3×3 relu ❌"
    assert row(at, 6)["Output shape"] == "—"


def test_removing_flatten_explains_dense_on_a_feature_map(at):
    select_layer(at, 6)  # Flatten
    at.button(key="shapes_remove").click().run()
    assert not at.exception
    assert any(
        "Layer 7 (Dense): receives a 1×1×128 feature map" in shown(e.value) for e in at.error
    )
    assert at.button(key="shapes_download_code_disabled").disabled


def test_move_and_insert_layers(at):
    select_layer(at, 1)  # the first MaxPooling2D
    at.button(key="shapes_up").click().run()
    assert row(at, 1)["Layer"] == "1. MaxPooling2D 2×2" and row(at, 2)["Output shape"] == "12×12×32"
    assert layer_picker(at).value == 0  # the selection follows the layer
    at.selectbox(key="shapes_new_type").select("BatchNormalization")
    at.button(key="shapes_insert").click().run()
    assert row(at, 2)["Layer"] == "2. BatchNormalization"
    assert row(at, 2)["Parameters"] == "4"
    markdown = [m.value for m in at.markdown]  # the new layer is selected: its split is shown
    assert "**Non-trainable parameters:** `2·1 = 2`" in markdown, markdown


def test_bad_json_is_refused_and_the_text_and_design_are_kept(at):
    at.text_area(key="shapes_json_text").input(
        '{"input_shape": [28, 28, 1], "layers": [{"type": "Conv2d"}]}'
    )
    at.button(key="shapes_json_load").click().run()
    assert not at.exception
    (message,) = [shown(e.value) for e in at.error]
    assert "your design is unchanged" in message and 'Did you mean "Conv2D"?' in message
    assert at.text_area(key="shapes_json_text").value.startswith('{"input_shape"')
    assert total(at) == "110,474"


def test_good_json_replaces_the_design(at):
    at.text_area(key="shapes_json_text").input(PRESETS["tiny"].spec.to_json())
    at.button(key="shapes_json_load").click().run()
    assert total(at) == "5,258"


def test_exports_are_offered(at):
    downloads = {json.dumps(str(b.proto.label)) for b in at.get("download_button")}
    assert '"Download JSON"' in downloads and '"Download Keras code"' in downloads
    code = [c.value for c in at.code]
    assert any('"type": "Conv2D"' in c for c in code)
    assert any('layers.Conv2D(32, kernel_size=(3, 3), activation="relu")' in c for c in code)


def test_quiz_hides_the_answers_and_checks_them(at):
    at.toggle(key="shapes_quiz").set_value(True).run()
    assert row(at, 1)["Output shape"] == "?" and row(at, 1)["Parameters"] == "?"
    quiz_box(at, "shape").input("26 x 26 x 32")
    quiz_box(at, "params").input("320")
    at.button(key="shapes_quiz_check").click().run()
    assert [shown(s.value) for s in at.success] == ["Both right: 26×26×32 and 320 parameters."]
    quiz_box(at, "params").input("288")
    at.button(key="shapes_quiz_check").click().run()
    assert any("it is 320" in shown(e.value) for e in at.error)


def test_the_tutorial_slip_example_loads(at):
    at.button(key="shapes_example_299").click().run()
    assert row(at, 1)["Parameters"] == "6,272"
    assert row(at, 1)["Multiply-adds"] == "549,279,744"
    assert any("643,687,200" in shown(i.value) for i in at.info)


# --------------------------------------------------------------------------------------------
# The selected layer: the page's own state, whatever is stored or sent
# --------------------------------------------------------------------------------------------


def open_link(token: str) -> AppTest:
    """The app opened on the Shapes page through share link ``token``."""
    app = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    app.query_params[QUERY_KEY] = token
    app.switch_page("pages/shapes.py")
    app.run()
    assert not app.exception, app.exception
    return app


def captions(app: AppTest) -> str:
    return "\n".join(c.value for c in app.caption)


def test_insert_undo_then_quiz_and_a_preset_with_the_quiz_on_and_off_run_cleanly(at):
    at.button(key="shapes_insert").click().run()
    assert layer_picker(at).value == 1 and layer_widget(at, "filters").value == 16
    at.button(key="shapes_undo").click().run()
    at.toggle(key="shapes_quiz").set_value(True).run()
    assert not at.exception
    assert current_spec(at) == PRESETS["tutorial"].spec

    at.selectbox(key="shapes_preset").select("lenet5")
    at.button(key="shapes_load").click().run()
    for quiz in (True, False):
        at.toggle(key="shapes_quiz").set_value(quiz).run()
        assert not at.exception
        assert layer_picker(at).value == 0 and layer_widget(at, "filters").value == 12
    assert current_spec(at) == PRESETS["lenet5"].spec


@pytest.mark.parametrize(
    ("stored", "shown"),
    [("2", 0), ("abc", 0), (10**12, 8), (-5, 0), (math.nan, 0), (True, 0), (None, 0), ([3], 0)],
)
def test_any_stored_selection_gives_a_layer_of_the_design(stored, shown):
    app = AppTest.from_file(PAGE, default_timeout=APP_TIMEOUT)
    app.session_state["shapes_selected"] = stored
    app.run()
    assert not app.exception, app.exception
    assert layer_picker(app).value == shown
    assert app.session_state["shapes_selected"] == shown


@pytest.mark.parametrize("value", ["abc", -1, 10**12, 2.5, "", True])
def test_a_link_with_a_bad_selection_says_so_and_selects_the_first_layer(value):
    tiny = PRESETS["tiny"].spec
    app = open_link(encode(tiny, {"shapes_selected": value}))
    (warning,) = [w.value for w in app.warning]
    assert "“shapes_selected”" in warning and "whole number from 0 to" in warning
    assert layer_picker(app).value == 0
    assert current_spec(app) == tiny
    assert decode(app.query_params[QUERY_KEY]).spec == tiny


def test_a_link_with_a_nan_selection_is_refused_whole_without_a_traceback():
    text = json.dumps(
        {"spec": PRESETS["tiny"].spec.to_dict(), "settings": {"shapes_selected": math.nan}}
    )
    body = base64.urlsafe_b64encode(zlib.compress(text.encode())).rstrip(b"=").decode()
    app = open_link(f"1.{body}")
    (warning,) = [w.value for w in app.warning]
    assert warning.startswith("This share link ") and "Showing the defaults instead" in warning
    assert layer_picker(app).value == 0 and current_spec(app) == PRESETS["tutorial"].spec


# --------------------------------------------------------------------------------------------
# Honest totals, and where the design came from
# --------------------------------------------------------------------------------------------


def test_an_impossible_design_shows_no_totals_and_says_why(at):
    input_widget(at, "h").set_value(12).run()
    assert total(at) == "—" and ledger_total(at)["Multiply-adds"] == "—"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Parameters"] == "—" and metrics["Multiply-adds per image"] == "—"
    assert (
        "No totals: layer 5 (Conv2D 128 3×3 relu) does not fit, so it and the layers after it "
        "have no shape and cannot be counted. The layers 1–4 that fit have 18,816 parameters "
        "and 683,136 multiply-adds per image."
    ) in captions(at)
    input_widget(at, "h").set_value(28).run()  # fits again: the whole count is back
    assert total(at) == "110,474" and "No totals" not in captions(at)


@pytest.mark.parametrize(
    ("side", "note"),
    [
        (2, "No totals: layer 1 (Conv2D 32 3×3 relu) does not fit its input, so no layer has a "
            "shape and nothing can be counted yet."),
        (3, "No totals: layer 2 (MaxPooling2D 2×2) does not fit, so it and the layers after it "
            "have no shape and cannot be counted. Layer 1, the one that fits, has 320 "
            "parameters and 288 multiply-adds per image."),  # 3·3·1 · 1·1·32
    ],
)  # fmt: skip
def test_the_totals_note_when_the_first_or_second_layer_does_not_fit(at, side, note):
    input_widget(at, "h").set_value(side).run()
    input_widget(at, "w").set_value(side).run()
    assert note in captions(at)
    assert total(at) == "—"


def test_the_caption_says_where_the_design_came_from():
    lenet = PRESETS["lenet5"].spec
    app = open_link(encode(lenet, {}))
    assert "**Your design:** the preset “LeNet-5 style” (opened from a share link)." in captions(
        app
    )
    layer_widget(app, "filters").set_value(10).run()
    assert "**Your design:** opened from a share link, with your changes." in captions(app)
    app.button(key="shapes_undo").click().run()
    assert "(opened from a share link)" in captions(app)

    app.selectbox(key="shapes_preset").select("tiny")
    app.button(key="shapes_load").click().run()
    assert "**Your design:** the preset “Tiny (fast)”." in captions(app)
    layer_widget(app, "filters").set_value(4).run()
    assert "**Your design:** “Tiny (fast)” with your changes." in captions(app)
    app.button(key="shapes_undo").click().run()
    app.button(key="shapes_undo").click().run()  # back before the preset: the link's design
    assert "the preset “LeNet-5 style” (opened from a share link)" in captions(app)

    custom = open_link(encode(lenet.remove_layer(4), {}))
    assert "**Your design:** opened from a share link." in captions(custom)


def test_page_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({PAGE!r}, default_timeout=60)\n"
        "at.run()\n"
        "assert not at.exception, at.exception\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    root = Path(PAGE).parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=root,
        check=False,
        env={**__import__("os").environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
