"""Per-visitor state shared by the pages. Everything here lives in ``st.session_state``, which
belongs to one browser session: one visitor's design or model never reaches another."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import streamlit as st

from cnn_core.config import LIMITS
from cnn_core.presets import FIRST_PRESET, get_preset
from cnn_core.spec import Spec

if TYPE_CHECKING:
    from cnn_core.data import Dataset
    from cnn_core.runner import BackgroundTraining
    from cnn_core.training import TrainingConfig

# The architecture every page reads and writes (Shapes, Train, Draw, share links), stored as its
# JSON dict so that a code reload during development never leaves a stale class in the session.
SPEC_KEY = "spec"
# How many times the design has been set in this session. Widgets that show the design derive
# their keys from it (``shapes_layer_{index}_{revision}_filters``): the browser keeps a widget's
# value for as long as its key lives, so a new design must get new keys, never reused old ones.
REVISION_KEY = "spec_revision"
# Where the design came from ("link", "preset:lenet5", "json", …) and the design as it came,
# so that a page can say "from a share link" and tell whether it has been changed since.
ORIGIN_KEY = "spec_origin"


def get_spec() -> Spec:
    """This visitor's current design; the first tutorial preset until they change it."""
    data = st.session_state.get(SPEC_KEY)
    if data is None:
        return get_preset(FIRST_PRESET).spec
    return Spec.from_dict(data)


def set_spec(spec: Spec, *, origin: str | None = None) -> None:
    """Make ``spec`` this visitor's design (a new revision of it).

    ``origin`` says where a whole new design came from: ``"link"``, ``"preset:<name>"``,
    ``"json"``, … Without it the design counts as an edit of the one before, whose origin stays.
    """
    st.session_state[SPEC_KEY] = spec.to_dict()
    st.session_state[REVISION_KEY] = spec_revision() + 1
    if origin is not None:
        st.session_state[ORIGIN_KEY] = {"origin": origin, "spec": spec.to_dict()}


def spec_revision() -> int:
    """A number that changes whenever the design is set (0 before the first time)."""
    revision = st.session_state.get(REVISION_KEY, 0)
    return revision if isinstance(revision, int) else 0


def spec_origin() -> tuple[str | None, bool]:
    """Where the design came from (``set_spec``'s ``origin``; None: the first preset, as every
    visit starts), and whether it differs from the design as it came."""
    record = st.session_state.get(ORIGIN_KEY)
    if record is None:
        return None, get_spec() != get_preset(FIRST_PRESET).spec
    return record["origin"], get_spec().to_dict() != record["spec"]


def design_snapshot() -> dict:
    """The design and its origin, to put back later with :func:`restore_design` (Undo)."""
    return {"spec": get_spec().to_dict(), "origin": st.session_state.get(ORIGIN_KEY)}


def restore_design(snapshot: dict) -> None:
    """Make a :func:`design_snapshot` the design again (a new revision, with its old origin)."""
    set_spec(Spec.from_dict(snapshot["spec"]))
    if snapshot["origin"] is None:
        st.session_state.pop(ORIGIN_KEY, None)
    else:
        st.session_state[ORIGIN_KEY] = snapshot["origin"]


# --------------------------------------------------------------------------------------------
# Trained models (Train page → Draw page)
# --------------------------------------------------------------------------------------------

# This visitor's training runs, oldest first: cnn_core.runner.BackgroundTraining objects. They
# live only in this session, never in a cache shared by all visitors.
RUNS_KEY = "train_runs"


def all_runs() -> list[BackgroundTraining]:
    """Every run of this session that is still kept, newest first, whatever its state."""
    return list(reversed(st.session_state.get(RUNS_KEY, [])))


def trained_runs() -> list[BackgroundTraining]:
    """This visitor's finished or stopped runs that have a trained model, newest first.

    Each run has:

    - ``.label`` (str): e.g. "Run 2 · Tutorial CNN · 98.9 %" ("(stopped)" appended if stopped);
    - ``.model``: the trained ``keras.Model``. It takes float32 images scaled to 0–1, shape
      (n, height, width, channels), i.e. ``cnn_core.data.to_model_input(uint8_images)``, and
      returns softmax probabilities (n, classes);
    - ``.spec`` (cnn_core.spec.Spec): the architecture it was built from;
    - ``.class_names`` (tuple of str, e.g. "0"…"9" for MNIST), ``.dataset_name`` (e.g. "MNIST"),
      ``.number`` (1, 2, … in this session), ``.result`` (cnn_core.training.TrainingResult:
      test accuracy, history, confusion matrix, …).
    """
    return [run for run in all_runs() if run.done and run.model is not None]


def active_run() -> BackgroundTraining | None:
    """The run of this session that is queued or training, if any (one at a time per visitor)."""
    return next((run for run in all_runs() if not run.done), None)


def start_run(
    spec: Spec, dataset: Dataset, config: TrainingConfig, title: str
) -> BackgroundTraining:
    """Start training in the background and keep the run in this session.

    Only the newest ``LIMITS.max_runs_kept`` finished runs are kept; older ones are forgotten
    (their memory freed) to make room.
    """
    from cnn_core.runner import BackgroundTraining  # imports TensorFlow lazily, when training

    runs: list[BackgroundTraining] = st.session_state.setdefault(RUNS_KEY, [])
    number = max((run.number for run in runs), default=0) + 1
    run = BackgroundTraining(
        spec, dataset, config, number=number, title=title, visitor_present=_presence_check()
    ).start()
    runs.append(run)
    while len(runs) > LIMITS.max_runs_kept:
        oldest = next((r for r in runs if r.done), None)
        if oldest is None:
            break
        runs.remove(oldest)
    return run


def _presence_check() -> Callable[[], bool] | None:
    """A thread-safe "is this visitor still connected?" for the training thread, so that a
    visitor who closes the tab frees their training slot (cnn_core.runner). None outside a
    served app (AppTest, bare scripts): there nobody can leave."""
    from streamlit import runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return None
    server, session_id = runtime.get_instance(), ctx.session_id
    return lambda: server.is_active_session(session_id)


def forget_run(run: BackgroundTraining) -> None:
    """Drop a run from this session (stopping it first if it is still going)."""
    run.stop()
    runs: list[BackgroundTraining] = st.session_state.get(RUNS_KEY, [])
    if run in runs:
        runs.remove(run)
