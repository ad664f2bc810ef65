"""The training engine: jobs that run `model.fit` in the background, and the queue that runs them.

A page starts a job with `JobManager.submit(config, owner)` and returns at once.
The manager keeps one queue and runs up to `max_concurrent` jobs at once; a
thread per job runs it through a backend (core.engine.execution: a worker process on
this machine, or a cluster) that trains and persists each epoch and the best
model to the RunStore; the thread streams the batch and epoch events into a
MetricsLog (core.engine.progress) that any number of readers poll without blocking
training. Keras is never imported here, so the app's own process stays light.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from core.config import TrainConfig
from core.drawings.folder import default_drawings_dir
from core.engine.execution import Backend, Execution, backend_from_environment, max_concurrent_from_environment
from core.engine.local import LocalBackend
from core.engine.progress import MetricsLog, Progress
from core.runs.drawings_record import DrawingsRecord
from core.runs.results import MetricsError, RunMetrics
from core.runs.states import CANCELLED, FAILED, QUEUED, RUNNING
from core.runs.store import RunStore, StoreError

log = logging.getLogger(__name__)


class ShareError(StoreError):
    """A person already has their share of trainings running or waiting; the message names them."""


class TrainingJob:
    """One training run: status, live metrics, stop, and the work itself.

    Created by JobManager.submit; `run()` executes in a thread of the manager and trains through
    the manager's backend (core.engine.execution: a local worker process, or a cluster).
    Statuses: queued, running, completed, stopped (by the person; the best model so far is saved),
    failed (see `error`), interrupted (the cluster lost the machine training it), cancelled (stopped
    while queued).

    Args:
        run_id, config, store: the run, as the store created it.
        backend: where it trains (default: a worker process on this machine).
        owner, owner_name: who started it (core.runs.classroom), None and "" for nobody in particular.
        max_concurrent: how many trainings share the backend's cores at most (sets its threads).
    """

    def __init__(
        self,
        run_id: str,
        config: TrainConfig,
        store: RunStore,
        backend: Backend | None = None,
        owner: str | None = None,
        owner_name: str = "",
        max_concurrent: int = 1,
    ):
        self.run_id = run_id
        self.config = config
        self.store = store
        self.backend = backend or LocalBackend()
        self.owner, self.owner_name = owner, owner_name
        self.max_concurrent = max_concurrent
        self.log = MetricsLog()
        self.status = QUEUED
        self.created = time.time()
        self.started: float | None = None
        self.finished: float | None = None
        self.error: str | None = None
        self.stop_reason: str | None = None
        self.metrics: RunMetrics | None = None
        self.threads: int | None = None  # TensorFlow threads the worker was given (from its begin event)
        self._stop = threading.Event()
        self._done = threading.Event()
        self._execution: Execution | None = None
        # Called as the job ends, before anyone waiting on it wakes: the manager frees its slot here,
        # so a finished job is never still listed as active.
        self.on_finish: Callable[[TrainingJob], None] | None = None

    # --- control ------------------------------------------------------
    def stop(self) -> None:
        """Ask training to end after the current batch; the best model so far is kept."""
        self._stop.set()
        execution = self._execution
        if execution is not None:
            execution.stop()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished (any end state); True if it did within `timeout`."""
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def worker_pid(self) -> int | None:
        """The local worker process training it now; None before, after, and on a cluster."""
        execution = self._execution
        return execution.pid if execution is not None else None

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
        """Train through the backend and mirror its events. Blocks; never raises."""
        self.started = time.time()
        self.status = RUNNING
        outcome = None
        execution = self.backend.start(self.run_id, self.store, self.max_concurrent)
        self._execution = execution
        if self._stop.is_set():
            execution.stop()
        try:
            for event in execution.events():
                outcome = self._handle(event) or outcome
        except (OSError, ValueError) as error:
            log.exception("training run %s could not be run", self.run_id)
            outcome = {"status": FAILED, "error": f"{type(error).__name__}: {error}"}
        finally:
            self._execution = None
        if outcome is None:  # the training ended without a word: the backend says how, from what it knows
            outcome = execution.ended_without_result()
        self.status = outcome["status"]
        self.stop_reason = outcome.get("stop_reason")
        self.error = outcome.get("error")
        self.metrics = _metrics(outcome.get("metrics"))
        self.finished = time.time()
        if self.on_finish is not None:
            self.on_finish(self)
        self._done.set()

    def _handle(self, event: dict) -> dict | None:
        kind = event.pop("event")
        if kind == "batch":
            self.log.batch(event)
        elif kind == "epoch":
            self.log.epoch(event)
        elif kind == "begin":
            self.log.begin(event["epochs"], event["steps"])
            self.threads = event.get("threads")
        elif kind == "done":
            return event
        elif kind == "refused":
            # The worker found the run claimed by another worker (or gone): that worker owns its status,
            # so this job only reports the failure and writes nothing to the store.
            log.warning("training run %s was not started: %s", self.run_id, event["error"])
            return {"status": FAILED, "error": event["error"]}
        return None  # checkpoint: the model is already in the store


