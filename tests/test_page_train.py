"""The Train page in Streamlit's AppTest: it trains a tiny run and shows every result without an
exception; bad designs and offline downloads get their messages."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from cnn_core.presets import DEFAULT_PRESET, get_preset
from cnn_core.shapes import fmt, ledger
from tests.conftest import APP_TIMEOUT, shown

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE = "pages/train.py"


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    at.switch_page(PAGE)
    return at.run()


def texts(elements) -> str:
    return "\n".join(shown(str(e.value)) for e in elements)


def test_page_opens_with_the_default_preset_and_mnist():
    at = open_page()
    assert not at.exception
    assert at.selectbox(key="train_dataset").value == "mnist"
    assert at.selectbox(key="train_arch").value == DEFAULT_PRESET
    params = ledger(get_preset(DEFAULT_PRESET).spec).total_params
    assert any(m.value == fmt(params) for m in at.metric)  # the parameter count, from the ledger
    assert not at.button(key="train_start").disabled
    assert "No trained network yet" in texts(at.info)


def test_page_trains_a_tiny_run_and_shows_the_results():
    at = open_page()
    at.selectbox(key="train_arch").set_value("tiny")
    at.number_input(key="train_samples").set_value(500)
    at.number_input(key="train_epochs").set_value(1)
    at.run()
    at.button(key="train_start").click().run()
    assert not at.exception
    runs = at.session_state["train_runs"]
    assert len(runs) == 1
    assert runs[0].join(timeout=120), "the tiny run did not finish"
    at.run()
    assert not at.exception, at.exception
    result = runs[0].result
    assert result is not None and result.epochs_done == 1
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test accuracy"] == f"{result.test_accuracy:.2%}"
    assert metrics["Test loss"] == f"{result.test_loss:.4f}"
    assert [t.label for t in at.tabs] == [
        "Curves", "Mistakes", "Learned filters", "Feature maps", "All runs", "Download"
    ]  # fmt: skip
    # the mistakes tab opens on the most confused pair of classes
    confusion = result.confusion
    off = confusion - np.diag(np.diag(confusion))
    true_class, predicted = np.unravel_index(np.argmax(off), off.shape)
    assert at.selectbox(key="train_cm_true_1").value == true_class
    assert at.selectbox(key="train_cm_pred_1").value == predicted
    # feature maps of every conv layer: their names are written above their grids
    markdown = texts(at.markdown)
    assert "**conv2d_1** → 26×26×8" in markdown and "**conv2d_3** → 11×11×16" in markdown
    assert "The **8 filters of the first convolution**" in markdown
    # the run is offered to the other pages (Draw) through ui.state
    assert runs[0].label == f"Run 1 · Tiny (fast) · {result.test_accuracy:.1%}".replace("%", " %")
    # choosing another image re-draws its feature maps
    at.number_input(key="train_fmap_index_1").set_value(7).run()
    assert not at.exception
    # advice follows the run's numbers: make its last epoch look like memorising
    epochs = result.history.epochs
    epochs[-1] = dataclasses.replace(epochs[-1], accuracy=0.999, val_accuracy=0.9)
    at.run()
    assert any("It memorises its training images" in shown(w.value) for w in at.warning)


def test_my_design_that_does_not_fit_is_explained_and_can_be_fitted():
    at = open_page()
    at.session_state["spec"] = {
        "input_shape": [32, 32, 1],
        "layers": [
            {"type": "Conv2D", "filters": 4, "kernel_size": 3, "activation": "relu"},
            {"type": "Flatten"},
            {"type": "Dense", "units": 5, "activation": "softmax"},
        ],
    }
    at.selectbox(key="train_arch").set_value("shapes").run()
    assert not at.exception
    message = texts(at.error)
    assert "cannot train on this data yet" in message
    assert "takes 32×32×1 images but MNIST has 28×28×1" in message
    assert at.button(key="train_start").disabled
    at.button(key="train_adapt_spec").click().run()
    assert not at.exception
    assert at.session_state["spec"]["input_shape"] == [28, 28, 1]
    assert at.session_state["spec"]["layers"][-1]["units"] == 10
    assert not at.error and not at.button(key="train_start").disabled


def test_offline_download_shows_one_sentence(monkeypatch):
    import keras

    def offline():
        raise Exception("URL fetch failure on https://storage…: [Errno -2] Name not known")

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    at = open_page()
    at.selectbox(key="train_dataset").set_value("fashion_mnist").run()
    assert not at.exception
    assert "Fashion-MNIST could not be downloaded" in texts(at.error)
    assert at.button(key="train_start").disabled


def test_hyperparameter_widgets_start_at_the_shared_defaults():
    from cnn_core.training import DEFAULTS

    at = open_page()
    assert at.number_input(key="train_epochs").value == DEFAULTS.epochs
    assert at.selectbox(key="train_batch_size").value == DEFAULTS.batch_size
    assert at.number_input(key="train_learning_rate").value == DEFAULTS.learning_rate
    assert at.selectbox(key="train_optimizer").value == DEFAULTS.optimizer
    assert at.number_input(key="train_seed").value == DEFAULTS.seed


def test_streamlit_no_longer_resets_keras_between_runs(monkeypatch):
    """Streamlit calls keras.backend.clear_session() and a full GC after every script run; the
    page turns both off so that training threads are not starved (ui/train_runtime.py)."""
    import keras
    from streamlit import config
    from streamlit.runtime.scriptrunner import script_runner

    from ui.train_runtime import keep_keras_state

    cleared = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: cleared.append(1))
    assert keep_keras_state() is True
    script_runner._clean_problem_modules()
    assert cleared == []
    assert config.get_option("runner.postScriptGC") is False
    open_page()  # the page installs it too, and still runs
    script_runner._clean_problem_modules()
    assert cleared == []


def test_zip_option_explains_the_expected_layout():
    at = open_page()
    at.selectbox(key="train_dataset").set_value("zip").run()
    assert not at.exception
    assert "one sub-folder per class" in texts(at.info)
    assert at.button(key="train_start").disabled  # nothing to train on until a zip arrives


def test_a_smaller_data_set_clamps_the_subset_size(monkeypatch):
    import keras
    import streamlit as st

    import cnn_core.data

    def small_fashion():
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, (300, 28, 28), dtype=np.uint8)
        return (x, np.arange(300) % 10), (x[:50], np.arange(50) % 10)

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", small_fashion)
    try:
        at = open_page()
        assert at.number_input(key="train_samples").value == 60_000
        at.selectbox(key="train_dataset").set_value("fashion_mnist").run()
        assert not at.exception
        assert at.number_input(key="train_samples").value == 300
        assert "270 images to train on, 30 to validate, 50 test images" in texts(at.caption)
    finally:  # the fake data set must not stay cached for other tests
        cnn_core.data._load_downloaded.cache_clear()
        st.cache_resource.clear()
