"""A small Streamlit websocket client for crafted-message tests: a hostile visitor's browser.

It opens a real session of a running ``streamlit run app.py`` (``/_stcore/stream``), asks for
script runs with any widget states it likes (``BackMsg.rerun_script`` carrying a
``ClientState``, as Streamlit's frontend does), and reads back every ``ForwardMsg``: the widgets
the page drew (their ids come in the deltas), its alerts, and any exception it raised.

    with Visitor(url, page="convolution") as visitor:
        widgets = visitor.run()                      # the first run: what the page draws
        visitor.run([state(widgets["conv_stride"], double_value=math.nan)])
        assert not visitor.exceptions
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

RUN_SECONDS = 120  # a run that imports TensorFlow on a busy machine


@dataclass
class Widget:
    """A widget the server drew: its element type ("number_input", "selectbox", …), its id (the
    user key is its last part), and its proto (options, bounds, data type)."""

    kind: str
    id: str
    proto: Any

    @property
    def key(self) -> str:
        """The widget's user key, e.g. "conv_stride" ("" when it has none)."""
        return self.id.rsplit("-", 1)[-1] if "-" in self.id else ""


@dataclass
class RunResult:
    """What one script run sent back."""

    widgets: dict[str, Widget] = field(default_factory=dict)  # by id
    exceptions: list[str] = field(default_factory=list)  # type and message of each
    texts: list[str] = field(default_factory=list)  # markdown and alert bodies, as sent
    finished: bool = False


WIDGET_KINDS = {
    "button",
    "button_group",
    "checkbox",
    "color_picker",
    "date_input",
    "download_button",
    "file_uploader",
    "multiselect",
    "number_input",
    "radio",
    "selectbox",
    "slider",
    "text_area",
    "text_input",
    "time_input",
    "arrow_data_frame",
    "dataframe",
}


def state(widget: Widget, **value: Any) -> WidgetState:
    """A WidgetState for ``widget`` holding ``value``, e.g. ``double_value=math.nan``."""
    widget_state = WidgetState(id=widget.id)
    for name, item in value.items():
        target = getattr(widget_state, name)
        if hasattr(target, "data"):  # a repeated value: DoubleArray, StringArray, …
            target.data.extend(item)
        else:
            setattr(widget_state, name, item)
    return widget_state


class Visitor:
    """One browser session, driven from a background event loop so tests stay synchronous."""

    def __init__(self, url: str, page: str = "", query: str = "") -> None:
        self.stream = url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self.page, self.query = page, query
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._socket: Any = None

    def __enter__(self) -> Visitor:
        self._thread.start()
        self._call(self._connect())
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self._call(self._socket.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _call(self, coroutine: Any, timeout: float = RUN_SECONDS) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout + 5)

    async def _connect(self) -> None:
        self._socket = await websockets.connect(
            self.stream, subprotocols=["streamlit"], max_size=2**28
        )

    def run(self, widget_states: list[WidgetState] = ()) -> RunResult:
        """Ask for a script run of this page with these widget states; wait for it to end."""
        return self._call(self._run(list(widget_states)))

    async def _run(self, widget_states: list[WidgetState]) -> RunResult:
        message = BackMsg()
        client = message.rerun_script
        client.query_string = self.query
        client.page_name = self.page
        client.widget_states.widgets.extend(widget_states)
        await self._socket.send(message.SerializeToString())
        result = RunResult()
        deadline = asyncio.get_running_loop().time() + RUN_SECONDS
        while not result.finished:
            remaining = deadline - asyncio.get_running_loop().time()
            raw = await asyncio.wait_for(self._socket.recv(), timeout=max(remaining, 0.1))
            forward = ForwardMsg()
            forward.ParseFromString(raw)
            kind = forward.WhichOneof("type")
            if kind == "delta":
                self._read_delta(forward.delta, result)
            elif kind == "script_finished":
                # A run stopped for a rerun (st.rerun, the first request's switch to
                # app.py's navigation) is followed by the next one: wait for that one's end.
                status = ForwardMsg.ScriptFinishedStatus
                result.finished = forward.script_finished in (
                    status.FINISHED_SUCCESSFULLY,
                    status.FINISHED_WITH_COMPILE_ERROR,
                )
        return result

    @staticmethod
    def _read_delta(delta: Any, result: RunResult) -> None:
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            result.exceptions.append(f"{element.exception.type}: {element.exception.message}")
        elif kind == "markdown":
            result.texts.append(element.markdown.body)
        elif kind == "alert":
            result.texts.append(element.alert.body)
        elif kind in WIDGET_KINDS:
            proto = getattr(element, kind)
            widget_id = getattr(proto, "id", "")
            if widget_id:
                result.widgets[widget_id] = Widget(kind, widget_id, proto)


def bogus_states(widget: Widget) -> Iterator[tuple[str, WidgetState]]:
    """Values of the wrong type or range for ``widget``, as a hostile client can send them:
    (what it is, the state)."""
    huge = 10**300
    yield "NaN", state(widget, double_value=float("nan"))
    yield "+inf", state(widget, double_value=float("inf"))
    yield "-inf", state(widget, double_value=float("-inf"))
    yield "a huge number", state(widget, double_value=float(huge))
    yield "the largest int64", state(widget, int_value=2**63 - 1)
    yield "an index far out of range", state(widget, int_value=-(2**63))
    yield "a string that is no option", state(widget, string_value="[click](http://evil.example)")
    yield "a list of no options", state(widget, string_array_value=["bogus", "\x00"])
    yield "a list of NaN", state(widget, double_array_value=[float("nan"), float("inf")])
    yield "a list of huge indices", state(widget, int_array_value=[2**62, -1])
    yield "a yes/no", state(widget, bool_value=True)
    yield "JSON that is no value", state(widget, json_value='{"x": [1e999, NaN]}')
