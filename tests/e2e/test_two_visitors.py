"""Two visitors at once in a real Chromium: two browser contexts (two people, two Streamlit
sessions) against one server.

- Both train at the same time; each sees only their own run, curves and model (Train and Draw).
- One pressing Stop ends only their own run; the other's carries on and finishes.
- With one training slot (the hosted profile) the second visitor waits in a visible queue, and
  the first one closing their tab frees the slot within the leave grace period.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from cnn_core.runner import LEAVE_GRACE_SECONDS, PRESENCE_CHECK_SECONDS
from tests.e2e.helpers import (
    choose,
    new_visitor,
    open_page,
    select_options,
    set_number,
    wait_for_run,
)

STOP = ".st-key-train_stop button >> nth=0"  # the fragment may briefly hold a stale copy
PROGRESS = '[data-testid="stProgress"]'
RESULTS = "5 · Results"
# The points of a curves chart's per-batch loss curve (the chart inside `selector`), read
# from plotly's decoded traces, as in test_train.py.
BATCH_POINTS = """(selector) => {
    const plot = document.querySelector(selector + ' .js-plotly-plot');
    return plot && plot._fullData && plot._fullData.length ? plot._fullData[0]._length || 0 : 0;
}"""

# Visitor A: the tiny preset on a subset big enough to be still training when A stops it.
A = {"title": "Tiny (fast)", "params": "5,258", "images": 20_000, "epochs": 5, "seed": 1}
A_STEPS = -(-18_000 // 128) * A["epochs"]  # 18,000 to train on, in batches of 128 (the default)
# Visitor B: another architecture, other settings, long enough to be still training when A's
# stop has gone through (A's last batch, test pass and page), short enough to finish in about a
# minute.
B = {"title": "LeNet-5 style", "params": "107,078", "images": 8_000, "epochs": 3, "seed": 2}
B_BATCH = 64
# 8,000 images less 10 % held out for validation = 7,200 to train on: 113 batches of 64 an epoch.
B_STEPS = -(-7_200 // B_BATCH) * B["epochs"]


def configure(page, app_url: str, visitor: dict, batch_size: int | None = None) -> None:
    open_page(page, app_url, "train")
    page.get_by_role("heading", name="Train a CNN").wait_for()
    choose(page, "Architecture", visitor["title"])
    set_number(page, "Training images (of 60,000)", visitor["images"])
    set_number(page, "Epochs", visitor["epochs"])
    set_number(page, "Random seed", visitor["seed"])
    if batch_size is not None:
        choose(page, "Batch size", str(batch_size))
    params = page.locator('[data-testid="stMetric"]').filter(has_text="Parameters to learn")
    expect(params).to_contain_text(visitor["params"])


def batch_points(page, selector: str) -> int:
    return page.evaluate(BATCH_POINTS, selector)


def results_caption(page):
    """The caption under the results' metrics: "Run 1 · Tiny (fast) · 93.1 % (stopped): …"."""
    return page.locator('[data-testid="stCaptionContainer"]').filter(
        has_text="test images the network never saw"
    )


