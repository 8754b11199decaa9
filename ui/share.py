"""Share links in the app: read ``?share=…`` once per visit, write it back as settings change.

How a page uses it::

    from ui import share

    share.restore_from_link()                 # once per session; cheap to call on every run
    share.show_link_message()                 # "This share link is damaged …", if it was
    share.apply_link_settings({"train_epochs": share.whole_number(1, LIMITS.max_epochs)})
    epochs = st.number_input("Epochs", 1, LIMITS.max_epochs, key="train_epochs")
    ...
    share.update_link({"train_epochs": epochs})   # the address bar is now this page's share link

Settings travel under their widget keys, which are page-prefixed (``train_epochs``), so one link
carries every page's settings without clashes, and restoring one is putting its value into
``st.session_state`` before the widget is drawn. A link is input from anyone: each value passes
the page's own validator first, and a bad one is reported and dropped while the widget keeps its
default. Nothing here runs for another visitor: everything lives in ``st.session_state``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import streamlit as st

from cnn_core.share import QUERY_KEY, SharedState, ShareError, decode, encode
from ui import controls
from ui.state import get_spec, set_spec
from ui.text import literal

Validator = Callable[[Any], Any]

_READ = "share_link_read"  # True once this session's link has been read
_PENDING = "share_link_pending"  # settings from the link whose page has not applied them yet
_CURRENT = "share_link_settings"  # the settings every visited page last reported, by widget key
_MESSAGE = "share_link_message"  # what was wrong with the link, until a page shows it


def restore_from_link() -> SharedState | None:
    """Read this visit's ``?share=`` once per session: the architecture becomes the visitor's
    design (``ui.state``), the settings wait for their pages. Returns what was restored, or None
    (no link, already read, or a bad link: then :func:`show_link_message` explains)."""
    if st.session_state.get(_READ):
        return None
    st.session_state[_READ] = True
    token = st.query_params.get(QUERY_KEY)
    if not token:
        return None
    try:
        shared = decode(token)
    except ShareError as err:
        st.session_state[_MESSAGE] = f"{err} Showing the defaults instead."
        del st.query_params[QUERY_KEY]  # so that copying the address does not pass it on
        return None
    if shared.spec is not None:
        set_spec(shared.spec, origin="link")
    st.session_state[_PENDING] = dict(shared.settings)
    return shared


def show_link_message() -> None:
    """Show (once) why this visit's share link could not be opened."""
    message = st.session_state.pop(_MESSAGE, None)
    if message:
        st.warning(literal(message), icon=":material/link_off:")


def apply_link_settings(validators: Mapping[str, Validator]) -> list[str]:
    """Put the link's values for these widget keys into ``st.session_state``; call it before the
    widgets are drawn. Each value is applied once, after ``validators[key]`` accepted it (returning
    the clean value, or raising ValueError with the reason).

    Returns the keys that were restored. A rejected value is reported with st.warning and dropped.
    A value for a control the instructor locked or hid is dropped quietly: the instructor wins.
    """
    pending: dict[str, Any] = st.session_state.get(_PENDING) or {}
    restored = []
    for key, validate in validators.items():
        if key not in pending:
            continue
        raw = pending.pop(key)
        if controls.overridden(key):
            continue
        try:
            st.session_state[key] = validate(raw)
        except (ValueError, TypeError) as err:
            st.warning(
                f"The share link's value for “{key}” (“{literal(raw, 40)}”) cannot be used: {literal(err)} "
                "Using the default instead.",
                icon=":material/link_off:",
            )
            continue
        restored.append(key)
    return restored


def update_link(settings: Mapping[str, Any], *, with_spec: bool = True) -> str | None:
    """Make the address bar this visit's share link: the design (when ``with_spec``), these
    settings, the other pages' last settings, and any link settings not yet applied.

    A setting whose value is None is left out of the link (e.g. one at a default that depends on
    the server, or one the page does not show now).

    Returns the token, or None when the design cannot travel in a link (the link is then removed
    rather than left pointing at an older design).
    """
    current: dict[str, Any] = st.session_state.setdefault(_CURRENT, {})
    for key, value in settings.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
    everything = {**(st.session_state.get(_PENDING) or {}), **current}
    try:
        token = encode(get_spec() if with_spec else None, everything)
    except ShareError:
        if QUERY_KEY in st.query_params:
            del st.query_params[QUERY_KEY]
        return None
    if st.query_params.get(QUERY_KEY) != token:
        st.query_params[QUERY_KEY] = token
    return token


def page_url(**query: str) -> str:
    """This page's address with ``query`` (e.g. ``seed="42", set="mixed"``) and the visitor's
    language (``lang``), as a visitor would paste it. Falls back to a relative ``?…`` when
    Streamlit does not know the address."""
    from urllib.parse import urlencode

    from ui import i18n

    base = (st.context.url or "").split("?", 1)[0]
    return f"{base}?{urlencode({**i18n.query(), **query})}"


def share_url(token: str) -> str:
    """The full address of this page with share token ``token``: what to send to someone."""
    return page_url(**{QUERY_KEY: token})


def show_share_link(token: str | None) -> None:
    """The share link in a copyable box, or why there is none."""
    if token is None:
        st.caption("This design is too large to share as a link; export it as JSON instead.")
        return
    st.code(share_url(token), language=None, wrap_lines=True)


# --------------------------------------------------------------------------------------------
# Validators for apply_link_settings
# --------------------------------------------------------------------------------------------


def whole_number(low: int, high: int) -> Validator:
    """Accept a whole number from ``low`` to ``high`` (2.0 and "2" count as 2)."""

    def validate(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError(f"it must be a whole number from {low:,} to {high:,}.")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"it must be a whole number from {low:,} to {high:,}.") from None
        if not number.is_integer() or not low <= number <= high:
            raise ValueError(f"it must be a whole number from {low:,} to {high:,}.")
        return int(number)

    return validate


def number(low: float, high: float) -> Validator:
    """Accept a finite number from ``low`` to ``high``."""

    def validate(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"it must be a number from {low:g} to {high:g}.")
        if not low <= float(value) <= high:  # also refuses NaN
            raise ValueError(f"it must be a number from {low:g} to {high:g}.")
        return float(value)

    return validate


def one_of(options: Sequence[Any]) -> Validator:
    """Accept one of ``options`` exactly."""

    def validate(value: Any) -> Any:
        if value not in options:
            raise ValueError(f"it must be one of {', '.join(map(str, options))}.")
        return value

    return validate


def yes_no(value: Any) -> bool:
    """Accept true or false."""
    if not isinstance(value, bool):
        raise ValueError("it must be true or false.")
    return value
