"""Memory soak: many trainings in a row in one process, as a long-lived CNN Lab server sees them.

    python benchmarks/soak.py [--preset default] [--samples 12000] [--epochs 2] [--runs 10]
                              [--keep 3] [--views 3]

A server process lives for days and trains one run after another. Whatever a run leaves behind
(a model nobody can reach, a traced graph, Keras' global state) adds up, and on a 1 GB host the
server dies. This script trains ``--runs`` runs back to back through the app's own path:

- each run is a :class:`cnn_core.runner.BackgroundTraining` (its own thread, a slot of the
  process-wide queue), as the Train page starts it, on the shared MNIST data set;
- a visitor's session keeps its newest ``--keep`` finished runs and forgets older ones, as
  ``ui.state.start_run`` does (``--keep`` defaults to the hosted profile's ``max_runs_kept``, so
  the forgetting starts after a few runs; the local profile keeps 10);
- after each run, what a visitor then looks at, ``--views`` times: the results page's test
  scores, confusion matrix, first-layer filters and feature maps, and the Draw page's
  classifier with one drawing; the model download once;
- the server forces no full garbage collection after each page run (ui.train_runtime turns
  Streamlit's ``runner.postScriptGC`` off), and neither does this script until the end: the only
  ones are those the training path itself makes (cnn_core.training.release_memory, once per run).

Meanwhile an "other visitor's" model, trained first, stays alive; at the end it must give
exactly the outputs it gave before the soak (nothing reset or cleared it:
``keras.backend.clear_session`` is never called).

How to read it: one row per run with VmRSS after the run (what the process holds), the run's
own peak (VmHWM, reset before each run through /proc/self/clear_refs where Linux allows it) and
the Keras models in memory (the kept ones, the other visitor's, and any garbage not yet
collected). Growth is the least-squares slope of VmRSS over the runs after the session is full
(run keep + 1 onwards): near zero means a forgotten run gives its memory back.

Targets (issue 6): peak RSS ≤ 1.5 GB; growth ≤ 5 MB per run (before cnn_core.training released
each run's traced train step and collected forgotten runs, this script measured about +100 MB
per run); the other model unchanged; after a final full collection, only the kept runs' models
and the other visitor's are left. The exit status is 1 when a target is missed.

About 6 minutes on a 2-core CPU with the defaults.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from cnn_core.config import PROFILES
from cnn_core.data import Dataset, load_mnist, to_model_input
from cnn_core.presets import get_preset
from cnn_core.runner import BackgroundTraining, TrainingSlots
from cnn_core.training import (
    TrainingConfig,
    feature_maps,
    first_layer_filters,
    model_bytes,
)

MAX_PEAK_GB = 1.5
MAX_GROWTH_MB_PER_RUN = 5.0
MB = 1024 * 1024


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024 / MB  # the kernel writes kB
    raise RuntimeError(f"no {field} in /proc/self/status (this script needs Linux)")


def reset_peak() -> bool:
    """Start a new VmHWM from the current RSS (Linux ≥ 4.0); False when not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def keras_models_in_memory() -> int:
    """Keras models the garbage collector tracks, alive or dead but not yet collected (a
    Sequential model's inner functional graph is counted with it, not apart)."""
    import keras

    models = [o for o in gc.get_objects() if isinstance(o, keras.Model)]
    inner = {id(getattr(m, "_functional", None)) for m in models}
    return sum(id(m) not in inner for m in models)


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs (MB per run here)."""
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    return float(np.polyfit(x, y, 1)[0]) if len(x) >= 2 else float("nan")


def train_run(
    spec, dataset: Dataset, config: TrainingConfig, number: int, title: str, slots
) -> BackgroundTraining:
    run = BackgroundTraining(spec, dataset, config, number=number, title=title, slots=slots).start()
    run.join()
    snapshot = run.snapshot()
    if snapshot.state != "finished" or run.model is None:
        raise SystemExit(f"run {number} did not finish: {snapshot.state}, {snapshot.error}")
    return run


def look_at(run: BackgroundTraining, views: int) -> None:
    """What the results and Draw pages compute for a finished run, ``views`` times over (every
    rerun of the results page repeats it), and the model download once."""
    from cnn_core.classify import Classifier

    result = run.result
    assert result is not None
    for view in range(views):
        image = run.test_images[view]
        result.confusion  # noqa: B018  # the Mistakes tab
        result.misclassified(*np.unravel_index(np.argmax(result.confusion), result.confusion.shape))
        first_layer_filters(run.model)
        feature_maps(run.model, image)
        result.history.to_csv()
    classifier = Classifier(run.model, run.label, class_names=run.class_names)
    classifier.probabilities(run.test_images[0][..., 0].astype(np.float32) / 255)
    classifier.layer_outputs(run.test_images[1][..., 0].astype(np.float32) / 255)
    model_bytes(run.model)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--samples", type=int, default=12_000, help="training subset per run")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--keep",
        type=int,
        default=PROFILES["hosted"].max_runs_kept,
        help="finished runs the session keeps (default: the hosted profile's max_runs_kept)",
    )
    parser.add_argument("--views", type=int, default=3, help="results-page views per run")
    args = parser.parse_args()
    if args.runs <= args.keep + 1:
        parser.error("--runs must exceed --keep + 1: growth is measured once the session is full")

    started = time.monotonic()
    print(f"machine load before: {load_average()}")
    preset = get_preset(args.preset)
    print(
        f"{args.runs} runs of the {args.preset} preset, {args.samples:,} images (10 % held out), "
        f"{args.epochs} epoch(s), then the full test set; the session keeps {args.keep}; "
        f"{args.views} results views and a Draw classification per run"
    )
    dataset = load_mnist()  # one read-only copy, shared by every visitor (as the page's cache)
    slots = TrainingSlots(1)  # this soak's own queue, one run at a time

    # The other visitor: a small model trained first and kept to the end, untouched.
    other = train_run(
        get_preset("tiny").spec,
        dataset,
        TrainingConfig(epochs=1, train_samples=2_000, seed=7),
        number=1,
        title="Other visitor",
        slots=slots,
    )
    probe = to_model_input(dataset.x_test[:256])
    before = np.asarray(other.model.predict_on_batch(probe))
    rss_start = status_mb("VmRSS")
    print(f"after the other visitor's run: VmRSS {rss_start:.0f} MB\n")

    peaks = [status_mb("VmHWM")]  # start-up, data, the other visitor's run
    session: list[BackgroundTraining] = []
    rows: list[tuple[int, float, float | None, int, float, float]] = []
    print(" run  VmRSS MB  run peak MB  models  accuracy  seconds   (models: kept, other, garbage)")
    for number in range(1, args.runs + 1):
        can_reset = reset_peak()
        began = time.monotonic()
        config = TrainingConfig(epochs=args.epochs, train_samples=args.samples, seed=number)
        run = train_run(preset.spec, dataset, config, number, preset.title, slots)
        session.append(run)
        while len(session) > args.keep:  # ui.state.start_run: forget the oldest finished run
            session.remove(next(r for r in session if r.done))
        look_at(run, args.views)
        del run
        seconds = time.monotonic() - began
        rss = status_mb("VmRSS")
        peak = status_mb("VmHWM") if can_reset else None
        peaks.append(status_mb("VmHWM"))
        models = keras_models_in_memory()
        accuracy = session[-1].result.test_accuracy  # type: ignore[union-attr]
        rows.append((number, rss, peak, models, accuracy, seconds))
        peak_text = f"{peak:11.0f}" if peak is not None else "          —"
        print(
            f"{number:4d}  {rss:8.0f}  {peak_text}  {models:6d}  {accuracy:8.2%}  {seconds:7.0f}",
            flush=True,
        )

    after = np.asarray(other.model.predict_on_batch(probe))
    difference = float(np.max(np.abs(after - before)))
    peak_gb = max(peaks) / 1024  # VmHWM: the largest resident set, never missed by sampling
    full = [r for r in rows if r[0] > args.keep]
    growth = slope([r[0] for r in full], [r[1] for r in full])
    gc.collect()
    rss_collected, models_collected = status_mb("VmRSS"), keras_models_in_memory()

    print()
    print(f"peak RSS: {peak_gb:.2f} GB (target ≤ {MAX_PEAK_GB} GB)")
    print(
        f"growth over runs {full[0][0]}–{full[-1][0]}: {growth:+.1f} MB per run "
        f"(target ≤ {MAX_GROWTH_MB_PER_RUN} MB); VmRSS {full[0][1]:.0f} → {full[-1][1]:.0f} MB"
    )
    print(
        f"after a full garbage collection at the end: VmRSS {rss_collected:.0f} MB, "
        f"{models_collected} Keras models (kept {len(session)} + the other visitor's 1)"
    )
    print(f"the other visitor's model: largest change in its outputs {difference:.3g}")
    print(f"machine load after: {load_average()}; {time.monotonic() - started:.0f} s in all")

    missed = []
    if peak_gb > MAX_PEAK_GB:
        missed.append(f"peak RSS {peak_gb:.2f} GB > {MAX_PEAK_GB} GB")
    if not growth <= MAX_GROWTH_MB_PER_RUN:
        missed.append(f"growth {growth:+.1f} MB per run > {MAX_GROWTH_MB_PER_RUN} MB")
    if difference != 0.0:
        missed.append(f"the other visitor's model changed its outputs (by up to {difference:.3g})")
    if models_collected != len(session) + 1:
        missed.append(f"{models_collected} Keras models alive, not {len(session) + 1}")
    print("verdict: " + ("all targets met" if not missed else "MISSED: " + "; ".join(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
