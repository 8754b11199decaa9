"""What CNN Lab's training path costs over a plain ``model.fit``: the live-progress callback,
the ``tf.data`` pipeline, the per-batch bookkeeping the page reads.

    python benchmarks/train_overhead.py [--preset default] [--samples 12000] [--rounds 3]

Each round trains a fresh model (same spec, same seed, same images) along each path, in
rotating order so that a machine growing busier slows all alike, and times the second epoch
(the first includes compiling the train step):

- plain: ``model.fit(x / 255, y, batch_size, shuffle=True, verbose=0)`` on NumPy arrays, no
  callback: what a Keras tutorial does;
- ours: :func:`cnn_core.training.fit`, the Train page's and the CLI's path: the ``tf.data``
  pipeline and the live-progress callback, whose events go (under a lock) into a History as
  the background runner does.

A third path isolates the callback: ``model.fit`` on our same ``tf.data`` pipeline, with no
callback ("pipeline"); ours / pipeline is what the live progress alone costs.

It reports the median time of each and the ratios. Target: ours / plain ≤ 1.05.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnn_core.data import Dataset, load_mnist, to_model_input
from cnn_core.presets import get_preset
from cnn_core.training import History, TrainingConfig, fit, prepare

TARGET = 1.05


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class EpochTimer:
    """Wall-clock and CPU time of each epoch, from Keras' epoch begin/end calls (free).

    CPU time (all threads of this process) hardly grows when other programs share the cores,
    so on a busy machine it compares the paths better than the wall clock does.
    """

    def __init__(self) -> None:
        import keras

        self.seconds: list[float] = []
        self.cpu: list[float] = []
        self.callback = keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: self._begin(),
            on_epoch_end=lambda epoch, logs: self._end(),
        )

    def _begin(self) -> None:
        self.began, self.began_cpu = time.perf_counter(), cpu_seconds()

    def _end(self) -> None:
        self.seconds.append(time.perf_counter() - self.began)
        self.cpu.append(cpu_seconds() - self.began_cpu)


def plain(dataset: Dataset, spec, config: TrainingConfig) -> EpochTimer:
    prepared = prepare(spec, dataset, config)  # same spec, seed and split; compiled the same
    x = to_model_input(prepared.split.x_train)
    y = prepared.split.y_train
    timer = EpochTimer()
    prepared.model.fit(
        x, y, batch_size=config.batch_size, epochs=config.epochs, shuffle=True, verbose=0,
        callbacks=[timer.callback],
    )  # fmt: skip
    return timer


def pipeline(dataset: Dataset, spec, config: TrainingConfig) -> EpochTimer:
    prepared = prepare(spec, dataset, config)
    timer = EpochTimer()
    prepared.model.fit(
        prepared.train_data, epochs=config.epochs, shuffle=False, verbose=0,
        callbacks=[timer.callback],
    )  # fmt: skip
    return timer


def ours(dataset: Dataset, spec, config: TrainingConfig) -> EpochTimer:
    prepared = prepare(spec, dataset, config)
    history, lock = History(), threading.Lock()

    def on_progress(event) -> None:  # what cnn_core.runner.BackgroundTraining does
        with lock:
            history.add(event)

    timer = EpochTimer()
    fit(prepared, on_progress, extra_callbacks=[timer.callback])
    assert len(history.epochs) == config.epochs  # every event arrived
    return timer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--samples", type=int, default=12_000, help="training images per epoch")
    parser.add_argument("--rounds", type=int, default=3, help="each path runs once per round")
    args = parser.parse_args()

    spec = get_preset(args.preset).spec
    # validation_split=0: both paths train on exactly the same images and nothing else
    # Two epochs, and only the second is timed: the first includes compiling the model's
    # train step (tf.function tracing), seconds of noise that are no part of the overhead.
    config = TrainingConfig(epochs=2, train_samples=args.samples, validation_split=0.0, seed=1)
    dataset = load_mnist()
    print(f"machine load before: {load_average()}")
    print(
        f"{args.preset} preset, {args.samples:,} images, batch {config.batch_size}; "
        "the second epoch of two is timed"
    )
    runners = {"plain": plain, "pipeline": pipeline, "ours": ours}
    paths = list(runners)
    wall: dict[str, list[float]] = {p: [] for p in paths}
    cpu: dict[str, list[float]] = {p: [] for p in paths}
    for round_number in range(args.rounds):
        # rotate the order every round, so that no path always runs first (or last)
        order = paths[round_number % 3 :] + paths[: round_number % 3]
        for path in order:
            timer = runners[path](dataset, spec, config)
            wall[path].append(timer.seconds[-1])  # the second epoch
            cpu[path].append(timer.cpu[-1])
        print(
            f"round {round_number + 1}: "
            + ", ".join(f"{p} {wall[p][-1]:.2f} s ({cpu[p][-1]:.1f} CPU-s)" for p in paths)
        )
    for name, table in (("wall-clock", wall), ("CPU", cpu)):
        median = {p: statistics.median(t) for p, t in table.items()}
        ratio = median["ours"] / median["plain"]
        verdict = "OK" if ratio <= TARGET else "OVER"
        print(
            f"{name} medians: " + ", ".join(f"{p} {median[p]:.2f} s" for p in paths)
            + f"; ours / plain {ratio:.3f} (target ≤ {TARGET}: {verdict}); "
            f"ours / pipeline (the callback alone) {median['ours'] / median['pipeline']:.3f}"
        )  # fmt: skip
    print(f"machine load after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
