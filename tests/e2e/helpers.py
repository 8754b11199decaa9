"""Helpers for the browser tests: waiting for a script run, opening a page, drawing."""

from __future__ import annotations


def wait_for_run(page, timeout_ms: int = 60_000) -> None:
    """Wait until the current script run has ended (Streamlit's running indicator is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms
    )


def open_page(page, app_url: str, path: str = "") -> None:
    """Open a page of the app (``path`` is its URL path, e.g. "shapes") and wait for it."""
    page.goto(f"{app_url}/{path}")
    page.wait_for_selector('[data-testid="stApp"]')
    wait_for_run(page)


def drag(page, locator, points: list[tuple[float, float]], steps: int = 4) -> None:
    """Draw a stroke through ``points``, given as fractions (0–1) of the element's box."""
    box = locator.bounding_box()
    assert box is not None, "the element to draw on is not visible"
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=steps)
    page.mouse.up()


def new_visitor(browser):
    """A page in a fresh browser context: its own cookies, hence its own Streamlit session, as a
    second person on another computer would have. Close it with ``page.context.close()``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def set_number(page, label: str, value: int) -> None:
    """Type ``value`` into the number input labelled ``label`` and wait for the rerun."""
    box = page.get_by_role("spinbutton", name=label)
    box.fill(str(value))
    box.press("Enter")
    wait_for_run(page)


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` (its shown text) in the select box labelled ``label``."""
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_run(page)


def select_options(page, label: str) -> list[str]:
    """Every option the select box labelled ``label`` offers (opened, read, closed again)."""
    page.get_by_role("combobox", name=label).click()
    options = page.get_by_role("option")
    options.first.wait_for()
    texts = [text.strip() for text in options.all_inner_texts()]
    page.keyboard.press("Escape")
    return texts
