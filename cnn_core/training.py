"""Training a spec on a data set, with progress reported through a plain function. No Streamlit.

The Train page, the command line and the tests all train through :func:`train`::

    from cnn_core.data import load_mnist
    from cnn_core.presets import get_preset
    from cnn_core.training import TrainingConfig, train

    config = TrainingConfig(epochs=1)
    result = train(get_preset("tiny").spec, load_mnist(), config, on_progress=print)
    result.test_accuracy  # e.g. 0.97

``on_progress`` receives a :class:`BatchProgress` after every batch and an :class:`EpochProgress`
after every epoch; ``stop`` (a ``threading.Event``) ends training within one batch and keeps the
weights learned so far.

**Seeds.** ``keras.utils.set_random_seed`` sets process-wide generators (Python's ``random``,
NumPy's, TensorFlow's), which two visitors training at once would share. So every random thing
of a run (the initial weights, the dropout and augmentation generators, the shuffling of the
data, the validation split) is *created* from the run's seed while holding one process-wide lock,
and owns its own generator from then on. Whatever another run seeds afterwards cannot change it:
the same seed gives the same curves, up to float rounding in multi-threaded CPU kernels.

**Keras state.** Nothing here calls ``keras.backend.clear_session()``: it would reset state that
another visitor's model, training at that moment, still uses. A run's model and data are freed
when the last reference to them goes.
"""

from __future__ import annotations

import csv
import io
import math
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cnn_core.augment import Augmentation, augmentation_layers
from cnn_core.config import LIMITS, Limits
from cnn_core.data import Dataset, Split, make_tf_dataset, to_model_input, training_split
from cnn_core.shapes import validate
from cnn_core.spec import Problem, Spec, SpecError, errors

if TYPE_CHECKING:
    import keras

OPTIMIZERS = ("adam", "sgd", "rmsprop")
SCHEDULES = ("constant", "cosine")


class TrainingError(ValueError):
    """Settings that cannot train (bad hyperparameters, a spec that does not fit the data)."""


@dataclass(frozen=True)
class TrainingConfig:
    """Hyperparameters of one run. The defaults are the page's and the command line's defaults.

    With the ``default`` preset they reach ≥ 99.0 % MNIST test accuracy in 3 epochs on a
    2-core CPU (see benchmarks/time_to_accuracy.py).
    """

    # 3 passes over the data: with batch norm and a decaying learning rate that is enough for
    # 99 % on MNIST; the tutorials needed 19 without them.
    epochs: int = 3
    # 128 images per update: twice the tutorials' 64, ~1.5× the images per second on a CPU,
    # and batch norm keeps the larger batch just as accurate.
    batch_size: int = 128
    optimizer: str = "adam"  # adapts each weight's step size; forgiving of the learning rate
    # Adam's usual 0.001 is cautious; batch norm tolerates a larger peak, reached in a warm-up.
    learning_rate: float = 0.003
    # "cosine": warm up over the first 10 % of steps, then glide to zero along a cosine, so
    # the last epoch fine-tunes with small steps. "constant" keeps the rate fixed.
    schedule: str = "cosine"
    seed: int = 42  # same seed → same split, same initial weights, same batches, same curves
    train_samples: int | None = None  # None: all training images
    validation_split: float = 0.1  # held out of the training images, checked after each epoch
    augmentation: Augmentation = field(default_factory=Augmentation)

    def problems(self, limits: Limits = LIMITS) -> list[str]:
        """Every reason these settings cannot be used, as sentences for a learner."""
        out = []

        def whole(name: str, value: Any, low: int, high: int) -> None:
            if isinstance(value, bool) or not isinstance(value, int):
                out.append(f"{name} must be a whole number, not {value!r}.")
            elif not low <= value <= high:
                out.append(f"{name} is {value:,}; it must be from {low:,} to {high:,}.")

        whole("epochs", self.epochs, 1, limits.max_epochs)
        whole("batch size", self.batch_size, 1, limits.max_batch_size)
        whole("seed", self.seed, 0, 2**31 - 1)
        if self.train_samples is not None:
            whole("training subset", self.train_samples, 1, limits.max_train_samples)
        if self.optimizer not in OPTIMIZERS:
            out.append(f"optimizer {self.optimizer!r} is not one of {', '.join(OPTIMIZERS)}.")
        if self.schedule not in SCHEDULES:
            out.append(f"schedule {self.schedule!r} is not one of {', '.join(SCHEDULES)}.")
        lr = self.learning_rate
        if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr):
            out.append(f"learning rate must be a number, not {lr!r}.")
        elif not 0 < lr <= 1:
            out.append(f"learning rate is {lr:g}; it must be above 0 and at most 1 (try 0.001).")
        vs = self.validation_split
        if isinstance(vs, bool) or not isinstance(vs, int | float) or not 0 <= vs <= 0.5:
            out.append(f"validation split is {vs!r}; it must be from 0 to 0.5 (e.g. 0.1).")
        return out


