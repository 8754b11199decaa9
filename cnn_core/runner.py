"""Training in the background: one thread per run, a process-wide queue of training slots.

A training that runs inside a Streamlit script run dies when the visitor clicks anything (every
click reruns the script) or opens another page. So the Train page starts a
:class:`BackgroundTraining`, keeps it in the visitor's own ``st.session_state`` and polls it a few
times per second to redraw. The thread trains through :func:`cnn_core.training.train`; the page
only reads thread-safe snapshots (:meth:`BackgroundTraining.snapshot`).

On a shared server every training competes for the same CPU cores, so at most
``LIMITS.max_concurrent_trainings`` run at once (:data:`SLOTS`); later ones wait in a first-come
queue and can see their place in it. A run gives its slot back however it ends: finished,
stopped, failed, or abandoned: a run is told how to ask whether its visitor is still there
(``visitor_present``), and a visitor gone for ``LEAVE_GRACE_SECONDS`` (the browser tab closed,
not a passing network blip) stops the run, or takes it out of the queue, so the next one starts.

No Streamlit here: a notebook or a test drives this module the same way.
"""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cnn_core.config import LIMITS
from cnn_core.data import DataError, Dataset
from cnn_core.shapes import ledger
from cnn_core.spec import Spec
from cnn_core.training import (
    BatchProgress,
    History,
    Progress,
    TrainingConfig,
    TrainingError,
    TrainingResult,
    train,
)

if TYPE_CHECKING:
    import keras


class TrainingSlots:
    """At most ``capacity`` holders at once; the others wait in arrival order.

    >>> slots = TrainingSlots(1)
    >>> slots.join("a"), slots.join("b")
    (0, 1)
    >>> slots.release("a"); slots.position("b")
    0
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(int(capacity), 1)
        self._lock = threading.Condition()
        self._holders: set[object] = set()
        self._queue: deque[object] = deque()

    def join(self, ticket: object) -> int:
        """Ask for a slot. Returns the place in the queue: 0 means the slot is taken now."""
        with self._lock:
            if ticket in self._holders:
                return 0
            if ticket not in self._queue:
                self._queue.append(ticket)
            self._promote()
            return self.position(ticket)

    def position(self, ticket: object) -> int:
        """0 when ``ticket`` holds a slot, 1 when it is next in line, and so on; -1 if unknown."""
        with self._lock:
            if ticket in self._holders:
                return 0
            try:
                return self._queue.index(ticket) + 1
            except ValueError:
                return -1

    def wait(self, ticket: object, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for ``ticket``'s turn; True once it holds a slot."""
        with self._lock:
            return self._lock.wait_for(lambda: ticket in self._holders, timeout)

    def release(self, ticket: object) -> None:
        """Give the slot back, or leave the queue. Safe to call twice."""
        with self._lock:
            self._holders.discard(ticket)
            if ticket in self._queue:
                self._queue.remove(ticket)
            self._promote()

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._holders)

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._queue)

    def _promote(self) -> None:
        while self._queue and len(self._holders) < self.capacity:
            self._holders.add(self._queue.popleft())
        self._lock.notify_all()


# Shared by every visitor of this server process: the CPU is.
SLOTS = TrainingSlots(LIMITS.max_concurrent_trainings)

# How long a visitor may be away (disconnected) before their run is stopped. A reloaded tab or a
# dropped Wi-Fi connection comes back within seconds, into the same session; a closed tab never
# does, and its run would otherwise hold a training slot (and both CPU cores) to the end.
LEAVE_GRACE_SECONDS = 20.0
# How often, at most, a run asks whether its visitor is still there (once per batch is too often
# for a check that takes a lock in the web server).
PRESENCE_CHECK_SECONDS = 1.0

STATES = ("queued", "preparing", "training", "testing", "finished", "stopped", "failed")
DONE_STATES = ("finished", "stopped", "failed")


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of a run's progress, safe to read while the thread goes on."""

    state: str  # one of STATES
    queue_position: int  # while queued: 1 = next in line
    history: History
    latest: BatchProgress | None
    error: str | None
    elapsed_seconds: float

    @property
    def done(self) -> bool:
        return self.state in DONE_STATES


