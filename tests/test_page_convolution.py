"""The Convolution page under AppTest: it renders, steps, loads presets, explains bad input.

Widgets are found by their page-prefixed keys (``conv_…``). The numbers the page writes come
from cnn_core.conv_math, which tests/test_conv_math.py checks against Keras.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnn_core.config import LIMITS
from tests.conftest import shown

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "convolution.py")
TIMEOUT = 60  # generous: the machine may be busy; the page itself runs in well under a second


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not app.exception, app.exception
    return app


def texts(app: AppTest) -> list[str]:
    """Every markdown, caption and alert text on the page."""
    out = [shown(m.value) for m in app.markdown] + [shown(c.value) for c in app.caption]
    for kind in ("success", "error", "warning", "info"):
        out += [shown(e.value) for e in getattr(app, kind)]
    return out


def find(app: AppTest, fragment: str) -> str:
    matches = [t for t in texts(app) if fragment in t]
    assert matches, f"{fragment!r} not on the page"
    return matches[0]


def chart(app: AppTest, key: str) -> dict:
    """The plotly spec of the chart drawn with ``show(..., key)``."""
    for element in app.get("plotly_chart"):
        if element.proto.id.endswith(f"conv_chart_{key}"):
            return json.loads(element.proto.spec)
    raise AssertionError(f"no chart {key!r}")


def window(app: AppTest, key: str) -> tuple[float, float]:
    """(top, left) of the orange window drawn on a chart."""
    frames = [s for s in chart(app, key)["layout"]["shapes"] if s["line"]["width"] == 4]
    return frames[0]["y0"] + 0.5, frames[0]["x0"] + 0.5


def run(target) -> AppTest:
    """Run the page after an interaction (``target`` is the AppTest or the widget changed)."""
    app = target.run()
    assert not app.exception, app.exception
    return app


# --------------------------------------------------------------------------------------------


def test_page_opens_on_the_tutorials_worked_example(at):
    assert not at.error
    assert find(at, "row 1, column 1:").endswith(
        "3·1 + 1·0 + 1·(−1) + 1·1 + 0·0 + 7·(−1) + 2·1 + 3·0 + 5·(−1) = −7"
    )
    assert "(6 − 3 + 2·0)/1 + 1 = 4" in find(at, "Output height and width")
    assert "a 4×4 feature map (16 output cells)" in find(at, "feature map (")
    assert window(at, "slide_input") == (0, 0)


def test_stepping_moves_the_window_and_rewrites_the_sum(at):
    run(at.button(key="conv_step_next").click())
    assert find(at, "row 1, column 2:").endswith("= −2")
    assert window(at, "slide_input") == (0, 1)
    output = chart(at, "slide_output")["data"][-1]["text"]
    assert output[0][:2] == ["−7", "−2"] and output[0][2] == ""  # the map fills in

    run(at.slider(key="conv_step").set_value(16))
    assert find(at, "row 4, column 4:").endswith("= −1")
    assert window(at, "slide_input") == (3, 3)
    run(at.button(key="conv_step_next").click())  # past the last cell: back to the first
    assert at.slider(key="conv_step").value == 1
    run(at.button(key="conv_step_prev").click())
    assert at.slider(key="conv_step").value == 16


def test_x_preset_scores_five_ninths_at_the_crossing(at):
    run(at.selectbox(key="conv_example").set_value("x_match"))
    assert at.toggle(key="conv_normalised").value is True
    assert "(9 − 3 + 2·0)/1 + 1 = 7" in find(at, "Output height and width")
    run(at.slider(key="conv_step").set_value(3 * 7 + 3 + 1))  # row 4, column 4: the centre
    assert find(at, "row 4, column 4:").endswith("/9 = 5/9 ≈ 0.556")
    assert "prints 5/9 = 0.5555… as 0.55" in find(at, "Normalised match:")


@pytest.mark.parametrize("name", ["o_match", "vertical_step", "square"])
def test_every_other_preset_loads(at, name):
    run(at.selectbox(key="conv_example").set_value(name))
    assert not at.error
    assert at.slider(key="conv_step").value == 1
    assert find(at, "row 1, column 1:")


def test_loading_a_filter_keeps_the_image(at):
    run(at.selectbox(key="conv_kernel_preset").set_value("sharpen"))
    assert at.session_state["conv_kernel_cells"] == [
        ["0", "-1", "0"],
        ["-1", "5", "-1"],
        ["0", "-1", "0"],
    ]
    assert at.selectbox(key="conv_kernel_preset").value is None  # ready for the next choice
    assert find(at, "row 1, column 1:") == (
        "**row 1, column 1:** 3·0 + 1·(−1) + 1·0 + 1·(−1) + 0·5 + 7·(−1) + 2·0 + 3·(−1) + 5·0 = −12"
    )
    assert at.session_state["conv_image_cells"][0] == ["3", "1", "1", "2", "8", "4"]


def test_invalid_cells_are_reported_and_kept(at):
    at.session_state["conv_image_editor"] = {
        "edited_rows": {0: {"2": "abc"}, 2: {"5": None}},
        "added_rows": [],
        "deleted_rows": [],
    }
    run(at)
    message = shown(at.error[0].value)
    assert "image, row 1, column 2: 'abc' is not a number" in message
    assert "image, row 3, column 5 is empty" in message
    assert "What you typed is kept" in message
    assert at.session_state["conv_image_editor"]["edited_rows"][0] == {"2": "abc"}
    assert "appear once the grids above are fixed" in shown(at.info[0].value)
    assert not at.get("plotly_chart") or all(
        "slide" not in c.proto.id for c in at.get("plotly_chart")
    )
    # Fixing the cell brings the steps back.
    at.session_state["conv_image_editor"] = {
        "edited_rows": {0: {"2": "1"}, 2: {"5": "1"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    run(at)
    assert not at.error and find(at, "row 1, column 1:").endswith("= −7")


def test_a_filter_larger_than_the_padded_image_is_explained(at):
    run(at.number_input(key="conv_kernel_rows").set_value(7))
    run(at.number_input(key="conv_kernel_cols").set_value(7))
    assert at.session_state["conv_kernel_cells"][0] == ["1", "0", "-1", "0", "0", "0", "0"]
    message = shown(at.error[0].value)
    assert "The 7×7 filter does not fit in the 6×6 input" in message and 'padding "same"' in message
    run(at.radio(key="conv_padding").set_value("explicit"))
    run(at.number_input(key="conv_pad_amount").set_value(0))  # P = 0 is "valid": still too big
    assert "does not fit" in shown(at.error[0].value)
    run(at.number_input(key="conv_pad_amount").set_value(1))  # 8×8 once padded: it fits
    assert not at.error
    assert "(6 − 7 + 2·1)/1 + 1 = 2" in find(at, "Output height and width")
    run(at.radio(key="conv_padding").set_value("same"))
    assert not at.error
    assert "(6 − 7 + 2·3)/1 + 1 = 6" in find(at, "Output height and width")


def test_odd_sizes_show_their_formula_and_why(at):
    run(at.number_input(key="conv_stride").set_value(2))
    assert "⌊(6 − 3 + 2·0)/2⌋ + 1 = ⌊1.5⌋ + 1 = 2" in find(at, "Output height and width")
    assert find(at, "3 is not a multiple of the stride 2")
    # "same" with an odd number of zeros to add: Keras puts the extra one after.
    run(at.radio(key="conv_padding").set_value("same"))
    assert "(6 − 3 + 0 + 1)/2 + 1 = 3" in find(at, "Output height and width")
    assert "0 zeros before and 1 after" in find(at, "Keras wants ⌈6/2⌉ = 3 outputs")
    # "same" with an even kernel: 3 zeros, 1 before and 2 after.
    run(at.number_input(key="conv_stride").set_value(1))
    run(at.number_input(key="conv_kernel_cols").set_value(4))
    assert "(6 − 3 + 2·1)/1 + 1 = 6" in find(at, "Output height:")
    assert "(6 − 4 + 1 + 2)/1 + 1 = 6" in find(at, "Output width:")
    assert not at.error


def test_your_turn_checks_the_answer(at):
    at.session_state["conv_quiz_cell"] = 1  # row 1, column 2: −2
    run(at)
    assert "row 1, column 2, marked" in find(at, "One cell of the feature map is hidden")
    hidden = chart(at, "quiz_output")["data"][-1]["text"]
    assert hidden[0][1] == "<b>?</b>" and hidden[0][0] == "−7"
    assert window(at, "quiz_input") == (0, 1)

    run(at.text_input(key="conv_quiz_answer").set_value("4"))
    assert "Not quite: you wrote 4" in shown(at.error[0].value)
    assert "Show the worked sum" in [e.label for e in at.expander]
    run(at.text_input(key="conv_quiz_answer").set_value("two"))
    assert "'two' is not a number" in shown(at.warning[0].value)
    run(at.text_input(key="conv_quiz_answer").set_value("−2"))
    assert find(at, "Right!").endswith("= −2")

    run(at.button(key="conv_quiz_new").click())
    assert at.text_input(key="conv_quiz_answer").value == ""


def chart_text(at: AppTest, key: str) -> list[list[str]]:
    """The numbers written in a grid's cells."""
    return chart(at, key)["data"][-1]["text"]


