"""How long one drawing takes from canvas to probabilities: CNN Lab's path against model.predict.

    python benchmarks/classify_latency.py [--repeats 200] [--model model.keras]

Both paths classify the same 280×280 RGBA drawing (what the Draw page's canvas sends) with the
same preprocessing (cnn_core.canvas.preprocess); they differ in the forward pass:

- ours: ``Classifier.classify``, a tf.function graph for one image (traced once, reused);
- predict: ``model.predict``, which sets up a data pipeline for every call, even for one image.

It also times the preprocessing alone and the page's full path (every layer's output too).
Figures are medians over ``--repeats`` runs, interleaved so that a busy machine slows every path
alike; the ratio is what to compare between machines. Target: ours ≤ 5 ms median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PIL import Image, ImageDraw

from cnn_core.canvas import preprocess
from cnn_core.classify import load_bundled, load_classifier

TARGET_MS = 5.0


def drawing() -> np.ndarray:
    """A 7 drawn with the page's default pen, as the canvas sends it (RGBA, white on black)."""
    image = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(image).line([(80, 50), (200, 50), (120, 240)], fill=255, width=22, joint="curve")
    return np.asarray(image.convert("RGBA"))


def load_average() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--model", help="a .keras file (default: the bundled digits model)")
    args = parser.parse_args()

    print(f"Machine load before: {load_average()}")
    classifier = load_classifier(args.model) if args.model else load_bundled()
    model, image = classifier.model, drawing()

    def ours() -> None:
        classifier.classify(image)

    def with_predict() -> None:
        digit = preprocess(image).digit
        model.predict(classifier.plan.adapt(digit), verbose=0)

    def preprocessing() -> None:
        preprocess(image)

    def page_path() -> None:
        classifier.classify(image, with_layers=True)

    paths = {
        "preprocess only": preprocessing,
        "ours: preprocess + compiled graph": ours,
        "page: + every layer's output": page_path,
        "preprocess + model.predict": with_predict,
    }
    assert classifier.classify(image).label == "7", "the benchmark drawing should read as a 7"
    for path in paths.values():  # warm up: first calls build functions and caches
        for _ in range(3):
            path()
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(args.repeats):
        for name, path in paths.items():
            start = time.perf_counter()
            path()
            times[name].append((time.perf_counter() - start) * 1000)

    print(f"{classifier.name}: {classifier.num_params:,} parameters; {args.repeats} runs each")
    width = max(len(name) for name in paths)
    for name, values in times.items():
        median = statistics.median(values)
        p90 = float(np.percentile(values, 90))
        print(f"  {name.ljust(width)}  median {median:7.2f} ms   90th percentile {p90:7.2f} ms")
    ours_ms = statistics.median(times["ours: preprocess + compiled graph"])
    predict_ms = statistics.median(times["preprocess + model.predict"])
    print(f"model.predict path / our path: {predict_ms / ours_ms:.1f}× slower")
    verdict = "meets" if ours_ms <= TARGET_MS else "MISSES"
    print(f"Our path: {ours_ms:.2f} ms median, {verdict} the {TARGET_MS:g} ms target.")
    print(f"Machine load after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
