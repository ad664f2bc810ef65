"""A real server and a real Chromium: shared by the browser tests (tests/e2e) and the benchmarks (bench/)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run app.py` on a free port, with its own run store and log (and `env` added to its environment)."""

    def __init__(self, runs_dir: Path, log_path: Path, env: dict[str, str] | None = None):
        self.runs_dir, self.log_path, self.env = runs_dir, log_path, env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    script = "app.py"  # what it runs; a benchmark's own page (bench/live_chart_app.py) sets another

    def start(self) -> "Server":
        env = {**os.environ, "MNIST_RUNS_DIR": str(self.runs_dir), "TF_CPP_MIN_LOG_LEVEL": "2", **self.env}
        self._log = open(self.log_path, "ab")  # noqa: SIM115 -- the server writes to it until stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                self.script,
                "--server.headless",
                "true",
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"server did not start; log: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def launch_chromium(playwright):
    """Debian's headless Chromium with the flags this machine needs (Playwright's own where it is missing)."""
    options = {"args": CHROMIUM_ARGS}
    if Path(CHROMIUM).exists():
        options["executable_path"] = CHROMIUM
    return playwright.chromium.launch(**options)


def wait_idle(page) -> None:
    """Wait until Streamlit has finished running the script for the last action."""
    page.wait_for_selector("[data-test-script-state='notRunning']", state="attached")


def set_number(page, label: str, value) -> None:
    """Type a value into a number field and let the script rerun."""
    field = page.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    wait_idle(page)


def click_once_still(locator, still_for: int = 3) -> None:
    """Click where the element has stayed put for a few checks: charts and pictures still arriving push it down,
    and a popover opened from it just before would be left where it was."""
    box, same = None, 0
    deadline = time.time() + 30
    while same < still_for and time.time() < deadline:
        now = locator.bounding_box()
        same = same + 1 if now is not None and now == box else 0
        box = now
        time.sleep(0.3)
    locator.click()