class BackgroundTraining:
    """One training run on its own thread. Start it, poll :meth:`snapshot`, read :attr:`result`.

    Attributes for the pages (the Draw page reads finished runs through ``ui.state``):

    - ``number``: 1, 2, … within the visitor's session; ``title``: the architecture's name.
    - ``label``: e.g. "Run 2 · Tutorial CNN · 98.9 %" once tested.
    - ``spec``, ``config``, ``dataset_name``, ``class_names``.
    - ``model``: the trained ``keras.Model`` once finished or stopped (None before, or on
      failure). It takes float32 images scaled to 0–1, shape (n, height, width, channels).

    ``visitor_present``, when given, is called from the training thread (at most once a second)
    and must be thread-safe: False for ``leave_grace`` seconds in a row stops the run (see
    :data:`LEAVE_GRACE_SECONDS`), and :attr:`abandoned` then says why it stopped.
    """

    _ids = itertools.count(1)

    def __init__(
        self,
        spec: Spec,
        dataset: Dataset,
        config: TrainingConfig,
        *,
        number: int = 1,
        title: str = "Custom network",
        slots: TrainingSlots = SLOTS,
        visitor_present: Callable[[], bool] | None = None,
        leave_grace: float = LEAVE_GRACE_SECONDS,
    ) -> None:
        self.id = next(self._ids)  # unique in the process: the slot ticket
        self.spec = spec
        self.dataset = dataset
        self.config = config
        self.number = number
        self.title = title
        self.params = ledger(spec).total_params  # counted once, for tables and labels
        self.dataset_name = dataset.name
        self.class_names = dataset.class_names
        # uint8 (n, h, w, c), for pictures of the results: a reference to the (read-only) data
        # set's array, not a copy; it outlives the data set, which may be a visitor's zip.
        self.test_images = dataset.x_test
        self.slots = slots
        self.result: TrainingResult | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._state = "queued"
        self._history = History()
        self._latest: BatchProgress | None = None
        self._error: str | None = None
        self._started = time.monotonic()
        self._ended: float | None = None
        self._visitor_present = visitor_present
        self._leave_grace = leave_grace
        self._next_presence_check = 0.0
        self._away_since: float | None = None
        self.abandoned = False  # True once the run was stopped because its visitor left
        self._thread = threading.Thread(
            target=self._run, name=f"cnn-lab-training-{self.id}", daemon=True
        )

    # ----- control -----

    def start(self) -> BackgroundTraining:
        # Import TensorFlow here, before the thread exists: modules half-imported by one thread
        # while another looks them up (plotly checks sys.modules for pandas) break the other.
        import keras  # noqa: F401

        self.slots.join(self.id)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the run to end after the current batch; it keeps (and tests) its weights. A run
        still queued leaves the queue at once."""
        self._stop.set()
        if self.state == "queued":
            self.slots.release(self.id)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # ----- reading -----

    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    @property
    def done(self) -> bool:
        return self.state in DONE_STATES

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def model(self) -> keras.Model | None:
        return self.result.model if self.result is not None else None

    @property
    def label(self) -> str:
        text = f"Run {self.number} · {self.title}"
        if self.result is not None:
            text += f" · {self.result.test_accuracy:.1%}".replace("%", " %")
            if self.result.stopped:
                text += " (stopped)"
        return text

    def snapshot(self) -> Snapshot:
        with self._lock:
            end = self._ended if self._ended is not None else time.monotonic()
            return Snapshot(
                state=self._state,
                queue_position=self.slots.position(self.id) if self._state == "queued" else 0,
                history=self._history.copy(),
                latest=self._latest,
                error=self._error,
                elapsed_seconds=end - self._started,
            )

    # ----- the thread -----

    def _set_state(self, state: str) -> None:
        with self._lock:
            self._state = state

    def _check_visitor(self) -> None:
        """Stop the run once its visitor has been away for the grace period (thread side)."""
        now = time.monotonic()
        if self._visitor_present is None or now < self._next_presence_check:
            return
        self._next_presence_check = now + PRESENCE_CHECK_SECONDS
        try:
            present = bool(self._visitor_present())
        except Exception:  # a failing check must not kill the run: count the visitor as present
            present = True
        if present:
            self._away_since = None
            return
        if self._away_since is None:
            self._away_since = now
        if now - self._away_since >= self._leave_grace and not self._stop.is_set():
            self.abandoned = True
            self._stop.set()

    def _on_progress(self, event: Progress) -> None:
        self._check_visitor()
        with self._lock:
            self._history.add(event)
            if isinstance(event, BatchProgress):
                self._latest = event

    def _run(self) -> None:
        try:
            while not self.slots.wait(self.id, timeout=0.5):
                self._check_visitor()
                if self._stop.is_set():
                    self._finish("stopped", error=self._why_stopped("while waiting for a slot"))
                    return
            if self._stop.is_set():
                self._finish("stopped", error=self._why_stopped("before training began"))
                return
            self.result = train(
                self.spec,
                self.dataset,
                self.config,
                on_progress=self._on_progress,
                stop=self._stop,
                on_phase=self._set_state,
            )
            self._finish("stopped" if self.result.stopped else "finished")
        except (TrainingError, DataError) as err:
            self._finish("failed", error=str(err))
        except Exception as err:  # a thread must not die silently: the page shows what happened
            detail = "".join(traceback.format_exception_only(err)).strip()
            self._finish("failed", error=f"Training failed unexpectedly: {detail}")
        finally:
            self.slots.release(self.id)
            self.dataset = None  # type: ignore[assignment]  # the run needs it no more

    def _why_stopped(self, when: str) -> str:
        who = "its visitor left" if self.abandoned else "you asked"
        return f"Stopped {when}, because {who}."

    def _finish(self, state: str, error: str | None = None) -> None:
        with self._lock:
            self._state = state
            self._error = error
            self._ended = time.monotonic()
