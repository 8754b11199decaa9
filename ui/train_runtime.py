"""Keep Streamlit's between-runs clean-up from starving background training.

After every script run, including every fragment rerun, Streamlit's ScriptRunner calls
``keras.backend.clear_session()`` whenever Keras is imported
(``streamlit.runtime.scriptrunner.script_runner._clean_problem_modules``). That clears
TensorFlow's kernel cache for the whole process and runs a full garbage collection. With the
Train page redrawing its live chart twice a second, it ran twice a second under every visitor's
training thread: measured here, a tiny 2-epoch run took minutes instead of seconds, and it is
exactly the "clear_session while another session's model is training" the training design must
avoid. :func:`keep_keras_state` swaps that hook for one that does the same minus Keras (the
matplotlib clean-up stays). CNN Lab never needs the reset: each run builds its own model and
frees it when the last reference goes (see cnn_core.training).

The same hook then runs a full ``gc.collect(2)`` (config option ``runner.postScriptGC``). With
TensorFlow loaded the heap holds millions of objects, so each collection holds the GIL for a
good fraction of a second; twice a second, it left the training thread about one batch per
second (profiled with py-spy: two thirds of the server's samples in that collection). Python's
own generational collector still runs as usual, so :func:`keep_keras_state` turns the forced
one off too.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

_MARK = "_cnn_lab_keeps_keras"


def _clean_problem_modules_except_keras() -> None:
    """Streamlit's own clean-up between script runs, without ``keras.backend.clear_session``."""
    if "matplotlib.pyplot" in sys.modules:
        plt: Any = sys.modules["matplotlib.pyplot"]
        # as Streamlit does: a failed clean-up must not break the app
        with contextlib.suppress(Exception):
            plt.close("all")


setattr(_clean_problem_modules_except_keras, _MARK, True)


def keep_keras_state() -> bool:
    """Install the Keras-preserving clean-up and turn off the forced full collection (once per
    process). Returns False when this Streamlit version has no such hook to replace."""
    from streamlit import config
    from streamlit.runtime.scriptrunner import script_runner

    config.set_option("runner.postScriptGC", False)
    current = getattr(script_runner, "_clean_problem_modules", None)
    if current is None:
        return False
    if not getattr(current, _MARK, False):
        script_runner._clean_problem_modules = _clean_problem_modules_except_keras
    return True
