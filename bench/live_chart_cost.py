"""What one update of the live chart costs the browser: a whole Plotly figure redrawn (main's way) vs points
appended to a chart drawn once (the Train page's way now), in one run, in one browser, without training.

bench/live_chart_app.py shows made-up records of the default model's training (19 batch records an epoch,
20 epochs planned), starting halfway through and growing by two batch records twice a second, either way.
Each repeat measures both ways, in a new random order, for `seconds` each, from the first drawing on: the
renderer's (and all Chromium's) CPU time and the server's per change of the chart. Training is not
involved, so the machine's drifting speed only reaches this through CPU time, which it changes less than
wall time; bench/page_overhead.py measures the whole page while a training runs.

    python -m bench.live_chart_cost [--seconds 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.page_overhead import cpu_seconds_by_process
from tests.browser import ROOT, Server, launch_chromium

MAX_EPOCHS = 20
STEPS, CALLS_PER_EPOCH = 430, 19  # the default model: 430 steps an epoch, 23 steps per call
WAYS = ("figure", "appended")
LENGTHS = "el => el.data ? el.data.map(t => t.x.length).join() : ''"


def records_at(update: int) -> tuple[list[dict], list[dict]]:
    """The records shown at `update` (0, 1, ...): half the training, then two more batch records each update."""
    batches, epochs = [], []
    count = MAX_EPOCHS * CALLS_PER_EPOCH // 2 + 2 * update
    every = -(-STEPS // CALLS_PER_EPOCH)
    for epoch in range(MAX_EPOCHS):
        for step in [*range(every, STEPS, every), STEPS]:
            if len(batches) == count:
                return batches, epochs
            loss = 0.05 + 1.5 / (1 + 3 * (epoch + step / STEPS))
            batches.append({"epoch": epoch + step / STEPS, "step": step, "loss": loss, "accuracy": 1 - loss / 3})
        epochs.append(
            {"epoch": epoch + 1, "loss": loss, "accuracy": 1 - loss / 3, "val_loss": loss, "val_accuracy": 1 - loss / 3}
        )
    return batches, epochs


def one_way(page, url: str, seconds: float) -> tuple[int, Counter]:
    """Chart changes and CPU seconds by role while the page at `url` updates its chart for `seconds`."""
    page.goto(url)
    page.wait_for_function("() => { const el = document.querySelector('.js-plotly-plot'); return el && el.data; }")
    chart = page.locator(".js-plotly-plot").first
    before, last, changes = cpu_seconds_by_process(), chart.evaluate(LENGTHS), 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        time.sleep(0.2)
        shown = chart.evaluate(LENGTHS)
        changes += shown != last
        last = shown
    used = cpu_seconds_by_process() - before
    page.goto("about:blank")
    return changes, used


def measure(seconds: float = 20, repeats: int = 3) -> dict:
    from playwright.sync_api import sync_playwright

    updates, cpu = Counter(), {way: Counter() for way in WAYS}
    order = random.Random(0)
    with tempfile.TemporaryDirectory() as folder:
        # The bench page imports core/ and pages/ from the project's root, as app.py does.
        server = Server(Path(folder) / "runs", Path(folder) / "server.log", env={"PYTHONPATH": str(ROOT)})
        server.script = "bench/live_chart_app.py"
        server.start()
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(300_000)
                for _ in range(repeats):
                    for way in order.sample(WAYS, len(WAYS)):
                        changes, used = one_way(page, f"{server.url}/?way={way}", seconds)
                        updates[way] += changes
                        cpu[way] += used
                browser.close()
        finally:
            server.stop()
    result = {}
    for way in WAYS:
        per_update = {role: 1000 * used / max(updates[way], 1) for role, used in cpu[way].items()}
        result[way] = {
            "updates_per_s": updates[way] / (seconds * repeats),
            "renderer_ms": per_update.get("chromium renderer", 0.0),
            "browser_ms": sum(ms for role, ms in per_update.items() if role.startswith("chromium")),
            "server_ms": per_update.get("server", 0.0),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    result = measure(args.seconds, args.repeats)
    print("CPU per chart update      renderer   all Chromium   server   (updates/s)")
    for way, row in result.items():
        print(
            f"{way:24s}  {row['renderer_ms']:6.1f} ms  {row['browser_ms']:9.1f} ms  {row['server_ms']:5.1f} ms"
            f"   ({row['updates_per_s']:.2f})"
        )


if __name__ == "__main__":
    main()
