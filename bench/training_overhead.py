"""Does the training engine slow training down? Plain `model.fit` vs the engine.

Same config, seed and data. The engine runs with its streaming callback, its
per-epoch history and best-model checkpoint, and a reader thread polling the
job five times a second as the Train page does. Runs are interleaved
(plain, engine, plain, ...) so machine noise hits both alike; the first epoch
of each run (graph tracing) is left out. Prints the median epoch time of each
and their ratio.

    python -m bench.training_overhead [--repeats 3] [--epochs 4]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

from bench.timing import durations_of_records, epoch_clock, epoch_durations
from core.config import TrainConfig
from core.engine.jobs import JobManager
from core.runs.store import RunStore
from core.training.data import bundled_mnist, split_mnist

POLLS_PER_SECOND = 5


def plain_epoch_times(
    config: TrainConfig, steps_per_execution: int | None = None, fused_updates: bool = True
) -> list[float]:
    """Epoch times of `model.fit` alone; steps per call and weight updates as the engine's unless given."""
    import keras

    from core.training.machine import steps_per_execution as engine_choice
    from core.training.model import build_model

    data = split_mnist(bundled_mnist(), validation_size=config.validation_size, train_limit=config.train_limit)
    clock = epoch_clock()
    keras.utils.set_random_seed(config.seed)
    steps = steps_per_execution or engine_choice(config, -(-len(data.x_train) // config.batch_size))
    model = build_model(config, steps_per_execution=steps, fused_updates=fused_updates)
    model.fit(
        data.x_train,
        data.y_train,
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_data=(data.x_val, data.y_val),
        callbacks=[clock],
        verbose=0,
    )
    return epoch_durations(clock.ends)


def engine_epoch_times(config: TrainConfig, runs_dir: str) -> tuple[list[float], int]:
    job = JobManager(RunStore(runs_dir)).submit(config)
    polls = 0
    while not job.wait(1 / POLLS_PER_SECOND):  # the page's fragment: snapshot + progress
        job.log.records()
        job.progress()
        polls += 1
    if job.error:
        raise RuntimeError(job.error)
    return durations_of_records(job.log.records()[1]), polls / max(job.progress().elapsed, 1e-9)


def measure(repeats: int = 3, epochs: int = 4) -> dict:
    config = TrainConfig(epochs=epochs, patience=0)
    plain, engine, poll_rates = [], [], []
    with tempfile.TemporaryDirectory() as runs_dir:
        for _ in range(repeats):
            plain += plain_epoch_times(config)
            times, rate = engine_epoch_times(config, runs_dir)
            engine += times
            poll_rates.append(rate)
    plain_median, engine_median = statistics.median(plain), statistics.median(engine)
    return {
        "plain_epoch_s": plain_median,
        "engine_epoch_s": engine_median,
        "ratio": engine_median / plain_median,
        "polls_per_s": statistics.median(poll_rates),
        "epochs_measured": len(plain),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    result = measure(args.repeats, args.epochs)
    print(f"plain model.fit   median epoch {result['plain_epoch_s']:.3f} s")
    print(f"training engine   median epoch {result['engine_epoch_s']:.3f} s  (polled {result['polls_per_s']:.1f}/s)")
    print(f"engine / plain    {result['ratio']:.3f}  over {result['epochs_measured']} epochs each")


if __name__ == "__main__":
    main()
