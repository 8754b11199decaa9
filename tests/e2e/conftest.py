"""Browser tests: a real `streamlit run app.py` driven by Debian's Chromium through Playwright.

The browser is not downloaded (that needs the internet): install Debian's `chromium` (see the
README) or point CNN_LAB_CHROMIUM at a Chromium binary. A missing browser fails these tests; it
never skips them.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import new_visitor

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CNN_LAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
STARTUP_SECONDS = 60


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_app(log_dir: Path, **env: str) -> Iterator[str]:
    """Run `streamlit run app.py` on a free port until the block ends; yield its URL.

    ``env`` is added to this process's environment, e.g. ``CNN_LAB_PROFILE="hosted"`` for a
    server with the hosted limits (cnn_core.config reads them once, at start-up).
    """
    port = _free_port()
    log_path = log_dir / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start; its log:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.25)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory) -> Iterator[str]:
    """The app with the default (local) limits, started once for the whole browser session."""
    with serve_app(tmp_path_factory.mktemp("streamlit")) as url:
        yield url


@pytest.fixture(scope="module")
def local_app_url(request, tmp_path_factory) -> Iterator[str]:
    """A server with the plain local profile (two trainings at once, no instructor's file): the
    session's own server when the tests run that way, else one started for this module."""
    from cnn_core.config import CONFIG_ENV, PROFILE

    if PROFILE == "local" and not os.environ.get(CONFIG_ENV, "").strip():
        yield request.getfixturevalue("app_url")
        return
    log_dir = tmp_path_factory.mktemp("streamlit-local")
    with serve_app(log_dir, CNN_LAB_PROFILE="local", CNN_LAB_CONFIG="") as url:
        yield url


@pytest.fixture(scope="module")
def hosted_app_url(tmp_path_factory) -> Iterator[str]:
    """A second server with the plain hosted profile (one training at a time, …; no
    instructor's file), for the tests of one module only: it stops when they are done."""
    log_dir = tmp_path_factory.mktemp("streamlit-hosted")
    with serve_app(log_dir, CNN_LAB_PROFILE="hosted", CNN_LAB_CONFIG="") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. Install it (apt-get install chromium) or set "
            "CNN_LAB_CHROMIUM; the browser tests never skip."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (its own Streamlit session) and page for each test."""
    page = new_visitor(browser)
    yield page
    page.context.close()
