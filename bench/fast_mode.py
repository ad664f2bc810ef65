"""Fast mode (16-bit hidden layers) against float32: epoch time and held-out accuracy.

The default model trained for a few epochs both ways, interleaved, same seed and
data; the first epoch of each run (tracing) is left out of the times.

    python -m bench.fast_mode [--repeats 2] [--epochs 4]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

from bench.timing import durations_of_records
from core.config import TrainConfig
from core.engine.jobs import JobManager
from core.runs.store import RunStore
from core.training.machine import fast_mode_support


def train(config: TrainConfig, runs_dir: str) -> tuple[list[float], float]:
    job = JobManager(RunStore(runs_dir)).submit(config)
    job.wait()
    if job.error:
        raise RuntimeError(job.error)
    return durations_of_records(job.log.records()[1]), job.metrics.test_accuracy


def measure(repeats: int = 2, epochs: int = 4) -> dict:
    base = TrainConfig(epochs=epochs, patience=0)
    times = {False: [], True: []}
    accuracy = {False: [], True: []}
    with tempfile.TemporaryDirectory() as runs_dir:
        for _ in range(repeats):
            for fast in (False, True):
                epoch_times, test_accuracy = train(base.replace(fast_mode=fast), runs_dir)
                times[fast] += epoch_times
                accuracy[fast].append(test_accuracy)
    plain, fast = statistics.median(times[False]), statistics.median(times[True])
    return {
        "float32_epoch_s": plain,
        "fast_epoch_s": fast,
        "speedup": plain / fast,
        "float32_accuracy": statistics.mean(accuracy[False]),
        "fast_accuracy": statistics.mean(accuracy[True]),
        "policy": fast_mode_support().policy or "float32 (no 16-bit units)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    r = measure(args.repeats, args.epochs)
    print(f"float32      median epoch {r['float32_epoch_s']:.3f} s, test accuracy {r['float32_accuracy']:.2%}")
    print(f"fast ({r['policy']})  median epoch {r['fast_epoch_s']:.3f} s, test accuracy {r['fast_accuracy']:.2%}")
    print(f"speed-up {r['speedup']:.2f}x")


if __name__ == "__main__":
    main()
