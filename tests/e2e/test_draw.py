"""Draw & classify in a real browser: draw digits with the mouse and read the prediction."""

from __future__ import annotations

import math

from playwright.sync_api import expect

from tests.e2e.helpers import drag, open_page

CANVAS = '[data-testid="stBidiComponentIsolated"] canvas.upper-canvas'
RESET = '[data-testid="stBidiComponentIsolated"] button[title="Reset canvas & history"]'
PREDICTION = ".draw-prediction"

# Strokes as fractions of the canvas, drawn the way a person draws with a mouse.
ZERO = [
    (0.5 + 0.2 * math.sin(2 * math.pi * i / 16), 0.5 - 0.32 * math.cos(2 * math.pi * i / 16))
    for i in range(17)
]
MOUSE_DIGITS = {
    "1": [[(0.52, 0.16), (0.48, 0.84)]],
    "7": [[(0.28, 0.2), (0.72, 0.2), (0.42, 0.84)]],
    "0": [ZERO],
}


def test_draw_a_1_a_7_and_a_0_and_see_each_read_correctly(page, app_url):
    open_page(page, app_url, "draw")
    # The first visit imports TensorFlow and loads the model: allow for a slow, busy machine.
    expect(page.get_by_text("Draw a digit on the black square")).to_be_visible(timeout=90_000)
    canvas = page.locator(CANVAS)
    for number, (digit, strokes) in enumerate(MOUSE_DIGITS.items()):
        if number > 0:  # clear the last digit with the canvas's own reset button
            canvas.hover()
            page.locator(RESET).click()
            expect(page.get_by_text("The canvas is empty")).to_be_visible(timeout=30_000)
            expect(page.locator(PREDICTION)).to_have_count(0)
        for stroke in strokes:
            drag(page, canvas, stroke, steps=3)
        expect(page.locator(PREDICTION)).to_have_text(digit, timeout=30_000)

    # The last drawing's way through the network: the MNIST steps and the layers' pictures.
    expect(page.get_by_text("Centred in 28×28")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("The path through the network")).to_be_visible(timeout=30_000)
    # The boxes of the layers, down to the softmax, each with its chart (charts mount when
    # scrolled into view).
    last_layer = page.get_by_text("Dense → 10")
    expect(last_layer).to_be_attached(timeout=30_000)
    last_layer.scroll_into_view_if_needed()
    expect(page.locator('[data-testid="stPlotlyChart"]').nth(8)).to_be_attached(timeout=30_000)
