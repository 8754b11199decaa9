"""The small graph presets (``mini_resnet``, ``mini_inception``) trained on MNIST with the Train
page's defaults: test accuracy after each epoch, and time.

    python benchmarks/mini_graphs.py             # both, one after the other
    python benchmarks/mini_graphs.py mini_resnet

Each preset is trained by benchmarks/time_to_accuracy.py in its own process (a fresh process for
each, so that one run's memory does not weigh on the next): all 60,000 training images, 10 % held
out for validation, :data:`cnn_core.training.DEFAULTS` (3 epochs, batch 128, Adam 0.003 with a
warm-up and cosine decay), scored on the 10,000 test images after every epoch.
Target: ≥ 99.0 % test accuracy within the default 3 epochs, for each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PRESETS = ("mini_resnet", "mini_inception")


def main(names: list[str]) -> int:
    failed = 0
    summary = []
    for name in names or PRESETS:
        print(f"== {name}", flush=True)
        done = subprocess.run(
            [sys.executable, str(HERE / "time_to_accuracy.py"), "--preset", name],
            capture_output=True,
            text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            check=False,
        )
        lines = done.stdout.strip().splitlines()
        print("\n".join(lines[:-1]), flush=True)
        failed += done.returncode != 0
        if not lines or not lines[-1].startswith("{"):
            print(done.stderr[-2000:], file=sys.stderr)
            continue
        result = json.loads(lines[-1])
        last = result["epochs"][-1]
        summary.append(
            f"{name}: {last['test_accuracy']:.2%} after {last['epoch']} epochs, "
            f"{last['seconds']:.0f} s of training ({last['cpu_seconds']:.0f} CPU-s), "
            f"peak RSS {result['peak_rss_gb']} GB"
        )
    print("\n".join(["== summary", *summary]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
