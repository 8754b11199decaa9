"""The instructor's settings file (cnn_core.config) and the controls it locks or hides on the pages
(ui.controls): every mistake is one sentence naming the file and the key; locked controls are
disabled at their value and beat share links; hidden controls and pages are not drawn."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import fields
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.app_test import AppTestError

from cnn_core import config
from cnn_core.config import (
    CONFIG_ENV,
    CONTROLS,
    DATASET_NAMES,
    PAGE_NAMES,
    PROFILE_ENV,
    PROFILES,
    ConfigError,
    Settings,
    load_settings,
    settings_from_environment,
)
from cnn_core.share import QUERY_KEY, decode, encode
from tests.conftest import APP_TIMEOUT, shown

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
EXAMPLE = ROOT / "docs" / "workshop.example.toml"
TRAIN = "pages/train.py"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "workshop.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def use(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """Run the app with these settings, as if they had been read at start: the ui helpers read
    config.SETTINGS when called, and the pages read config.LIMITS on every run."""
    monkeypatch.setattr(config, "SETTINGS", settings)
    monkeypatch.setattr(config, "LIMITS", settings.limits)


# --------------------------------------------------------------------------------------------
# Reading the file
# --------------------------------------------------------------------------------------------


def test_the_shipped_workshop_example_is_valid_and_means_what_it_says():
    settings = load_settings(EXAMPLE)
    assert settings.profile == "hosted"
    assert settings.source == str(EXAMPLE)
    hosted = PROFILES["hosted"]
    assert settings.limits.max_epochs == 3
    assert settings.limits.max_concurrent_trainings == 2
    assert settings.limits.datasets == ("mnist",)
    assert settings.limits.max_filters == hosted.max_filters  # the rest from the profile
    assert settings.locked["train_epochs"] == 3
    assert settings.locked["train_val_split"] == 0.1
    assert "train_aug_flip" in settings.hidden_controls
    # The example's plan links to every lesson (docs/instructors.md, and the file's own
    # /exercises?seed=42&set=mixed): it hides none of the pages its plan uses.
    plan = (EXAMPLE.read_text() + (ROOT / "docs" / "instructors.md").read_text()).lower()
    linked = {name for name in PAGE_NAMES if f"/{name}?" in plan or f"{name} page" in plan}
    assert "exercises" in linked
    assert not settings.hidden_pages & linked, settings.hidden_pages & linked


def test_a_file_can_change_any_limit_and_types_are_what_the_widgets_take(tmp_path):
    path = write(
        tmp_path,
        """
        [limits]
        max_epochs = 7
        max_grid_padding = 0
        datasets = ["zip", "mnist", "zip"]
        [locked]
        train_learning_rate = 1        # a TOML integer, for a float widget
        train_seed = 7.0               # a whole float, for an integer widget
        train_batch_size = 64
        train_dataset = "zip"
        """,
    )
    settings = load_settings(path)
    assert settings.profile == "local"
    assert settings.limits.max_epochs == 7 and settings.limits.max_grid_padding == 0
    assert settings.limits.datasets == ("zip", "mnist")  # in the file's order, each once
    locked = dict(settings.locked)
    assert locked == {
        "train_learning_rate": 1.0,
        "train_seed": 7,
        "train_batch_size": 64,
        "train_dataset": "zip",
    }
    assert type(locked["train_learning_rate"]) is float and type(locked["train_seed"]) is int


def test_no_file_means_the_profile_alone():
    assert settings_from_environment({}) == Settings(limits=PROFILES["local"], profile="local")
    hosted = settings_from_environment({PROFILE_ENV: " Hosted ", CONFIG_ENV: "  "})
    assert hosted.limits == PROFILES["hosted"] and hosted.source is None
    assert not hosted.locked and not hosted.hidden_controls and not hosted.hidden_pages


def test_the_profile_named_outside_applies_to_the_file_unless_they_disagree(tmp_path):
    plain = write(tmp_path, "[limits]\nmax_epochs = 4\n")
    settings = settings_from_environment({PROFILE_ENV: "hosted", CONFIG_ENV: str(plain)})
    assert settings.profile == "hosted" and settings.limits.max_units == 4096
    same = write(tmp_path, 'profile = "hosted"\n')
    assert load_settings(same, "hosted").profile == "hosted"
    with pytest.raises(ConfigError) as err:
        load_settings(same, "local")
    assert str(err.value) == (
        f'{same}: profile = "hosted" disagrees with CNN_LAB_PROFILE=local; name the profile in '
        "one place only."
    )


MISTAKES = [
    ("profile = 'cloud'", 'profile is "cloud", which is not a profile; use one of: local, hosted.'),
    ("teacher = 'me'", '"teacher" is not a setting.'),
    ("lmits = {}", '"lmits" is not a setting; did you mean "limits"?'),
    ("limits = 3", "limits must be a table"),
    ("[limits]\nmax_epoch = 3", '[limits] has no limit called "max_epoch"; did you mean "max_epochs"?'),
    ("[limits]\nmax_epochs = '3'", '[limits] max_epochs must be a whole number of at least 1, not "3".'),
    ("[limits]\nmax_epochs = 0", "[limits] max_epochs must be a whole number of at least 1, not 0."),
    ("[limits]\nmax_epochs = true", "[limits] max_epochs must be a whole number of at least 1, not true."),
    ("[limits]\nmax_upload_mb = 2.5", "[limits] max_upload_mb must be a whole number"),
    ("[limits]\ndatasets = 'mnist'", '[limits] datasets must be a list of data set names such as ["mnist"]'),
    ("[limits]\ndatasets = []", "[limits] datasets must be a list of data set names"),
    ("[limits]\ndatasets = ['mnst']", '[limits] datasets has "mnst", which is not a data set; use some of: mnist,'),
    ("[locked]\ntrain_augment_flip = 'none'", '[locked] train_augment_flip is not a control CNN Lab can lock; did you mean "train_aug_flip"?'),
    ("[locked]\ntrain_epochs = 99", "[locked] train_epochs = 99 cannot be used: it must be a whole number from 1 to 50."),
    ("[limits]\nmax_epochs = 3\n[locked]\ntrain_epochs = 4", "[locked] train_epochs = 4 cannot be used: it must be a whole number from 1 to 3."),
    ("[locked]\ntrain_epochs = 2.5", "[locked] train_epochs = 2.5 cannot be used: it must be a whole number"),
    ("[locked]\ntrain_learning_rate = 'fast'", '[locked] train_learning_rate = "fast" cannot be used: it must be a number from 1e-05 to 1.'),
    ("[locked]\ntrain_learning_rate = nan", "[locked] train_learning_rate = nan cannot be used"),
    ("[locked]\ntrain_optimizer = 'Adam'", '[locked] train_optimizer = "Adam" cannot be used: it must be one of "adam", "sgd", "rmsprop".'),
    ("[locked]\ntrain_aug_rotation = true", "[locked] train_aug_rotation = true cannot be used: it must be a whole number from 0 to 45."),
    ("[limits]\nmax_batch_size = 100\n[locked]\ntrain_batch_size = 128", '[locked] train_batch_size = 128 cannot be used: it must be one of 16, 32, 64.'),
    ("[limits]\ndatasets = ['mnist']\n[locked]\ntrain_dataset = 'cifar10'", '[locked] train_dataset = "cifar10" cannot be used: it must be one of "mnist".'),
    ("locked = [1]", "locked must be a table"),
    ("[hidden]\ncontrol = ['train_seed']", '[hidden] control is not a setting; did you mean "controls"?'),
    ("[hidden]\ncontrols = 'train_seed'", '[hidden] controls must be a list of names such as ["train_dataset"].'),
    ("[hidden]\ncontrols = ['train_sed']", '[hidden] controls has "train_sed", which is not a control; did you mean "train_seed"?'),
    ("[hidden]\npages = ['exercise']", '[hidden] pages has "exercise", which is not a page; did you mean "exercises"? The pages are: convolution,'),
    ("[hidden]\npages = ['home']", '[hidden] pages has "home": the Home page cannot be hidden.'),
    ("profile = ", "is not valid TOML: invalid value (at line 1, column 11)."),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), MISTAKES)
def test_each_mistake_is_one_sentence_naming_the_file_and_the_key(tmp_path, text, message):
    path = write(tmp_path, text + "\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    said = str(err.value)
    assert said.startswith(str(path)), said
    assert message in said, said
    assert "\n" not in said and said.endswith((".", "?")), said


def test_a_file_that_is_missing_a_folder_or_not_text_is_named(tmp_path):
    for path, message in [
        (tmp_path / "nowhere.toml", f"CNN_LAB_CONFIG names {tmp_path / 'nowhere.toml'}, which does not exist."),
        (tmp_path, f"CNN_LAB_CONFIG names {tmp_path}, which is a folder, not a file."),
    ]:  # fmt: skip
        with pytest.raises(ConfigError) as err:
            load_settings(path)
        assert str(err.value) == message
    binary = tmp_path / "model.keras"
    binary.write_bytes(b"PK\x03\x04\xff\xfe")
    with pytest.raises(ConfigError, match=r"model\.keras is not a text file"):
        load_settings(binary)


def test_a_mistake_stops_the_command_line_with_status_2_and_the_sentence(tmp_path):
    path = write(tmp_path, "[locked]\ntrain_epochs = 99\n")

    def presets_with(settings_file: Path) -> subprocess.CompletedProcess:
        env = {**os.environ, CONFIG_ENV: str(settings_file), PROFILE_ENV: ""}
        return subprocess.run(
            [sys.executable, "-m", "cnn_core", "presets"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = presets_with(path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip() == (
        f"CNN Lab cannot start: {path}: [locked] train_epochs = 99 cannot be used: it must be a "
        "whole number from 1 to 50."
    )
    done = presets_with(EXAMPLE)
    assert done.returncode == 0 and "tiny" in done.stdout


def test_a_mistake_shows_its_sentence_instead_of_the_app(tmp_path):
    """Under Streamlit the settings are read when app.py first runs: the visitor (and the
    instructor checking the server) sees the sentence, not a traceback or a half-working app.
    A subprocess, because this test process has read its settings already."""
    path = write(tmp_path, "[hidden]\npages = ['home']\n")
    script = textwrap.dedent(
        f"""
        import re

        from streamlit.testing.v1 import AppTest

        shown = lambda text: re.sub(r"\\\\(.)", r"\\1", text)  # tests.conftest reads the settings

        at = AppTest.from_file({APP!r}, default_timeout=60).run()
        print(repr([shown(e.value) for e in at.error]), len(at.exception), len(at.title))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, CONFIG_ENV: str(path), PROFILE_ENV: ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    message = f'{path}: [hidden] pages has "home": the Home page cannot be hidden.'
    assert done.stdout.strip() == f"{[message]!r} 0 0", done.stderr[-2000:]
    assert f"CNN Lab cannot start: {message}" in done.stderr  # and in the server's log


