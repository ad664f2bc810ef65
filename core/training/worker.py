"""The training worker: one process per run, so training never shares the app's interpreter.

Why a process and not a thread: Streamlit calls `keras.backend.clear_session()`
after every script run in a process that has imported Keras, and each page
rerun would compete with training for the GIL. In its own process, training
runs at full speed, its memory is returned when it ends, and a crash cannot
take the app down.

    python -m core.training.worker RUN_ID --runs-dir PATH [--threads N]

claims the run (only a queued run can be claimed, and only once), reads its
config from the store, trains with N TensorFlow threads (its share of the
machine when several train at once; default: TensorFlow's own choice), and
writes one JSON event per line to stdout: begin, batch, epoch (and checkpoint
after each new best model is saved), then done. If the run is not its to train (another worker
claimed it first, or it was cancelled or deleted), the only event is refused,
and the run's files are left as they are. A line "stop" on stdin ends
training after the current batch; stdin closing (the app died) ends the
process at once, leaving the run interrupted with its best model so far.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable

from core.config import count_parameters
from core.runs.snapshots import choose_guess_digits, guess_digits
from core.runs.states import COMPLETED, EARLY_STOPPING, FAILED, MAX_EPOCHS, STOPPED, STOPPED_BY_USER
from core.runs.store import ClaimError, RunStore, StoreError
from core.training.data import bundled_mnist, split_mnist
from core.training.evaluation import evaluate
from core.training.machine import limit_threads, steps_per_execution
from core.training.model import build_model, export_model, set_dense_weights
from core.training.teaching import fine_tune_learning_rate, plan_teaching, targets, training_arrays

MONITOR = "val_accuracy"
LR_FACTOR, LR_PATIENCE, MIN_LEARNING_RATE = 0.5, 1, 1e-6  # with reduce_lr: halve after one stalled epoch
REFUSED_EXIT = 4  # the run was not this worker's to train (see ClaimError)


class Recorder:
    """Keeps the current epoch's batches and persists each finished epoch; forwards all to `emit`."""

    def __init__(self, store: RunStore, run_id: str, emit: Callable[[dict], None], threads: int | None = None):
        self.store, self.run_id, self.emit, self.threads = store, run_id, emit, threads
        self.started = time.time()
        self.epochs: list[dict] = []
        self._batches: list[dict] = []

    def begin(self, epochs: int, steps_per_epoch: int) -> None:
        self.emit({"event": "begin", "epochs": epochs, "steps": steps_per_epoch, "threads": self.threads})

    def batch(self, record: dict) -> None:
        self._batches.append(record)
        self.emit({"event": "batch", **record})

    def epoch(self, record: dict) -> None:
        record = {**record, "seconds": time.time() - self.started}
        self.epochs.append(record)
        self.store.append_epoch(self.run_id, record, self._batches)
        self._batches = []
        self.emit({"event": "epoch", **record})

    def checkpoint(self, epoch: int) -> None:
        """The best model so far (from `epoch`, counted from 1) is now saved in the store."""
        self.emit({"event": "checkpoint", "epoch": epoch})


def train_run(
    store: RunStore,
    run_id: str,
    emit: Callable[[dict], None],
    should_stop: Callable[[], bool],
    threads: int | None = None,
) -> dict:
    """Train one stored run to its end and record the outcome in the store.

    `threads`: TensorFlow's threads for this training (None: TensorFlow's own choice, the whole machine).
    Returns the final status fields (status, stop_reason, error, metrics).
    Never raises for a training failure: it is recorded as status "failed".
    Raises ClaimError, having written nothing, if the run is not queued (another worker has it).
    """
    store.claim(run_id)
    recorder = Recorder(store, run_id, emit, threads)
    outcome: dict = {"status": FAILED, "stop_reason": None, "error": None, "metrics": None}
    try:
        outcome.update(_train(store, run_id, recorder, should_stop, threads))
    except Exception as error:  # recorded for the person; the traceback goes to the worker log
        import traceback

        traceback.print_exc()
        outcome["error"] = f"{type(error).__name__}: {error}"
    store.update_status(
        run_id,
        status=outcome["status"],
        finished=time.time(),
        stop_reason=outcome["stop_reason"],
        error=outcome["error"],
    )
    return outcome


