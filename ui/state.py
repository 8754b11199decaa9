"""Per-visitor state shared by the pages. Everything here lives in ``st.session_state``, which
belongs to one browser session: one visitor's design or model never reaches another."""

from __future__ import annotations

import streamlit as st

from cnn_core.presets import FIRST_PRESET, get_preset
from cnn_core.spec import Spec

# The architecture every page reads and writes (Shapes, Train, Draw, share links), stored as its
# JSON dict so that a code reload during development never leaves a stale class in the session.
SPEC_KEY = "spec"


def get_spec() -> Spec:
    """This visitor's current design; the first tutorial preset until they change it."""
    data = st.session_state.get(SPEC_KEY)
    if data is None:
        return get_preset(FIRST_PRESET).spec
    return Spec.from_dict(data)


def set_spec(spec: Spec) -> None:
    st.session_state[SPEC_KEY] = spec.to_dict()
