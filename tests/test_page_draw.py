"""The Draw & classify page in Streamlit's AppTest: it opens, offers the three model sources,
and uses this visitor's trained runs. (AppTest cannot draw on the canvas: the browser test in
tests/e2e/test_draw.py draws.)"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.conftest import APP_TIMEOUT, shown
from tests.test_classify import draw_digit

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE = "pages/draw.py"  # run through app.py, so that the link to the Train page resolves


@dataclass
class FakeRun:
    """What ui.state.trained_runs() hands the page (the Train page's BackgroundTraining)."""

    label: str
    model: keras.Model
    class_names: tuple[str, ...]
    number: int = 1
    done: bool = True


def small_model(input_shape=(28, 28, 1), classes=10) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )


def open_page(runs: list | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    at.switch_page(PAGE)
    if runs is not None:
        at.session_state["train_runs"] = runs
    return at.run()


def text_of(elements) -> str:
    return "\n".join(shown(str(element.value)) for element in elements)


def test_page_opens_with_the_bundled_model_and_asks_for_a_drawing():
    at = open_page()
    assert not at.exception
    assert at.title[0].value == "Draw & classify"
    source = at.radio(key="draw_model_source")
    assert source.value == "Pretrained (bundled)"
    assert source.options == [
        "Pretrained (bundled)",
        "Trained in this session",
        "Upload a .keras file",
    ]
    captions = text_of(at.caption)
    assert "Bundled digits model" in captions and "198,250 parameters" in captions
    assert "Draw a digit on the black square" in text_of(at.info)
    assert at.slider(key="draw_pen_width").value == 22
    assert not at.error


def test_no_trained_run_yet_says_so_and_keeps_the_bundled_model():
    at = open_page()
    at.radio(key="draw_model_source").set_value("Trained in this session").run()
    assert not at.exception
    assert "not trained a model in this session" in text_of(at.info)
    assert "Bundled digits model" in text_of(at.caption)


def test_a_run_from_the_train_page_can_be_chosen():
    runs = [  # oldest first, as the Train page keeps them in the session
        FakeRun("Run 1 · Colour · 40.0 %", small_model((32, 32, 3), 3), ("cat", "dog", "fox")),
        FakeRun("Run 2 · Tiny · 97.0 %", small_model(), tuple("0123456789"), number=2),
    ]
    at = open_page(runs)
    at.radio(key="draw_model_source").set_value("Trained in this session").run()
    assert not at.exception
    run_box = at.selectbox(key="draw_session_run")
    assert run_box.options == ["Run 2 · Tiny · 97.0 %", "Run 1 · Colour · 40.0 %"]  # newest first
    assert "Run 2 · Tiny · 97.0 %" in text_of(at.caption)
    run_box.set_value("Run 1 · Colour · 40.0 %").run()
    captions = text_of(at.caption)
    assert "input 32×32×3" in captions and "3 classes" in captions
    assert "red, green and blue" in captions  # how a gray drawing is fed to a colour model
    assert not at.warning  # its classes have names from the Train page: nothing to warn about


def test_a_run_whose_model_cannot_take_a_drawing_is_explained():
    flat = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    at = open_page([FakeRun("Run 1 · MLP", flat, tuple("0123456789"))])
    at.radio(key="draw_model_source").set_value("Trained in this session").run()
    assert not at.exception
    assert "not an image" in text_of(at.error)
    assert "Bundled digits model" in text_of(at.caption)  # the page still works


def test_upload_source_waits_for_a_file():
    at = open_page()
    at.radio(key="draw_model_source").set_value("Upload a .keras file").run()
    assert not at.exception
    assert "Upload a .keras model" in text_of(at.info)


def png(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def uploader(at: AppTest, key: str):
    return next(w for w in at.get("file_uploader") if w.key == key)


def test_an_uploaded_photo_of_a_digit_is_classified():
    at = open_page()
    scan = 255 - np.asarray(Image.fromarray(draw_digit(7)).convert("L"))  # dark ink on paper
    uploader(at, "draw_image_file").set_value(("seven.png", png(scan), "image/png")).run()
    assert not at.exception and not at.error
    prediction = [shown(m.value) for m in at.markdown if "draw-prediction" in m.value]
    assert prediction and ">7</div>" in prediction[0]
    assert "Dark ink on light paper" in text_of(at.caption)  # the inversion step is shown
    assert not [h for h in at.subheader if "path through the network" in h.value]
    at.toggle(key="draw_file_show_path").set_value(True).run()
    assert not at.exception
    assert [h for h in at.subheader if "path through the network" in h.value]


@pytest.mark.parametrize(
    ("name", "data", "shown"),
    [
        ("notes.png", b"not an image at all", "not an image CNN Lab can read"),
        ("blank.png", png(np.full((60, 60), 255, np.uint8)), "Nothing to classify"),
    ],
)
def test_an_unusable_image_file_gets_a_message(name, data, shown):
    at = open_page()
    uploader(at, "draw_image_file").set_value((name, data, "image/png")).run()
    assert not at.exception
    assert shown in text_of(at.error) + text_of(at.info)


def test_an_uploaded_model_is_used(tmp_path):
    path = tmp_path / "mine.keras"
    small_model().save(path)
    at = open_page()
    at.radio(key="draw_model_source").set_value("Upload a .keras file").run()
    uploader(at, "draw_model_file").set_value(("mine.keras", path.read_bytes(), "application/zip"))
    at.run()
    assert not at.exception and not at.error
    assert "**mine.keras**: " in text_of(at.caption)


def test_an_unsafe_uploaded_model_is_refused_and_the_page_goes_on(tmp_path):
    path = tmp_path / "unsafe.keras"
    keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Lambda(lambda x: x * 2), keras.layers.Flatten(),
         keras.layers.Dense(10, activation="softmax")]
    ).save(path)  # fmt: skip
    at = open_page()
    at.radio(key="draw_model_source").set_value("Upload a .keras file").run()
    uploader(at, "draw_model_file").set_value(
        ("unsafe.keras", path.read_bytes(), "application/zip")
    )
    at.run()
    assert not at.exception
    assert "Python code" in text_of(at.error) and "safe mode" in text_of(at.error)
    assert "Bundled digits model" in text_of(at.caption)