DEFAULTS = TrainingConfig()


# --------------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchProgress:
    """After one batch. ``loss``/``accuracy`` are this batch's own, not the epoch's running mean."""

    epoch: int  # 1-based
    epochs: int
    batch: int  # 1-based, within the epoch
    batches_per_epoch: int
    step: int  # 1-based, counted over the whole run
    total_steps: int
    loss: float
    accuracy: float
    samples_per_second: float  # over the last few batches
    eta_seconds: float  # until the last batch (validation and testing not included)
    elapsed_seconds: float

    @property
    def fraction_done(self) -> float:
        return self.step / self.total_steps


@dataclass(frozen=True)
class EpochProgress:
    """After one epoch: the epoch's training means and the validation metrics."""

    epoch: int  # 1-based
    epochs: int
    loss: float
    accuracy: float
    val_loss: float | None  # None without a validation split
    val_accuracy: float | None
    seconds: float  # this epoch, validation included
    complete: bool = True  # False when a stop request cut the epoch short
    step: int = 0  # the run's step count at the end of this epoch (x position on the chart)


Progress = BatchProgress | EpochProgress
ProgressCallback = Callable[[Progress], None]


@dataclass
class History:
    """Every number a run reported, in order. Fed by :meth:`add`; read by charts and CSV export."""

    steps: list[int] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)
    batch_accuracy: list[float] = field(default_factory=list)
    epochs: list[EpochProgress] = field(default_factory=list)
    batches_per_epoch: int = 0

    def add(self, event: Progress) -> None:
        if isinstance(event, BatchProgress):
            self.steps.append(event.step)
            self.batch_loss.append(event.loss)
            self.batch_accuracy.append(event.accuracy)
            self.batches_per_epoch = event.batches_per_epoch
        else:
            self.epochs.append(event)

    def copy(self) -> History:
        return History(
            list(self.steps),
            list(self.batch_loss),
            list(self.batch_accuracy),
            list(self.epochs),
            self.batches_per_epoch,
        )

    def to_csv(self) -> str:
        """One row per batch (step, epoch, batch loss and accuracy), with the epoch's train and
        validation metrics on the row of its last batch."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["step", "epoch", "batch_loss", "batch_accuracy", "epoch_loss", "epoch_accuracy",
             "val_loss", "val_accuracy"]
        )  # fmt: skip
        ends = {e.step: e for e in self.epochs}
        per_epoch = max(self.batches_per_epoch, 1)
        for step, loss, accuracy in zip(
            self.steps, self.batch_loss, self.batch_accuracy, strict=True
        ):
            end = ends.get(step)
            extra = (
                [end.loss, end.accuracy, _blank(end.val_loss), _blank(end.val_accuracy)]
                if end
                else ["", "", "", ""]
            )
            writer.writerow(
                [step, (step - 1) // per_epoch + 1, f"{loss:.6g}", f"{accuracy:.6g}", *extra]
            )
        return out.getvalue()


def _blank(value: float | None) -> Any:
    return "" if value is None else value


def smooth(values: list[float] | np.ndarray, weight: float | None = None) -> np.ndarray:
    """Exponential moving average, as TensorBoard smooths curves, with its start-up bias removed
    so the first points are not pulled towards zero.

    ``weight`` (0–1) is how much of the average each new value keeps; by default it follows the
    length of the curve (about a 50th of it, 3 to 30 values), so a short run is not drawn
    lagging far behind its own batches and a long one is still readable.
    """
    values = np.asarray(values, dtype=np.float64)
    if weight is None:
        window = min(max(len(values) / 50, 3.0), 30.0)
        weight = 1 - 1 / window
    out = np.empty_like(values)
    average = 0.0
    for i, value in enumerate(values):
        average = weight * average + (1 - weight) * value
        out[i] = average / (1 - weight ** (i + 1))
    return out


class _LiveProgress:
    """Turns Keras' callback calls into :class:`Progress` events, and honours stop requests.

    Made into a ``keras.callbacks.Callback`` subclass by :func:`_progress_callback` (so this
    module imports no Keras at import time).
    """

    RATE_WINDOW = 20  # batches over which samples/s is measured: responsive yet steady

    def __init__(
        self,
        on_progress: ProgressCallback | None,
        stop: threading.Event | None,
        epochs: int,
        train_samples: int,
        batch_size: int,
    ) -> None:
        super().__init__()  # type: ignore[call-arg]
        self.on_progress = on_progress
        self.stop = stop
        self.epochs = epochs
        self.train_samples = train_samples
        self.batch_size = batch_size
        self.batches_per_epoch = math.ceil(train_samples / batch_size)
        self.total_steps = self.batches_per_epoch * epochs
        self.step = 0
        self.stopped = False

    def _emit(self, event: Progress) -> None:
        if self.on_progress is not None:
            self.on_progress(event)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.start = time.perf_counter()
        self.recent: deque[tuple[float, int]] = deque(
            [(self.start, 0)], maxlen=self.RATE_WINDOW + 1
        )
        self.samples = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch + 1
        self.epoch_start = time.perf_counter()
        self.seen = 0  # samples so far in this epoch
        self.loss_sum = 0.0  # running totals, to recover each batch's own loss and accuracy
        self.correct = 0.0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        batch_number = batch + 1
        size = min(self.batch_size, self.train_samples - (batch_number - 1) * self.batch_size)
        # Keras reports the epoch's running mean (weighted by batch size); this batch's own value
        # is the change in the running total, divided by its size.
        mean_loss, mean_accuracy = (
            float(logs.get("loss", np.nan)),
            float(logs.get("accuracy", np.nan)),
        )
        seen = self.seen + size
        loss = (mean_loss * seen - self.loss_sum) / size
        # accuracy is a count of right answers out of ``size``: round away float noise
        accuracy = round(mean_accuracy * seen - self.correct) / size
        self.seen, self.loss_sum, self.correct = seen, mean_loss * seen, mean_accuracy * seen
        self.step += 1
        self.samples += size
        now = time.perf_counter()
        self.recent.append((now, self.samples))
        then, samples_then = self.recent[0]
        rate = (self.samples - samples_then) / max(now - then, 1e-9)
        remaining = self.total_steps - self.step
        self._emit(
            BatchProgress(
                epoch=self.epoch,
                epochs=self.epochs,
                batch=batch_number,
                batches_per_epoch=self.batches_per_epoch,
                step=self.step,
                total_steps=self.total_steps,
                loss=loss,
                accuracy=min(max(accuracy, 0.0), 1.0),
                samples_per_second=rate,
                eta_seconds=remaining * self.batch_size / rate if rate > 0 else math.inf,
                elapsed_seconds=now - self.start,
            )
        )
        if self.stop is not None and self.stop.is_set():
            self.stopped = True
            self.model.stop_training = True  # type: ignore[attr-defined]  # Keras checks after each batch

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.stop is not None and self.stop.is_set():
            self.model.stop_evaluating = True  # type: ignore[attr-defined]

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        val_loss, val_accuracy = logs.get("val_loss"), logs.get("val_accuracy")
        self._emit(
            EpochProgress(
                epoch=epoch + 1,
                epochs=self.epochs,
                loss=float(logs.get("loss", np.nan)),
                accuracy=float(logs.get("accuracy", np.nan)),
                val_loss=None if val_loss is None else float(val_loss),
                val_accuracy=None if val_accuracy is None else float(val_accuracy),
                seconds=time.perf_counter() - self.epoch_start,
                complete=not self.stopped,
                step=self.step,
            )
        )


def _progress_callback(*args: Any) -> keras.callbacks.Callback:
    import keras

    cls = type("LiveProgress", (_LiveProgress, keras.callbacks.Callback), {})
    return cls(*args)


# --------------------------------------------------------------------------------------------
# Preparing a run
# --------------------------------------------------------------------------------------------

# Held while a run creates its random things from its seed (see the module docstring).
_SEED_LOCK = threading.Lock()


def fit_problems(spec: Spec, dataset: Dataset) -> list[Problem]:
    """The problems that stop ``spec`` from training on ``dataset``: the spec's own errors, an
    input shape that is not the images' shape, a classifier with the wrong number of classes."""
    problems = errors(validate(spec, num_classes=dataset.num_classes))
    if tuple(spec.input_shape) != dataset.input_shape:
        h, w, c = dataset.input_shape
        problems.insert(
            0,
            Problem(
                f"the network takes {spec.input_shape[0]}×{spec.input_shape[1]}×"
                f"{spec.input_shape[2]} images but {dataset.name} has {h}×{w}×{c}; set the "
                f"input shape to [{h}, {w}, {c}].",
                layer_type="Input",
            ),
        )
    return problems


