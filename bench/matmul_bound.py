"""How close does the engine train to the machine's limit? Its epoch against the matrix products it must do.

One epoch of an MLP is, at heart, its matrix products: per step, the forward
product of each layer, the weight gradient of each layer and the input
gradient of every layer but the first. numpy times exactly those products at
the same shapes and batch size (float32, every core): that is the floor. The
engine's median epoch (the app's worker, as a learner runs it, first epoch
left out) is then compared with it, and so is plain `model.fit` with Keras's
own weight updates, at the engine's steps per call (the engine before it had
TensorFlow's fused update kernels: core.training.fused_updates) and at one step per
call (Keras's default), each in a fresh process, interleaved, so the machine's
drift hits all alike. Also reports how often the page hears of a batch, and
how long Stop takes to end training.

    python -m bench.matmul_bound [--repeats 3] [--epochs 4]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

from bench.timing import durations_of_records
from core.config import TrainConfig, training_images
from core.engine.jobs import JobManager
from core.runs.store import RunStore
from core.training.isolated import run_isolated


def layer_sizes(config: TrainConfig) -> list[int]:
    return [784, *config.hidden_layers, 10]


def matmul_epoch_seconds(config: TrainConfig, repeats: int = 3) -> float:
    """The fastest of `repeats` timings of one epoch's matrix products in numpy."""
    rng = np.random.default_rng(0)
    sizes, batch = layer_sizes(config), config.batch_size
    steps = -(-training_images(config) // batch)
    weights = [rng.standard_normal((a, b), dtype=np.float32) for a, b in zip(sizes, sizes[1:])]
    inputs = [rng.standard_normal((batch, a), dtype=np.float32) for a in sizes[:-1]]
    grads = [rng.standard_normal((batch, b), dtype=np.float32) for b in sizes[1:]]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            for i, w in enumerate(weights):
                np.matmul(inputs[i], w)  # forward
                np.matmul(inputs[i].T, grads[i])  # weight gradient
                if i:
                    np.matmul(grads[i], w.T)  # input gradient (none for the pixels)
        best = min(best, time.perf_counter() - start)
    return best


def epoch_flops(config: TrainConfig) -> float:
    sizes = layer_sizes(config)
    steps = -(-training_images(config) // config.batch_size)
    per_step = sum(2 * config.batch_size * a * b * (3 if i else 2) for i, (a, b) in enumerate(zip(sizes, sizes[1:])))
    return per_step * steps


def engine_run(config: TrainConfig, runs_dir: str) -> dict:
    """Epoch times and batch updates per second of the app's engine, polled as the page does."""
    job = JobManager(RunStore(runs_dir)).submit(config)
    while not job.wait(0.2):  # the page's fragment polls, reading what arrived
        job.log.records()
    if job.error:
        raise RuntimeError(job.error)
    epochs = job.log.records()[1]
    seconds = epochs[-1]["seconds"] - epochs[0]["seconds"] if len(epochs) > 1 else None
    updates = sum(1 for record in job.log.records()[0] if record["epoch"] > 1)
    return {"epochs": durations_of_records(epochs), "updates_per_s": updates / seconds if seconds else None}


def stop_seconds(config: TrainConfig, runs_dir: str) -> float:
    """From Stop to the worker's last batch: how long a learner waits for training to halt."""
    job = JobManager(RunStore(runs_dir)).submit(config.replace(epochs=50))
    while len(job.log.records()[0]) < 5 and not job.done:
        time.sleep(0.02)
    asked = time.perf_counter()
    job.stop()
    last, count = asked, len(job.log.records()[0])
    while not job.wait(0.005):
        now = len(job.log.records()[0])
        if now != count:
            last, count = time.perf_counter(), now
    return last - asked


def plain_fit_epochs(config: TrainConfig, steps_per_execution: int | None, fused_updates: bool) -> list[float]:
    """`model.fit` with fused or Keras's own weight updates, in a fresh process like the app's workers.

    Steps per call as given, or as the engine chooses them (None)."""
    return run_isolated("bench.training_overhead", "plain_epoch_times", config, steps_per_execution, fused_updates)


def measure(repeats: int = 3, epochs: int = 4) -> dict:
    config = TrainConfig(epochs=epochs, patience=0)
    engine, keras_updates, one_step, floors, rates = [], [], [], [], []
    with tempfile.TemporaryDirectory() as runs_dir:
        for _ in range(repeats):
            floors.append(matmul_epoch_seconds(config))
            run = engine_run(config, runs_dir)
            engine += run["epochs"]
            rates.append(run["updates_per_s"])
            keras_updates += plain_fit_epochs(config, None, fused_updates=False)
            one_step += plain_fit_epochs(config, 1, fused_updates=False)
        stop = statistics.median(stop_seconds(config, runs_dir) for _ in range(3))
    floor, engine_s, one_step_s = min(floors), statistics.median(engine), statistics.median(one_step)
    keras_updates_s = statistics.median(keras_updates)
    return {
        "matmul_epoch_s": floor,
        "matmul_gflops": epoch_flops(config) / floor / 1e9,
        "engine_epoch_s": engine_s,
        "engine_ratio": engine_s / floor,
        "keras_updates_epoch_s": keras_updates_s,
        "keras_updates_ratio": keras_updates_s / floor,
        "one_step_epoch_s": one_step_s,
        "one_step_ratio": one_step_s / floor,
        "updates_per_s": statistics.median(r for r in rates if r),
        "stop_s": stop,
        "epochs_measured": len(engine),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    r = measure(args.repeats, args.epochs)
    print(f"numpy matrix products    {r['matmul_epoch_s']:.3f} s per epoch ({r['matmul_gflops']:.0f} GFLOP/s)")
    print(f"engine                   {r['engine_epoch_s']:.3f} s per epoch: {r['engine_ratio']:.2f}x the bound")
    keras_updates = f"{r['keras_updates_epoch_s']:.3f} s per epoch: {r['keras_updates_ratio']:.2f}x the bound"
    print(f"Keras's own updates      {keras_updates}")
    print(f"... and 1 step per call  {r['one_step_epoch_s']:.3f} s per epoch: {r['one_step_ratio']:.2f}x the bound")
    print(f"batch updates to the page {r['updates_per_s']:.1f}/s; Stop halts training in {r['stop_s']:.2f} s")
    print(f"over {r['epochs_measured']} engine epochs")


if __name__ == "__main__":
    main()
