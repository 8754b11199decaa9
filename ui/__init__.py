"""Streamlit-only helpers shared by the pages (navigation, session state, widgets, charts)."""

import streamlit as st

from ui import widget_guard


def _use_navigation_from_the_first_request() -> None:
    """Make the first request to a freshly started server go through app.py's navigation.

    Streamlit treats an app that has a ``pages/`` folder as an old-style multipage app until
    ``st.navigation`` has run once in the process. Until then the first request runs its page on
    its own (a deep link ``/train?...`` runs pages/train.py without app.py: no page config, no
    settings check) under a navigation made from the raw file names, hidden pages included.
    .streamlit/config.toml keeps that navigation out of sight (``showSidebarNavigation = false``);
    this, run by the first page that imports this package (every page does, before anything
    else), switches the process to ``st.navigation``, shows the sidebar navigation again, and
    reruns: app.py then routes to the same page.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the old mode: nothing to do
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.set_option("client.showSidebarNavigation", True)
        st.rerun()


widget_guard.install()  # before any widget value from the browser is read
widget_guard.install()  # before any widget value from the browser is read
_use_navigation_from_the_first_request()
