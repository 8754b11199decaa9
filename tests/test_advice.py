"""Advice after a run: each rule fires on the numbers that call for it, and only on those."""

from __future__ import annotations

import math

import pytest

from cnn_core.advice import training_advice
from cnn_core.presets import get_preset
from cnn_core.spec import Spec
from cnn_core.training import EpochProgress, History, TrainingConfig

CONFIG = TrainingConfig()
TUTORIAL = get_preset("tutorial").spec  # no batch norm, no dropout
LENET_BN = get_preset("lenet5_bn").spec  # batch norm at momentum 0.9, and dropout


def with_bn(momentum: float) -> Spec:
    """A small network with batch norm after its convolution, at ``momentum``."""
    return Spec.from_dict(
        {
            "input_shape": [28, 28, 1],
            "layers": [
                {"type": "Conv2D", "filters": 8, "kernel_size": 3, "activation": "relu"},
                {"type": "BatchNormalization", "momentum": momentum},
                {"type": "GlobalAveragePooling2D"},
                {"type": "Dense", "units": 10, "activation": "softmax"},
            ],
        }
    )


def history(accuracy: float, val_accuracy: float | None, losses=(0.5, 0.3)) -> History:
    h = History()
    h.steps = list(range(1, len(losses) + 1))
    h.batch_loss = list(losses)
    h.batch_accuracy = [accuracy] * len(losses)
    h.epochs = [EpochProgress(1, 1, 0.1, accuracy, 0.2, val_accuracy, 1.0, step=len(losses))]
    return h


def titles(spec, h, config=CONFIG):
    return [a.title for a in training_advice(spec, config, h)]


def test_a_healthy_run_gets_no_advice():
    assert titles(TUTORIAL, history(0.99, 0.985)) == []
    assert titles(with_bn(0.99), history(0.99, 0.985)) == []


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_loss_that_blows_up_names_the_step_and_the_learning_rate(bad):
    config = TrainingConfig(learning_rate=0.5)
    advice = training_advice(TUTORIAL, config, history(0.1, 0.1, losses=(2.3, 40.0, bad, bad)))
    assert [a.title for a in advice] == ["The loss blew up"]  # nothing else: the numbers are void
    assert "step 3" in advice[0].text and "0.5" in advice[0].text


def test_lagging_batch_norm_is_told_apart_from_overfitting():
    # The measured case: 98.5 % training, 46 % on held-out images, momentum 0.99.
    advice = training_advice(with_bn(0.99), CONFIG, history(0.985, 0.46))
    assert [a.title for a in advice] == ["Batch norm has not caught up"]
    assert "layer 2" in advice[0].text and "0.99" in advice[0].text and "0.9 " in advice[0].text
    # the same gap with momentum 0.9, or without batch norm, is plain overfitting
    assert titles(with_bn(0.9), history(0.985, 0.46)) == ["It memorises its training images"]
    assert titles(TUTORIAL, history(0.985, 0.46)) == ["It memorises its training images"]


def test_overfitting_advice_suggests_dropout_only_where_there_is_none():
    without = training_advice(TUTORIAL, CONFIG, history(0.999, 0.95))[0].text
    with_dropout = training_advice(LENET_BN, CONFIG, history(0.999, 0.95))[0].text
    assert "Dropout" in without and "Dropout" not in with_dropout
    assert "99.9%" in without and "95.0%" in without


def test_small_gaps_low_accuracy_and_runs_without_validation_get_none():
    assert titles(TUTORIAL, history(0.99, 0.97)) == []  # a 2-point gap is normal
    assert titles(TUTORIAL, history(0.80, 0.70)) == []  # still learning, not memorising
    assert titles(TUTORIAL, history(0.999, None)) == []  # no validation split and no test


def test_without_a_validation_split_the_test_accuracy_is_compared():
    advice = training_advice(with_bn(0.99), CONFIG, history(0.985, None), test_accuracy=0.4154)
    assert [a.title for a in advice] == ["Batch norm has not caught up"]
    assert "test accuracy only 41.5%" in advice[0].text
    assert training_advice(TUTORIAL, CONFIG, history(0.99, None), test_accuracy=0.985) == []
