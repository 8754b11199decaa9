"""Crafted widget values, sent straight down a real session's websocket (tests/crafted.py).

A hostile client is not bound by the browser: it can send NaN or 10^300 for an integer
``number_input``, a number or a made-up string for a ``selectbox`` or ``radio``, a list for a
``text_input``. For every page, every widget the server draws gets every value of
tests.crafted.bogus_states, and no run may end in an exception (a traceback with the server's
paths on the visitor's screen). The Draw canvas's own data has its own tests.
"""

from __future__ import annotations

import pytest

from tests.crafted import Visitor, bogus_states

PAGES = ["", "convolution", "shapes", "exercises", "train", "draw"]
SKIPPED = {"file_uploader"}  # files travel over HTTP, not as widget states


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda page: page or "home")
def test_no_crafted_widget_value_raises(app_url, page):
    with Visitor(app_url, page=page) as visitor:
        first = visitor.run()
    assert not first.exceptions, first.exceptions
    assert page == "" or first.widgets, "the page drew no widgets: the client is not reading it"
    found: dict[tuple[str, str], list[str]] = {}
    for widget in first.widgets.values():
        if widget.kind in SKIPPED:
            continue
        with Visitor(app_url, page=page) as visitor:  # one session per widget: no cascades
            visitor.run()
            for what, crafted in bogus_states(widget):
                for exception in visitor.run([crafted]).exceptions:
                    found.setdefault((widget.key or widget.id, exception[:200]), []).append(what)
    assert not found, "\n".join(
        f"{key}: {whats} → {error}" for (key, error), whats in found.items()
    )