def _metrics(data: dict | None) -> RunMetrics | None:
    """The worker's results as the record pages read; None (and a log line) if they are not one."""
    if data is None:
        return None
    try:
        return RunMetrics.from_dict(data)
    except MetricsError as error:
        log.error("training results are not a metrics record: %s", error)
        return None


class JobManager:
    """Runs at most `max_concurrent` jobs at once and queues the rest in the order they came.

    One manager per process and run store (see `shared_manager`), so every browser session sees
    the same queue and can find a job again by run id.

    Args:
        store: where runs are recorded.
        max_concurrent: how many train at once; default: MNIST_MAX_CONCURRENT, else what the backend
            suits (locally one per two cores: more at once only share the same cores).
        keep_finished: finished jobs kept in memory for the pages (the store keeps every run).
        backend: where trainings run (core.engine.execution); default: worker processes on this machine.
    """

    def __init__(
        self,
        store: RunStore,
        max_concurrent: int | None = None,
        keep_finished: int = 20,
        backend: Backend | None = None,
    ):
        self.store = store
        self.backend = backend or LocalBackend()
        self.max_concurrent = max_concurrent or max_concurrent_from_environment(self.backend.slots())
        self.keep_finished = keep_finished
        self._lock = threading.Lock()
        self._submitting = threading.Lock()
        self._queue: deque[TrainingJob] = deque()
        self._running: dict[str, TrainingJob] = {}
        self._jobs: OrderedDict[str, TrainingJob] = OrderedDict()

    def submit(
        self,
        config: TrainConfig,
        drawings: DrawingsRecord | None = None,
        owner: str | None = None,
        owner_name: str = "",
        share: int | None = None,
        lesson: str | None = None,
    ) -> TrainingJob:
        """Record a new run (whose, if `owner` is given), queue it, and start it if a slot is free. Returns at once.

        `drawings` says where the drawings of a run that includes them are, and for a fine-tune its parent
        (core.training.teaching); without it such a run reads them from the folder beside the run store.
        `share`: the most trainings `owner` may have running or waiting at once (None: no limit, as for the
        teacher and the command line); ShareError, naming theirs, when they have that many already.
        `lesson`: the id of the lesson the run is started under (core.runs.lessons), recorded with it.
        """
        if config.include_drawings and drawings is None:
            drawings = DrawingsRecord(folder=str(default_drawings_dir(self.store.root)))
        with self._submitting:  # the count and the new run together: two tabs of one person cannot both slip in
            if share is not None and owner is not None:
                theirs = [job for job in self.active() if job.owner == owner]
                if len(theirs) >= share:
                    raise ShareError(self._share_refusal(theirs, share))
            return self._submit(config, drawings, owner, owner_name, lesson)

    def _share_refusal(self, theirs: list[TrainingJob], share: int) -> str:
        told = [
            f"{job.run_id} ({job.config.shape_label()}, "
            + ("training)" if job.status == RUNNING else f"waiting, {self.jobs_ahead(job.run_id)} ahead)")
            for job in theirs
        ]
        return (
            f"Each person may have {share} training{'s' * (share != 1)} running or waiting at once, and you have "
            f"{len(theirs)}: {'; '.join(told)}. Stop one, or start this when one has ended."
        )

    def stop_all(self, owner: str) -> list[str]:
        """Stop every running or waiting training of `owner` (the teacher's button); returns their run ids."""
        theirs = [job.run_id for job in self.active() if job.owner == owner]
        for run_id in theirs:
            self.stop(run_id)
        return theirs

    def _submit(
        self,
        config: TrainConfig,
        drawings: DrawingsRecord | None,
        owner: str | None,
        owner_name: str,
        lesson: str | None = None,
    ) -> TrainingJob:
        run_id = self.store.create_run(
            config,
            drawings=drawings if config.include_drawings else None,
            owner=owner,
            owner_name=owner_name,
            lesson=lesson,
        )
        job = TrainingJob(
            run_id,
            config,
            self.store,
            backend=self.backend,
            owner=owner,
            owner_name=owner_name,
            max_concurrent=self.max_concurrent,
        )
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
        job.on_finish = self._finished
        try:
            job.run()
        finally:
            if not job.done:  # run() broke before its end: still free the slot and wake the waiters
                log.error("training run %s ended abnormally", job.run_id)
                self._finished(job)
                job._done.set()

    def _finished(self, job: TrainingJob) -> None:
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
    """The process-wide JobManager for a run store (default: the configured runs folder).

    Creating it is this process's start-up for that store: temporary files that killed processes left
    in runs no live process owns are removed then. Its backend and concurrency come from the
    environment (MNIST_DASK_SCHEDULER, MNIST_MAX_CONCURRENT); ExecutionSetupError if they are unusable.
    """
    store = store or RunStore()
    key = str(store.root.resolve())
    with _managers_lock:
        if key not in _managers:
            try:
                store.remove_leftovers()
            except StoreError as error:  # an unreadable store: the pages say so when they list it
                log.warning("leftover files in %s were not removed: %s", store.root, error)
            _managers[key] = JobManager(store, backend=backend_from_environment())
        return _managers[key]
