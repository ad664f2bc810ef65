"""Does watching training slow it down? Plain `model.fit` vs training with the Train page open.

A real server and a headless Chromium on this same machine: the page is open
on the live run, polling, and redrawing its chart, while the worker trains.
Runs are interleaved (plain, page, plain, ...); the first epoch of each is left
out. Also counts how often the chart actually changed in the browser, and
whose CPU time the watching cost (server, browser, by Chromium process type).

    python -m bench.page_overhead [--repeats 2] [--epochs 4]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.training_overhead import plain_epoch_times
from core.config import TrainConfig
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, Server, set_number, wait_idle

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds_by_process() -> Counter:
    """CPU time (user + system) of every live process that matters here, keyed by role."""
    totals: Counter = Counter()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        line = b" ".join(args).decode(errors="replace")
        if "core.worker" in line:
            role = "worker"
        elif "streamlit" in line:
            role = "server"
        elif "chrom" in args[0].decode(errors="replace"):
            # Chromium rewrites its children's command lines into one string: search it, don't split it.
            kind = re.search(r"--type=(\S+)", line)
            role = f"chromium {kind[1] if kind else 'browser'}"
        else:
            continue
        totals[role] += (int(fields[11]) + int(fields[12])) / TICKS
    return totals


def watched_epoch_times(page, server: Server, runs_dir: Path, config: TrainConfig) -> dict:
    """Start a training through the page and keep it open until the run ends."""
    page.goto(f"{server.url}/train")
    wait_idle(page)
    set_number(page, "Max epochs", config.epochs)
    set_number(page, "Early-stopping patience", config.patience)
    before = cpu_seconds_by_process()
    page.get_by_role("button", name="Start training").click()
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for(timeout=120_000)
    run_id = page.url.split("run=")[1].split("&")[0]
    status = runs_dir / run_id / "status.json"
    changes, last, started = 0, None, time.perf_counter()
    while json.loads(status.read_text())["status"] in ("queued", "running"):
        try:
            shown = chart.evaluate("el => el.data ? el.data.map(t => t.x.length).join() : ''")
        except Exception:  # the chart is replaced by the results when the run ends
            break
        changes += shown != last
        last = shown
        time.sleep(0.2)
    watched = time.perf_counter() - started
    used = cpu_seconds_by_process() - before
    page.get_by_text("Held-out test results").wait_for(timeout=120_000)
    ends = [json.loads(line)["seconds"] for line in (runs_dir / run_id / "history.jsonl").read_text().splitlines()]
    return {"epochs": [b - a for a, b in zip(ends, ends[1:])], "updates_per_s": changes / watched,
            "cpu": used, "seconds": watched}


def measure(repeats: int = 2, epochs: int = 4) -> dict:
    from playwright.sync_api import sync_playwright

    config = TrainConfig(epochs=epochs, patience=0)
    plain, watched, rates, cpu, seconds = [], [], [], Counter(), 0.0
    with tempfile.TemporaryDirectory() as folder:
        runs_dir = Path(folder) / "runs"
        server = Server(runs_dir, Path(folder) / "server.log").start()
        try:
            with sync_playwright() as playwright:
                options = {"args": CHROMIUM_ARGS}
                if Path(CHROMIUM).exists():
                    options["executable_path"] = CHROMIUM
                browser = playwright.chromium.launch(**options)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(60_000)
                for _ in range(repeats):
                    page.goto("about:blank")  # the page is closed while the plain fit runs
                    plain += plain_epoch_times(config)
                    result = watched_epoch_times(page, server, runs_dir, config)
                    watched += result["epochs"]
                    rates.append(result["updates_per_s"])
                    cpu += result["cpu"]
                    seconds += result["seconds"]
                browser.close()
        finally:
            server.stop()
    plain_median, watched_median = statistics.median(plain), statistics.median(watched)
    return {
        "plain_epoch_s": plain_median, "watched_epoch_s": watched_median,
        "ratio": watched_median / plain_median, "chart_updates_per_s": statistics.median(rates),
        "cores_used": {role: used / seconds for role, used in sorted(cpu.items())},
        "epochs_measured": len(plain),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    result = measure(args.repeats, args.epochs)
    print(f"plain model.fit          median epoch {result['plain_epoch_s']:.3f} s")
    print(f"Train page open, live    median epoch {result['watched_epoch_s']:.3f} s  "
          f"(chart changed {result['chart_updates_per_s']:.1f} times/s)")
    print(f"watched / plain          {result['ratio']:.3f}  over {result['epochs_measured']} epochs each")
    print("cores used while watching: " + ", ".join(f"{role} {share:.2f}" for role, share
                                                   in result["cores_used"].items()))


if __name__ == "__main__":
    main()
