"""Mouse-up to prediction on the Draw page, in headless Chromium against a real server.

Draws the same "1" several times (clearing in between) and reports the median
and worst time from releasing the mouse to the prediction text appearing. The
canvas component itself waits about 200 ms before it sends a drawing.

    python -m bench.browser_latency RUNS_DIR [--repeats 7]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from tests.e2e.conftest import Server, launch_chromium, wait_idle

ONE = [(140, 45), (140, 235)]


def measure(runs_dir: Path, repeats: int = 7) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(runs_dir), Path(folder) / "server.log").start()
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"{server.url}/draw")
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
                browser.close()
        finally:
            server.stop()
    times = times[1:]  # the first includes loading the model
    return {"median_ms": statistics.median(times) * 1000, "max_ms": max(times) * 1000, "repeats": repeats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs_dir", type=Path)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    result = measure(args.runs_dir, args.repeats)
    print(f"mouse-up to prediction: median {result['median_ms']:.0f} ms, worst {result['max_ms']:.0f} ms "
          f"over {result['repeats']} drawings")


if __name__ == "__main__":
    main()
