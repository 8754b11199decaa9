"""The Train page in a real Chromium: press Train, watch the live chart grow, get the results."""

from __future__ import annotations

from tests.e2e.helpers import open_page, wait_for_run

# The number of points on the live chart's per-batch loss curve, read from plotly's own data.
BATCH_POINTS = """() => {
    const plot = document.querySelector('.st-key-train_live_chart .js-plotly-plot');
    // _fullData: plotly's decoded traces (the figure sends numbers as packed typed arrays)
    return plot && plot._fullData && plot._fullData.length ? plot._fullData[0]._length || 0 : 0;
}"""


def set_number(page, label: str, value: int) -> None:
    box = page.get_by_role("spinbutton", name=label)
    box.fill(str(value))
    box.press("Enter")
    wait_for_run(page)


def test_train_shows_a_growing_live_chart_then_results(page, app_url):
    open_page(page, app_url, "train")
    page.get_by_role("heading", name="Train a CNN").wait_for()
    # The default preset on a small subset: long enough (a few seconds) to watch the chart grow.
    set_number(page, "Training images (of 60,000)", 3000)
    set_number(page, "Epochs", 2)

    page.locator(".st-key-train_start button").click()
    page.locator(".st-key-train_stop button").first.wait_for(timeout=60_000)
    # The chart is redrawn while training: it first shows some batches, later more.
    page.wait_for_function(f"({BATCH_POINTS})() > 0", timeout=90_000)
    first = page.evaluate(BATCH_POINTS)
    page.wait_for_function(f"({BATCH_POINTS})() > {first}", timeout=60_000)
    assert page.evaluate(BATCH_POINTS) > first

    page.get_by_role("heading", name="5 · Results").wait_for(timeout=120_000)
    wait_for_run(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    accuracy = page.locator('[data-testid="stMetric"]').filter(has_text="Test accuracy")
    assert accuracy.inner_text().strip().endswith("%")
    # the Stop button went with the live panel; the run is listed for the other pages
    assert page.locator(".st-key-train_stop").count() == 0
    page.get_by_role("tab", name="Feature maps").click()
    page.get_by_text("conv2d_1", exact=False).first.wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    shown = accuracy.inner_text()

    # Leave for another page and come back (same session): the model and its curves are kept.
    sidebar = page.locator('[data-testid="stSidebarNav"]')
    sidebar.get_by_role("link", name="Home").click()
    page.get_by_role("heading", name="CNN Lab").first.wait_for()
    sidebar.get_by_role("link", name="Train").click()
    page.get_by_role("heading", name="5 · Results").wait_for()
    wait_for_run(page)
    again = page.locator('[data-testid="stMetric"]').filter(has_text="Test accuracy")
    assert again.inner_text() == shown
    assert page.locator('[data-testid="stException"]').count() == 0
