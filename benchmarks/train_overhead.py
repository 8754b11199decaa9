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


class EpochTimer:
    """Times each epoch from Keras' own epoch begin/end calls (two calls per epoch: free)."""

    def __init__(self) -> None:
        import keras

        self.seconds: list[float] = []
        self.callback = keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: setattr(self, "began", time.perf_counter()),
            on_epoch_end=lambda epoch, logs: self.seconds.append(time.perf_counter() - self.began),
        )


def plain(dataset: Dataset, spec, config: TrainingConfig) -> float:
    prepared = prepare(spec, dataset, config)  # same spec, seed and split; compiled the same
    x = to_model_input(prepared.split.x_train)
    y = prepared.split.y_train
    timer = EpochTimer()
    prepared.model.fit(
        x, y, batch_size=config.batch_size, epochs=config.epochs, shuffle=True, verbose=0,
        callbacks=[timer.callback],
    )  # fmt: skip
    return timer.seconds[-1]


def pipeline(dataset: Dataset, spec, config: TrainingConfig) -> float:
    prepared = prepare(spec, dataset, config)
    timer = EpochTimer()
    prepared.model.fit(
        prepared.train_data, epochs=config.epochs, shuffle=False, verbose=0,
        callbacks=[timer.callback],
    )  # fmt: skip
    return timer.seconds[-1]


def ours(dataset: Dataset, spec, config: TrainingConfig) -> tuple[float, int]:
    prepared = prepare(spec, dataset, config)
    history, lock = History(), threading.Lock()

    def on_progress(event) -> None:  # what cnn_core.runner.BackgroundTraining does
        with lock:
            history.add(event)

    fit(prepared, on_progress)
    # EpochProgress.seconds is measured between Keras' epoch begin and end calls, as above
    return history.epochs[-1].seconds, len(history.steps)


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
    times: dict[str, list[float]] = {"plain": [], "pipeline": [], "ours": []}
    paths = list(times)
    for round_number in range(args.rounds):
        # rotate the order every round, so that no path always runs first (or last)
        order = paths[round_number % 3 :] + paths[: round_number % 3]
        for path in order:
            if path == "plain":
                times[path].append(plain(dataset, spec, config))
            elif path == "pipeline":
                times[path].append(pipeline(dataset, spec, config))
            else:
                seconds, batches = ours(dataset, spec, config)
                times[path].append(seconds)
        print(
            f"round {round_number + 1}: "
            + ", ".join(f"{p} {times[p][-1]:.2f} s" for p in paths)
            + f" ({batches} progress events)"
        )
    median = {p: statistics.median(t) for p, t in times.items()}
    print("median: " + ", ".join(f"{p} {median[p]:.2f} s" for p in paths))
    ratio = median["ours"] / median["plain"]
    print(
        f"ratio ours / plain: {ratio:.3f} (target ≤ {TARGET}) → {'OK' if ratio <= TARGET else 'OVER'}"
    )
    print(f"ratio ours / pipeline (the callback alone): {median['ours'] / median['pipeline']:.3f}")
    print(f"machine load after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
