"""Does watching training slow it down? Plain `model.fit` vs training with the Train page open.

A real server and a headless Chromium on this same machine: the page is open
on the live run, receiving new points and drawing them, while the worker trains.
Four ways, in a new random order each repeat, the first epoch of each run left out:

- plain: `model.fit` alone, in a fresh process;
- engine: the app's training engine with no page open (worker process,
  streaming, checkpoints), polled as the page would;
- watched: the browser at normal priority on the same cores, as when a learner
  runs the app on their own computer;
- watched from elsewhere: the same browser at the lowest CPU priority (nice 19),
  standing in for a browser on another computer (a class using one server):
  what remains is the app's own cost.

Then one training through the page, its epochs in turn with the page live and paused (as if closed): the
same run and the same minutes for both, so the steadiest measure of what watching costs.

Also counts how often the chart actually changed in the browser, whose CPU
time the watching cost (server, browser, by Chromium process type), and the
browser's CPU time per change of the chart.

    python -m bench.page_overhead [--repeats 2] [--epochs 4] [--pairs 8]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.timing import durations_of_records
from bench.training_overhead import engine_epoch_times
from core.config import TrainConfig
from core.runs.states import ACTIVE_STATUSES
from core.training.isolated import run_isolated
from tests.browser import Server, launch_chromium, set_number, wait_idle

TICKS = os.sysconf("SC_CLK_TCK")
# Generous: on a shared machine under load a page at the lowest priority can wait minutes for a core.
PAGE_TIMEOUT_MS = 300_000


def chromium_pids() -> set[int]:
    return {
        int(pid)
        for pid in filter(str.isdigit, os.listdir("/proc"))
        if b"chrom" in _read(f"/proc/{pid}/cmdline").split(b"\0")[0]
    }


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


def launch_browser(playwright, nice: int = 0):
    """A headless Chromium; with `nice`, all its processes (and the renderers it forks later) run at that priority."""
    before = chromium_pids()
    browser = launch_chromium(playwright)
    for pid in chromium_pids() - before if nice else ():
        try:
            os.setpriority(os.PRIO_PROCESS, pid, nice)
            # With autogroup scheduling (Linux's default for desktops), a process's nice only ranks it
            # within its session; the browser runs in its own session, so that session's nice is set too.
            Path(f"/proc/{pid}/autogroup").write_text(str(nice))
        except OSError:
            pass
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    return browser, page


def own_processes() -> list[tuple[int, str, float]]:
    """(pid, role, CPU seconds (user + system)) of this benchmark's own processes that matter here: its server,
    the server's workers, its browsers. Only its own: on a shared machine, other people's browsers and
    trainings would be counted too."""
    stats = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(pid)] = (args, int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS)  # ppid at [1]
    own, grew = {os.getpid()}, True
    while grew:  # descendants of this process, however deep (browser, zygote, renderers; server, workers)
        more = {pid for pid, (_, parent, _) in stats.items() if parent in own} - own
        own |= more
        grew = bool(more)
    found = []
    for pid in own - {os.getpid()}:
        args, _, seconds = stats[pid]
        line = b" ".join(args).decode(errors="replace")
        if "core.training.worker" in line:
            role = "worker"
        elif "streamlit" in line:
            role = "server"
        elif "chrom" in args[0].decode(errors="replace"):
            # Chromium rewrites its children's command lines into one string: search it, don't split it.
            kind = re.search(r"--type=(\S+)", line)
            role = f"chromium {kind[1] if kind else 'browser'}"
        else:
            continue
        found.append((pid, role, seconds))
    return found


def cpu_seconds_by_process() -> Counter:
    """CPU time of this benchmark's own processes (`own_processes`), keyed by role."""
    totals: Counter = Counter()
    for _, role, seconds in own_processes():
        totals[role] += seconds
    return totals


def worker_scheduling() -> Counter:
    """Seconds the training worker's threads have run on a core, and waited for one while ready to run (the
    kernel's run-queue delay, /proc/<pid>/task/<tid>/schedstat). What another process's CPU costs the training
    shows in the waiting; a slower machine (another guest on the host) slows the running, not the waiting."""
    totals: Counter = Counter()
    for pid, role, _ in own_processes():
        if role != "worker":
            continue
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                ran, waited = map(int, (task / "schedstat").read_text().split()[:2])
            except (OSError, ValueError):
                continue  # a thread that ended meanwhile
            totals["ran"] += ran / 1e9
            totals["waited"] += waited / 1e9
    return totals


