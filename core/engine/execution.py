"""Where a training runs: on this machine in a worker process, or on a cluster. One small interface, two backends.

The job manager (core.engine.jobs) keeps the one queue and the one notion of a job. To run a job it asks
its backend to `start` an `Execution`, reads the execution's events (begin, batch, epoch, checkpoint,
then done, or refused) and can ask it to `stop`. Whatever the backend, the run store on this
machine is the one record: the local worker writes to it itself; the cluster backend (core.engine.cluster)
writes what comes back from the cluster into it.

    LocalBackend()            the default: `python -m core.training.worker` per training (core.engine.local)
    DaskBackend(address)      the same worker on a Dask cluster's machines (core.engine.cluster)
    backend_from_environment()  the cluster backend when MNIST_DASK_SCHEDULER names a scheduler, else local

Keras is never imported here, so the app's own process stays light.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Protocol

from core.engine.cluster import DaskBackend, check_address  # Dask itself is imported only once a cluster is used
from core.engine.local import CORES_PER_TRAINING, LocalBackend
from core.runs.store import RunStore

MAX_CONCURRENT_ENV = "MNIST_MAX_CONCURRENT"
SCHEDULER_ENV = "MNIST_DASK_SCHEDULER"
MOST_CONCURRENT = 256


class ExecutionSetupError(ValueError):
    """The server's settings for running trainings (environment variables) are not usable; the message says why."""


class Execution(Protocol):
    """One training being run somewhere; made by a Backend, read by one TrainingJob."""

    def events(self) -> Iterator[dict]:
        """The training's events, as they happen, until it ends: the worker's JSON events (core.training.worker)."""

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
    try:
        check_address(address)
    except ValueError as error:
        raise ExecutionSetupError(f"{SCHEDULER_ENV}: {error}") from None
    return DaskBackend(address)
