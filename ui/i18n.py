"""The visitor's language on the pages: ``t("id", name=value)`` says a sentence in it.

Each visitor has their own language, kept in their session (never in a module global: that would
switch every visitor at once). On the first run of a session it comes from, in order:

1. the instructor's settings file, if it locks the language (``[locked] language = "zh-Hans"``);
2. the address, ``?lang=zh-Hans`` (an unknown value means English, without an error);
3. the instructor's preselected language (``language = "zh-Hant"`` in the settings file);
4. the browser's language (``st.context.locale``), else English.

The sidebar's picker changes it for the rest of the session, and the address keeps
``?lang=…`` so that a copied link or a share link opens in the same language.

How a page uses it::

    from ui.i18n import t, tr

    st.title(t("shapes.title"))
    st.error(tr(problem.message))      # a cnn_core Message, in the visitor's language
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from cnn_core import config
from cnn_core.i18n import DEFAULT_LANGUAGE, LANGUAGES, normalize_language, render, translate

QUERY_KEY = "lang"  # ?lang=zh-Hans
_STATE = "language_current"  # this session's language
_EXPLICIT = "language_explicit"  # True once the visitor or their link asked for a language
# The sidebar's picker; also its name in the settings file's [locked] and [hidden] tables.
PICKER_KEY = CONTROL = "language"


def language() -> str:
    """This visitor's language: one of ``cnn_core.i18n.LANGUAGES``."""
    fixed = config.SETTINGS.locked.get(CONTROL)
    if fixed:
        return fixed
    chosen = st.session_state.get(_STATE)
    if chosen is None:
        chosen = _first_language()
        st.session_state[_STATE] = chosen
    return chosen


def _first_language() -> str:
    asked = st.query_params.get(QUERY_KEY)
    if asked is not None:
        st.session_state[_EXPLICIT] = True
        return normalize_language(asked) or DEFAULT_LANGUAGE
    if config.SETTINGS.language:
        return config.SETTINGS.language
    try:
        browser = st.context.locale
    except Exception:  # no browser behind this run (AppTest, a bare script): English
        browser = None
    return normalize_language(browser) or DEFAULT_LANGUAGE


def t(id: str, /, **params: Any) -> str:
    """The sentence ``id`` of the catalogue in this visitor's language, values filled in."""
    return translate(language(), id, **params)


def tr(value: Any) -> str:
    """A cnn_core Message (or a list of them, or plain text) in this visitor's language."""
    return render(value, language())


def _picked() -> None:
    picked = st.session_state.get(PICKER_KEY)
    if picked in LANGUAGES:  # a value from the browser: a crafted one is not a language
        st.session_state[_STATE] = picked
        st.session_state[_EXPLICIT] = True


def language_picker() -> None:
    """The sidebar's language picker (or a note when the instructor fixed the language), and
    ``?lang=`` in the address. app.py calls it on every run, before the page."""
    current = language()
    if config.SETTINGS.locked.get(CONTROL):
        st.sidebar.caption(t("i18n.language_locked"))
    elif CONTROL not in config.SETTINGS.hidden_controls:
        options = list(LANGUAGES)
        st.sidebar.selectbox(
            t("i18n.language_label"),
            options,
            index=options.index(current),
            format_func=LANGUAGES.__getitem__,
            key=PICKER_KEY,
            on_change=_picked,
            help=t("i18n.language_help"),
        )
    keep_in_address()


def keep_in_address() -> None:
    """Write this visitor's language into the address (``?lang=zh-Hans``), so that a copied
    address opens in it too. English is left out unless it was asked for: a plain address
    then opens in the reader's own browser language."""
    current = language()
    if current == DEFAULT_LANGUAGE and not st.session_state.get(_EXPLICIT):
        if QUERY_KEY in st.query_params:
            del st.query_params[QUERY_KEY]
    elif st.query_params.get(QUERY_KEY) != current:
        st.query_params[QUERY_KEY] = current


def query() -> dict[str, str]:
    """The address's language parameter as this visitor's links should carry it ({} or
    ``{"lang": "zh-Hans"}``), for links built by hand (share links, class links)."""
    current = language()
    if current == DEFAULT_LANGUAGE and not st.session_state.get(_EXPLICIT):
        return {}
    return {QUERY_KEY: current}