def test_your_turn_hides_its_cell_in_section_4_until_it_is_solved(at):
    at.session_state["conv_quiz_cell"] = 1  # row 1, column 2: −2
    run(at)
    for key in ("relu_before", "relu_after"):
        assert chart_text(at, key)[0][1] == "<b>?</b>", key
    assert chart_text(at, "relu_before")[0][0] == "−7"  # the other cells are shown
    assert "row 1, column 2" in find(at, "The **?** is your turn's cell")
    # 2×2 max pooling, stride 2: pooled cell (1, 1) reads the hidden cell
    assert chart_text(at, "pool_output")[0][0] == "<b>?</b>"
    assert [m for m in texts(at) if "holds your turn's **?** cell" in m]
    run(at.text_input(key="conv_quiz_answer").set_value("4"))  # wrong: still hidden
    assert chart_text(at, "relu_before")[0][1] == "<b>?</b>"
    run(at.text_input(key="conv_quiz_answer").set_value("−2"))
    assert chart_text(at, "relu_before")[0][1] == "−2"
    assert chart_text(at, "pool_output")[0][0] != "<b>?</b>"
    assert find(at, "**row 1, column 1:** max(").endswith("max(0, 0, 0, 1) = 1")
    assert not [m for m in texts(at) if "holds your turn's" in m]