def start_training(page, server: Server, config: TrainConfig):
    """Start a training of `config` on the Train page; returns its live chart once it has drawn points."""
    page.goto(f"{server.url}/train")
    wait_idle(page)
    set_number(page, "Max epochs", config.epochs)
    set_number(page, "Early-stopping patience", config.patience)
    page.get_by_role("button", name="Start training").click()
    chart = page.locator(".live-curves.js-plotly-plot")  # the live curves (the weights' panel is a Plotly chart too)
    page.wait_for_function(
        "() => { const el = document.querySelector('.live-curves.js-plotly-plot'); return el && el.data[0].x.length; }",
        timeout=PAGE_TIMEOUT_MS,
    )
    return chart


def watched_epoch_times(page, server: Server, runs_dir: Path, config: TrainConfig) -> dict:
    """Start a training through the page and keep it open until the run ends."""
    chart = start_training(page, server, config)
    # Counted from the first points drawn to the run's end: what watching a training costs, not loading a page.
    before = cpu_seconds_by_process()
    run_id = page.url.split("run=")[1].split("&")[0]
    status = runs_dir / run_id / "status.json"
    # The page counts the chart's updates itself (each changes what it holds), read every 2 s: asking the page
    # at each update would cost its renderer as much as some of what is measured.
    chart.evaluate(
        """el => { el.updates = 0; new MutationObserver((changes) => { el.updates += changes.length; })
           .observe(el, {attributes: true, attributeFilter: ["data-held"]}); }"""
    )
    changes, started = 0, time.perf_counter()
    while json.loads(status.read_text())["status"] in ACTIVE_STATUSES:
        try:
            changes = chart.evaluate("el => el.updates")
        except Exception:  # the chart is replaced by the results when the run ends
            break
        time.sleep(2)
    watched = time.perf_counter() - started
    used = cpu_seconds_by_process() - before
    page.get_by_text("Held-out test results").wait_for(timeout=PAGE_TIMEOUT_MS)
    records = [json.loads(line) for line in (runs_dir / run_id / "history.jsonl").read_text().splitlines()]
    return {
        "epochs": durations_of_records(records),
        "updates": changes,
        "cpu": used,
        "seconds": watched,
    }


def live_and_paused_epoch_times(page, server: Server, runs_dir: Path, config: TrainConfig) -> dict:
    """One training through the page, its epochs watched and not watched in turn: the page live for the even
    epochs, paused for the odd ones (its script stopped in Chromium's debugger: the page stays open but runs no
    script, timer or fetch and draws nothing, as if it were closed; it goes on without a reload). Its socket to
    the live feed stays open while paused, so the server's side of it (a look at the run's records twice a
    second) counts in both kinds; what the paused updates would have drawn is drawn when the page goes on, in
    a live epoch. Both kinds of epoch share the same minutes of the same run, so a drift of the machine's
    speed cannot favour either.

    Returns each kind's epoch times (the first epoch left out), each live epoch's time over the mean of the
    paused epochs either side of it (`neighbours`: a drift of the machine's speed over the run cancels out
    of these), and Chromium's and the server's CPU (cores) during each kind.
    """
    start_training(page, server, config)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Debugger.enable")
    history = runs_dir / page.url.split("run=")[1].split("&")[0] / "history.jsonl"
    cpu, server, seconds, ended = {"live": Counter(), "paused": Counter()}, Counter(), Counter(), 0
    scheduling = {"live": Counter(), "paused": Counter()}
    while ended < config.epochs:
        kind = "live" if ended % 2 else "paused"  # the epoch now training is number ended + 1
        cdp.send("Debugger.resume" if kind == "live" else "Debugger.pause")
        before, scheduled, started = cpu_seconds_by_process(), worker_scheduling(), time.perf_counter()
        while ended == (now := _lines(history)):
            time.sleep(0.05)
        ended = now
        if ended > 1:  # the first epoch is not timed (tracing, warm-up)
            used = cpu_seconds_by_process() - before
            scheduling[kind] += worker_scheduling() - scheduled
            cpu[kind] += Counter({role: v for role, v in used.items() if role.startswith("chromium")})
            server[kind] += used["server"]
            seconds[kind] += time.perf_counter() - started
    cdp.send("Debugger.resume")
    cdp.send("Debugger.disable")
    page.get_by_text("Held-out test results").wait_for(timeout=PAGE_TIMEOUT_MS)
    durations = durations_of_records([json.loads(line) for line in history.read_text().splitlines()])
    # durations[i] is epoch i + 2, which trained live when i + 2 is even
    neighbours = [
        durations[i] / statistics.mean(durations[j] for j in (i - 1, i + 1) if 0 <= j < len(durations))
        for i in range(0, len(durations), 2)
    ]
    return {
        "live": durations[0::2],
        "paused": durations[1::2],
        "neighbours": neighbours,
        "cores": {kind: sum(cpu[kind].values()) / max(seconds[kind], 1e-9) for kind in cpu},
        "server_cores": {kind: server[kind] / max(seconds[kind], 1e-9) for kind in cpu},
        # The worker's threads' waits for a core, as a share of their running time.
        "waited_per_ran": {kind: scheduling[kind]["waited"] / max(scheduling[kind]["ran"], 1e-9) for kind in cpu},
    }


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return 0


