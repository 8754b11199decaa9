"""The training core, checked against Keras: progress events, stop, seeds, results, the runner
and the `train` command. Small subsets and the tiny preset keep it to seconds."""

from __future__ import annotations

import itertools
import threading

import keras
import numpy as np
import pytest

from cnn_core.__main__ import main
from cnn_core.augment import Augmentation
from cnn_core.config import LIMITS
from cnn_core.data import Dataset, to_model_input
from cnn_core.presets import get_preset
from cnn_core.runner import BackgroundTraining, TrainingSlots
from cnn_core.shapes import ledger
from cnn_core.spec import Spec
from cnn_core.training import (
    DEFAULTS,
    BatchProgress,
    EpochProgress,
    History,
    TrainingConfig,
    TrainingError,
    adapt_spec,
    confusion_matrix,
    evaluate,
    feature_maps,
    first_layer_filters,
    fit,
    fit_problems,
    model_bytes,
    prepare,
    smooth,
    train,
)
from tests.conftest import mnist_subset

TINY = get_preset("tiny").spec


@pytest.fixture(scope="module")
def small() -> Dataset:
    """3,000 training and 1,000 test digits of the real MNIST: enough to learn something."""
    return mnist_subset(3000, 1000)


@pytest.fixture(scope="module")
def trained(small):
    """One 2-epoch run of the tiny preset with every progress event recorded."""
    events: list = []
    config = TrainingConfig(epochs=2, batch_size=100, train_samples=2000, validation_split=0.1)
    result = train(TINY, small, config, on_progress=events.append)
    return result, events


def test_training_lowers_the_loss_and_learns(trained):
    result, _ = trained
    first_batches = np.mean(result.history.batch_loss[:3])
    assert first_batches > 2.0  # ten classes at random: about ln 10 = 2.3
    assert result.history.epochs[-1].loss < result.history.epochs[0].loss
    assert result.history.epochs[-1].loss < first_batches * 0.8
    assert result.test_accuracy > 0.5  # far above the 10 % of guessing
    assert not result.stopped and result.epochs_done == 2


def test_callback_receives_every_batch_and_every_epoch(trained):
    _, events = trained
    batches = [e for e in events if isinstance(e, BatchProgress)]
    epochs = [e for e in events if isinstance(e, EpochProgress)]
    assert len(batches) == 2 * 18  # 1,800 training images in batches of 100, twice
    assert [b.step for b in batches] == list(range(1, 37))
    assert batches[17].batch == 18 and batches[18].epoch == 2 and batches[18].batch == 1
    assert all(b.samples_per_second > 0 and np.isfinite(b.eta_seconds) for b in batches)
    assert batches[-1].eta_seconds == 0 and batches[-1].fraction_done == 1
    assert [e.epoch for e in epochs] == [1, 2]
    assert all(e.val_loss is not None and 0 <= e.val_accuracy <= 1 for e in epochs)
    assert [e.step for e in epochs] == [18, 36]


def test_batch_values_add_up_to_keras_epoch_means(trained):
    """Keras reports running means; we report each batch's own value. Averaged back over the
    epoch they must give Keras' epoch figures."""
    result, _ = trained
    history = result.history
    for index, epoch in enumerate(history.epochs):
        losses = history.batch_loss[index * 18 : (index + 1) * 18]
        accuracies = history.batch_accuracy[index * 18 : (index + 1) * 18]
        assert np.mean(losses) == pytest.approx(epoch.loss, rel=1e-4)
        assert np.mean(accuracies) == pytest.approx(epoch.accuracy, abs=1e-6)
        right = np.asarray(accuracies) * 100  # right answers out of 100: whole numbers
        assert np.allclose(right, np.round(right), atol=1e-6)


def test_test_scores_equal_keras_evaluate(trained, small):
    result, _ = trained
    loss, accuracy = result.model.evaluate(
        to_model_input(small.x_test), small.y_test, batch_size=500, verbose=0
    )
    assert result.test_loss == pytest.approx(loss, rel=1e-4)
    assert result.test_accuracy == pytest.approx(accuracy, abs=1e-6)
    confusion = result.confusion
    expected = keras.ops.convert_to_numpy(
        __import__("tensorflow").math.confusion_matrix(small.y_test, result.predictions, 10)
    )
    assert np.array_equal(confusion, expected)
    assert np.trace(confusion) / confusion.sum() == pytest.approx(result.test_accuracy)


