"""Every benchmark in one go, printed as one Markdown table (the README shows its latest output).

    python -m bench

Trains the default model once on the full data (about a minute), so it takes a few minutes.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from bench import (
    browser_latency,
    class_scale,
    concurrency,
    drawn_digits,
    evidence_deletion,
    fast_mode,
    handwriting,
    inference_latency,
    matmul_bound,
    page_overhead,
)
from bench.timing import durations_of_records, median_or_none
from core.config import TrainConfig
from core.engine.jobs import JobManager
from core.runs.store import RunStore


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {model}, CPU only"


AUGMENTED = TrainConfig(augment=True, epochs=30, patience=5)  # augmentation needs more epochs to settle


def default_training(runs_dir: Path, config: TrainConfig | None = None) -> dict:
    job = JobManager(RunStore(runs_dir)).submit(config or TrainConfig())
    job.wait()
    if job.error:
        raise RuntimeError(job.error)
    return {
        "run_id": job.run_id,
        **job.metrics.to_dict(),
        "median_epoch_s": median_or_none(durations_of_records(job.log.records()[1])),
    }


def main() -> None:
    started = time.time()
    with tempfile.TemporaryDirectory() as folder:
        runs = Path(folder) / "runs"
        overhead = page_overhead.measure()
        bound = matmul_bound.measure(repeats=2)
        trained = default_training(runs)
        classic_path = str(RunStore(runs).model_path(trained["run_id"]))
        latency = inference_latency.measure(model_path=classic_path)
        evidence = evidence_deletion.measure(classic_path)
        browser = browser_latency.measure(runs)
        augmented = default_training(runs, AUGMENTED)
        drawn = {
            name: drawn_digits.accuracy(path)
            for name, path in (
                ("classic", classic_path),
                ("augmented", str(RunStore(runs).model_path(augmented["run_id"]))),
            )
        }
        taught = handwriting.measure(store=RunStore(runs), before=trained["run_id"])
        fast = fast_mode.measure()
        shutil.rmtree(runs, ignore_errors=True)
    together = concurrency.measure()
    scale = class_scale.measure()
    rows = [
        (
            "training engine, no page open, vs plain `model.fit` (median epoch, default model)",
            f"{overhead['engine_epoch_s']:.3f} s vs {overhead['plain_epoch_s']:.3f} s: "
            f"ratio {overhead['engine_ratio']:.3f} (fastest epochs: {overhead['fastest_ratios']['engine']:.3f})",
        ),
        (
            "Train page open and live, browser elsewhere (Chromium at lowest CPU priority) vs plain",
            f"{overhead['elsewhere_epoch_s']:.3f} s: ratio {overhead['elsewhere_ratio']:.3f} "
            f"(fastest epochs: {overhead['fastest_ratios']['elsewhere']:.3f})",
        ),
        (
            "Train page open and live, browser on the same 2 cores vs plain",
            f"{overhead['watched_epoch_s']:.3f} s: ratio {overhead['ratio']:.3f} "
            f"(fastest epochs: {overhead['fastest_ratios']['watched']:.3f}); chart updated "
            f"{overhead['chart_updates_per_s']:.1f} times/s; browser used "
            f"{sum(v for k, v in overhead['cores_used'].items() if k.startswith('chromium')):.2f} cores, "
            f"server {overhead['cores_used'].get('server', 0):.2f}",
        ),
        (
            "Train page open and live, same cores, vs the engine alone (target: 1.05 or less)",
            f"ratio {overhead['watched_engine_ratio']:.3f} (fastest epochs: "
            f"{overhead['fastest_watched_engine_ratio']:.3f}); browser CPU per chart update: renderer "
            f"{overhead['renderer_ms_per_update']:.1f} ms, all of Chromium {overhead['browser_ms_per_update']:.1f} ms",
        ),
        (
            "one training, its epochs in turn with the Train page live and paused (as if closed), same cores "
            "(target: 1.05 or less)",
            f"{overhead['live_epoch_s']:.3f} s vs {overhead['paused_epoch_s']:.3f} s: ratio "
            f"{overhead['live_paused_ratio']:.3f}; each live epoch against the paused ones beside it: "
            f"{overhead['live_paused_neighbour_ratio']:.3f}; Chromium used "
            f"{overhead['live_paused_epochs']['cores']['live']:.2f} and "
            f"{overhead['live_paused_epochs']['cores']['paused']:.2f} cores, the server "
            f"{overhead['live_paused_epochs']['server_cores']['live']:.2f} and "
            f"{overhead['live_paused_epochs']['server_cores']['paused']:.2f}; the training's threads waited for a "
            f"core {overhead['live_paused_epochs']['waited_per_ran']['live']:.1%} of their running time live, "
            f"{overhead['live_paused_epochs']['waited_per_ran']['paused']:.1%} paused (live / paused from the waits: "
            f"{overhead['live_paused_from_waits']:.3f})",
        ),
        (
            "default model: engine's median epoch vs numpy's matrix products at the same shapes (the bound)",
            f"{bound['engine_epoch_s']:.2f} s vs {bound['matmul_epoch_s']:.2f} s: {bound['engine_ratio']:.2f}x the "
            f"bound (with Keras's own weight updates: {bound['keras_updates_epoch_s']:.2f} s, "
            f"{bound['keras_updates_ratio']:.2f}x; and one step per call: {bound['one_step_epoch_s']:.2f} s, "
            f"{bound['one_step_ratio']:.2f}x)",
        ),
        (
            "batch updates the page receives; Stop to training halted",
            f"{bound['updates_per_s']:.1f} per second; {bound['stop_s']:.2f} s",
        ),
        ("default model, full data: epoch time", f"{trained['median_epoch_s']:.2f} s"),
        (
            "default model: held-out test accuracy",
            f"{trained['test_accuracy']:.2%} after {trained['epochs_run']} epochs (best {trained['best_epoch']})",
        ),
        (
            "one drawing: preprocessing + numpy forward pass (the Draw page)",
            f"p50 {latency['numpy_p50_ms']:.1f} ms, p95 {latency['numpy_p95_ms']:.1f} ms",
        ),
        (
            "one drawing: preprocessing + Keras model call (traced)",
            f"p50 {latency['keras_p50_ms']:.1f} ms, p95 {latency['keras_p95_ms']:.1f} ms",
        ),
        (
            "one drawing: preprocessing + `model.predict`",
            f"p50 {latency['predict_p50_ms']:.1f} ms, p95 {latency['predict_p95_ms']:.1f} ms",
        ),
        (
            "mouse-up to prediction in Chromium (target p95: 300 ms)",
            f"on the browser's clock: p50 {browser['page_median_ms']:.0f} ms, p95 {browser['page_p95_ms']:.0f} ms; "
            f"as Playwright polls: p50 {browser['median_ms']:.0f} ms, p95 {browser['p95_ms']:.0f} ms, worst "
            f"{browser['max_ms']:.0f} ms; after the canvas sends: p50 {browser['after_send_median_ms']:.0f} ms, "
            f"p95 {browser['after_send_p95_ms']:.0f} ms",
        ),
        (
            'Draw\'s "Why this answer" (bench/evidence_deletion.py): 1,000 test digits, default model',
            evidence_deletion.summary(evidence),
        ),
        ("server resident memory after visiting every page and drawing", f"{browser['server_mb']:.0f} MB"),
        (
            "augmented model (`--augment`, 30 epochs, patience 5): held-out test accuracy",
            f"{augmented['test_accuracy']:.2%} (classic {trained['test_accuracy']:.2%})",
        ),
        (
            "500 stroke-drawn digits (bench/drawn_digits.py): accuracy",
            f"augmented {drawn['augmented']:.1%}, classic {drawn['classic']:.1%}",
        ),
        (
            "your handwriting (bench/handwriting.py): real people's digits (UCI pen digits) before and after "
            "teaching, on writers who did not teach it; MNIST test beside",
            handwriting.summary(taught),
        ),
        (
            f"fast mode ({fast['policy']}) vs float32: median epoch",
            f"{fast['fast_epoch_s']:.2f} s vs {fast['float32_epoch_s']:.2f} s: {fast['speedup']:.2f}x; test accuracy "
            f"{fast['fast_accuracy']:.2%} vs {fast['float32_accuracy']:.2%}",
        ),
        (
            f"{together['trainings']} small trainings ({together['network']}, {together['epochs']} epochs): "
            "one at a time vs two at once (MNIST_MAX_CONCURRENT)",
            f"total {together['one_at_a_time']['total_s']:.0f} s vs {together['two_at_once']['total_s']:.0f} s "
            f"({together['total_ratio']:.2f}x); median epoch {together['one_at_a_time']['median_epoch_s']:.2f} s vs "
            f"{together['two_at_once']['median_epoch_s']:.2f} s ({together['epoch_ratio']:.2f}x); "
            "load average {:.1f} to {:.1f}".format(*together["load"]),
        ),
        (
            f"a class's data: {class_scale.RUNS} runs, {class_scale.DRAWINGS:,} drawings, "
            f"{class_scale.PEOPLE:,} people: a page's script, warm (target: 0.5 s or less each)",
            class_scale.summary(scale),
        ),
    ]
    print(f"Benchmarks, {time.strftime('%Y-%m-%d')}, {machine()} ({time.time() - started:.0f} s)\n")
    print("| benchmark | result |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
