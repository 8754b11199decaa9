"""The Convolution page in a real browser: step the window one cell and watch the sum change."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.helpers import open_page, wait_for_run

FIRST_SUM = "3·1 + 1·0 + 1·(−1) + 1·1 + 0·0 + 7·(−1) + 2·1 + 3·0 + 5·(−1) = −7"
SECOND_SUM = "1·1 + 1·0 + 2·(−1) + 0·1 + 7·0 + 3·(−1) + 3·1 + 5·0 + 1·(−1) = −2"


def window_left_is(page, x0: float) -> None:
    """Wait until the orange window on the first grid has its left edge at plotly x0 (−0.5 is
    column 1). Plotly draws asynchronously, so poll rather than read once."""
    page.wait_for_function(
        """(x0) => {
            const plot = document.querySelector('.js-plotly-plot');
            const shapes = plot && plot.layout && plot.layout.shapes;
            const frame = shapes && shapes.find(s => s.line && s.line.color === '#ff7f0e');
            return Boolean(frame) && frame.x0 === x0;
        }""",
        arg=x0,
    )


def test_stepping_a_cell_rewrites_the_sum(page, app_url):
    open_page(page, app_url, "convolution")
    # The written sums start "row R, column C:"; the first one on the page is the convolution's.
    sums = page.locator(
        '[data-testid="stMarkdownContainer"]', has_text=re.compile(r"^row \d+, col")
    )
    expect(sums.first).to_contain_text(f"row 1, column 1: {FIRST_SUM}", timeout=30_000)
    window_left_is(page, -0.5)

    page.get_by_role("button", name="▶").first.click()  # the convolution's "next cell"
    wait_for_run(page)
    expect(sums.first).to_contain_text(f"row 1, column 2: {SECOND_SUM}", timeout=30_000)
    window_left_is(page, 0.5)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