def test_misclassified_lists_the_cell_most_confident_first(trained):
    result, _ = trained
    confusion = result.confusion
    true_class, predicted = np.unravel_index(
        np.argmax(confusion - np.diag(np.diag(confusion))), confusion.shape
    )
    hits = result.misclassified(int(true_class), int(predicted))
    assert len(hits) == confusion[true_class, predicted] > 0
    assert all(result.y_test[hits] == true_class) and all(result.predictions[hits] == predicted)
    confidence = result.probabilities[hits, predicted]
    assert np.all(np.diff(confidence) <= 0)


def test_filters_and_feature_maps_match_the_keras_layers(trained, small):
    result, _ = trained
    model = result.model
    filters = first_layer_filters(model)
    kernel = np.asarray(model.get_layer("conv2d_1").kernel)  # (3, 3, 1, 8)
    assert filters.shape == (8, 3, 3, 1)
    assert np.array_equal(filters[5], kernel[:, :, :, 5])
    maps = feature_maps(model, small.x_test[0])
    rows = [row for row in ledger(TINY).rows if row.type == "Conv2D"]
    assert [name for name, _ in maps] == ["conv2d_1", "conv2d_3"]
    assert [m.shape for _, m in maps] == [row.output_shape for row in rows]
    first = keras.Model(model.inputs[0], model.get_layer("conv2d_1").output)
    expected = np.asarray(first(to_model_input(small.x_test[:1])))[0]
    assert np.allclose(maps[0][1], expected, atol=1e-6)


def test_saved_model_round_trips(trained, small, tmp_path):
    result, _ = trained
    path = tmp_path / "model.keras"
    path.write_bytes(model_bytes(result.model))
    loaded = keras.models.load_model(path)
    x = to_model_input(small.x_test[:20])
    assert np.allclose(loaded.predict(x, verbose=0), result.model.predict(x, verbose=0), atol=1e-6)


def test_history_csv_has_a_row_per_batch(trained):
    result, _ = trained
    lines = result.history.to_csv().splitlines()
    assert lines[0].startswith("step,epoch,batch_loss,batch_accuracy,epoch_loss")
    assert len(lines) == 1 + 36
    last = lines[-1].split(",")
    assert last[0] == "36" and last[1] == "2" and last[6] != ""  # epoch 2's validation loss


def test_stop_mid_epoch_keeps_the_weights(small):
    config = TrainingConfig(epochs=3, batch_size=50, train_samples=2000, seed=3)
    stop = threading.Event()

    def on_progress(event):
        if isinstance(event, BatchProgress) and event.step == 12:
            stop.set()

    untrained = prepare(TINY, small, config).model  # same seed: the same starting weights
    result = train(TINY, small, config, on_progress=on_progress, stop=stop)
    assert result.stopped
    assert len(result.history.batch_loss) == 12  # ended within the batch it was asked in
    assert result.epochs_done == pytest.approx(12 / 36)
    assert result.history.epochs[-1].complete is False
    # the weights are the trained ones, not the initial ones, and better than them
    start = [np.asarray(w) for w in untrained.get_weights()]
    end = [np.asarray(w) for w in result.model.get_weights()]
    assert any(not np.allclose(a, b) for a, b in zip(start, end, strict=True))
    untrained_loss, _, _ = evaluate(untrained, small.x_test, small.y_test)
    assert result.test_loss < untrained_loss


def _first_losses(dataset, seed, steps=6, augmentation=None):
    config = TrainingConfig(
        epochs=1,
        batch_size=64,
        train_samples=1000,
        validation_split=0,
        seed=seed,
        augmentation=augmentation or Augmentation(),
    )
    prepared = prepare(TINY, dataset, config)
    stop = threading.Event()

    def on_progress(event):
        if isinstance(event, BatchProgress) and event.step == steps:
            stop.set()

    history, _, _ = fit(prepared, on_progress, stop)
    return np.asarray(history.batch_loss)


