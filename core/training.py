"""The training engine: jobs that run `model.fit` in the background, and the queue that runs them.

A page starts a job with `JobManager.submit(config)` and returns at once. The
job's worker thread trains, streaming batches and epochs into a MetricsLog that
any number of readers poll without blocking training, and persists each epoch
and the best model to the RunStore. Keras and TensorFlow are imported only in
the worker, so a page that merely watches stays light.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass

import numpy as np

from core.config import TrainConfig, training_images
from core.data import bundled_mnist, split_mnist
from core.evaluation import test_report
from core.model import count_parameters
from core.store import CANCELLED, COMPLETED, FAILED, QUEUED, RUNNING, STOPPED, RunStore

log = logging.getLogger(__name__)

MONITOR = "val_accuracy"
MAX_EPOCHS_REASON, EARLY_STOPPING_REASON, USER_REASON = "max_epochs", "early_stopping", "stopped_by_user"
STOP_REASONS = {
    MAX_EPOCHS_REASON: "ran all its epochs",
    EARLY_STOPPING_REASON: "early stopping: validation accuracy stopped improving",
    USER_REASON: "stopped by you",
}


def format_duration(seconds: float | None) -> str:
    """12.3 -> "0:12"; 3725 -> "1:02:05"; None -> "--:--"."""
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True)
class Progress:
    """Where a job is, for a progress bar. Times are seconds."""

    status: str
    epochs_done: int
    epochs: int
    step: int
    steps: int
    elapsed: float
    eta: float | None

    @property
    def fraction(self) -> float:
        if self.status in (COMPLETED, STOPPED):
            return 1.0
        total = self.epochs * max(self.steps, 1)
        return min(1.0, (self.epochs_done * self.steps + self.step) / total) if total else 0.0


class MetricsLog:
    """Thread-safe, append-only record of one training: batch and epoch metrics.

    The training thread appends; readers call `snapshot()` at any rate. Appends
    and copies take a lock for microseconds, so readers never slow training.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batches: list[dict] = []
        self._epochs: list[dict] = []
        self._epoch_start = 0
        self.epochs = 0
        self.steps = 0

    def begin(self, epochs: int, steps_per_epoch: int) -> None:
        with self._lock:
            self.epochs, self.steps = epochs, steps_per_epoch

    def batch(self, record: dict) -> None:
        with self._lock:
            self._batches.append(record)

    def epoch(self, record: dict) -> list[dict]:
        """Record a finished epoch; returns a copy of that epoch's batch records."""
        with self._lock:
            self._epochs.append(record)
            batches = self._batches[self._epoch_start :]
            self._epoch_start = len(self._batches)
            return batches

    def snapshot(self, batch_start: int = 0) -> tuple[list[dict], list[dict]]:
        """Copies of the batch records from `batch_start` on, and of all epoch records."""
        with self._lock:
            return self._batches[batch_start:], list(self._epochs)

    def position(self) -> tuple[int, int]:
        """(epochs finished, steps into the current epoch)."""
        with self._lock:
            step = self._batches[-1]["step"] if len(self._batches) > self._epoch_start else 0
            return len(self._epochs), step


