"""Widget values from the browser are checked before any page or callback reads them.

A browser sends every widget's value as a ``WidgetState`` protobuf, and a hostile client can put
anything there: NaN or 10^300 for an integer ``number_input``, a number for a ``selectbox``, a
list for a ``text_input``. Streamlit 1.67 hands such a value to the widget's deserializer, which
raises (``int(nan)``, an index that is a string) or passes it on (a ``text_input`` returning a
bool), and the visitor gets a traceback with the server's paths. (tests/test_crafted.py sends
such values to every widget of every page through a real websocket.)

:func:`install` makes Streamlit replace a value that does not fit its widget by the widget's
default, as for a widget the browser did not mention. A
value fits when it comes in the field the widget registered (or the numeric twin a real browser
uses: ``int_value`` for an integer ``number_input``), holds only finite numbers, and the
widget's own deserializer accepts it. Nothing else changes. It patches one method of Streamlit's
session state (``WStates.__getitem__``), where every serialized value is first deserialized, so
callbacks are covered too; if a later Streamlit renames it, :func:`install` does nothing rather
than fail (and the crafted-message tests say so).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

# A registered value field → the fields a real browser may send for it.
_ALSO_ACCEPTED = {
    "double_value": {"int_value"},  # integer number inputs are sent as int_value
    "double_array_value": {"int_array_value"},
    "int_value": {"double_value"},
}


def _finite(value: Any) -> bool:
    """No NaN or infinity anywhere in ``value`` (a number, or a list or protobuf array of them)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str | bytes | dict) or not hasattr(value, "__iter__"):
        return True
    return all(_finite(item) for item in value)


def fits(metadata: Any, widget_state: Any) -> bool:
    """Whether a serialized ``widget_state`` (a WidgetState protobuf) fits the widget described
    by ``metadata`` (Streamlit's WidgetMetadata): the right field, finite numbers, and a value
    the widget's deserializer accepts."""
    from streamlit.runtime.state.common import unpack_widget_state_value

    field = widget_state.WhichOneof("value")
    expected = metadata.value_type
    if field is not None and field != expected and field not in _ALSO_ACCEPTED.get(expected, ()):
        return False
    try:
        raw = unpack_widget_state_value(widget_state)
        if not _finite(raw):
            return False
        value = metadata.deserializer(raw)
    except Exception:  # the deserializer refused it: exactly what must not reach the page
        return False
    return _finite(value)


def install() -> bool:
    """Check every widget value from the browser before Streamlit deserializes it (once per
    process; later calls do nothing). Returns whether the check is in place."""
    try:
        from streamlit.runtime.state.session_state import Serialized, Value, WStates
    except ImportError:
        return False
    original: Callable[[Any, str], Any] = WStates.__getitem__
    if getattr(original, "_cnn_lab_guard", False):
        return True

    def getitem(self: Any, key: str) -> Any:
        wstate = self.states.get(key)
        metadata = self.widget_metadata.get(key)
        if (
            isinstance(wstate, Serialized)
            and metadata is not None
            and not fits(metadata, wstate.value)
        ):
            try:  # the widget's default, as for a widget the browser did not mention
                default = metadata.deserializer(None)
            except Exception:
                raise KeyError(key) from None
            self.states[key] = Value(default)  # the same key: safe while Streamlit iterates
            return default
        return original(self, key)

    getitem._cnn_lab_guard = True  # type: ignore[attr-defined]
    WStates.__getitem__ = getitem  # type: ignore[method-assign]
    return True