def test_two_visitors_train_at_once_and_each_sees_only_their_own(browser, local_app_url):
    a, b = new_visitor(browser), new_visitor(browser)
    try:
        configure(a, local_app_url, A)
        configure(b, local_app_url, B, batch_size=B_BATCH)

        a.locator(".st-key-train_start button").click()
        b.locator(".st-key-train_start button").click()
        # Both train at the same time: each one's live panel counts its own epochs.
        for page, visitor in ((a, A), (b, B)):
            expect(page.locator(PROGRESS)).to_contain_text(
                f"Epoch 1/{visitor['epochs']} · batch", timeout=120_000
            )
        for page, visitor, other in ((a, A, B), (b, B, A)):
            live = page.locator('[data-testid="stCaptionContainer"]').filter(has_text="Pale line")
            expect(live).to_contain_text(f"Run 1 · {visitor['title']} · ")
            expect(page.get_by_text(f"Run 1 · {other['title']}")).to_have_count(0)
            expect(page.locator(STOP)).to_be_enabled()

        # A stops; A's run ends as stopped while B's is still going, not asked to stop.
        a.locator(STOP).click()
        expect(results_caption(a)).to_contain_text(f"Run 1 · {A['title']} · ", timeout=60_000)
        expect(results_caption(a)).to_contain_text("(stopped)")
        expect(b.locator(STOP), "B's run ended before A's stop went through").to_be_enabled()
        expect(b.get_by_text("Stopping after this batch")).to_have_count(0)
        wait_for_run(a)

        # B's run finishes, every epoch and batch of it: A's stop did not touch it.
        expect(b.get_by_role("heading", name=RESULTS)).to_be_visible(timeout=180_000)
        wait_for_run(b)
        expect(results_caption(b)).to_contain_text(f"Run 1 · {B['title']} · ")
        expect(results_caption(b)).not_to_contain_text("stopped")
        epochs = b.locator('[data-testid="stMetric"]').filter(has_text="Epochs")
        expect(epochs).to_contain_text(str(B["epochs"]))
        a_epochs = a.locator('[data-testid="stMetric"]').filter(has_text="Epochs")
        assert float(a_epochs.inner_text().split()[-1]) < A["epochs"]

        for page, other in ((a, B), (b, A)):
            # One run each: no "Show the results of" choice, no trace of the other's run.
            expect(page.locator(".st-key-train_result_run")).to_have_count(0)
            expect(page.get_by_text(f"Run 1 · {other['title']}")).to_have_count(0)
            expect(page.get_by_text("Run 2 · ")).to_have_count(0)
            assert page.locator('[data-testid="stException"]').count() == 0
        # Each one's curves are their own: B's has exactly B's batches; A's stopped part-way.
        curves = ".st-key-train_result_curves_1"  # each one's Run 1
        b.wait_for_function(f"({BATCH_POINTS})('{curves}') > 0")
        assert batch_points(b, curves) == B_STEPS
        a.wait_for_function(f"({BATCH_POINTS})('{curves}') > 0")
        assert 0 < batch_points(a, curves) < A_STEPS

        # The Draw page offers each visitor their own run, and only it.
        for page, visitor in ((a, A), (b, B)):
            page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Draw").click()
            expect(page.get_by_text("Draw a digit on the black square")).to_be_visible(
                timeout=90_000
            )
            page.get_by_text("Trained in this session", exact=True).click()
            wait_for_run(page)
            options = select_options(page, "Run")
            assert len(options) == 1, options
            assert options[0].startswith(f"Run 1 · {visitor['title']} · "), options
            expect(page.get_by_text(f"{visitor['params']} parameters")).to_be_visible()
            assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        a.context.close()
        b.context.close()


def test_a_visitor_who_leaves_frees_the_only_training_slot(browser, hosted_app_url):
    """Hosted profile: one training at a time. B waits in line behind A; A closes the tab; B's
    run starts once A has been gone for the grace period."""
    a, b = new_visitor(browser), new_visitor(browser)
    try:
        # B: a quick run. B sets it up first (every rerun is slow once A's training takes the
        # CPU), and presses Train once A is training, so B has to wait for A's slot.
        open_page(b, hosted_app_url, "train")
        b.get_by_role("heading", name="Train a CNN").wait_for()
        choose(b, "Architecture", "Tiny (fast)")
        set_number(b, "Training images (of 60,000)", 1_000)
        set_number(b, "Epochs", 1)

        # A: the default network on every image the hosted profile allows, for as many epochs:
        # minutes of training, far longer than this test waits for B.
        open_page(a, hosted_app_url, "train")
        a.get_by_role("heading", name="Train a CNN").wait_for()
        set_number(a, "Epochs", 5)
        a.locator(".st-key-train_start button").click()
        expect(a.locator(PROGRESS)).to_contain_text("Epoch 1/5 · batch", timeout=120_000)

        b.locator(".st-key-train_start button").click()
        expect(b.locator(PROGRESS)).to_contain_text(
            "Waiting for a free training slot: you are number 1 in line "
            "(1 training(s) running on this server now).",
            timeout=60_000,
        )

        # A is still training, with far more to do than this test waits for; then A leaves.
        start_budget = LEAVE_GRACE_SECONDS + PRESENCE_CHECK_SECONDS + 30  # + A's last batch, test
        finish_budget = 60  # B's small run, from its start to its results
        progress = a.locator(PROGRESS).inner_text()
        left = re.search(r"about (\d+) s left", progress)
        assert left and int(left.group(1)) > start_budget + finish_budget, (
            "A's run would end by itself before B's wait is over, so this test could not tell "
            f"a freed slot from a finished run: {progress!r}"
        )
        expect(b.locator(PROGRESS)).to_contain_text("you are number 1 in line")
        a.close()
        a.context.close()

        # Once A has been gone for the grace period (plus A's last batch and its test pass), B
        # leaves the queue and its run, being small, finishes.
        expect(b.get_by_text("you are number 1 in line")).to_have_count(
            0, timeout=int(start_budget * 1000)
        )
        expect(b.get_by_role("heading", name=RESULTS)).to_be_visible(timeout=finish_budget * 1000)
        wait_for_run(b)
        expect(results_caption(b)).to_contain_text("Run 1 · Tiny (fast) · ")
        expect(results_caption(b)).not_to_contain_text("stopped")
        assert b.locator('[data-testid="stException"]').count() == 0
    finally:
        a.context.close()
        b.context.close()
