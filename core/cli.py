"""Train from the command line into the same run store the app uses.

    python -m core.cli --hidden 512 512 --dropout 0.2 --epochs 15
    python -m core.cli --include-drawings --drawings ~/my-digits   # teach it your handwriting
    python -m core.cli --fine-tune 20261201-101500-a1b2c3          # or fine-tune a run on it
    python -m core.cli --lesson "Small but good"                   # a lesson's settings, checked against its challenge

Prints the model summary, progress, and the held-out test results (and, with your drawings, the score
on those it did not train on). Its flags are the settings table's (core/config.py SETTINGS). On a terminal the progress
is one line redrawn in place; into a log (not a terminal) it is one line per
epoch, so the log stays readable. Ctrl+C stops after the current batch and
still saves the best model so far.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from core.config import (
    ConfigError,
    TrainConfig,
    add_arguments,
    config_from_args,
    count_parameters,
    is_run_id,
    linked_config,
)
from core.drawings.folder import DrawingSet, DrawingSetError, default_drawings_dir
from core.drawings.inference import Classifier, ModelLoadError
from core.engine.jobs import JobManager
from core.engine.progress import Progress, format_duration
from core.runs.drawings_record import DrawingsRecord
from core.runs.lessons import Lesson, LessonBook, LessonError
from core.runs.states import FINISHED_WITH_RESULTS, stop_reason_text
from core.runs.store import RunStore, StoreError
from core.training.model import describe_layers
from core.training.teaching import (
    FINE_TUNE_EPOCHS,
    TeachingError,
    fine_tune_config,
    fine_tune_parent,
    mnist_baseline,
    score_run,
    split_for_training,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m core.cli", description="Train an MNIST MLP headlessly.")
    add_arguments(parser)
    parser.add_argument(
        "--runs-dir",
        default=None,
        help="run store folder, made if missing (default: $MNIST_RUNS_DIR or the project's runs/)",
    )
    parser.add_argument(
        "--drawings",
        default=None,
        metavar="DIR",
        help="the folder of your drawings, for --include-drawings or --fine-tune: PNG or JPEG files named after "
        "their digit, like 7_mine.png (default: $MNIST_DRAWINGS_DIR or drawings/ beside the run store)",
    )
    parser.add_argument(
        "--link",
        default=None,
        metavar="ADDRESS",
        help="take the settings a Train page link names (its whole address, or what follows the ?), such as "
        "'http://host:8501/train?hidden=64,32&dropout=0.3'; they replace those settings' flags",
    )
    parser.add_argument(
        "--lesson",
        default=None,
        metavar="NAME",
        help="train a lesson's starting settings (its title or id, from the run store; or lesson=ID in --link), "
        "recorded under it, and say whether the result keeps to its challenge; --link may change the settings the "
        "lesson leaves to learners",
    )
    parser.add_argument(
        "--fine-tune",
        default=None,
        metavar="RUN",
        help="fine-tune this finished run on your drawings: a short training from its weights, with its network "
        f"and settings for {FINE_TUNE_EPOCHS} epochs, its learning rate easing from the run's own towards zero, "
        "and your drawings at --drawing-weight (the other settings' flags are not used)",
    )
    return parser.parse_args(argv)


def link_lesson(address: str | None) -> str | None:
    """The lesson a Train page link opens (`lesson=ID`), if any."""
    if address is None:
        return None
    query = urlsplit(address).query if "?" in address else address
    return dict(parse_qsl(query)).get("lesson")


def find_lesson(store: RunStore, name: str) -> Lesson:
    """The lesson with this id or title (ignoring case); UsageError naming the lessons there are otherwise."""
    try:
        lessons, _ = LessonBook(store.root).all()
    except LessonError as error:
        raise UsageError(str(error)) from None
    found = [lesson for lesson in lessons if name == lesson.lesson_id or lesson.title.lower() == name.lower()]
    if not found:
        there = "; ".join(f"{lesson.lesson_id} ({lesson.title})" for lesson in lessons) or "none"
        raise UsageError(f"no lesson {name!r} in {store.root} (lessons there: {there})")
    return found[0]


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
    _, epochs = job.log.records()
    for record in epochs[reported:]:
        line = (
            f"epoch {record['epoch']}: loss {record['loss']:.4f} acc {record['accuracy']:.4f} "
            f"val_loss {record['val_loss']:.4f} val_acc {record['val_accuracy']:.4f}"
        )
        print("\r" + line.ljust(100) if live else line, flush=True)
    return len(epochs)


class UsageError(ValueError):
    """The command line asks for something that cannot be done; the message says what to do."""


def fine_tuned_config(store: RunStore, run_id: str, weight: float) -> TrainConfig:
    """The settings of a fine-tune of the stored run `run_id`, your drawings at `weight`; UsageError if it cannot
    be fine-tuned."""
    if not is_run_id(run_id):
        raise UsageError(f"--fine-tune takes a run id like 20261201-101500-a1b2c3 (got {run_id!r}).")
    try:
        parent = fine_tune_parent(store, run_id)
    except TeachingError as error:
        raise UsageError(f"{error} (in {store.root})") from None
    return fine_tune_config(parent.config, weight)


def drawings_to_use(args: argparse.Namespace, config: TrainConfig, store: RunStore) -> DrawingsRecord | None:
    """Where the drawings of this training are, after checking there are some to train on; None without them."""
    if not config.include_drawings:
        if args.drawings is not None:
            raise UsageError(
                "--drawings says where your drawings are; add --include-drawings to train on them, "
                "or --fine-tune RUN to fine-tune a run on them."
            )
        return None
    folder = Path(args.drawings) if args.drawings is not None else default_drawings_dir(store.root)
    try:
        scan = DrawingSet(folder).scan()
    except DrawingSetError as error:
        raise UsageError(str(error)) from None
    for skipped in scan.skipped:
        print(f"skipped {skipped.name}: it {skipped.reason}", file=sys.stderr)
    train, held_out = split_for_training(scan.drawings)
    if not train:
        raise UsageError(
            f"There are no drawings in {scan.folder} to train on: put PNG or JPEG files of one digit each there, "
            'named after their digit (like "7_mine.png"), or save some from the Draw page.'
        )
    print(f"your drawings: {len(scan.drawings)} in {scan.folder}, {len(held_out)} of them kept out to test on")
    return DrawingsRecord(folder=str(scan.folder), parent=args.fine_tune)


def report_drawings(store: RunStore, run_id: str) -> None:
    """With your drawings: the score on those it did not train on, and how far MNIST's test accuracy moved."""
    run = store.info(run_id)
    record = store.load_drawings_record(run_id)
    try:
        scan = DrawingSet(record.folder).scan()
        result = score_run(store, run, Classifier.load(store.model_path(run_id)), scan.drawings)
    except (DrawingSetError, ModelLoadError) as error:
        print(f"your drawings could not be tested: {error}", file=sys.stderr)
        return
    trained = len(record.trained_on or ())
    line = f"trained on {trained} of your drawings (each {record.copies} times an epoch, varied)"
    if result is not None and result.tested:
        line += f"; of the {result.tested} it did not train on, it read {result.correct} right ({result.accuracy:.1%})"
    print(line)
    baseline = mnist_baseline(store, run, store.list_runs())
    if baseline is not None:
        change = (run.metrics.test_accuracy - baseline.test_accuracy) * 100
        print(f"MNIST test accuracy {change:+.2f} points against {baseline.name} ({baseline.test_accuracy:.2%})")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = config_from_args(args)
        if args.link is not None:
            config = linked_config(config, args.link)
    except ConfigError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    store = RunStore(args.runs_dir)  # absolute from here on, so the worker finds it from its own folder
    lesson = None
    try:
        store.prepare()
        lesson_name = args.lesson or link_lesson(args.link)
        if lesson_name is not None and args.fine_tune is not None:
            raise UsageError("a lesson trains its own settings from scratch; --fine-tune does not go with it")
        if lesson_name is not None:
            lesson = find_lesson(store, lesson_name)
            config = lesson.apply(linked_config(lesson.settings, args.link) if args.link else lesson.settings)
            print(f"lesson {lesson.lesson_id}: {lesson.title}", flush=True)
            if lesson.challenge.any:
                print(f"challenge: {', '.join(lesson.challenge.rules())}", flush=True)
        if args.fine_tune is not None:
            config = fine_tuned_config(store, args.fine_tune, config.drawing_weight)
            print(f"fine-tuning run {args.fine_tune}: {config.summary()}", flush=True)
        drawings = drawings_to_use(args, config, store)
    except (StoreError, UsageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ConfigError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    store.remove_leftovers()  # this process's start-up: files that killed workers left behind
    print(format_summary(config), flush=True)
    manager = JobManager(store, max_concurrent=1)  # one training: all the cores
    try:
        job = manager.submit(config, drawings, lesson=lesson.lesson_id if lesson is not None else None)
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
    if config.include_drawings:
        report_drawings(store, job.run_id)
    if lesson is not None and lesson.challenge.any:
        broken = lesson.challenge.broken_by(config)
        print("challenge: " + ("kept" if not broken else "broken (" + "; ".join(broken) + ")"))
    print(f"model: {manager.store.model_path(job.run_id)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