class TrainingJob:
    """One training run: status, live metrics, stop, and the work itself.

    Created by JobManager.submit; `run()` executes in a worker thread.
    Statuses: queued, running, completed, stopped (by the person; the best
    model so far is saved), failed (see `error`), cancelled (stopped while queued).
    """

    def __init__(self, run_id: str, config: TrainConfig, store: RunStore):
        self.run_id = run_id
        self.config = config
        self.store = store
        self.log = MetricsLog()
        self.status = QUEUED
        self.created = time.time()
        self.started: float | None = None
        self.finished: float | None = None
        self.error: str | None = None
        self.stop_reason: str | None = None
        self.metrics: dict | None = None
        self._stop = threading.Event()
        self._done = threading.Event()

    # --- control ------------------------------------------------------
    def stop(self) -> None:
        """Ask training to end after the current batch; the best model so far is kept."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished (any end state); True if it did within `timeout`."""
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def progress(self) -> Progress:
        epochs_done, step = self.log.position()
        epochs = self.log.epochs or self.config.epochs
        steps = self.log.steps or 0
        elapsed = ((self.finished or time.time()) - self.started) if self.started else 0.0
        eta = None
        if self.status == RUNNING and steps:
            done = (epochs_done * steps + step) / (epochs * steps)
            if done > 0:
                eta = elapsed * (1 - done) / done
        return Progress(self.status, epochs_done, epochs, step, steps, elapsed, eta)

    # --- work ---------------------------------------------------------
    def cancel(self) -> None:
        self.status = CANCELLED
        self.finished = time.time()
        self.store.update_status(self.run_id, status=CANCELLED, finished=self.finished)
        self._done.set()

    def run(self) -> None:
        """Train, checkpoint, evaluate on the held-out test set, save. Never raises."""
        self.started = time.time()
        self.status = RUNNING
        try:
            self.store.claim(self.run_id)
            self._train()
        except Exception as error:  # the job's thread must record any failure for the page
            log.exception("training run %s failed", self.run_id)
            self.error = f"{type(error).__name__}: {error}"
            self.status = FAILED
        self.finished = time.time()
        try:
            self.store.update_status(
                self.run_id, status=self.status, finished=self.finished,
                stop_reason=self.stop_reason, error=self.error,
            )
        except OSError:
            log.exception("could not record the end of run %s", self.run_id)
        finally:
            self._done.set()

    def _train(self) -> None:
        import keras

        from core.callbacks import BestModelCheckpoint, StreamingCallback
        from core.model import build_model

        config = self.config
        data = split_mnist(bundled_mnist(), validation_size=config.validation_size, train_limit=config.train_limit)
        keras.utils.set_random_seed(config.seed)
        model = build_model(config)
        early = keras.callbacks.EarlyStopping(
            monitor=MONITOR, mode="max", patience=config.patience or config.epochs, restore_best_weights=True
        )
        callbacks = [
            StreamingCallback(self, should_stop=self._stop.is_set),
            BestModelCheckpoint(lambda m: self.store.save_model(self.run_id, m), monitor=MONITOR),
            early,
        ]
        train_start = time.time()
        model.fit(
            data.x_train, data.y_train,
            batch_size=config.batch_size, epochs=config.epochs,
            validation_data=(data.x_val, data.y_val),
            callbacks=callbacks, verbose=0,
        )
        train_seconds = time.time() - train_start
        if self._stop.is_set():
            self.stop_reason = USER_REASON
        elif early.stopped_epoch > 0 and config.patience:
            self.stop_reason = EARLY_STOPPING_REASON
        else:
            self.stop_reason = MAX_EPOCHS_REASON

        self.store.save_model(self.run_id, model)  # best weights, restored by EarlyStopping
        probabilities = model.predict(data.x_test, batch_size=2048, verbose=0)
        picked = probabilities[np.arange(len(data.y_test)), data.y_test]
        loss = float(-np.log(np.clip(picked, 1e-7, 1.0)).mean())
        history = self.log.snapshot()[1]
        best = history[early.best_epoch] if history else {}
        self.metrics = {
            **test_report(probabilities, data.y_test, loss),
            "best_epoch": early.best_epoch + 1,
            "best_val_accuracy": best.get("val_accuracy"),
            "best_val_loss": best.get("val_loss"),
            "epochs_run": len(history),
            "train_seconds": train_seconds,
            "train_images": training_images(config),
            "parameters": count_parameters(config),
        }
        self.store.save_metrics(self.run_id, self.metrics)
        self.status = STOPPED if self.stop_reason == USER_REASON else COMPLETED
        del model
        gc.collect()

    # --- ProgressSink, called by StreamingCallback in the worker thread ---
    def begin(self, epochs: int, steps_per_epoch: int) -> None:
        self.log.begin(epochs, steps_per_epoch)

    def batch(self, record: dict) -> None:
        self.log.batch(record)

    def epoch(self, record: dict) -> None:
        record = {**record, "seconds": time.time() - self.started}
        batches = self.log.epoch(record)
        self.store.append_epoch(self.run_id, record, batches)


class JobManager:
    """Runs at most `max_concurrent` jobs at once and queues the rest in order.

    One manager per process and run store (see `shared_manager`), so every
    browser session sees the same queue and can find a job again by run id.
    Two trainings on two cores only slow each other: the default is one at a time.
    """

    def __init__(self, store: RunStore, max_concurrent: int = 1, keep_finished: int = 20):
        self.store = store
        self.max_concurrent = max_concurrent
        self.keep_finished = keep_finished
        self._lock = threading.Lock()
        self._queue: deque[TrainingJob] = deque()
        self._running: dict[str, TrainingJob] = {}
        self._jobs: OrderedDict[str, TrainingJob] = OrderedDict()

    def submit(self, config: TrainConfig) -> TrainingJob:
        """Record a new run, queue it, and start it if a slot is free. Returns at once."""
        run_id = self.store.create_run(config)
        job = TrainingJob(run_id, config, self.store)
        with self._lock:
            self._jobs[run_id] = job
            self._queue.append(job)
            self._start_ready()
        return job

    def get(self, run_id: str) -> TrainingJob | None:
        with self._lock:
            return self._jobs.get(run_id)

    def jobs_ahead(self, run_id: str) -> int:
        """How many jobs will train before this queued one (0 once it runs)."""
        with self._lock:
            for index, job in enumerate(self._queue):
                if job.run_id == run_id:
                    return index + len(self._running)
            return 0

    def active(self) -> list[TrainingJob]:
        """Running jobs, then queued ones in the order they will run."""
        with self._lock:
            return list(self._running.values()) + list(self._queue)

    def is_active(self, run_id: str) -> bool:
        return any(job.run_id == run_id for job in self.active())

    def stop(self, run_id: str) -> None:
        """Stop a running job after its current batch, or take a queued one off the queue."""
        with self._lock:
            job = self._jobs.get(run_id)
            if job is None:
                return
            if job in self._queue:
                self._queue.remove(job)
                job.cancel()
                return
        job.stop()

    def _start_ready(self) -> None:
        while self._queue and len(self._running) < self.max_concurrent:
            job = self._queue.popleft()
            self._running[job.run_id] = job
            threading.Thread(target=self._work, args=(job,), name=f"train-{job.run_id}", daemon=True).start()

    def _work(self, job: TrainingJob) -> None:
        try:
            job.run()
        finally:
            with self._lock:
                self._running.pop(job.run_id, None)
                self._forget_old()
                self._start_ready()

    def _forget_old(self) -> None:
        finished = [run_id for run_id, job in self._jobs.items() if job.done]
        for run_id in finished[: max(0, len(finished) - self.keep_finished)]:
            del self._jobs[run_id]


_managers: dict[str, JobManager] = {}
_managers_lock = threading.Lock()


def shared_manager(store: RunStore | None = None) -> JobManager:
    """The process-wide JobManager for a run store (default: the configured runs folder)."""
    store = store or RunStore()
    key = str(store.root.resolve())
    with _managers_lock:
        if key not in _managers:
            _managers[key] = JobManager(store)
        return _managers[key]