def test_a_model_of_another_number_of_classes_is_flagged(tmp_path):
    path = tmp_path / "three.keras"
    small_model(classes=3).save(path)
    at = open_page()
    at.radio(key="draw_model_source").set_value("Upload a .keras file").run()
    uploader(at, "draw_model_file").set_value(("three.keras", path.read_bytes(), "application/zip"))
    at.run()
    assert not at.exception
    assert "3 classes, not 10" in text_of(at.warning)


def test_a_hostile_file_name_is_shown_as_text_not_markdown():
    name = "[click](http://evil.example)![x](http://evil.example/t.png).keras"
    at = open_page()
    at.radio(key="draw_model_source").set_value("Upload a .keras file").run()
    uploader(at, "draw_model_file").set_value((name, b"not a model", "application/zip"))
    at.run()
    assert not at.exception
    source = "\n".join(error.value for error in at.error)  # the Markdown the browser gets
    assert "not a Keras model file" in source
    assert r"\[click\]" in source and r"\!\[x\]" in source  # escaped: no link, no image
    assert "[click](" not in source and "![x](" not in source
    assert name in shown(source)  # and the visitor reads the name as it is


def test_a_real_run_from_the_training_runner_classifies_an_image():
    """The contract with the Train page, end to end: a BackgroundTraining that really trained."""
    from cnn_core.data import load_mnist
    from cnn_core.presets import get_preset
    from cnn_core.runner import BackgroundTraining
    from cnn_core.training import TrainingConfig

    config = TrainingConfig(epochs=1, batch_size=64, train_samples=640, validation_split=0.0)
    run = BackgroundTraining(get_preset("tiny").spec, load_mnist(), config, title="Tiny").start()
    assert run.join(timeout=120) and run.model is not None, run.snapshot().error
    at = open_page([run])
    at.radio(key="draw_model_source").set_value("Trained in this session").run()
    assert at.selectbox(key="draw_session_run").value == run.label
    scan = png(np.asarray(Image.fromarray(draw_digit(7)).convert("L")))
    uploader(at, "draw_image_file").set_value(("seven.png", scan, "image/png")).run()
    at.toggle(key="draw_file_show_path").set_value(True).run()
    assert not at.exception and not at.error
    assert f"**{run.label}**" in text_of(at.caption)
    assert [m for m in at.markdown if "draw-prediction" in m.value]
    assert [h for h in at.subheader if "path through the network" in h.value]
