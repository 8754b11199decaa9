"""How long the Shapes page's arithmetic takes for the famous networks, without TensorFlow.

    python benchmarks/ledger_speed.py

For each famous preset it times reading the spec from its JSON and computing its whole ledger
(every row's shapes, parameters, formulas, receptive field; the blocks and the problems), and
renders every formula and problem in English, as a page does. Each figure is the median of
several repetitions, and is also given as a ratio to the ledger of the small tutorial CNN timed
in the same run, which stays meaningful on a busy machine. Target: a ResNet-50 ledger in
≤ 200 ms, and TensorFlow never imported.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnn_core.presets import FAMOUS, PRESETS
from cnn_core.shapes import ledger
from cnn_core.spec import Spec

TARGET_MS = 200
REPEATS = 15


def median_ms(text: str) -> float:
    """Median milliseconds to parse ``text`` and compute and render its ledger."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        led = ledger(Spec.from_json(text))
        for row in led.rows:
            for formula in row.formulas:
                formula.label, formula.text, formula.note  # noqa: B018  # what a page shows
        for problem in led.problems:
            str(problem)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    one, five, _ = os.getloadavg()
    print(f"machine load before: {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs")
    baseline = median_ms(PRESETS["tutorial"].spec.to_json())
    print(f"{'tutorial':<15} {baseline:8.2f} ms  (9 rows; the unit of the ratios)")
    results = {}
    for name, preset in FAMOUS.items():
        text = preset.spec.to_json()
        ms = median_ms(text)
        rows = len(ledger(preset.spec).rows)
        results[name] = ms
        print(f"{name:<15} {ms:8.2f} ms  {ms / baseline:6.1f}× the tutorial CNN, {rows} rows")
    imported = "tensorflow" in sys.modules or "keras" in sys.modules
    print(f"TensorFlow imported: {imported}")
    print(f"machine load after: {os.getloadavg()[0]:.2f} (1 min)")
    ok = results["resnet50"] <= TARGET_MS and not imported
    print(
        f"ResNet-50: {results['resnet50']:.1f} ms (target ≤ {TARGET_MS} ms): {'ok' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