def adapt_spec(spec: Spec, dataset: Dataset) -> tuple[Spec, list[str]]:
    """A preset fitted to ``dataset``: its input shape set to the images' shape and its last
    Dense layer to the number of classes. Returns the new spec and what was changed, in words."""
    changes = []
    if tuple(spec.input_shape) != dataset.input_shape:
        h, w, c = dataset.input_shape
        changes.append(f"input shape set to {h}×{w}×{c} for {dataset.name}")
        spec = spec.with_input_shape(dataset.input_shape)
    last = spec.layers[-1] if spec.layers else None
    if last is not None and last.type == "Dense" and last.units != dataset.num_classes:  # type: ignore[attr-defined]
        changes.append(f"last Dense layer set to {dataset.num_classes} units, one per class")
        spec = spec.replace_layer(len(spec.layers) - 1, replace(last, units=dataset.num_classes))
    return spec, changes


def _optimizer(config: TrainingConfig, total_steps: int) -> keras.optimizers.Optimizer:
    import keras

    rate: Any = config.learning_rate
    if config.schedule == "cosine":
        warmup = max(total_steps // 10, 1)
        rate = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=config.learning_rate / 10,
            decay_steps=max(total_steps - warmup, 1),
            warmup_target=config.learning_rate,
            warmup_steps=warmup,
        )
    optimizer: keras.optimizers.Optimizer
    if config.optimizer == "sgd":
        # plain SGD crawls; momentum is standard
        optimizer = keras.optimizers.SGD(rate, momentum=0.9)
    elif config.optimizer == "rmsprop":
        optimizer = keras.optimizers.RMSprop(rate)
    else:
        optimizer = keras.optimizers.Adam(rate)
    _skip_single_replica_all_reduce(optimizer)
    return optimizer


