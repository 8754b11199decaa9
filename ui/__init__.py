"""Streamlit-only helpers shared by the pages (navigation, session state, widgets, charts)."""

import streamlit as st


def _use_navigation_from_the_first_request() -> None:
    """Make a deep link work on a freshly started server.

    Streamlit treats an app that has a ``pages/`` folder as an old-style multipage app until
    ``st.navigation`` has run once in the process. Until then, a visitor whose very first request
    is a deep link (a shared ``/train?...`` link) gets that page run on its own: no page config,
    and a sidebar listing raw file names. Every page imports this package, so the first such run
    switches the process to ``st.navigation`` and reruns; app.py then routes to the same page.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the old mode: nothing to do
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


_use_navigation_from_the_first_request()
