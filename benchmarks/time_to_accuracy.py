"""How many epochs and seconds the default preset needs to reach 99.0 % on the MNIST test set,
and the peak memory of the process.

    python benchmarks/time_to_accuracy.py                      # the page's defaults
    python benchmarks/time_to_accuracy.py --preset tutorial --learning-rate 0.001 \\
        --schedule constant --batch-size 64                    # the tutorials' recipe

It trains exactly as the Train page and ``python -m cnn_core train`` do (all 60,000 training
images, 10 % held out for validation, :data:`cnn_core.training.DEFAULTS`), and after every
epoch scores the model on the 10,000 test images. The scoring is not counted as training time.
Targets: ≥ 99.0 % within 3 epochs; peak memory (RSS) ≤ 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnn_core.data import load_mnist
from cnn_core.presets import DEFAULT_PRESET, get_preset
from cnn_core.shapes import ledger
from cnn_core.training import DEFAULTS, EpochProgress, TrainingConfig, evaluate, fit, prepare

TARGET_ACCURACY = 0.99
TARGET_EPOCHS = 3
TARGET_RSS_GB = 1.5


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def cpu_seconds() -> float:
    """CPU time of this process (all threads): unlike wall-clock time, it hardly grows when
    other programs share the cores, so it compares runs made on a busy machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024  # KB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default=DEFAULT_PRESET)
    parser.add_argument("--epochs", type=int, default=DEFAULTS.epochs)
    parser.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    parser.add_argument("--learning-rate", type=float, default=DEFAULTS.learning_rate)
    parser.add_argument("--schedule", default=DEFAULTS.schedule)
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
    args = parser.parse_args()

    spec = get_preset(args.preset).spec
    config = TrainingConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        schedule=args.schedule,
        seed=args.seed,
    )
    mnist = load_mnist()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"machine load before: {load_average()}")
    print(
        f"{args.preset} ({ledger(spec).total_params:,} parameters), batch {config.batch_size}, "
        f"{config.optimizer} {config.learning_rate:g} {config.schedule}, seed {config.seed}"
    )
    prepared = prepare(spec, mnist, config)
    scoring = 0.0
    scoring_cpu = 0.0
    rows: list[dict] = []
    start, start_cpu = time.perf_counter(), cpu_seconds()

    def on_progress(event) -> None:
        nonlocal scoring, scoring_cpu
        if isinstance(event, EpochProgress):
            began = time.perf_counter()
            seconds = began - start - scoring  # training so far, earlier scoring left out
            cpu = cpu_seconds() - start_cpu - scoring_cpu
            began_cpu = cpu_seconds()
            _, accuracy, _ = evaluate(prepared.model, mnist.x_test, mnist.y_test)
            scoring += time.perf_counter() - began
            scoring_cpu += cpu_seconds() - began_cpu
            rows.append({"epoch": event.epoch, "seconds": round(seconds, 1),
                         "cpu_seconds": round(cpu, 1), "test_accuracy": accuracy})  # fmt: skip
            print(
                f"epoch {event.epoch}: {seconds:6.1f} s of training ({cpu:.0f} CPU-s), test accuracy "
                f"{accuracy:.2%} (validation {event.val_accuracy:.2%})",
                flush=True,
            )

    fit(prepared, on_progress)
    reached = next((r for r in rows if r["test_accuracy"] >= TARGET_ACCURACY), None)
    rss = peak_rss_gb()
    if reached:
        print(
            f"reached {TARGET_ACCURACY:.1%} after {reached['epoch']} epoch(s), "
            f"{reached['seconds']:.0f} s (target: within {TARGET_EPOCHS} epochs)"
        )
    else:
        print(f"did not reach {TARGET_ACCURACY:.1%} in {config.epochs} epochs")
    print(f"peak memory (RSS): {rss:.2f} GB (target ≤ {TARGET_RSS_GB} GB)")
    print(f"machine load after: {load_average()}")
    print(json.dumps({"preset": args.preset, "epochs": rows, "peak_rss_gb": round(rss, 2)}))
    ok = reached is not None and reached["epoch"] <= TARGET_EPOCHS and rss <= TARGET_RSS_GB
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
