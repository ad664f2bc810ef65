"""The Draw page in headless Chromium against a real server: mouse-up to prediction, and the server's memory.

Visits every page once (Home, Train, Runs, Draw), then draws the same "1"
several times (clearing in between) and reports the p50, p95 and worst time
from releasing the mouse to the prediction text appearing, and the server
process's resident memory at the end: what a host pays for the app itself,
trainings aside (they run in worker processes).

The time is measured twice: as the test sees it (Playwright polls the page, and
its checks wait while the page is busy), and on the browser's own clock, from
mouse-up to the start of the first frame that paints the prediction (a mutation
observer notes the text, an animation frame its painting). The canvas component
itself waits about 200 ms after mouse-up before it sends a drawing, and nothing
in the app can shorten that; so the part the app is responsible for, from the
canvas's send (a wrapped WebSocket) to that frame, is reported too.

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
# Browser-side clock: when the mouse was released, when the page sent the drawing after that, and when a
# "Prediction:" heading was first painted (the start of the first animation frame after it entered the page).
TIMELINE = """
(() => {
  const marks = (window.__latency = {up: 0, sent: 0, shown: 0});
  const Native = window.WebSocket;
  class Timed extends Native {
    send(data) {
      // The drawing is a PNG of several kilobytes; a fragment's timed rerun request (the sidebar's) is not.
      const size = data.byteLength ?? data.size ?? data.length ?? 0;
      if (marks.up && !marks.shown && size > 1000) marks.sent = performance.now();  // the last before it shows
      return super.send(data);
    }
  }
  window.WebSocket = Timed;
  document.addEventListener("mouseup", () => Object.assign(marks, {up: performance.now(), sent: 0, shown: 0}), true);
  new MutationObserver(() => {
    const headings = [...document.querySelectorAll("h2")];
    if (marks.up && !marks.shown && headings.some((h) => /^Prediction: \\d/.test(h.innerText))) {
      marks.shown = -1;
      // In the page is not yet on screen: the frame that paints it begins once the main thread is free.
      requestAnimationFrame(() => (marks.shown = performance.now()));
    }
  }).observe(document, {
    subtree: true,
    childList: true,
    characterData: true,
    // The Draw page's panel shows its answer by unhiding it, with text that may be the same as the last drawing's.
    attributes: true,
    attributeFilter: ["hidden"],
  });
})();
"""


def measure(runs_dir: Path, repeats: int = 12) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(runs_dir), Path(folder) / "server.log").start()
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.add_init_script(TIMELINE)
                for path in ("", "/train", "/runs", "/draw"):
                    page.goto(f"{server.url}{path}")
                    wait_idle(page)
                canvas = page.locator("canvas.upper-canvas")
                canvas.wait_for(timeout=60_000)
                times, on_page, after_send = [], [], []
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
                    page.wait_for_function("() => window.__latency.shown > 0", timeout=30_000)
                    marks = page.evaluate("() => window.__latency")
                    on_page.append((marks["shown"] - marks["up"]) / 1000)
                    after_send.append((marks["shown"] - (marks["sent"] or np.nan)) / 1000)
                    page.get_by_role("button", name="Reset canvas & history").click()
                resident = resident_mb(server.process.pid)
                browser.close()
        finally:
            server.stop()
    ms = np.asarray(times[1:]) * 1000  # the first includes loading the model
    page_ms, sent = np.asarray(on_page[1:]) * 1000, np.asarray(after_send[1:]) * 1000
    return {
        "median_ms": float(np.median(ms)),
        "p95_ms": float(np.percentile(ms, 95)),
        "max_ms": float(ms.max()),
        "page_median_ms": float(np.nanmedian(page_ms)),
        "page_p95_ms": float(np.nanpercentile(page_ms, 95)),
        "after_send_median_ms": float(np.nanmedian(sent)),
        "after_send_p95_ms": float(np.nanpercentile(sent, 95)),
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
    print(
        f"on the browser's clock (no polling by the test): p50 {result['page_median_ms']:.0f} ms, "
        f"p95 {result['page_p95_ms']:.0f} ms"
    )
    print(
        f"of which after the canvas sent the drawing: p50 {result['after_send_median_ms']:.0f} ms, "
        f"p95 {result['after_send_p95_ms']:.0f} ms"
    )
    print(f"server resident memory after every page and the drawings: {result['server_mb']:.0f} MB")


if __name__ == "__main__":
    main()