def plain_epoch_times_in_a_process(config: TrainConfig) -> list[float]:
    """Plain `model.fit` in a fresh Python process, like each of the app's trainings (a worker process):
    the bench's own process also drives two browsers and has trained before."""
    return run_isolated("bench.training_overhead", "plain_epoch_times", config)


def measure(repeats: int = 2, epochs: int = 4, pairs: int = 8) -> dict:
    from playwright.sync_api import sync_playwright

    config = TrainConfig(epochs=epochs, patience=0)
    times: dict[str, list[float]] = {way: [] for way in ("plain", "engine", "watched", "elsewhere")}
    updates, cpu, seconds = 0, Counter(), 0.0
    order = random.Random(0)
    with tempfile.TemporaryDirectory() as folder:
        runs_dir = Path(folder) / "runs"
        server = Server(runs_dir, Path(folder) / "server.log").start()
        try:
            with sync_playwright() as playwright:
                browser, page = launch_browser(playwright)
                far_browser, far_page = launch_browser(playwright, nice=19)
                for _ in range(repeats):
                    # A new order each repeat, so a drift of the machine's speed does not favour one way.
                    for way in order.sample(list(times), len(times)):
                        if way == "plain":
                            times[way] += plain_epoch_times_in_a_process(config)
                        elif way == "engine":
                            times[way] += engine_epoch_times(config, str(runs_dir))[0]
                        else:
                            tab = page if way == "watched" else far_page
                            result = watched_epoch_times(tab, server, runs_dir, config)
                            tab.goto("about:blank")  # closed while the others train
                            times[way] += result["epochs"]
                            if way == "watched":
                                updates += result["updates"]
                                cpu += result["cpu"]
                                seconds += result["seconds"]
                        print(f"{way}: {len(times[way])} epochs so far", file=sys.stderr, flush=True)
                paired_config = TrainConfig(epochs=2 * pairs + 1, patience=0)
                paired = live_and_paused_epoch_times(page, server, runs_dir, paired_config)
                browser.close()
                far_browser.close()
        finally:
            server.stop()
    median = {way: statistics.median(values) for way, values in times.items()}
    return {
        "plain_epoch_s": median["plain"],
        "engine_epoch_s": median["engine"],
        "engine_ratio": median["engine"] / median["plain"],
        "watched_epoch_s": median["watched"],
        "ratio": median["watched"] / median["plain"],
        "elsewhere_epoch_s": median["elsewhere"],
        "elsewhere_ratio": median["elsewhere"] / median["plain"],
        "watched_engine_ratio": median["watched"] / median["engine"],
        # One training, its epochs in turn with the page live and paused: the steadiest measure of the page's cost.
        "live_epoch_s": statistics.median(paired["live"]),
        "paused_epoch_s": statistics.median(paired["paused"]),
        "live_paused_ratio": statistics.median(paired["live"]) / statistics.median(paired["paused"]),
        "live_paused_neighbour_ratio": statistics.median(paired["neighbours"]),
        # If the training's threads, whenever they waited for a core, held up the whole training: its epochs
        # live against paused, from the waits alone (not from the clock, which the machine's noise moves).
        "live_paused_from_waits": (1 + paired["waited_per_ran"]["live"]) / (1 + paired["waited_per_ran"]["paused"]),
        "live_paused_epochs": paired,
        "chart_updates_per_s": updates / seconds,
        # The page's renderer process draws the chart: its CPU time per change of the chart (every rerun of
        # the live fragment costs it something too, chart or not).
        "renderer_ms_per_update": 1000 * cpu["chromium renderer"] / max(updates, 1),
        "browser_ms_per_update": 1000 * sum(v for k, v in cpu.items() if k.startswith("chromium")) / max(updates, 1),
        "cores_used": {role: used / seconds for role, used in sorted(cpu.items())},
        "epochs_measured": len(times["plain"]),
        "epoch_times": times,
        # The fastest epochs: other work on a shared machine only ever adds time, so these ratios are
        # steadier than the medians when the machine is noisy.
        "fastest_ratios": {way: min(values) / min(times["plain"]) for way, values in times.items() if way != "plain"},
        "fastest_watched_engine_ratio": min(times["watched"]) / min(times["engine"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--pairs", type=int, default=8, help="epochs live and paused, each, in the one training")
    args = parser.parse_args()
    result = measure(args.repeats, args.epochs, args.pairs)
    print(f"plain model.fit          median epoch {result['plain_epoch_s']:.3f} s")
    print(f"engine, no page open     median epoch {result['engine_epoch_s']:.3f} s")
    print(
        f"Train page open, live    median epoch {result['watched_epoch_s']:.3f} s  "
        f"(chart changed {result['chart_updates_per_s']:.1f} times/s)"
    )
    print(f"browser elsewhere        median epoch {result['elsewhere_epoch_s']:.3f} s")
    print(f"engine / plain           {result['engine_ratio']:.3f}")
    print(f"watched / plain          {result['ratio']:.3f}  over {result['epochs_measured']} epochs each")
    print(
        f"watched / engine         {result['watched_engine_ratio']:.3f}  "
        f"(fastest epochs: {result['fastest_watched_engine_ratio']:.3f}; the target is 1.05 or less)"
    )
    print(
        f"browser CPU per update   renderer {result['renderer_ms_per_update']:.1f} ms, "
        f"all of Chromium {result['browser_ms_per_update']:.1f} ms"
    )
    print(f"elsewhere / plain        {result['elsewhere_ratio']:.3f}")
    print(
        "fastest epoch / plain's: " + ", ".join(f"{way} {ratio:.3f}" for way, ratio in result["fastest_ratios"].items())
    )
    for way, values in result["epoch_times"].items():
        print(f"  {way:10s} epochs (s): " + " ".join(f"{v:.2f}" for v in sorted(values)))
    print(
        "cores used while watching: " + ", ".join(f"{role} {share:.2f}" for role, share in result["cores_used"].items())
    )
    paired = result["live_paused_epochs"]
    print(
        f"one training, page live / paused epochs: {result['live_paused_ratio']:.3f} "
        f"({result['live_epoch_s']:.3f} s / {result['paused_epoch_s']:.3f} s; the target is 1.05 or less); "
        f"each live epoch against the paused ones beside it: {result['live_paused_neighbour_ratio']:.3f}; "
        f"Chromium used {paired['cores']['live']:.3f} and {paired['cores']['paused']:.3f} cores, the server "
        f"{paired['server_cores']['live']:.3f} and {paired['server_cores']['paused']:.3f}"
    )
    print(
        f"the training's threads waited for a core {paired['waited_per_ran']['live']:.1%} of their running time "
        f"live, {paired['waited_per_ran']['paused']:.1%} paused: live / paused from the waits "
        f"{result['live_paused_from_waits']:.3f}"
    )
    for kind in ("live", "paused"):
        print(f"  {kind:10s} epochs (s): " + " ".join(f"{v:.2f}" for v in paired[kind]))


if __name__ == "__main__":
    main()