def _train(
    store: RunStore, run_id: str, recorder: Recorder, should_stop: Callable[[], bool], threads: int | None
) -> dict:
    if threads:
        limit_threads(threads)  # before TensorFlow runs anything: its pools are sized once
    import keras

    from core.training.callbacks import BestModelCheckpoint, StreamingCallback  # Keras: after the threads are set

    config = store.load_config(run_id)
    data = split_mnist(bundled_mnist(), validation_size=config.validation_size, train_limit=config.train_limit)
    keras.utils.set_random_seed(config.seed)
    x_train, y_train, y_val, teaching = data.x_train, data.y_train, data.y_val, None
    if config.include_drawings:
        # Recorded before the first step, so every model this run saves is known to have seen them.
        teaching = plan_teaching(store, run_id, config, mnist_images=len(x_train))
        x_train, y_train = training_arrays(x_train, y_train, teaching, seed=config.seed)
        y_val = targets(y_val)  # the same form as the training targets: ten probabilities each
    steps = -(-len(x_train) // config.batch_size)
    model = build_model(
        config,
        steps_per_execution=steps_per_execution(config, steps),
        fused_updates=True,
        soft_targets=teaching is not None,
    )
    if teaching is not None and teaching.start_weights is not None:
        set_dense_weights(model, teaching.start_weights)  # a fine-tune: from its parent's weights
    early = keras.callbacks.EarlyStopping(
        monitor=MONITOR, mode="max", patience=config.patience or config.epochs, restore_best_weights=True
    )

    def save_checkpoint(model) -> None:
        store.save_model(run_id, export_model(model, config))
        recorder.checkpoint(len(recorder.epochs))

    callbacks = []
    if teaching is not None and teaching.start_weights is not None:
        # First, so that each epoch's record (StreamingCallback's) holds the rate it trained at.
        callbacks.append(keras.callbacks.LearningRateScheduler(lambda epoch, _: fine_tune_learning_rate(config, epoch)))
    callbacks += [
        StreamingCallback(recorder, should_stop=should_stop),
        _snapshot_callback(store, run_id, data),
        BestModelCheckpoint(lambda m: save_checkpoint(m), monitor=MONITOR),
        early,
    ]
    if config.reduce_lr:
        # Halving the step size once validation accuracy stalls for an epoch lets training settle into a
        # better minimum (docs/benchmarks.md has what it gains).
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=MONITOR, mode="max", factor=LR_FACTOR, patience=LR_PATIENCE, min_lr=MIN_LEARNING_RATE
            )
        )
    train_start = time.time()
    model.fit(
        x_train,
        y_train,
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_data=(data.x_val, y_val),
        callbacks=callbacks,
        verbose=0,
    )
    train_seconds = time.time() - train_start
    if should_stop():
        stop_reason = STOPPED_BY_USER
    elif early.stopped_epoch > 0 and config.patience:
        stop_reason = EARLY_STOPPING
    else:
        stop_reason = MAX_EPOCHS

    model = export_model(model, config)  # the best epoch's weights (EarlyStopping restored them), float32
    store.save_model(run_id, model)
    best = recorder.epochs[early.best_epoch] if recorder.epochs else {}
    metrics = evaluate(
        model.predict(data.x_test, batch_size=2048, verbose=0),
        data.y_test,
        best_epoch=early.best_epoch + 1,
        epochs_run=len(recorder.epochs),
        train_seconds=train_seconds,
        train_images=len(x_train),
        parameters=count_parameters(config),
        best_val_accuracy=best.get("val_accuracy"),
        best_val_loss=best.get("val_loss"),
    )
    store.save_metrics(run_id, metrics)
    return {
        "status": STOPPED if stop_reason == STOPPED_BY_USER else COMPLETED,
        "stop_reason": stop_reason,
        "metrics": metrics.to_dict(),
    }


def _snapshot_callback(store: RunStore, run_id: str, data):
    """A look inside the network before training and after each epoch, kept in the run (core.runs.snapshots).

    The fixed validation digits its guesses are about are chosen and kept first. A snapshot that cannot be
    saved (a full disk) is left out and training goes on: it is a view of the training, not its result.
    (With a full disk, the next model checkpoint fails the run with the store's message anyway.)
    """
    from core.training.callbacks import SnapshotCallback  # Keras: after the threads are set

    chosen = choose_guess_digits(len(data.y_val))
    try:
        store.save_guess_digits(run_id, guess_digits(data.x_val[chosen], data.y_val[chosen]))
    except StoreError as error:
        print(f"the look inside the network is not kept: {error}", file=sys.stderr)

    def keep(snapshot) -> None:
        try:
            store.save_snapshot(run_id, snapshot)
        except StoreError as error:
            print(f"epoch {snapshot.epoch}'s look inside the network is not kept: {error}", file=sys.stderr)

    return SnapshotCallback(keep, data.x_val[chosen])


def _watch_stdin(stop: threading.Event) -> None:
    """'stop' asks for a graceful stop; end of input means the app is gone, so exit now."""
    for line in sys.stdin:
        if line.strip() == "stop":
            stop.set()
    os._exit(3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.training.worker")
    parser.add_argument("run_id")
    parser.add_argument("--runs-dir", required=True)
    parser.add_argument("--threads", type=int, default=None, help="TensorFlow threads (default: all cores)")
    args = parser.parse_args(argv)

    # Events get their own copy of stdout; anything else printing (TensorFlow, Keras) goes to stderr.
    events = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    lock = threading.Lock()

    def emit(event: dict) -> None:
        with lock:
            events.write(json.dumps(event) + "\n")

    stop = threading.Event()
    threading.Thread(target=_watch_stdin, args=(stop,), daemon=True).start()
    try:
        outcome = train_run(RunStore(args.runs_dir), args.run_id, emit, stop.is_set, threads=args.threads)
    except ClaimError as error:
        # Not this worker's run: training it too would mix two trainings' files, and marking it failed
        # would overwrite the status of the worker that has it. Say why and leave.
        print(f"not training: {error}", file=sys.stderr)
        emit({"event": "refused", "error": str(error)})
        events.flush()
        return REFUSED_EXIT
    emit({"event": "done", **outcome})
    events.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
