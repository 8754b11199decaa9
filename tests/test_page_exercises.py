"""The Exercises page under Streamlit's AppTest: the sheet from the URL, answers checked at once,
the running score, bad links, and the training challenge over this session's runs."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnn_core.exercises import DEFAULT_SEED, DEFAULT_SET, make_sheet
from cnn_core.presets import get_preset
from cnn_core.spec import Spec
from tests.conftest import APP_TIMEOUT, shown

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGE = "pages/exercises.py"  # run through app.py, so that links to the other lessons resolve


def exercises_app() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    app.switch_page(PAGE)
    return app


def open_page(**query: str) -> AppTest:
    app = exercises_app()
    for name, value in query.items():
        app.query_params[name] = value
    app.run()
    assert not app.exception, app.exception
    return app


def answer_box(app: AppTest, number: int):
    return app.text_input(key=f"exercises_answer_{number}")


def score(app: AppTest) -> str:
    return app.metric[0].value


def questions(app: AppTest) -> list[str]:
    return [shown(m.value) for m in app.markdown if m.value.startswith("##### ")]


def test_default_sheet_renders_with_an_empty_score_and_a_shareable_url():
    app = open_page()
    sheet = make_sheet(DEFAULT_SEED, DEFAULT_SET)
    assert questions(app) == [f"##### {e.number}. {e.title}" for e in sheet.exercises]
    assert score(app) == f"0 / {len(sheet.exercises)}"
    assert not app.error and not app.warning
    assert app.query_params["seed"] == str(DEFAULT_SEED)
    assert app.query_params["set"] == DEFAULT_SET


def test_the_url_fixes_the_sheet_for_a_whole_class():
    app = open_page(seed="42", set="shapes")
    sheet = make_sheet(42, "shapes")
    assert app.number_input(key="exercises_seed").value == 42
    assert app.selectbox(key="exercises_set").value == "shapes"
    texts = [shown(m.value) for m in app.markdown]
    for exercise in sheet.exercises:
        assert exercise.question in texts
    assert score(app) == "0 / 8"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"seed": "banana", "set": "params"}, "The seed must be a whole number"),
        ({"seed": "7", "set": "everything"}, "There is no exercise set called 'everything'"),
        ({"seed": "99999999999"}, "The seed must be a whole number"),
    ],
)
def test_a_bad_seed_or_set_gives_a_message_and_the_defaults(query, message):
    app = open_page(**query)
    assert len(app.warning) == 1
    assert message in shown(app.warning[0].value)
    assert "Showing the default sheet instead." in shown(app.warning[0].value)
    # The good half of the link still applies; the bad half falls back to its default.
    expected_set = query["set"] if query.get("set") in ("params",) else DEFAULT_SET
    expected_seed = int(query["seed"]) if query.get("seed") == "7" else DEFAULT_SEED
    assert app.selectbox(key="exercises_set").value == expected_set
    assert app.number_input(key="exercises_seed").value == expected_seed
    # The message is shown once, not on every rerun.
    app.run()
    assert not app.warning


def test_answers_are_checked_at_once_and_the_score_counts_first_tries():
    app = open_page(seed="3", set="params")
    sheet = make_sheet(3, "params")
    first, second, third = sheet.exercises[:3]

    answer_box(app, 1).input(first.answer_text).run()
    assert [shown(s.value) for s in app.success] == [f"Correct: {first.answer_text}."]
    assert score(app) == "1 / 8"

    answer_box(app, 2).input("123456789").run()
    assert len(app.error) == 1 and shown(app.error[0].value).startswith("Not quite")
    assert score(app) == "1 / 8"
    # The worked solution, with the numbers, opens after an answer.
    working = " ".join(m.value for m in app.markdown)
    assert f"**Answer:** {second.answer_text}" in working

    # Corrected: shown as correct, but the score counts first tries only.
    answer_box(app, 2).input(second.answer_text.replace(",", "")).run()
    assert len(app.success) == 2 and not app.error
    assert score(app) == "1 / 8"
    progress = app.get("progress")[0].proto.text
    assert "right now: 2 of 8 (after corrections) · right at the first try: 1 of 8" in progress
    assert app.metric[0].label == "Right at the first try"  # the metric says what it counts

    # Unreadable input is not counted: it says how to write the answer.
    answer_box(app, 3).input("a lot").run()
    assert len(app.warning) == 1 and "I could not read 'a lot'" in shown(app.warning[0].value)
    assert "2 of 8 answered" in app.get("progress")[0].proto.text
    answer_box(app, 3).input(third.answer_text).run()
    assert score(app) == "2 / 8"


def test_a_full_width_answer_is_read():
    """What a Chinese keyboard types: full-width digits and a full-width comma."""
    app = open_page(seed="3", set="params")
    first = make_sheet(3, "params").exercises[0]
    typed = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in first.answer_text)
    answer_box(app, 1).input(typed).run()
    assert [shown(s.value) for s in app.success] == [f"Correct: {first.answer_text}."]


def test_a_choice_question_is_answered_with_a_radio():
    for seed in range(50):
        sheet = make_sheet(seed, "shapes")
        choice = next((e for e in sheet.exercises if e.answer_format == "choice"), None)
        if choice is not None:
            break
    app = open_page(seed=str(seed), set="shapes")
    radio = app.radio(key=f"exercises_answer_{choice.number}")
    assert list(radio.options) == list(choice.choices)
    wrong = next(c for c in choice.choices if c != choice.answer)
    radio.set_value(wrong).run()
    assert len(app.error) == 1
    app.radio(key=f"exercises_answer_{choice.number}").set_value(choice.answer).run()
    assert [shown(s.value) for s in app.success] == [f"Correct: {choice.answer}."]


def test_a_new_seed_or_set_starts_an_empty_sheet():
    app = open_page(seed="5", set="conv")
    sheet = make_sheet(5, "conv")
    answer_box(app, 1).input(sheet.exercises[0].answer_text).run()
    assert score(app) == "1 / 6"
    app.number_input(key="exercises_seed").set_value(6).run()
    assert score(app) == "0 / 6"
    assert answer_box(app, 1).value == ""
    assert app.query_params["seed"] == "6"
    app.selectbox(key="exercises_set").select("mixed").run()
    assert score(app) == "0 / 10"
    assert app.query_params["set"] == "mixed"
    app.button(key="exercises_new").click().run()
    assert app.number_input(key="exercises_seed").value != 6  # a fresh random sheet
    assert score(app) == "0 / 10"


def test_the_instructor_box_gives_the_link_command_and_answer_sheet():
    app = open_page(seed="11", set="conv")
    code = [c.value for c in app.code]
    assert any(c.endswith("?seed=11&set=conv") for c in code)
    assert "python -m cnn_core exercises --seed 11 --set conv" in code


# --------------------------------------------------------------------------------------------
# The training challenge, over runs shaped as ui.state.trained_runs() documents them
# --------------------------------------------------------------------------------------------


@dataclass
class FakeEpoch:
    val_accuracy: float | None


@dataclass
class FakeHistory:
    epochs: list[FakeEpoch]


@dataclass
class FakeResult:
    history: FakeHistory


@dataclass
class FakeModel:
    params: int

    def count_params(self) -> int:
        return self.params


@dataclass
class FakeRun:
    """What ui.state keeps per run: only the attributes the Exercises page reads."""

    label: str
    spec: Spec
    model: FakeModel
    dataset_name: str
    result: FakeResult
    done: bool = True
    number: int = 1
    class_names: tuple[str, ...] = field(default_factory=lambda: tuple("0123456789"))


def run_with(label: str, params: int, accuracies: list[float | None], dataset: str = "MNIST"):
    history = FakeHistory([FakeEpoch(a) for a in accuracies])
    return FakeRun(label, get_preset("tiny").spec, FakeModel(params), dataset, FakeResult(history))


def test_challenge_without_runs_says_how_to_do_it():
    app = open_page()
    info = " ".join(i.value for i in app.info)
    assert "No trained model in this session yet" in info
    assert "Train page" in info


def test_challenge_judges_each_run_of_this_session():
    app = exercises_app()
    app.session_state["train_runs"] = [
        run_with("Run 1 · Tiny", 5_000, [0.975, 0.982, 0.987]),
        run_with("Run 2 · Tutorial CNN", 110_474, [0.98, 0.99]),
        run_with("Run 3 · Tiny", 5_000, [0.99], dataset="Fashion-MNIST"),
    ]
    app.run()
    assert not app.exception, app.exception
    text = " ".join(m.value for m in app.markdown)
    # Newest first, as trained_runs() returns them.
    assert text.index("Run 3 · Tiny") < text.index("Run 2 · Tutorial CNN") < text.index("Run 1")
    assert "**Run 1 · Tiny** — Challenge met" in text
    assert "**Run 2 · Tutorial CNN** — Not yet" in text
    failed = ":red[:material/cancel:]"
    assert f"{failed} **Size:** 110,474 parameters (needs fewer than 20,000)" in text
    assert f"{failed} **Data:** trained on Fashion-MNIST (needs MNIST)" in text
    assert ":green[:material/check_circle:] **Speed:** 3 epochs (needs 3 at most)" in text
    assert [shown(s.value) for s in app.success] == ["You met the challenge with this run."]

    # The harder challenge: 99 % within 5 epochs; run 1 (98.7 %) no longer passes.
    app.radio(key="exercises_challenge").set_value("ninety_nine").run()
    text = " ".join(m.value for m in app.markdown)
    assert "**Run 1 · Tiny** — Not yet" in text
    assert not app.success


def test_page_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({APP!r}, default_timeout=60)\n"
        f"at.switch_page({PAGE!r})\n"
        "at.run()\n"
        "assert not at.exception, at.exception\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_share_link_opened_here_restores_the_design_or_explains():
    from cnn_core.share import QUERY_KEY, encode

    spec = get_preset("lenet5").spec
    app = open_page(**{QUERY_KEY: encode(spec, {})})
    assert not app.warning
    assert Spec.from_dict(app.session_state["spec"]) == spec

    app = open_page(**{QUERY_KEY: "1.this-is-not-a-link"})
    assert len(app.warning) == 1
    assert shown(app.warning[0].value).startswith("This share link ")
    assert questions(app)  # the sheet is still there


def test_on_the_hosted_profile_the_challenge_says_the_data_is_limited(monkeypatch):
    from cnn_core import config

    monkeypatch.setattr(config, "LIMITS", config.PROFILES["hosted"])
    app = open_page()
    warnings = [shown(w.value) for w in app.warning]
    assert any("at most 20,000 images" in w for w in warnings)
    monkeypatch.setattr(config, "LIMITS", config.PROFILES["local"])
    assert not open_page().warning
