"""Where a training runs: on this machine in a worker process, or on a cluster. One small interface, two backends.

The job manager (core.jobs) keeps the one queue and the one notion of a job. To run a job it asks
its backend to `start` an `Execution`, reads the execution's events (begin, batch, epoch, checkpoint,
then done, or refused) and can ask it to `stop`. Whatever the backend, the run store on this
machine is the one record: the local worker writes to it itself; the cluster backend (core.cluster)
writes what comes back from the cluster into it.

    LocalBackend()            the default: `python -m core.worker` per training, nothing to start
    backend_from_environment()  the cluster backend when MNIST_DASK_SCHEDULER names a scheduler, else local

Keras is never imported here, so the app's own process stays light.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from core.run_states import FAILED
from core.store import RunStore
from core.throughput import available_cores

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MAX_CONCURRENT_ENV = "MNIST_MAX_CONCURRENT"
SCHEDULER_ENV = "MNIST_DASK_SCHEDULER"
CORES_PER_TRAINING = 2  # the default: one training per two cores; more at once only share the same cores
MOST_CONCURRENT = 256


class ExecutionSetupError(ValueError):
    """The server's settings for running trainings (environment variables) are not usable; the message says why."""


class Execution(Protocol):
    """One training being run somewhere; made by a Backend, read by one TrainingJob."""

    def events(self) -> Iterator[dict]:
        """The training's events, as they happen, until it ends: the worker's JSON events (core.worker)."""

    def stop(self) -> None:
        """Ask the training to end after its current batch (thread-safe; before `events` starts is fine)."""

    def ended_without_result(self) -> dict:
        """Record and return the outcome (status, error) of a training whose events ended with no result."""

    @property
    def pid(self) -> int | None:
        """The local worker process, while there is one (None on a cluster)."""


class Backend(Protocol):
    """Runs trainings. `slots()` is how many at once suit it when MNIST_MAX_CONCURRENT does not say."""

    def start(self, run_id: str, store: RunStore, max_concurrent: int) -> Execution: ...

    def slots(self) -> int: ...


def threads_per_training(cores: int, at_once: int) -> int:
    """TensorFlow threads for each of `at_once` trainings sharing `cores`: an equal share, at least one."""
    return max(1, cores // max(1, at_once))


class LocalExecution:
    """A training in a worker process on this machine: `python -m core.worker RUN_ID --runs-dir ... --threads N`.

    The worker claims the run and writes its history, checkpoints, results and final status into the
    store itself; its events come on its stdout, one JSON object a line. "stop" on its stdin stops it.
    """

    def __init__(self, run_id: str, store: RunStore, threads: int | None = None):
        self.run_id, self.store, self.threads = run_id, store, threads
        self._process: subprocess.Popen | None = None
        self._stop = threading.Event()

    @property
    def log_path(self) -> Path:
        return self.store.run_dir(self.run_id) / "worker.log"

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def events(self) -> Iterator[dict]:
        command = [sys.executable, "-m", "core.worker", self.run_id, "--runs-dir", str(self.store.root)]
        if self.threads:
            command += ["--threads", str(self.threads)]
        with open(self.log_path, "wb") as worker_log:
            process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=worker_log,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")},
                text=True,
                bufsize=1,
            )
            self._process = process
            try:
                if self._stop.is_set():
                    self._send_stop()
                for line in process.stdout:
                    yield json.loads(line)
                process.wait()
            finally:
                if process.poll() is None:  # the reader left early (an error): the worker must not outlive it
                    process.kill()
                    process.wait()
                process.stdin.close()
                process.stdout.close()
                self._process = None

    def stop(self) -> None:
        self._stop.set()
        self._send_stop()

    def ended_without_result(self) -> dict:
        error = "The training process ended unexpectedly. " + last_line(self.log_path)
        self.store.update_status(self.run_id, status=FAILED, finished=time.time(), error=error)
        return {"status": FAILED, "error": error}

    def _send_stop(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            try:
                process.stdin.write("stop\n")
                process.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):  # it has just ended, or its pipe is closed
                pass


def last_line(path: Path) -> str:
    """The last non-empty line of a log (at most 300 characters); "" if there is none."""
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


class LocalBackend:
    """Each training in its own worker process on this machine, with an equal share of its cores.

    Args:
        cores: the cores trainings share (default: those this process may run on).
    """

    def __init__(self, cores: int | None = None):
        self.cores = cores or available_cores()

    def start(self, run_id: str, store: RunStore, max_concurrent: int) -> LocalExecution:
        return LocalExecution(run_id, store, threads_per_training(self.cores, max_concurrent))

    def slots(self) -> int:
        return max(1, self.cores // CORES_PER_TRAINING)


def max_concurrent_from_environment(default: int) -> int:
    """MNIST_MAX_CONCURRENT if set (a whole number from 1 to 256), else `default`."""
    text = os.environ.get(MAX_CONCURRENT_ENV, "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= MOST_CONCURRENT:
        raise ExecutionSetupError(
            f"{MAX_CONCURRENT_ENV} must be a whole number from 1 to {MOST_CONCURRENT} "
            f"(got {text[:20]!r}); unset it to train one at a time per {CORES_PER_TRAINING} cores."
        )
    return int(text)


def backend_from_environment() -> Backend:
    """The cluster backend when MNIST_DASK_SCHEDULER holds a scheduler's address, else the local one."""
    address = os.environ.get(SCHEDULER_ENV, "").strip()
    if not address:
        return LocalBackend()
    from core.cluster import DaskBackend, check_address  # only a server pointed at a cluster imports Dask

    try:
        check_address(address)
    except ValueError as error:
        raise ExecutionSetupError(f"{SCHEDULER_ENV}: {error}") from None
    return DaskBackend(address)
