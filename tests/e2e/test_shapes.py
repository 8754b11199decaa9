"""The Shapes page in a real Chromium, as a learner uses it: select a layer, edit it, undo, load
the presets, switch the quiz on and off, insert, move and remove layers, open a share link.

After each of these the form must show the selected layer's own values, the ledger the design's
numbers, and the design itself (the JSON under Export and the share link in the address bar)
must be what the learner made: nothing the learner did not touch may change.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from cnn_core.presets import FIRST_PRESET, PRESETS
from cnn_core.shapes import fmt, ledger, shape_text
from cnn_core.share import QUERY_KEY, decode, encode
from cnn_core.spec import NEW_LAYER_DEFAULTS, Spec, layer_from_dict
from tests.e2e.helpers import open_page, wait_for_run

TUTORIAL = PRESETS[FIRST_PRESET].spec
PRESS_MS = 120  # how long a click holds the mouse button down
LENET = PRESETS["lenet5"].spec
# Every element's own script chunk has loaded: nothing is still a grey placeholder that a click
# would miss when the real widget takes its place.
SETTLED = "() => !document.querySelector('[data-testid=\"stSkeleton\"]')"
# The ledger as the page shows it: one object per row, keyed by the column headers.
LEDGER = """() => {
    const table = document.querySelector('[data-testid="stTable"] table');
    const headers = [...table.querySelectorAll('thead th')].map(th => th.innerText.trim());
    return [...table.querySelectorAll('tbody tr')].map(tr => Object.fromEntries(
        [...tr.querySelectorAll('th, td')].map((cell, i) => [headers[i], cell.innerText.trim()])));
}"""


def with_layer(spec: Spec, index: int, **changes: object) -> Spec:
    """``spec`` with these arguments of layer ``index`` changed, as the form would change them."""
    return spec.replace_layer(index, layer_from_dict({**spec.layers[index].to_dict(), **changes}))


# --------------------------------------------------------------------------------------------
# What a learner does, and what they see
# --------------------------------------------------------------------------------------------


def settle(page) -> None:
    """Wait until the script run has ended and every element on the page is drawn."""
    wait_for_run(page)
    page.wait_for_function(SETTLED)


def open_shapes(page, app_url: str, token: str | None = None) -> None:
    """Open the Shapes page (through share link ``token``, if given) and wait for its form."""
    open_page(page, app_url, "shapes" + (f"?{QUERY_KEY}={token}" if token else ""))
    page.get_by_role("combobox", name="Selected layer").wait_for()
    settle(page)


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the select box ``label``. The click lasts as long as a person's (about
    a tenth of a second): an instant one, just after another box was used, does not open it."""
    page.get_by_role("combobox", name=label).click(delay=PRESS_MS)
    page.get_by_role("listbox").get_by_role("option", name=option, exact=True).click()
    settle(page)


def click(page, button: str) -> None:
    page.get_by_role("button", name=button, exact=True).click()
    settle(page)


def type_number(page, label: str, value: int) -> None:
    box = page.get_by_role("spinbutton", name=label)
    box.fill(str(value))
    box.press("Enter")
    settle(page)


def toggle_quiz(page) -> None:
    page.get_by_text("Quiz me", exact=True).click()
    settle(page)


def layer_name(row) -> str:
    """A ledger row's layer as the page names it: "7. Dense 128 relu", "7. Dense 128 relu ❌"."""
    severities = {p.severity for p in row.problems}
    mark = " ❌" if "error" in severities else (" ⚠️" if "warning" in severities else "")
    return f"{row.position}. {row.label}{mark}"


def select_layer(page, spec: Spec, index: int) -> None:
    """Choose layer ``index`` (0-based) of ``spec`` in the "Selected layer" box."""
    choose(page, "Selected layer", layer_name(ledger(spec).rows[index]))


def expect_form(page, **values: object) -> None:
    """The layer form's number boxes show these values (by label: filters=64, units=128)."""
    for label, value in values.items():
        expect(page.get_by_role("spinbutton", name=label, exact=True)).to_have_value(str(value))


def expect_selected(page, spec: Spec, index: int) -> None:
    expect(page.get_by_role("combobox", name="Selected layer")).to_have_value(
        layer_name(ledger(spec).rows[index])
    )


def shown_ledger(page) -> list[dict[str, str]]:
    return page.evaluate(LEDGER)


def expect_ledger(page, spec: Spec) -> None:
    """The ledger shows ``spec``'s layers, shapes and parameter counts, and its total."""
    led = ledger(spec)
    rows = {row["Layer"].replace("\xa0", " "): row for row in shown_ledger(page)}
    for row in led.rows:
        shown = rows[layer_name(row)]
        assert shown["Output shape"] == shape_text(row.output_shape), row.label
        assert shown["Parameters"] == (fmt(row.params) if row.output_shape else "—"), row.label
    assert rows["Total"]["Parameters"] == fmt(led.total_params)
    assert len(rows) == len(led.rows) + 2  # the Input row, the layers, the Total row