def _skip_single_replica_all_reduce(optimizer: keras.optimizers.Optimizer) -> None:
    """Stop every run from leaving its compiled train step in memory for good.

    Keras' TensorFlow optimizer sums the gradients over all replicas before each update
    (``_all_reduce_sum_gradients``), even with one replica, where the sum is the gradients
    themselves. TensorFlow builds that all-reduce with ``tf.custom_gradient``, which in a traced
    graph registers its gradient function in TensorFlow's process-wide gradient registry and
    never removes it; the function holds tensors of the train step's graph, so each run's whole
    traced train step stayed in the server until it restarted (benchmarks/soak.py, default
    preset: 22,900 Python objects and about 12 MB more per run). ``clear_session`` does not
    remove them either (tensorflow/tensorflow#97697, keras-team/tf-keras#286).

    Skipping the sum for one replica changes no number and touches only this optimizer: other
    visitors' models and Keras' global state are left alone. With several replicas (never the
    case in CNN Lab) the sum is done as before.
    """
    import tensorflow as tf

    all_reduce = getattr(optimizer, "_all_reduce_sum_gradients", None)
    if all_reduce is None:  # another backend, or a Keras that no longer has it
        return

    def sum_over_replicas(grads_and_vars: Any) -> Any:
        if tf.distribute.get_strategy().num_replicas_in_sync == 1:
            return list(grads_and_vars)
        return all_reduce(grads_and_vars)

    optimizer._all_reduce_sum_gradients = sum_over_replicas  # type: ignore[attr-defined]