def test_same_seed_gives_the_same_first_losses(small):
    shifted = Augmentation(shift=0.1, rotation=10)
    first = _first_losses(small, seed=7, augmentation=shifted)
    again = _first_losses(small, seed=7, augmentation=shifted)
    assert np.allclose(first, again, rtol=1e-4)
    # (a different seed giving different losses is checked in the next test)


def test_same_seed_holds_while_another_run_trains(small):
    """Two visitors at once: a run seeded 7 gives the same losses whatever trains beside it."""
    alone = _first_losses(small, seed=7)
    beside: dict[int, np.ndarray] = {}
    threads = [
        threading.Thread(target=lambda s=s: beside.__setitem__(s, _first_losses(small, seed=s)))
        for s in (7, 99)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert np.allclose(beside[7], alone, rtol=1e-4)
    assert not np.allclose(beside[99], alone, rtol=1e-2)


def test_bad_settings_are_refused_before_training(small):
    assert DEFAULTS.problems() == []
    bad = TrainingConfig(epochs=0, batch_size=LIMITS.max_batch_size + 1, optimizer="adagrad",
                         learning_rate=float("nan"), validation_split=0.9)  # fmt: skip
    problems = " ".join(bad.problems())
    for part in ("epochs is 0", "batch size", "optimizer 'adagrad'", "learning rate", "validation"):
        assert part in problems
    with pytest.raises(TrainingError, match="epochs is 0"):
        train(TINY, small, bad)


def test_spec_must_fit_the_data_and_presets_are_fitted(small):
    colour = Dataset(
        "Pets", np.zeros((4, 32, 32, 3), np.uint8), np.array([0, 1, 0, 1]),
        np.zeros((2, 32, 32, 3), np.uint8), np.array([0, 1]), ("cat", "dog"),
    )  # fmt: skip
    problems = [str(p) for p in fit_problems(TINY, colour)]
    assert any("takes 28×28×1 images but Pets has 32×32×3" in p for p in problems)
    assert any("2" in p and "units" in p for p in problems)
    fitted, changes = adapt_spec(TINY, colour)
    assert fit_problems(fitted, colour) == []
    assert fitted.input_shape == (32, 32, 3) and fitted.layers[-1].units == 2
    assert len(changes) == 2
    with pytest.raises(TrainingError, match="Pets has 32×32×3"):
        train(TINY, colour, TrainingConfig(epochs=1))
    no_classifier = Spec.from_dict({"input_shape": [28, 28, 1], "layers": [{"type": "Flatten"}]})
    assert fit_problems(no_classifier, small)


def test_smoothing_and_confusion_helpers():
    assert np.allclose(smooth([2.0, 2.0, 2.0]), 2.0)  # no start-up bias towards zero
    assert confusion_matrix(np.array([0, 1, 1, 2]), np.array([0, 2, 1, 2]), 3).tolist() == [
        [1, 0, 0],
        [0, 1, 1],
        [0, 0, 1],
    ]
    history = History()
    history.add(EpochProgress(1, 1, 0.5, 0.9, None, None, 1.0, step=0))
    assert history.copy().epochs == history.epochs and history.copy() is not history


# ----- the background runner and its slots -----


def test_slots_queue_in_arrival_order():
    slots = TrainingSlots(2)
    assert [slots.join(t) for t in "abcd"] == [0, 0, 1, 2]
    slots.release("a")
    assert slots.position("c") == 0 and slots.position("d") == 1
    slots.release("d")  # leaving the queue
    assert slots.waiting == 0 and slots.running == 2 and slots.position("d") == -1


def test_background_runs_wait_for_a_slot_and_can_be_stopped(small):
    slots = TrainingSlots(1)
    config = TrainingConfig(epochs=1, batch_size=100, train_samples=500, validation_split=0)
    first = BackgroundTraining(TINY, small, config, number=1, title="Tiny", slots=slots).start()
    second = BackgroundTraining(TINY, small, config, number=2, title="Tiny", slots=slots).start()
    third = BackgroundTraining(TINY, small, config, number=3, title="Tiny", slots=slots).start()
    assert second.snapshot().state == "queued" and second.snapshot().queue_position == 1
    third.stop()  # leaves the queue at once, never trains
    assert first.join(120) and second.join(120) and third.join(120)
    assert first.state == second.state == "finished"
    assert third.state == "stopped" and third.model is None and third.snapshot().error
    assert second.label.startswith("Run 2 · Tiny · ") and second.label.endswith(" %")
    assert len(second.snapshot().history.steps) == 5  # 500 images in batches of 100
    assert slots.running == 0 and slots.waiting == 0


def test_a_visitor_who_leaves_frees_the_slot(small):
    """A closed tab stops its run (training or queued) after the grace period, and the next
    visitor's run starts; a blip shorter than the grace period stops nothing."""
    slots = TrainingSlots(1)
    # 1,500 small batches: many seconds, far longer than the grace period and the check interval
    long = TrainingConfig(epochs=5, batch_size=10, train_samples=3000, validation_split=0)
    short = TrainingConfig(epochs=1, batch_size=100, train_samples=500, validation_split=0)
    a_here, c_here = threading.Event(), threading.Event()
    a_here.set()
    c_here.set()
    blip = itertools.chain([False], itertools.repeat(True))  # away once, then back

    def run(config, present):
        return BackgroundTraining(
            TINY, small, config, slots=slots, visitor_present=present, leave_grace=0.5
        ).start()

    a, b, c = run(long, a_here.is_set), run(short, lambda: next(blip)), run(short, c_here.is_set)
    assert (b.snapshot().queue_position, c.snapshot().queue_position) == (1, 2)
    c_here.clear()  # c's visitor closes the tab while waiting in line
    while a.state != "training" or not a.snapshot().history.steps:
        assert a.join(0.05) is False, a.snapshot().error
    a_here.clear()  # a's visitor closes the tab mid-training
    assert a.join(120) and b.join(120) and c.join(120)
    assert a.abandoned and a.state == "stopped" and a.model is not None
    assert a.result.stopped and a.result.epochs_done < 5  # cut short, weights kept and tested
    assert c.abandoned and c.state == "stopped" and c.model is None
    assert "its visitor left" in c.snapshot().error
    assert b.state == "finished" and not b.abandoned
    assert slots.running == 0 and slots.waiting == 0


def test_a_failing_run_reports_its_message(small):
    bad = TrainingConfig(epochs=1, train_samples=10_000)  # more than the 3,000 there are
    run = BackgroundTraining(TINY, small, bad, slots=TrainingSlots(1)).start()
    assert run.join(60)
    assert run.state == "failed" and "too many" in run.snapshot().error
    assert run.model is None


# ----- the command line -----


def test_cli_trains_saves_and_reports(tmp_path, capsys, monkeypatch):
    import cnn_core.data

    monkeypatch.setattr(cnn_core.data, "load_mnist", lambda: _small_mnist())
    out = tmp_path / "tiny.keras"
    history = tmp_path / "history.csv"
    code = main(
        ["train", "--preset", "tiny", "--epochs", "1", "--train-samples", "600",
         "--augment", "shift=0.1", "--out", str(out), "--history", str(history)]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "Training tiny (5,258 parameters)" in printed and "augmentation shift ±10 %" in printed
    assert "Test accuracy: " in printed and "on 500 test images" in printed
    model = keras.models.load_model(out)
    assert model.count_params() == 5258
    assert history.read_text().count("\n") == 1 + 5  # 540 images in batches of 128


def _small_mnist() -> Dataset:
    return mnist_subset(1000, 500, name="MNIST")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "0"], "epochs is 0"),
        (["--optimizer", "adagrad"], "optimizer 'adagrad'"),
        (["--augment", "tilt=3"], "unknown augmentation 'tilt'"),
        (["--preset", "nope"], "no preset called 'nope'"),
        (["--dataset", "imagenet"], "no data set called 'imagenet'"),
        (["--learning-rate", "0"], "learning rate is 0"),
        (["--train-samples", "99999999"], "training subset"),
        (["--out", "model.h5"], "must name a .keras file"),
        (["--out", "/no/such/folder/model.keras"], "does not exist"),
        (["missing.json"], "no such file: missing.json"),
    ],
)
def test_cli_bad_arguments_exit_2_with_a_message(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["train", "--out", "m.keras", *args] if "--out" not in args else ["train", *args]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
