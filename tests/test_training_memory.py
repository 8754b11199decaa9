"""A finished run leaves nothing behind in the process (benchmarks/soak.py measures the memory;
these tests pin down the cause it found). Tiny preset, 1,000 images: seconds."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from cnn_core.data import Dataset
from cnn_core.presets import get_preset
from cnn_core.training import TrainingConfig, fit, prepare, train
from tests.conftest import mnist_subset

CONFIG = TrainingConfig(epochs=1, train_samples=1000, seed=3)


@pytest.fixture(scope="module")
def small() -> Dataset:
    return mnist_subset(1000, 500)


def traced_graphs() -> int:
    """TensorFlow graphs (traced train steps and the like) still in memory after a collection."""
    from tensorflow.python.framework.func_graph import FuncGraph

    gc.collect()
    return sum(isinstance(o, FuncGraph) for o in gc.get_objects())


def gradient_registry_size() -> int:
    """Entries of TensorFlow's process-wide gradient registry: a traced ``tf.custom_gradient``
    adds one and never removes it, with the graph it was traced in."""
    from tensorflow.python.framework import ops

    return len(ops._gradient_registry._registry)


def test_a_forgotten_run_leaves_no_traced_graph_behind(small):
    train(get_preset("tiny").spec, small, CONFIG)  # warm up: TensorFlow's own one-off graphs
    graphs, registry = traced_graphs(), gradient_registry_size()
    result = train(get_preset("default").spec, small, CONFIG)
    assert result.model is not None
    del result
    assert traced_graphs() == graphs
    assert gradient_registry_size() == registry


def test_skipping_the_one_replica_gradient_sum_changes_no_weight(small):
    spec = get_preset("tiny").spec
    ours = prepare(spec, small, CONFIG)
    keras_own = prepare(spec, small, CONFIG)  # same seed: same weights, batches and dropout
    # Give the second optimizer back Keras' own gradient sum over replicas.
    del keras_own.model.optimizer._all_reduce_sum_gradients
    assert "_all_reduce_sum_gradients" in vars(ours.model.optimizer)
    fit(ours)
    fit(keras_own)
    for mine, theirs in zip(ours.model.weights, keras_own.model.weights, strict=True):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), rtol=1e-5, atol=1e-6)
