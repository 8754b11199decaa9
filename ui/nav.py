"""The pages of the app, in learning order. app.py registers them; the Home page links them.

An instructor can hide lessons (``[hidden] pages`` in the settings file, by file stem): app.py
and the pages use :func:`lessons`, the ones this server shows. ``LESSONS`` lists them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from cnn_core import config


@dataclass(frozen=True)
class Lesson:
    path: str  # the page file, relative to app.py
    title: str
    icon: str  # a Material icon, shown in the sidebar and on the Home page
    blurb: str  # one sentence on the Home page: what the learner does there

    @property
    def name(self) -> str:
        """The page's name in settings files and addresses: its file stem, e.g. "train"."""
        return Path(self.path).stem


HOME = Lesson("pages/home.py", "Home", ":material/home:", "What a CNN is, in one screen.")

# The learning path: Convolution → Shapes → Train → Draw → Exercises.
LESSONS: list[Lesson] = [
    Lesson(
        "pages/convolution.py",
        "Convolution, step by step",
        ":material/grid_on:",
        "Slide a filter over a grid of numbers one multiply-add at a time, compute a cell "
        "yourself, then follow it through ReLU, pooling and flatten, and onto a real digit.",
    ),
    Lesson(
        "pages/shapes.py",
        "Shapes & parameters",
        ":material/account_tree:",
        "Design a network layer by layer and see every output shape, parameter count and "
        "multiply-add with its formula, checked against Keras.",
    ),
    Lesson(
        "pages/train.py",
        "Train",
        ":material/model_training:",
        "Train a CNN on real handwritten digits on your own CPU, watch the loss fall live, then "
        "study its mistakes, its learned filters and its feature maps.",
    ),
    Lesson(
        "pages/draw.py",
        "Draw & classify",
        ":material/draw:",
        "Draw a digit, watch it become a 28×28 MNIST-style input, and follow it through a "
        "trained CNN layer by layer, down to the probabilities.",
    ),
    Lesson(
        "pages/exercises.py",
        "Exercises",
        ":material/quiz:",
        "Check yourself: seeded, auto-checked questions on shapes, parameters and convolution "
        "by hand, with worked solutions, and a training challenge.",
    ),
]


def hidden_lessons() -> list[Lesson]:
    """The lessons the instructor hid (``[hidden] pages``), in learning order."""
    hidden = config.SETTINGS.hidden_pages
    return [lesson for lesson in LESSONS if lesson.name in hidden]


HIDDEN_NOTICE = "This page is hidden by your instructor."


def hidden_page(lesson: Lesson) -> Callable[[], None]:
    """What a hidden lesson's address shows instead of the lesson (app.py registers it, out of
    the navigation): a saved link or a sheet link then says why, rather than "Page not found"."""

    def show() -> None:
        st.title(lesson.title)
        st.info(HIDDEN_NOTICE, icon=":material/visibility_off:")
        st.page_link(HOME.path, label="Go to the Home page", icon=HOME.icon)

    show.__name__ = f"hidden_{lesson.name}"
    return show


def lessons() -> list[Lesson]:
    """The lessons this server shows, in learning order: all but the ones the instructor hid.
    Reads ``cnn_core.config.SETTINGS`` when called (tests swap it)."""
    hidden = config.SETTINGS.hidden_pages
    return [lesson for lesson in LESSONS if lesson.name not in hidden]
