"""Trainings at once on one machine: four small trainings, one at a time vs two at once.

What MNIST_MAX_CONCURRENT buys a class on this machine: the total time for four trainings (how long the
last person in the queue waits for their result) and the time of each epoch (how fast every person sees
their own curves move). With two at once, each worker gets half the cores (core.engine.execution), as the app
gives them. Same configs and seeds both ways, in one run; with --repeats, the two ways alternate.

    python -m bench.concurrency [--trainings 4] [--epochs 4] [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.timing import durations_of_records
from core.config import TrainConfig
from core.engine.jobs import JobManager
from core.runs.store import RunStore
from core.training.machine import available_cores

# Big enough that an epoch (about a second on two cores) is not lost in the worker's start-up (a few seconds).
CONFIG = TrainConfig(hidden_layers=(512, 512), train_limit=20_000, patience=0, seed=0)


def trainings_at_once(config: TrainConfig, trainings: int, at_once: int, runs_dir: Path) -> dict:
    """Submit `trainings` runs to a manager that runs `at_once` of them together; time them all."""
    manager = JobManager(RunStore(runs_dir), max_concurrent=at_once)
    began = time.perf_counter()
    jobs = [manager.submit(config.replace(seed=seed)) for seed in range(trainings)]
    for job in jobs:
        job.wait()
    total = time.perf_counter() - began
    failed = [job.error for job in jobs if job.status != "completed"]
    if failed:
        raise RuntimeError(f"a training failed: {failed[0]}")
    return {
        "total_s": total,
        "epoch_s": [d for job in jobs for d in durations_of_records(job.log.records()[1])],
        "train_s": [job.metrics.train_seconds for job in jobs],
        "threads": jobs[0].threads,
    }


def measure(trainings: int = 4, epochs: int = 4, repeats: int = 1) -> dict:
    config = CONFIG.replace(epochs=epochs)
    results: dict[int, list[dict]] = {1: [], 2: []}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(repeats):
            for at_once in (1, 2) if repeat % 2 == 0 else (2, 1):
                results[at_once].append(
                    trainings_at_once(config, trainings, at_once, Path(folder) / f"{at_once}-{repeat}")
                )

    def summary(runs: list[dict]) -> dict:
        return {
            "total_s": statistics.median(run["total_s"] for run in runs),
            "median_epoch_s": statistics.median(d for run in runs for d in run["epoch_s"]),
            "median_train_s": statistics.median(t for run in runs for t in run["train_s"]),
            "threads": runs[0]["threads"],
        }

    one, two = summary(results[1]), summary(results[2])
    return {
        "cores": available_cores(),
        "trainings": trainings,
        "epochs": epochs,
        "network": config.shape_label(),
        "one_at_a_time": one,
        "two_at_once": two,
        "total_ratio": two["total_s"] / one["total_s"],
        "epoch_ratio": two["median_epoch_s"] / one["median_epoch_s"],
        # Other work on the machine skews this comparison most of all (more processes take a bigger share of
        # contended cores), so say how busy it was: the 1-minute load average before and after.
        "load": (load_before, os.getloadavg()[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.concurrency")
    parser.add_argument("--trainings", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    result = measure(args.trainings, args.epochs, args.repeats)
    print(
        f"{result['trainings']} trainings of {result['network']} ({CONFIG.train_limit:,} images, "
        f"{result['epochs']} epochs) on {result['cores']} cores"
    )
    for name, key in (("one at a time", "one_at_a_time"), ("two at once", "two_at_once")):
        row = result[key]
        print(
            f"{name:14} total {row['total_s']:6.1f} s   median epoch {row['median_epoch_s']:.2f} s   "
            f"median training {row['median_train_s']:.1f} s   ({row['threads']} TensorFlow threads each)"
        )
    print(f"two at once / one at a time: total {result['total_ratio']:.2f}, epoch {result['epoch_ratio']:.2f}")
    print("load average before and after: {:.1f}, {:.1f}".format(*result["load"]))


if __name__ == "__main__":
    main()
