"""Controls an instructor locked or hid, on the pages (the ``[locked]`` and ``[hidden]`` tables
of the settings file, read once by cnn_core.config).

A page draws such a control through :func:`widget`::

    epochs = controls.widget(
        c1.number_input, "Epochs", 1, LIMITS.max_epochs, 3, key="train_epochs", default=3
    )

Unlocked and shown, that is exactly ``c1.number_input(…, key="train_epochs")``. Locked, the
instructor's value is put in ``st.session_state`` before the widget is drawn (each run, so
nothing a visitor or a share link did can change it), the widget is disabled, and a caption says
who set it. Hidden, nothing is drawn and the locked value, or else ``default``, is returned.

Everything here reads ``cnn_core.config.SETTINGS`` when called, not at import, so tests can swap
the settings with ``monkeypatch.setattr(config, "SETTINGS", …)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import streamlit as st

from cnn_core import config

LOCKED_NOTE = ":material/lock: Set by your instructor"
LOCKED_HELP = "Your instructor set this for the workshop; it cannot be changed here."


def is_locked(key: str) -> bool:
    """Whether the instructor fixed this control's value."""
    return key in config.SETTINGS.locked


def shown(key: str) -> bool:
    """Whether this control is drawn at all (False: the instructor hid it)."""
    return key not in config.SETTINGS.hidden_controls


def locked(key: str, fit: Callable[[Any], Any] | None = None) -> bool:
    """If the instructor locked ``key``, put the locked value (passed through ``fit``, e.g. to
    clamp it to a smaller data set) in ``st.session_state`` and return True: draw the widget with
    ``disabled=True``. Call it before the widget is drawn, on every run."""
    if not is_locked(key):
        return False
    value = config.SETTINGS.locked[key]
    st.session_state[key] = fit(value) if fit else value
    return True


def current(key: str, default: Any, fit: Callable[[Any], Any] | None = None) -> Any:
    """The control's value as this run will use it, before (or instead of) drawing it: the
    locked value, else the visitor's (if the control is shown), else ``default``."""
    if is_locked(key):
        value = config.SETTINGS.locked[key]
        return fit(value) if fit else value
    if shown(key):
        return st.session_state.get(key, default)
    return default


def widget(
    draw: Callable[..., Any],
    *args: Any,
    key: str,
    default: Any,
    fit: Callable[[Any], Any] | None = None,
    **kwargs: Any,
) -> Any:
    """Draw ``draw(*args, key=key, **kwargs)`` (e.g. ``st.selectbox`` or ``column.slider``) as
    the instructor wants it, and return its value: as usual; locked (disabled, at the locked
    value, with a caption); or hidden (not drawn: the locked value, else ``default``)."""
    if not shown(key):
        return current(key, default, fit)
    if not locked(key, fit):
        return draw(*args, key=key, **kwargs)
    kwargs["disabled"] = True
    kwargs["help"] = LOCKED_HELP + (f"\n\n{kwargs['help']}" if kwargs.get("help") else "")
    value = draw(*args, key=key, **kwargs)
    # ``column.number_input`` is bound to its column: the caption goes under the widget there.
    getattr(draw, "__self__", st).caption(LOCKED_NOTE)
    return value


def columns(keys: Sequence[str]) -> list[Any]:
    """Side-by-side columns for these controls, one per control that is shown, so that a hidden
    control leaves no gap. Returns one container per key, in order (a hidden control's is
    ``st`` itself: :func:`widget` never draws there)."""
    shown_keys = [key for key in keys if shown(key)]
    placed = dict(zip(shown_keys, st.columns(len(shown_keys)) if shown_keys else [], strict=True))
    return [placed.get(key, st) for key in keys]


def link_validators(keys: Iterable[str]) -> dict[str, Callable[[Any], Any]]:
    """Share-link validators for these controls, from the same rules that check locked values
    (``cnn_core.config.CONTROLS``, with the limits in force)."""
    limits = config.LIMITS  # what the pages' widgets are drawn with
    return {key: (lambda value, c=config.CONTROLS[key]: c.check(value, limits)) for key in keys}


def overridden(key: str) -> bool:
    """A share link's value for this control does not apply: the instructor locked or hid it."""
    return is_locked(key) or not shown(key)
