"""Starting `streamlit run app.py` and Debian's chromium for the real-browser tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from support.paths import ROOT  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags chromium keeps dialling Google on this closed network.
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def require_browser() -> None:
    """Skip locally without chromium/playwright; in CI (LSTM_TEXT_LAB_REQUIRE_BROWSER=1) fail instead."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("Debian's chromium (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package")
    if missing:
        message = "browser test needs " + " and ".join(missing)
        if os.environ.get("LSTM_TEXT_LAB_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(runs_dir: Path, *, script: str = "app.py", timeout: float = 60.0):
    """`streamlit run` on a free port; yields the base URL and stops the server (and its workers) afterwards."""
    port = free_port()
    env = {**os.environ, "LSTM_TEXT_LAB_RUNS": str(runs_dir), "PYTHONPATH": str(ROOT)}
    log = runs_dir.parent / f"streamlit-{port}.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port), "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"streamlit did not start: {log.read_text()[-2000:]}")
        yield url
    finally:
        os.killpg(process.pid, 15)  # the server and the training/inference processes it spawned
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)


def nav(page, name: str) -> None:
    """Open a page by its link in the sidebar's navigation."""
    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name=name, exact=True).click()


def settle(page, seconds: float = 1.5, timeout: float = 240.0) -> None:
    """Wait until the app stops running (no status widget, no spinner), then a moment for charts to draw."""
    deadline = time.time() + timeout
    time.sleep(seconds)
    while time.time() < deadline:
        if (page.locator('[data-testid="stStatusWidget"]').count() == 0
                and page.locator('[data-testid="stSpinner"]').count() == 0):
            break
        time.sleep(0.5)
    time.sleep(seconds)


def screenshots_folder(tmp_path: Path) -> Path:
    """$LSTM_TEXT_LAB_SCREENSHOTS when set (for a person to look at), else the test's temporary folder."""
    folder = Path(os.environ.get("LSTM_TEXT_LAB_SCREENSHOTS") or tmp_path / "screens")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
