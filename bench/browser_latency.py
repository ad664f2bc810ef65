"""The Draw page in headless Chromium against a real server: mouse-up to prediction, and the server's memory.

Visits every page once (Home, Train, Runs, Draw), then draws the same "1"
several times (clearing in between) and reports the p50, p95 and worst time
from releasing the mouse to the prediction text appearing (the canvas component
itself waits about 200 ms before it sends a drawing), and the server process's
resident memory at the end: what a host pays for the app itself, trainings
aside (they run in worker processes).

    python -m bench.browser_latency RUNS_DIR [--repeats 12]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.browser import Server, launch_chromium, wait_idle

ONE = [(140, 45), (140, 235)]


def measure(runs_dir: Path, repeats: int = 12) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(runs_dir), Path(folder) / "server.log").start()
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                for path in ("", "/train", "/runs", "/draw"):
                    page.goto(f"{server.url}{path}")
                    wait_idle(page)
                canvas = page.locator("canvas.upper-canvas")
                canvas.wait_for(timeout=60_000)
                times = []
                for _ in range(repeats + 1):
                    page.get_by_text("it is empty").wait_for(timeout=30_000)
                    box = canvas.bounding_box()
                    page.mouse.move(box["x"] + ONE[0][0], box["y"] + ONE[0][1])
                    page.mouse.down()
                    page.mouse.move(box["x"] + ONE[1][0], box["y"] + ONE[1][1], steps=8)
                    page.mouse.up()
                    released = time.perf_counter()
                    page.get_by_text(re.compile(r"^Prediction: \d")).wait_for(timeout=30_000)
                    times.append(time.perf_counter() - released)
                    page.get_by_role("button", name="Reset canvas & history").click()
                resident = resident_mb(server.process.pid)
                browser.close()
        finally:
            server.stop()
    ms = np.asarray(times[1:]) * 1000  # the first includes loading the model
    return {
        "median_ms": float(np.median(ms)),
        "p95_ms": float(np.percentile(ms, 95)),
        "max_ms": float(ms.max()),
        "repeats": repeats,
        "server_mb": resident,
    }


def resident_mb(pid: int) -> float:
    """Resident memory of a process (Linux), in MB."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs_dir", type=Path)
    parser.add_argument("--repeats", type=int, default=12)
    args = parser.parse_args()
    result = measure(args.runs_dir, args.repeats)
    print(
        f"mouse-up to prediction: p50 {result['median_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms, "
        f"worst {result['max_ms']:.0f} ms over {result['repeats']} drawings"
    )
    print(f"server resident memory after every page and the drawings: {result['server_mb']:.0f} MB")


if __name__ == "__main__":
    main()
