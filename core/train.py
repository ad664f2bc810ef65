"""Train from the command line into the same run store the app uses.

    python -m core.train --hidden 512 512 --dropout 0.2 --epochs 15

Prints the model summary, a live progress bar, and the held-out test results.
Ctrl+C stops after the current batch and still saves the best model so far.
"""

from __future__ import annotations

import argparse
import sys

from core.config import ACTIVATIONS, OPTIMIZERS, ConfigError, TrainConfig
from core.model import count_parameters, describe_layers
from core.store import COMPLETED, STOPPED, RunStore, StoreError
from core.training import STOP_REASONS, JobManager, Progress, format_duration

DEFAULTS = TrainConfig()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m core.train", description="Train an MNIST MLP headlessly.")
    parser.add_argument("--hidden", type=int, nargs="+", default=list(DEFAULTS.hidden_layers), metavar="UNITS",
                        help="units of each hidden layer (default: 512 512)")
    parser.add_argument("--dropout", type=float, default=DEFAULTS.dropout)
    parser.add_argument("--activation", choices=ACTIVATIONS, default=DEFAULTS.activation)
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=DEFAULTS.optimizer)
    parser.add_argument("--lr", type=float, default=DEFAULTS.learning_rate, help="learning rate")
    parser.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    parser.add_argument("--epochs", type=int, default=DEFAULTS.epochs, help="the most epochs to train")
    parser.add_argument("--patience", type=int, default=DEFAULTS.patience, help="early-stopping patience, 0 = off")
    parser.add_argument("--validation-size", type=int, default=DEFAULTS.validation_size)
    parser.add_argument("--train-limit", type=int, default=None, help="train on only the first N images")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
    parser.add_argument("--augment", action="store_true",
                        help="randomly shift, rotate, zoom and thicken/thin images during training")
    parser.add_argument("--fast", action="store_true",
                        help="16-bit hidden layers where the hardware has units for it (bfloat16 CPU, float16 GPU)")
    parser.add_argument("--runs-dir", default=None,
                        help="run store folder, made if missing (default: $MNIST_RUNS_DIR or the project's runs/)")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        hidden_layers=tuple(args.hidden), dropout=args.dropout, activation=args.activation,
        optimizer=args.optimizer, learning_rate=args.lr, batch_size=args.batch_size, epochs=args.epochs,
        patience=args.patience, validation_size=args.validation_size, train_limit=args.train_limit, seed=args.seed,
        augment=args.augment, fast_mode=args.fast,
    )


def format_summary(config: TrainConfig) -> str:
    lines = [f"{'Layer':<12}{'Output shape':<16}{'Parameters':>12}"]
    for row in describe_layers(config):
        shape = "(" + ", ".join("None" if d is None else str(d) for d in row.output_shape) + ")"
        lines.append(f"{row.name:<12}{shape:<16}{row.params:>12,}")
    lines.append(f"Total parameters: {count_parameters(config):,}")
    return "\n".join(lines)


def progress_line(progress: Progress, width: int = 30) -> str:
    filled = int(progress.fraction * width)
    return (f"[{'#' * filled}{'.' * (width - filled)}] epoch {min(progress.epochs_done + 1, progress.epochs)}"
            f"/{progress.epochs} step {progress.step}/{progress.steps} "
            f"elapsed {format_duration(progress.elapsed)} eta {format_duration(progress.eta)}")


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
    manager = JobManager(store)
    try:
        job = manager.submit(config)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"run {job.run_id} in {manager.store.root}", flush=True)
    reported = 0
    try:
        while not job.wait(0.5):
            _, epochs = job.log.snapshot()
            for record in epochs[reported:]:
                print(f"\repoch {record['epoch']}: loss {record['loss']:.4f} acc {record['accuracy']:.4f} "
                      f"val_loss {record['val_loss']:.4f} val_acc {record['val_accuracy']:.4f}".ljust(100), flush=True)
            reported = len(epochs)
            print("\r" + progress_line(job.progress()), end="", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("\nstopping after this batch...", file=sys.stderr)
        job.stop()
        job.wait()
    print(file=sys.stderr)
    if job.status not in (COMPLETED, STOPPED):
        print(f"error: training {job.status}: {job.error}", file=sys.stderr)
        return 1
    metrics = job.metrics
    print(f"{job.status} after {metrics['epochs_run']} epochs ({STOP_REASONS[job.stop_reason].lower()}); "
          f"best epoch {metrics['best_epoch']}, {format_duration(metrics['train_seconds'])} training")
    print(f"held-out test accuracy {metrics['test_accuracy']:.2%}, test loss {metrics['test_loss']:.4f} "
          f"({metrics['test_images']:,} images never used in training)")
    print(f"model: {manager.store.model_path(job.run_id)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