# --------------------------------------------------------------------------------------------
# The registry of lockable controls matches the app
# --------------------------------------------------------------------------------------------


def test_the_names_a_file_may_use_are_the_apps_own():
    from cnn_core.augment import FLIPS
    from cnn_core.data import DATASETS
    from cnn_core.presets import PRESETS
    from cnn_core.training import OPTIMIZERS, SCHEDULES
    from ui.nav import LESSONS

    limits = config.Limits()
    assert (*DATASETS, "zip") == DATASET_NAMES
    assert tuple(lesson.name for lesson in LESSONS) == PAGE_NAMES
    assert CONTROLS["train_arch"].choices(limits) == (*PRESETS, "shapes")
    assert CONTROLS["train_optimizer"].choices(limits) == OPTIMIZERS
    assert CONTROLS["train_schedule"].choices(limits) == SCHEDULES
    assert CONTROLS["train_aug_flip"].choices(limits) == FLIPS


def test_every_lockable_control_is_a_train_page_widget_with_the_same_values():
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    at.switch_page(TRAIN).run()
    assert not at.exception
    limits = config.LIMITS
    widgets = {
        w.key: w for kind in ("selectbox", "number_input", "slider") for w in at.get(kind) if w.key
    }
    for key, control in CONTROLS.items():
        if not key.startswith("train_"):
            continue  # the sidebar's language picker: tests/test_i18n.py
        widget = widgets[key]
        if control.kind == "choice":
            labels = [widget.format_func(option) for option in control.choices(limits)]
            assert labels == widget.options, key
        else:
            assert (widget.min, widget.max) == control.bounds(limits), key
        assert control.check(widget.value, limits) == widget.value, key  # the default passes


