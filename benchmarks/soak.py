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
  Streamlit's ``runner.postScriptGC`` off); the training path itself collects once at the end
  of each run (cnn_core.training.release_memory).

Meanwhile an "other visitor's" model, trained first, stays alive; at the end it must give
exactly the outputs it gave before the soak (nothing reset or cleared it:
``keras.backend.clear_session`` is never called).

How to read it: one row per run.

- VmRSS: what the process holds after the run and the pages' work, as the server would.
- retained: VmRSS once the garbage is collected and free heap handed back
  (``release_memory``, as the next run's end would do): the memory that is really kept.
- run peak: VmHWM during the run, reset before it through /proc/self/clear_refs (Linux).
- Python objects and Keras models left once the garbage is collected: a leak shows here
  exactly, without the allocator's noise of tens of MB.

Growth is the least-squares slope over the runs after the session is full (run keep + 1 on),
when every new run makes an old one forgotten: near zero means a run gives its memory back.

Targets (issue 6): peak RSS ≤ 1.5 GB; retained memory grows ≤ 5 MB and Python objects
≤ 1,000 per run; only the kept runs' models and the other visitor's are left; the other model
unchanged. The exit status is 1 when a target is missed. Before
cnn_core.training._skip_single_replica_all_reduce, each run left its traced train step behind:
+22,900 objects and +12 MB retained per run, peak 1.39 GB after 10 runs.

The allocator moves retained memory by ±25 MB from run to run, so a slope over 7 runs can
wander by a few MB per run; ``--runs 20`` gives a firmer answer (measured: −2.4 MB per run).
The object count has no such noise.

About 5 minutes on a 2-core CPU with the defaults (10 minutes with ``--runs 20``).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from dataclasses import dataclass
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
    release_memory,
)

MAX_PEAK_GB = 1.5
MAX_GROWTH_MB_PER_RUN = 5.0
# A leaked run leaves ~23,000 (its traced graphs); Python's own bookkeeping wobbles by a few.
MAX_OBJECT_GROWTH_PER_RUN = 1_000
MB = 1024 * 1024


@dataclass(frozen=True)
class Row:
    number: int
    rss: float  # VmRSS after the run and the pages' work, MB: what the server holds
    retained: float  # VmRSS once garbage is collected and free heap returned, MB
    peak: float | None  # VmHWM during the run, MB (None where it cannot be reset)
    objects: int  # objects Python's garbage collector tracks, once garbage is collected
    models: int  # Keras models left, once garbage is collected
    accuracy: float
    seconds: float


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
    rows: list[Row] = []
    print(" run  VmRSS MB  retained MB  run peak MB  Python objects  models  accuracy  seconds")
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
        rss = status_mb("VmRSS")  # as the server would hold it now
        peak = status_mb("VmHWM") if can_reset else None
        peaks.append(status_mb("VmHWM"))
        release_memory()  # what the next run's end would do: count only what is really kept
        row = Row(
            number,
            rss,
            status_mb("VmRSS"),
            peak,
            len(gc.get_objects()),
            keras_models_in_memory(),
            session[-1].result.test_accuracy,  # type: ignore[union-attr]
            seconds,
        )
        rows.append(row)
        peak_text = f"{peak:11.0f}" if peak is not None else "          —"
        print(
            f"{number:4d}  {row.rss:8.0f}  {row.retained:11.0f}  {peak_text}  "
            f"{row.objects:14,d}  {row.models:6d}  {row.accuracy:8.2%}  {seconds:7.0f}",
            flush=True,
        )

    after = np.asarray(other.model.predict_on_batch(probe))
    difference = float(np.max(np.abs(after - before)))
    peak_gb = max(peaks) / 1024  # VmHWM: the largest resident set, never missed by sampling
    full = [r for r in rows if r.number > args.keep]
    runs = [r.number for r in full]
    growth = slope(runs, [r.retained for r in full])
    object_growth = slope(runs, [r.objects for r in full])
    models_at_end = rows[-1].models

    print()
    print(f"peak RSS: {peak_gb:.2f} GB (target ≤ {MAX_PEAK_GB} GB)")
    print(
        f"growth over runs {runs[0]}–{runs[-1]}: retained memory {growth:+.1f} MB per run "
        f"(target ≤ {MAX_GROWTH_MB_PER_RUN} MB; {full[0].retained:.0f} → {full[-1].retained:.0f} "
        f"MB), Python objects {object_growth:+,.0f} per run (target ≤ "
        f"{MAX_OBJECT_GROWTH_PER_RUN:,})"
    )
    print(
        f"Keras models left after the last run: {models_at_end} "
        f"(kept {len(session)} + the other visitor's 1)"
    )
    print(f"the other visitor's model: largest change in its outputs {difference:.3g}")
    print(f"machine load after: {load_average()}; {time.monotonic() - started:.0f} s in all")

    missed = []
    if peak_gb > MAX_PEAK_GB:
        missed.append(f"peak RSS {peak_gb:.2f} GB > {MAX_PEAK_GB} GB")
    if not growth <= MAX_GROWTH_MB_PER_RUN:
        missed.append(f"growth {growth:+.1f} MB per run > {MAX_GROWTH_MB_PER_RUN} MB")
    if not object_growth <= MAX_OBJECT_GROWTH_PER_RUN:
        missed.append(f"{object_growth:+,.0f} Python objects per run")
    if difference != 0.0:
        missed.append(f"the other visitor's model changed its outputs (by up to {difference:.3g})")
    if models_at_end != len(session) + 1:
        missed.append(f"{models_at_end} Keras models left, not {len(session) + 1}")
    print("verdict: " + ("all targets met" if not missed else "MISSED: " + "; ".join(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