def test_a_new_stride_is_a_new_question_without_the_old_verdict(at):
    at.session_state["conv_quiz_cell"] = 1
    run(at)
    run(at.text_input(key="conv_quiz_answer").set_value("−8"))
    assert "Not quite: you wrote −8" in shown(at.error[0].value)
    run(at.number_input(key="conv_stride").set_value(2))  # 6×6, 3×3, stride 2 → 2×2
    verdicts = [m for m in texts(at) if m.startswith(("Not quite", "Right!"))]
    assert verdicts == []  # no verdict on a question nobody answered
    assert at.text_input(key="conv_quiz_answer").value == ""
    run(at.text_input(key="conv_quiz_answer").set_value("−8"))  # typed and entered: checked
    assert [m for m in texts(at) if m.startswith(("Not quite", "Right!"))]


def test_your_turn_reads_a_chinese_keyboard(at):
    at.session_state["conv_quiz_cell"] = 1
    run(at)
    run(at.text_input(key="conv_quiz_answer").set_value("－２"))
    assert find(at, "Right!").endswith("= −2")


def test_relu_and_pooling_step_and_explain(at):
    at.session_state["conv_quiz_cell"] = 0  # your turn solved: section 4 shows every cell
    run(at)
    run(at.text_input(key="conv_quiz_answer").set_value("−7"))
    assert "zeroed 10 of 16 values. For example max(0, −7) = 0." in find(at, "**ReLU**")
    assert find(at, "**row 1, column 1:** max(").endswith("max(0, 0, 0, 1) = 1")
    assert "Size 4×4×1 → 2×2×1" in find(at, "Size 4×4×1")
    assert "26×26×32 → 13×13×32" in find(at, "depth never changes")
    run(at.radio(key="conv_pool_mode").set_value("average"))
    assert find(at, "(0 + 0 + 0 + 1)/4 = 0.25")
    run(at.button(key="conv_pool_step_next").click())
    assert find(at, "**row 1, column 2:** (2 + 0 + 4 + 0)/4 = 1.5")
    run(at.number_input(key="conv_pool_size").set_value(4))
    run(at.number_input(key="conv_pool_stride").set_value(1))
    assert "(4 − 4 + 2·0)/1 + 1 = 1" in find(at, "Output height and width: `(4 − 4")