def test_the_instructors_guide_documents_every_limit_control_and_page():
    guide = (ROOT / "docs" / "instructors.md").read_text(encoding="utf-8")
    names = [f.name for f in fields(config.Limits)] + list(CONTROLS) + list(PAGE_NAMES)
    missing = [name for name in names if f"`{name}`" not in guide]
    assert not missing, f"docs/instructors.md does not mention {missing}"


# --------------------------------------------------------------------------------------------
# On the pages
# --------------------------------------------------------------------------------------------


@pytest.fixture
def workshop(tmp_path, monkeypatch) -> Settings:
    path = write(
        tmp_path,
        """
        [limits]
        datasets = ["mnist"]
        [locked]
        train_epochs = 2
        train_optimizer = "sgd"
        train_seed = 123
        train_arch = "tiny"
        [hidden]
        controls = ["train_aug_flip", "train_seed", "train_schedule"]
        pages = ["exercises", "draw"]
        """,
    )
    settings = load_settings(path)
    use(monkeypatch, settings)
    return settings


def open_train(token: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    if token is not None:
        at.query_params[QUERY_KEY] = token
    at.switch_page(TRAIN)
    return at.run()


def keys(at: AppTest, kind: str) -> list[str]:
    return [w.key for w in at.get(kind)]


def test_train_page_shows_locked_controls_disabled_at_their_value(workshop):
    at = open_train()
    assert not at.exception
    epochs = at.number_input(key="train_epochs")
    assert epochs.disabled and epochs.value == 2
    optimizer = at.selectbox(key="train_optimizer")
    assert optimizer.disabled and optimizer.value == "sgd"
    assert at.selectbox(key="train_arch").value == "tiny"
    locked_notes = [c for c in at.caption if c.value == ":material/lock: Set by your instructor"]
    assert len(locked_notes) == 3  # epochs, optimiser, architecture (the seed is hidden)
    assert "instructor" in epochs.help
    # unlocked controls are as usual
    assert not at.number_input(key="train_learning_rate").disabled
    # only the data sets the instructor offers
    assert at.selectbox(key="train_dataset").options == ["MNIST handwritten digits"]
    # a browser cannot change a disabled widget, and nothing else can either
    with pytest.raises(AppTestError, match="disabled"):
        epochs.set_value(5)
    at.session_state["train_epochs"] = 5
    at.run()
    assert at.number_input(key="train_epochs").value == 2


def test_train_page_does_not_draw_hidden_controls_and_uses_their_values(workshop):
    at = open_train()
    assert not at.exception
    for hidden in ("train_aug_flip", "train_seed", "train_schedule"):
        assert hidden not in keys(at, "selectbox") + keys(at, "number_input"), hidden
    assert "train_aug_shift" in keys(at, "slider")  # the other augmentation controls stay
    # the run would use the locked seed and the default schedule: the page's share link says so
    settings = decode(at.query_params[QUERY_KEY]).settings
    assert settings["train_seed"] == 123
    assert settings["train_schedule"] == "cosine" and settings["train_aug_flip"] == "none"
    assert settings["train_epochs"] == 2


def test_locked_settings_win_over_a_share_link(workshop):
    token = encode(
        None, {"train_epochs": 9, "train_optimizer": "rmsprop", "train_learning_rate": 0.01}
    )
    at = open_train(token)
    assert not at.exception
    assert not at.warning  # the instructor's values win quietly
    assert at.number_input(key="train_epochs").value == 2
    assert at.selectbox(key="train_optimizer").value == "sgd"
    assert at.number_input(key="train_learning_rate").value == 0.01  # not locked: the link's


def test_home_and_navigation_leave_hidden_pages_out(workshop):
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT).run()
    assert not at.exception
    links = [element.proto.page for element in at.get("page_link")]
    assert links == ["convolution", "shapes", "train"]


def test_the_draw_page_does_not_link_a_hidden_train_page(tmp_path, monkeypatch):
    use(monkeypatch, load_settings(write(tmp_path, "[hidden]\npages = ['train']\n")))
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    at.switch_page("pages/draw.py").run()
    at.radio(key="draw_model_source").set_value("Trained in this session").run()
    assert not at.exception
    assert "not trained a model in this session" in shown(at.info[0].value)
    assert not at.get("page_link")