def link_spec(page) -> Spec:
    """The design in the address bar: the page's own share link."""
    return decode(parse_qs(urlparse(page.url).query)[QUERY_KEY][0]).spec


def exported_spec(page) -> Spec:
    """The design's JSON under Export."""
    page.get_by_role("tab", name="Export").click()
    code = page.locator('[data-testid="stCode"]').filter(has_text='"input_shape"').first
    spec = Spec.from_dict(json.loads(code.inner_text()))
    page.get_by_role("tab", name="Formulas").click()
    return spec


def expect_design(page, spec: Spec) -> None:
    """The design is exactly ``spec``: under Export and in the share link."""
    assert exported_spec(page) == spec
    assert link_spec(page) == spec


def expect_no_traceback(page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


# --------------------------------------------------------------------------------------------
# The flows
# --------------------------------------------------------------------------------------------


def test_selecting_layers_shows_each_ones_values_and_changes_nothing(page, app_url):
    open_shapes(page, app_url)
    expect_form(page, filters=32)
    select_layer(page, TUTORIAL, 2)  # Conv2D 64: the form once said 32 and wrote it back
    expect_form(page, filters=64, **{"kernel height": 3})
    expect_selected(page, TUTORIAL, 2)
    select_layer(page, TUTORIAL, 7)  # Dense 128
    expect_form(page, units=128)
    select_layer(page, TUTORIAL, 4)  # Conv2D 128
    expect_form(page, filters=128)
    select_layer(page, TUTORIAL, 0)
    expect_form(page, filters=32)
    toggle_quiz(page)  # reruns, with the form on screen, send nothing stale back
    toggle_quiz(page)
    expect_form(page, filters=32)
    expect_ledger(page, TUTORIAL)
    expect_design(page, TUTORIAL)
    expect_no_traceback(page)


def test_an_edit_changes_the_ledger_and_undo_brings_the_design_back(page, app_url):
    open_shapes(page, app_url)
    type_number(page, "filters", 8)
    edited = with_layer(TUTORIAL, 0, filters=8)
    expect_form(page, filters=8)
    expect_ledger(page, edited)
    rows = {row["Layer"].replace("\xa0", " "): row for row in shown_ledger(page)}
    assert rows["1. Conv2D 8 3×3 relu"]["Parameters"] == "80"  # (3·3·1 + 1)·8
    assert rows["3. Conv2D 64 3×3 relu"]["Parameters"] == "4,672"  # (3·3·8 + 1)·64
    expect_design(page, edited)

    select_layer(page, edited, 2)  # another layer, then back: the edit is still there
    expect_form(page, filters=64)
    select_layer(page, edited, 0)
    expect_form(page, filters=8)

    click(page, "Undo")
    expect_form(page, filters=32)
    expect_ledger(page, TUTORIAL)
    expect_design(page, TUTORIAL)
    expect(page.get_by_role("button", name="Undo", exact=True)).to_be_disabled()
    expect_no_traceback(page)


def test_every_preset_loads_into_the_form_and_the_ledger(page, app_url):
    open_shapes(page, app_url)
    select_layer(page, TUTORIAL, 2)  # a layer other than the first, before each load
    for preset in PRESETS.values():
        choose(page, "Preset", preset.title)
        click(page, "Load preset")
        first = preset.spec.layers[0]
        expect_selected(page, preset.spec, 0)
        expect_form(page, filters=first.filters, **{"kernel height": first.kernel_size})
        expect(page.get_by_role("combobox", name="padding")).to_have_value(first.padding)
        expect_ledger(page, preset.spec)
        expect(page.get_by_text(f"the preset “{preset.title}”")).to_be_visible()
        expect_design(page, preset.spec)
        select_layer(page, preset.spec, 1)
    expect_no_traceback(page)


def test_lenet_with_the_quiz_on_and_off_keeps_its_layers(page, app_url):
    open_shapes(page, app_url)
    choose(page, "Preset", PRESETS["lenet5"].title)
    click(page, "Load preset")
    expect_form(page, filters=12)
    toggle_quiz(page)  # layer 1 once became 32 filters, "valid"
    expect_no_traceback(page)
    expect(page.get_by_text("Quiz: layer 1, Conv2D 12 3×3 same relu")).to_be_visible()
    expect_form(page, filters=12)
    expect(page.get_by_role("combobox", name="padding")).to_have_value("same")
    toggle_quiz(page)  # once a TypeError about the selected layer
    expect_no_traceback(page)
    expect_form(page, filters=12)
    expect_ledger(page, LENET)
    expect_design(page, LENET)


def test_insert_undo_then_quiz_shows_no_traceback(page, app_url):
    open_shapes(page, app_url)
    click(page, "Insert below")  # a Conv2D with the new-layer defaults, below layer 1
    new_layer = layer_from_dict({"type": "Conv2D", **NEW_LAYER_DEFAULTS["Conv2D"]})
    inserted = TUTORIAL.insert_layer(1, new_layer)
    expect_selected(page, inserted, 1)
    expect_form(page, filters=NEW_LAYER_DEFAULTS["Conv2D"]["filters"])
    expect_ledger(page, inserted)
    click(page, "Undo")
    expect_no_traceback(page)
    toggle_quiz(page)  # once a TypeError: the selection had become the label of a layer gone
    expect_no_traceback(page)
    expect(page.get_by_text("Quiz: layer 2, MaxPooling2D 2×2")).to_be_visible()
    page.get_by_role("textbox", name="Its output shape (e.g. 26×26×32)").fill("13x13x32")
    page.get_by_role("textbox", name="Its number of parameters").fill("0")
    click(page, "Check")
    expect(page.get_by_text("Both right: 13×13×32 and 0 parameters.")).to_be_visible()
    click(page, "Another layer")  # a new question starts with empty answer boxes
    expect(page.get_by_text("Quiz: layer 2, MaxPooling2D 2×2")).to_have_count(0)
    expect(page.get_by_role("textbox", name="Its output shape (e.g. 26×26×32)")).to_have_value("")
    toggle_quiz(page)
    expect_design(page, TUTORIAL)


def test_move_remove_and_undo_keep_the_form_on_the_selected_layer(page, app_url):
    open_shapes(page, app_url)
    select_layer(page, TUTORIAL, 2)  # Conv2D 64
    click(page, "↑")
    moved = TUTORIAL.move_layer(2, -1)
    expect_selected(page, moved, 1)  # the selection follows the layer
    expect_form(page, filters=64)
    expect_ledger(page, moved)
    expect_design(page, moved)
    click(page, "↓")
    expect_selected(page, TUTORIAL, 2)
    expect_form(page, filters=64)
    expect_design(page, TUTORIAL)

    select_layer(page, TUTORIAL, 6)  # Flatten
    click(page, "Remove")
    removed = TUTORIAL.remove_layer(6)
    expect_selected(page, removed, 6)  # the layer that took its place: Dense 128
    expect_form(page, units=128)
    expect(page.get_by_text("Layer 7 (Dense): receives a 1×1×128 feature map")).to_be_visible()
    expect_design(page, removed)
    click(page, "Undo")
    expect_ledger(page, TUTORIAL)
    expect_design(page, TUTORIAL)
    expect_no_traceback(page)


def test_a_share_link_opens_its_design_in_the_form_and_the_ledger(page, app_url):
    shared = with_layer(LENET, 2, filters=20, kernel_size=5)
    open_shapes(page, app_url, encode(shared, {"shapes_selected": 2}))
    expect_selected(page, shared, 2)
    expect_form(page, filters=20, **{"kernel height": 5})
    expect_ledger(page, shared)
    expect(page.get_by_text("Your design: opened from a share link.")).to_be_visible()
    select_layer(page, shared, 0)
    expect_form(page, filters=12)
    toggle_quiz(page)
    toggle_quiz(page)
    expect_design(page, shared)

    # A design that is a preset exactly is named as that preset.
    other = page.context.browser.new_context().new_page()
    try:
        open_shapes(other, app_url, encode(LENET, {}))
        expect(
            other.get_by_text("the preset “LeNet-5 style” (opened from a share link)")
        ).to_be_visible()
    finally:
        other.context.close()


def test_an_impossible_design_shows_no_partial_totals(page, app_url):
    too_small = TUTORIAL.with_input_shape((12, 28, 1))  # layer 5 has no room for its kernel
    open_shapes(page, app_url, encode(too_small, {}))
    rows = {row["Layer"].replace("\xa0", " "): row for row in shown_ledger(page)}
    assert rows["Total"]["Parameters"] == "—"
    for label in ("Parameters", "Weights on disk", "Multiply-adds per image"):
        metric = page.get_by_test_id("stMetric").filter(
            has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
        )
        expect(metric.get_by_test_id("stMetricValue")).to_have_text("—")
    expect(
        page.get_by_text("No totals: layer 5 (Conv2D 128 3×3 relu) does not fit")
    ).to_be_visible()
    # 320 + 18,496: the two convolutions before it (the pooling layers have none)
    expect(page.get_by_text("The layers 1–4 that fit have 18,816 parameters")).to_be_visible()
    expect_design(page, too_small)


@pytest.mark.parametrize("width", [1024, 1440])
def test_the_ledger_fits_the_screen(browser, app_url, width):
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    try:
        open_shapes(page, app_url, encode(PRESETS["lenet5_bn"].spec, {}))  # the widest preset
        table = page.locator('[data-testid="stTable"]').first
        sizes = table.evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert sizes[0] <= sizes[1], f"the ledger scrolls sideways at {width} px: {sizes}"
    finally:
        context.close()
