"""Train from the command line into the same run store the app uses.

    python -m core.cli --hidden 512 512 --dropout 0.2 --epochs 15

Prints the model summary, progress, and the held-out test results. Its flags
are the settings table's (core/config.py SETTINGS). On a terminal the progress
is one line redrawn in place; into a log (not a terminal) it is one line per
epoch, so the log stays readable. Ctrl+C stops after the current batch and
still saves the best model so far.
"""

from __future__ import annotations

import argparse
import sys

from core.config import ConfigError, TrainConfig, add_arguments, config_from_args
from core.jobs import JobManager
from core.model import count_parameters, describe_layers
from core.progress import Progress, format_duration
from core.run_states import FINISHED_WITH_RESULTS, stop_reason_text
from core.store import RunStore, StoreError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m core.cli", description="Train an MNIST MLP headlessly.")
    add_arguments(parser)
    parser.add_argument(
        "--runs-dir",
        default=None,
        help="run store folder, made if missing (default: $MNIST_RUNS_DIR or the project's runs/)",
    )
    return parser.parse_args(argv)


def format_summary(config: TrainConfig) -> str:
    lines = [f"{'Layer':<12}{'Output shape':<16}{'Parameters':>12}"]
    for row in describe_layers(config):
        shape = "(" + ", ".join("None" if d is None else str(d) for d in row.output_shape) + ")"
        lines.append(f"{row.name:<12}{shape:<16}{row.params:>12,}")
    lines.append(f"Total parameters: {count_parameters(config):,}")
    return "\n".join(lines)


def progress_bar(progress: Progress, width: int = 30) -> str:
    filled = int(progress.fraction * width)
    return (
        f"[{'#' * filled}{'.' * (width - filled)}] epoch {min(progress.epochs_done + 1, progress.epochs)}"
        f"/{progress.epochs} step {progress.step}/{progress.steps} "
        f"elapsed {format_duration(progress.elapsed)} eta {format_duration(progress.eta)}"
    )


def print_epochs(job, reported: int, live: bool) -> int:
    """Print the epochs finished since `reported` (one line each); returns how many are printed now."""
    _, epochs = job.log.snapshot()
    for record in epochs[reported:]:
        line = (
            f"epoch {record['epoch']}: loss {record['loss']:.4f} acc {record['accuracy']:.4f} "
            f"val_loss {record['val_loss']:.4f} val_acc {record['val_accuracy']:.4f}"
        )
        print("\r" + line.ljust(100) if live else line, flush=True)
    return len(epochs)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = config_from_args(args)
    except ConfigError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    store = RunStore(args.runs_dir)  # absolute from here on, so the worker finds it from its own folder
    try:
        store.prepare()
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    store.remove_leftovers()  # this process's start-up: files that killed workers left behind
    print(format_summary(config), flush=True)
    manager = JobManager(store, max_concurrent=1)  # one training: all the cores
    try:
        job = manager.submit(config)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"run {job.run_id} in {manager.store.root}", flush=True)
    live = sys.stderr.isatty()
    reported = 0
    try:
        while not job.wait(0.5):
            reported = print_epochs(job, reported, live)
            if live:
                print("\r" + progress_bar(job.progress()), end="", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("\nstopping after this batch...", file=sys.stderr)
        job.stop()
        job.wait()
    print_epochs(job, reported, live)
    if live:
        print(file=sys.stderr)
    if job.status not in FINISHED_WITH_RESULTS:
        print(f"error: training {job.status}: {job.error}", file=sys.stderr)
        return 1
    metrics = job.metrics
    print(
        f"{job.status} after {metrics.epochs_run} epochs ({stop_reason_text(job.stop_reason).lower()}); "
        f"best epoch {metrics.best_epoch}, {format_duration(metrics.train_seconds)} training"
    )
    print(
        f"held-out test accuracy {metrics.test_accuracy:.2%}, test loss {metrics.test_loss:.4f} "
        f"({metrics.test_images:,} images never used in training)"
    )
    print(f"model: {manager.store.model_path(job.run_id)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
