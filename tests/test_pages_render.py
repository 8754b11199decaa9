"""Every page renders with its default inputs: no exception, no error, its title and the element
that makes it that page; under the local profile and under the hosted one the public demo runs.

The pages run in a fresh Python process per profile (``CNN_LAB_PROFILE`` is read once, at
import), each opened through app.py as a visitor opens it, and the pages that need no model first:
the same process then tells whether one of them imported TensorFlow, which would make a visitor
wait 3–4 s for nothing. The process reports what it saw as JSON (:func:`render_all`); the tests
read that report. Run ``python -m tests.test_pages_render`` to print it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from cnn_core.config import PROFILES
from tests.conftest import APP_TIMEOUT
from tests.shapes_page import ledger_row, ledger_total

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
LIGHT_PAGES = ("home", "convolution", "shapes", "exercises")  # no model, so no TensorFlow
HEAVY_PAGES = ("train", "draw")  # may import it (Draw loads the bundled model at once)
HEAVY_MODULES = ("tensorflow", "keras")


# --------------------------------------------------------------------------------------------
# What each page shows (run inside the rendering process; JSON-ready)
# --------------------------------------------------------------------------------------------


def _texts(at: AppTest) -> list[str]:
    kinds = ("markdown", "caption", "info", "success", "warning")
    return [str(element.value) for kind in kinds for element in at.get(kind)]


def _home(at: AppTest) -> dict[str, Any]:
    return {
        "links": [element.proto.page for element in at.get("page_link")],
        "charts": len(at.get("plotly_chart")),
        "texts": _texts(at),
    }


def _convolution(at: AppTest) -> dict[str, Any]:
    return {
        "first_sum": next(
            (m.value for m in at.markdown if m.value.startswith("**row 1, column 1:**")), None
        ),
        "images": len(at.get("image")),
        "texts": _texts(at),
    }


def _shapes(at: AppTest) -> dict[str, Any]:
    return {
        "total": ledger_total(at)["Parameters"],
        "first_shape": ledger_row(at, 1)["Output shape"],
        "metrics": {m.label: m.value for m in at.metric},
    }


def _train(at: AppTest) -> dict[str, Any]:
    samples, epochs = at.number_input(key="train_samples"), at.number_input(key="train_epochs")
    return {
        "dataset": at.selectbox(key="train_dataset").value,
        "arch": at.selectbox(key="train_arch").value,
        "samples": [samples.value, samples.max],
        "epochs": [epochs.value, epochs.max],
        "can_train": not at.button(key="train_start").disabled,
        "metrics": {m.label: m.value for m in at.metric},
        "texts": _texts(at),
    }


def _draw(at: AppTest) -> dict[str, Any]:
    return {
        "sources": list(at.radio(key="draw_model_source").options),
        "source": at.radio(key="draw_model_source").value,
        "pen": at.slider(key="draw_pen_width").value,
        "uploaders": [w.key for w in at.get("file_uploader")],
        "texts": _texts(at),
    }


def _exercises(at: AppTest) -> dict[str, Any]:
    answers = [
        w.key
        for kind in ("text_input", "radio")
        for w in at.get(kind)
        if str(w.key).startswith("exercises_answer_")
    ]
    return {
        "seed": at.number_input(key="exercises_seed").value,
        "set": at.selectbox(key="exercises_set").value,
        "answers": answers,
        "tabs": [tab.label for tab in at.tabs],
        "texts": _texts(at),
    }


PAGES = {
    "home": ("pages/home.py", "CNN Lab", _home),
    "convolution": ("pages/convolution.py", "Convolution, step by step", _convolution),
    "shapes": ("pages/shapes.py", "Shapes & parameters", _shapes),
    "exercises": ("pages/exercises.py", "Exercises", _exercises),
    "train": ("pages/train.py", "Train a CNN", _train),
    "draw": ("pages/draw.py", "Draw & classify", _draw),
}
assert tuple(PAGES) == LIGHT_PAGES + HEAVY_PAGES  # the light pages run first


def render(page: str | None, facts) -> dict[str, Any]:
    """Open the app on ``page`` (None: as a visitor lands) with every input at its default."""
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    if page is not None:
        at.switch_page(page)
    at.run()
    report: dict[str, Any] = {
        "exceptions": [str(e.value) for e in at.exception],
        "errors": [str(e.value) for e in at.error],
        "titles": [t.value for t in at.title],
        "heavy": sorted(m for m in HEAVY_MODULES if m in sys.modules),
    }
    if not at.exception:
        report["facts"] = facts(at)
    return report


def render_all() -> dict[str, Any]:
    """Every page of this process's profile, the light pages first: name → report. A page that
    crashes the test harness itself is reported as such, and the others still run."""
    from cnn_core.config import PROFILE

    # As a visitor lands: on the default page, Home.
    reports: dict[str, Any] = {"profile": PROFILE, "landing": render(None, _home)}
    for name, (page, _, facts) in PAGES.items():
        try:
            reports[name] = render(page, facts)
        except Exception as err:  # a timeout or a harness error: report it, go on
            reports[name] = {"exceptions": [f"{type(err).__name__}: {err}"], "errors": []}
    return reports


# --------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=sorted(PROFILES))
def rendered(request) -> dict[str, Any]:
    """The report of one profile's rendering process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CNN_LAB_")}
    env["CNN_LAB_PROFILE"] = request.param  # and no instructor's settings file
    done = subprocess.run(
        [sys.executable, "-m", "tests.test_pages_render"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    reports = json.loads(done.stdout.strip().splitlines()[-1])
    assert reports["profile"] == request.param
    return reports


@pytest.fixture
def limits(rendered):
    return PROFILES[rendered["profile"]]


def rendered_page(rendered: dict[str, Any], name: str) -> dict[str, Any]:
    """One page's report, after the checks every page must pass."""
    report = rendered[name]
    assert report["exceptions"] == [], report["exceptions"]
    assert report["errors"] == [], report["errors"]
    assert report["titles"][:1] == [PAGES[name][1]]
    return report["facts"]


def test_the_app_lands_on_home(rendered):
    landing = rendered["landing"]
    assert landing["exceptions"] == [] and landing["errors"] == []
    assert landing["titles"] == ["CNN Lab"]
    assert landing["facts"] == rendered["home"]["facts"]  # the very page Home is


@pytest.mark.parametrize("name", LIGHT_PAGES)
def test_pages_without_a_model_never_import_tensorflow(rendered, name):
    assert rendered[name]["heavy"] == [], f"{name} imported {rendered[name]['heavy']}"


def test_home_renders(rendered):
    facts = rendered_page(rendered, "home")
    assert facts["links"] == ["convolution", "shapes", "train", "draw", "exercises"]
    assert facts["charts"] == 1  # "A CNN in one picture"
    assert any("2,352" in t and "120,000" in t for t in facts["texts"])


def test_convolution_renders(rendered):
    facts = rendered_page(rendered, "convolution")
    assert facts["first_sum"].endswith("+ 5·(−1) = −7")  # the tutorial's first cell
    assert facts["images"] == 1 + 3 * 4  # the digit, then 4 filters × (map, ReLU, pooled)
    assert any(t.startswith("This one is a 7") for t in facts["texts"])


def test_shapes_renders(rendered):
    facts = rendered_page(rendered, "shapes")
    assert facts["total"] == "110,474" and facts["first_shape"] == "26×26×32"
    assert facts["metrics"]["Parameters"] == "110,474"


def test_train_renders(rendered, limits):
    from cnn_core.presets import DEFAULT_PRESET, get_preset
    from cnn_core.shapes import fmt, ledger

    facts = rendered_page(rendered, "train")
    assert (facts["dataset"], facts["arch"]) == ("mnist", DEFAULT_PRESET)
    samples = min(60_000, limits.max_train_samples)
    assert facts["samples"] == [samples, samples]  # the profile's limit, not a fixed number
    assert facts["epochs"][1] == limits.max_epochs and facts["epochs"][0] <= limits.max_epochs
    assert facts["metrics"]["Parameters to learn"] == fmt(
        ledger(get_preset(DEFAULT_PRESET).spec).total_params
    )
    assert facts["can_train"]
    assert any("No trained network yet" in t for t in facts["texts"])


def test_draw_renders(rendered):
    facts = rendered_page(rendered, "draw")
    assert facts["source"] == "Pretrained (bundled)" and len(facts["sources"]) == 3
    assert any("Bundled digits model" in t and "198,250 parameters" in t for t in facts["texts"])
    assert any(t.startswith("Draw a digit on the black square") for t in facts["texts"])
    assert facts["pen"] == 22
    assert facts["uploaders"] == ["draw_image_file"]  # "Classify an image file"


def test_exercises_renders(rendered, limits):
    from cnn_core.exercises import DEFAULT_SEED, DEFAULT_SET, make_sheet

    facts = rendered_page(rendered, "exercises")
    assert (facts["seed"], facts["set"]) == (DEFAULT_SEED, DEFAULT_SET)
    sheet = make_sheet(DEFAULT_SEED, DEFAULT_SET)
    assert len(facts["answers"]) == len(sheet.exercises) > 0  # one box per question
    assert facts["tabs"] == ["Exercise sheet", "Training challenge"]
    # The hosted demo trains on fewer images than the challenge assumes, and says so.
    fewer = limits.max_train_samples < 60_000
    assert any(f"at most {limits.max_train_samples:,} images" in t for t in facts["texts"]) == fewer


if __name__ == "__main__":
    print(json.dumps(render_all()))
