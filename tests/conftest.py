"""Shared test settings."""

import os

# Keep TensorFlow's C++ logging out of the test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# AppTest's default 3 s is too short for pages that import TensorFlow (3–4 s on its own).
APP_TIMEOUT = 120