def test_pool_window_too_large_is_a_warning_not_a_crash(at):
    run(at.selectbox(key="conv_example").set_value("vertical_step"))
    run(at.number_input(key="conv_stride").set_value(3))  # 6×6, 3×3, stride 3 → 2×2 map
    run(at.number_input(key="conv_pool_size").set_value(3))
    assert "pool window does not fit in the 2×2 input" in shown(at.warning[0].value)


def test_depth_section_counts_parameters_like_the_shapes_page(at):
    assert "(3·3·3 + 1)·2 = 56" in find(at, "Parameters of this layer")
    run(at.slider(key="conv_depth_filters").set_value(4))
    assert "(3·3·3 + 1)·4 = 112" in find(at, "Parameters of this layer")
    assert "6×6×3 → Conv2D(4, 3×3) → 4×4×4 → 2×2 max pooling → 2×2×4" in find(at, "Shapes:")
    run(at.radio(key="conv_depth_filter").set_value(3))
    lines = [t for t in texts(at) if t.startswith(("red:", "green:", "blue:", "total:"))]
    assert [line.split(":")[0] for line in lines] == ["red", "green", "blue", "total"]
    assert "+ (−2) (bias) = " in lines[-1]  # filter 3's bias is −2
    run(at.slider(key="conv_depth_filters").set_value(2))  # the chosen filter no longer exists
    assert at.radio(key="conv_depth_filter").value == 2


def test_flatten_shows_both_orders(at):
    keras = chart(at, "flatten_keras")["layout"]["annotations"]
    tutorial = chart(at, "flatten_by_channel")["layout"]["annotations"]
    values = [a["text"] for a in keras if a["text"].startswith("<b>")]
    assert values == [f"<b>{v}</b>" for v in (1, 5, 2, 6, 3, 7, 4, 8)]
    values = [a["text"] for a in tutorial if a["text"].startswith("<b>")]
    assert values == [f"<b>{v}</b>" for v in range(1, 9)]
    assert "13·13·32 = 5,408 values" in find(at, "flattens 13×13×32")


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_real_image_digit_and_uploads(at):
    assert "This one is a 7" in find(at, "This one is a")
    images = at.get("image")
    assert len(images) == 1 + 3 * 4  # the digit, then 4 filters × (map, ReLU, pooled)
    run(at.number_input(key="conv_real_index").set_value(1))
    assert "This one is a 2" in find(at, "This one is a")

    run(at.radio(key="conv_real_source").set_value("photo"))
    assert "up to" in find(at, "PNG, JPEG")
    uploader = at.get("file_uploader")[0]
    run(uploader.set_value(("notes.png", b"this is not a picture", "image/png")))
    assert "“notes.png” is not an image Pillow can read" in shown(at.error[0].value)
    assert find(at, "row 1, column 1:")  # the rest of the page is still there

    run(at.get("file_uploader")[0].set_value(("wide.png", _png((400, 100)), "image/png")))
    assert not at.error
    side = LIMITS.max_photo_side  # 400×100 shrinks to side × side/4, whatever the profile
    assert f"Grey, {side // 4}×{side} pixels" in find(at, "Grey,")
    run(at.multiselect(key="conv_real_filters").set_value(["blur", "yours"]))
    assert len(at.get("image")) == 1 + 3 * 2


def test_page_never_imports_tensorflow():
    script = textwrap.dedent(
        f"""
        import sys
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file({PAGE!r}, default_timeout={TIMEOUT}).run()
        assert not at.exception, at.exception
        heavy = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
        print("imported:", heavy)
        sys.exit(1 if heavy else 0)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