@dataclass
class Prepared:
    """A compiled model and its input pipelines, ready for :func:`fit`."""

    spec: Spec
    config: TrainingConfig
    model: keras.Model
    split: Split
    train_data: Any  # tf.data.Dataset
    val_data: Any  # tf.data.Dataset or None


def prepare(spec: Spec, dataset: Dataset, config: TrainingConfig = DEFAULTS) -> Prepared:
    """Check everything, then build and compile the model and make the data pipelines.

    Raises:
        TrainingError: bad hyperparameters, or a spec that does not fit the data.
        cnn_core.data.DataError: an impossible split.
    """
    if problems := config.problems():
        raise TrainingError(" ".join(problems))
    if problems := fit_problems(spec, dataset):
        raise TrainingError("\n".join(str(p) for p in problems))
    from cnn_core.shapes import ledger

    params = ledger(spec).total_params
    if params > LIMITS.max_model_params:
        raise TrainingError(
            f"this network has {params:,} parameters; CNN Lab trains at most "
            f"{LIMITS.max_model_params:,}. Use fewer filters or units, or pool earlier."
        )
    split = training_split(dataset, config.train_samples, config.validation_split, config.seed)
    import keras

    from cnn_core.build import build_model

    total_steps = math.ceil(len(split.y_train) / config.batch_size) * config.epochs
    with _SEED_LOCK:
        keras.utils.set_random_seed(config.seed)
        try:
            model = build_model(spec)
        except SpecError as err:  # checked above; kept so a Keras refusal still reads well
            raise TrainingError(str(err)) from None
        model.compile(
            optimizer=_optimizer(config, total_steps),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        augmentation = augmentation_layers(config.augmentation, config.seed)
        train_data = make_tf_dataset(
            split.x_train,
            split.y_train,
            config.batch_size,
            shuffle=True,
            seed=config.seed,
            augmentation=augmentation,
        )
    val_data = None
    if len(split.y_val):
        val_data = make_tf_dataset(split.x_val, split.y_val, EVAL_BATCH_SIZE, shuffle=False)
    return Prepared(spec, config, model, split, train_data, val_data)


# Evaluation needs no gradients, so larger batches only save Python overhead.
EVAL_BATCH_SIZE = 512


# --------------------------------------------------------------------------------------------
# Training and results
# --------------------------------------------------------------------------------------------


@dataclass
class TrainingResult:
    """A trained (or stopped) model and everything learned about it on the test set."""

    spec: Spec
    config: TrainingConfig
    model: keras.Model
    history: History
    dataset_name: str
    class_names: tuple[str, ...]
    train_seconds: float
    stopped: bool  # True when a stop request ended training early; the weights are kept
    epochs_done: float  # e.g. 1.5 when stopped half-way through the second epoch
    test_loss: float
    test_accuracy: float
    y_test: np.ndarray  # (n,) true classes of the test images
    predictions: np.ndarray  # (n,) predicted classes
    probabilities: np.ndarray  # (n, classes) softmax outputs, float32
    train_samples: int = 0

    @property
    def confusion(self) -> np.ndarray:
        """confusion[true, predicted] = how many test images of class ``true`` got ``predicted``."""
        return confusion_matrix(self.y_test, self.predictions, len(self.class_names))

    def misclassified(self, true_class: int, predicted_class: int) -> np.ndarray:
        """Indices into the test set of the images of ``true_class`` predicted as
        ``predicted_class``, most confident mistakes first."""
        hits = np.flatnonzero((self.y_test == true_class) & (self.predictions == predicted_class))
        confidence = self.probabilities[hits, predicted_class]
        return hits[np.argsort(-confidence, kind="stable")]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts of (true, predicted) pairs: rows are true classes, columns predictions."""
    flat = np.asarray(y_true, dtype=np.int64) * num_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def evaluate(
    model: keras.Model, x_test: np.ndarray, y_test: np.ndarray
) -> tuple[float, float, np.ndarray]:
    """Test loss, test accuracy and the softmax outputs, from one pass over the test images.

    The loss is Keras' own sparse categorical cross-entropy of those outputs, so it equals what
    ``model.evaluate`` reports (the tests check this).
    """
    import keras

    probabilities = np.asarray(
        model.predict(to_model_input(x_test), batch_size=EVAL_BATCH_SIZE, verbose=0),
        dtype=np.float32,
    )
    loss = keras.losses.sparse_categorical_crossentropy(y_test, probabilities)
    accuracy = float(np.mean(np.argmax(probabilities, axis=1) == y_test))
    return float(np.mean(np.asarray(loss))), accuracy, probabilities


def fit(
    prepared: Prepared,
    on_progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    extra_callbacks: list[Any] | None = None,
) -> tuple[History, bool, float]:
    """Train a prepared model. Returns (history, stopped, seconds). The model keeps its weights
    (also when stopped). ``extra_callbacks`` are more Keras callbacks (e.g. a benchmark's
    timer), called after the live-progress one."""
    history = History()

    def report(event: Progress) -> None:
        history.add(event)
        if on_progress is not None:
            on_progress(event)

    config = prepared.config
    callback = _progress_callback(
        report, stop, config.epochs, len(prepared.split.y_train), config.batch_size
    )
    start = time.perf_counter()
    if stop is None or not stop.is_set():
        prepared.model.fit(
            prepared.train_data,
            validation_data=prepared.val_data,
            epochs=config.epochs,
            callbacks=[callback, *(extra_callbacks or [])],
            shuffle=False,  # the tf.data pipeline shuffles, from the run's seed
            verbose=0,
        )
    return history, callback.stopped or bool(stop and stop.is_set()), time.perf_counter() - start


def train(
    spec: Spec,
    dataset: Dataset,
    config: TrainingConfig = DEFAULTS,
    on_progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> TrainingResult:
    """Build ``spec``, train it on ``dataset`` and test it on the whole test set.

    Args:
        spec: the network; it must fit the data (see :func:`fit_problems`).
        dataset: images and labels (e.g. :func:`cnn_core.data.load_mnist`).
        config: hyperparameters; :data:`DEFAULTS` when omitted.
        on_progress: called after every batch and every epoch (from the training thread).
        stop: set it to end training within one batch; the weights so far are kept and tested.
        on_phase: called with "preparing", "training" and "testing" as the run moves on.

    Raises:
        TrainingError, cnn_core.data.DataError: before any training, with a learner's message.
    """
    phase = on_phase or (lambda _name: None)
    phase("preparing")
    prepared = prepare(spec, dataset, config)
    phase("training")
    history, stopped, seconds = fit(prepared, on_progress, stop)
    phase("testing")
    test_loss, test_accuracy, probabilities = evaluate(
        prepared.model, dataset.x_test, dataset.y_test
    )
    per_epoch = max(history.batches_per_epoch, 1)
    result = TrainingResult(
        spec=spec,
        config=config,
        model=prepared.model,
        history=history,
        dataset_name=dataset.name,
        class_names=dataset.class_names,
        train_seconds=seconds,
        stopped=stopped,
        epochs_done=len(history.steps) / per_epoch,
        test_loss=test_loss,
        test_accuracy=test_accuracy,
        y_test=np.asarray(dataset.y_test),
        predictions=np.argmax(probabilities, axis=1),
        probabilities=probabilities,
        train_samples=len(prepared.split.y_train),
    )
    del prepared  # its data pipelines and split copies are garbage now: let release() free them
    release_memory()
    return result


def release_memory() -> None:
    """Give back the memory of runs that are over, without touching anyone's live model.

    A finished run's model, data pipelines and traced graphs are held in reference cycles, so
    only a full garbage collection frees them, and the Streamlit server no longer forces one
    after every script run (ui.train_runtime turns that off: it starved training threads). Left
    to Python's own collector, forgotten runs piled up between its rare full collections
    (benchmarks/soak.py saw up to seven dead models at once). So each run ends with one full
    collection (a fraction of a second, once per run), and then asks glibc to hand freed heap
    pages back to the system (``malloc_trim``), which it otherwise keeps. Both are harmless for
    other visitors' models and training threads: nothing reachable is freed, and no Keras or
    TensorFlow state is reset (this is not ``keras.backend.clear_session``).
    """
    import gc

    gc.collect()
    _malloc_trim()


def _malloc_trim() -> None:
    """glibc's ``malloc_trim(0)``; nothing on systems without glibc (macOS, Windows, musl)."""
    import ctypes

    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL("libc.so.6")  # OSError where there is no glibc
            _LIBC.malloc_trim  # noqa: B018  # AttributeError where it has no malloc_trim
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


_LIBC: Any = None  # the C library, once looked up; False when it has no malloc_trim


# --------------------------------------------------------------------------------------------
# Looking inside a trained model
# --------------------------------------------------------------------------------------------


def conv_layers(model: keras.Model) -> list[Any]:
    """The model's Conv2D layers, in order."""
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def first_layer_filters(model: keras.Model) -> np.ndarray | None:
    """The first Conv2D layer's kernels as (filters, height, width, input channels), or None
    when the model has no convolution."""
    layers = conv_layers(model)
    if not layers:
        return None
    kernel = np.asarray(layers[0].kernel)  # (height, width, in_channels, filters), Keras' layout
    return np.transpose(kernel, (3, 0, 1, 2))


def feature_maps(model: keras.Model, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The output of every Conv2D layer for one uint8 image (height, width, channels).

    Returns [(layer name, (height, width, filters) array), …] in order.
    """
    import keras

    layers = conv_layers(model)
    if not layers:
        return []
    probe = keras.Model(model.inputs[0], [layer.output for layer in layers])
    outputs = probe(to_model_input(image[np.newaxis]), training=False)
    if not isinstance(outputs, list | tuple):
        outputs = [outputs]
    return [(layer.name, np.asarray(out)[0]) for layer, out in zip(layers, outputs, strict=True)]


def model_bytes(model: keras.Model) -> bytes:
    """The model as a ``.keras`` file's bytes (Keras writes only to paths, so via a temp file)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()


def describe_layers(spec: Spec) -> str:
    """A one-line architecture summary for tables, e.g. "Conv32-Pool-Conv64-Pool-Dense10"."""
    short = {
        "MaxPooling2D": "Pool",
        "AveragePooling2D": "AvgPool",
        "BatchNormalization": "BN",
        "Dropout": "Drop",
        "GlobalAveragePooling2D": "GAP",
    }
    parts = []
    for layer in spec.layers:
        # by type name, not isinstance: a spec kept across a code reload still reads right
        if layer.type == "Conv2D":
            parts.append(f"Conv{layer.filters}")  # type: ignore[attr-defined]
        elif layer.type == "Dense":
            parts.append(f"Dense{layer.units}")  # type: ignore[attr-defined]
        elif layer.type in short:
            parts.append(short[layer.type])
    return "-".join(parts)
