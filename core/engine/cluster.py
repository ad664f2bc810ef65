"""Trainings on a Dask cluster: the same worker process, on another machine, with everything coming back through Dask.

Used only when MNIST_DASK_SCHEDULER names a scheduler (core.engine.execution.backend_from_environment); the
default runs every training on this machine, with nothing to start. Why Dask distributed, not Ray: it is
pure Python (one `pip install distributed`, nothing compiled, no services of its own besides
`dask scheduler` and `dask worker`), its Queue and Event carry exactly what a training needs (a stream
of small events, one flag), and a worker machine needs only this project installed. Ray would bring a
large native runtime and its own object store to move a few kilobytes a second.

One training, from this app's process to a Dask worker and back:

    DaskExecution (here)                                      train_on_cluster (on a Dask worker)
      claims the run in the run store
      submits train_on_cluster(name, config)  ──────────────>  a temporary run store, the same config
                                                               runs core.training.worker there (LocalExecution)
      <──── Queue "<name>-events": host, begin, batch, epoch, checkpoint (model bytes), done (model, results)
      writes each epoch, checkpoint, the results and
      the final status into the run store: the one record
      Stop sets Event "<name>-stop"  ────────────────────────>  "stop" on the worker's stdin

The app collects what came back every LISTEN_SECONDS without waiting on the scheduler (a Queue.get that
times out logs an error there). Lost machines: when nothing has come for POLL_SECONDS, the app asks the
scheduler whether the Dask worker that took the training (its address and scratch folder) is still there.
Gone, or the task failed: the run ends *interrupted*, with the history and the best model that had come
back. Dask reschedules a task whose worker died; the retry finds "<name>-started" set and returns at once,
so a training never silently starts again from scratch somewhere else.

The app's process imports `distributed` only here, and never TensorFlow.
"""

from __future__ import annotations

import logging
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator

from core.config import TrainConfig, is_int
from core.engine.local import LocalExecution, threads_per_training
from core.runs.files import is_batch_record, is_epoch_record
from core.runs.results import MetricsError, RunMetrics
from core.runs.states import COMPLETED, FAILED, INTERRUPTED, STOP_REASONS, STOPPED
from core.runs.store import ClaimError, RunStore, StoreError
from core.training.machine import available_cores

log = logging.getLogger(__name__)

LISTEN_SECONDS = 0.2  # how often the app collects what came back (the Train page's live feed asks every 0.4 s)
POLL_SECONDS = 1.0  # with no event for this long, check that the training's worker is still there
CONNECT_SECONDS = 10
MAX_MODEL_BYTES = 400 * 2**20  # above the largest network the form allows (334 MB as saved)
_ADDRESS = re.compile(r"^((tcp|tls|ws|wss)://)?[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")


def check_address(address: str) -> str:
    """A scheduler address as Dask takes it ("tcp://host:8786"); ValueError naming what is wrong."""
    if not _ADDRESS.match(address):
        raise ValueError(f"{address[:80]!r} is not a scheduler address; write it like tcp://10.0.0.5:8786.")
    return address


class DaskBackend:
    """Trainings on the Dask cluster whose scheduler is at `address`; one client per app process.

    Args:
        address: the scheduler, "tcp://host:port".
    """

    def __init__(self, address: str):
        self.address = check_address(address)
        self._client = None
        self._lock = threading.Lock()

    def client(self):
        """The connected client (connects on first use); OSError if the scheduler cannot be reached."""
        from distributed import Client

        with self._lock:
            if self._client is None or self._client.status in ("closing", "closed"):
                self._client = Client(self.address, timeout=CONNECT_SECONDS, set_as_default=False)
            return self._client

    def workers(self) -> dict[str, dict]:
        """The scheduler's workers now, by address, with what it knows of each (nthreads among it)."""
        return self.client().scheduler_info(n_workers=-1)["workers"]

    def slots(self) -> int:
        """Trainings at once by default: one per thread of every Dask worker (`dask worker --nthreads`)."""
        try:
            return max(1, sum(int(info.get("nthreads", 1)) for info in self.workers().values()))
        except OSError as error:
            log.warning("the cluster at %s cannot be reached (%s); one training at a time", self.address, error)
            return 1

    def start(self, run_id: str, store: RunStore, max_concurrent: int) -> DaskExecution:
        return DaskExecution(self, run_id, store)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


class DaskExecution:
    """One training on the cluster, seen from the app: the same events as a local worker, written to the store here."""

    pid = None  # nothing runs on this machine

    def __init__(self, backend: DaskBackend, run_id: str, store: RunStore):
        self.backend, self.run_id, self.store = backend, run_id, store
        self.name = f"mnist-train-{run_id}-{secrets.token_hex(4)}"
        self.worker: str | None = None  # the Dask worker's address, once it has said
        self.worker_folder: str | None = None  # and its scratch folder: the same address restarted has another
        self._client = None
        self._stop = threading.Event()
        self._outcome: dict | None = None
        self._batches: list[dict] = []

    # --- control ------------------------------------------------------
    def stop(self) -> None:
        """Set the run's stop flag on the scheduler, from a thread of its own: a page never waits on the cluster."""
        self._stop.set()
        threading.Thread(target=self._send_stop, name=f"stop-{self.run_id}", daemon=True).start()

    def _send_stop(self) -> None:
        from distributed import Event

        client = self._client
        if client is None:
            return  # sent once it is submitted
        try:
            Event(f"{self.name}-stop", client=client).set()
        except OSError as error:
            log.warning("could not ask the cluster to stop run %s: %s", self.run_id, error)

    def ended_without_result(self) -> dict:
        return self._outcome or self._end(FAILED, "The training ended on the cluster without a result.")

    # --- the training -------------------------------------------------
    def events(self) -> Iterator[dict]:
        from distributed import Queue

        try:
            self.store.claim(self.run_id)  # this app's process owns it: if the app dies, it reads interrupted
        except ClaimError as error:
            yield {"event": "refused", "error": str(error)}
            return
        try:
            config = self.store.load_config(self.run_id).to_dict()
            client = self.backend.client()
            queue = Queue(f"{self.name}-events", client=client)
            future = client.submit(train_on_cluster, self.name, config, key=self.name, pure=False)
        except (OSError, StoreError) as error:
            self._end(FAILED, f"The training cluster at {self.backend.address} could not take it: {error}")
            return
        self._client = client
        if self._stop.is_set():
            self._send_stop()
        finished = False
        try:
            for event in self._relay(queue, future):
                finished = finished or event["event"] == "done"
                yield event  # the reader may change it
        finally:
            self._clean_up(queue, future, finished)

    def _relay(self, queue, future) -> Iterator[dict]:
        """The cluster's events, recorded, until the done event, or until the training is found to be over."""
        heard = time.monotonic()
        while True:
            try:
                items = queue.get(batch=True)  # whatever has come, without waiting (a wait that times out logs errors)
            except OSError as error:
                self._end(INTERRUPTED, f"The app lost contact with the training cluster ({error}).")
                return
            ended = None
            if items:
                heard = time.monotonic()
            elif time.monotonic() - heard >= POLL_SECONDS:
                heard = time.monotonic()
                ended = self._ended(future)
                if ended is not None:
                    items = self._drain(queue)  # what came back before the end is kept
            for item in items:
                try:
                    event = self._record(item)
                except StoreError as error:  # this machine cannot record it: no use training on
                    self._send_stop()
                    self._end(FAILED, str(error))
                    return
                if event is not None:
                    kind = event["event"]
                    yield event  # the reader may change it
                    if kind == "done":
                        return
            if ended is not None:
                self._end(*ended)
                return
            if not items:
                time.sleep(LISTEN_SECONDS)

    def _drain(self, queue) -> list:
        try:
            return queue.get(batch=True)
        except OSError:
            return []

    def _ended(self, future) -> tuple[str, str] | None:
        """(status, why) if the training is over without its result (its worker gone, or the task failed), else None.

        The worker that took the training is known by its address and its scratch folder, which a worker
        restarted at the same address does not share. While that worker is there, the training goes on
        whatever the task's state says: Dask may have run a copy elsewhere (a retry, or a task moved to an
        idle worker), and that copy returned at once without training.
        """
        from distributed import KilledWorker

        where = f" {self.worker}" if self.worker else ""
        lost = (
            f"The cluster's worker{where} was lost during training; the history and best model "
            "that had come back from it are kept."
        )
        if future.status == "error":
            error = future.exception()
            if isinstance(error, KilledWorker):
                return INTERRUPTED, lost
            return FAILED, f"The cluster could not run the training: {type(error).__name__}: {error}"
        if self.worker is None:  # not started yet, or its worker died before it could say where it was
            return (INTERRUPTED, lost) if future.done() or future.status in ("cancelled", "lost") else None
        try:
            info = self.backend.workers().get(self.worker)
        except OSError as error:
            return INTERRUPTED, f"The app lost contact with the training cluster ({error})."
        if info is None or info.get("local_directory") != self.worker_folder:
            return INTERRUPTED, lost
        return None

    def _record(self, item) -> dict | None:
        """Write what an event from the cluster says into the store; the event for the job, or None.

        Everything from the cluster is checked as any input is: a malformed event is logged and skipped.
        """
        if not isinstance(item, dict):
            log.warning("run %s: ignored a message from the cluster that is not an event", self.run_id)
            return None
        item = _as_json(item)
        kind = item.get("event")
        if kind == "host" and isinstance(item.get("worker"), str) and isinstance(item.get("folder"), str):
            self.worker, self.worker_folder = item["worker"][:200], item["folder"]
            return None
        if kind == "begin" and _whole(item.get("epochs")) and _whole(item.get("steps")):
            threads = item.get("threads")
            return {"event": "begin", "epochs": item["epochs"], "steps": item["steps"], "threads": threads}
        if kind == "batch" and is_batch_record(_fields(item)) and _whole(item.get("step")):
            record = _fields(item)
            self._batches.append(record)
            return {"event": "batch", **record}
        if kind == "epoch" and is_epoch_record(_fields(item)):
            record = _fields(item)
            self.store.append_epoch(self.run_id, record, self._batches)
            self._batches = []
            return {"event": "epoch", **record}
        if kind == "checkpoint" and isinstance(item.get("model"), bytes):
            self._save_model(item["model"])
            return {"event": "checkpoint", "epoch": item.get("epoch")}
        if kind == "done":
            return self._finish(item)
        log.warning("run %s: ignored an event from the cluster that is not one this app sends (%r)", self.run_id, kind)
        return None

    def _save_model(self, data: bytes) -> None:
        if len(data) > MAX_MODEL_BYTES:
            raise StoreError(f"The model sent back for run {self.run_id} is larger than any this app makes.")
        self.store.save_model_bytes(self.run_id, data)

    def _finish(self, item: dict) -> dict:
        status = item.get("status")
        stop_reason = item.get("stop_reason")
        error = item.get("error")
        if status not in (COMPLETED, STOPPED, FAILED) or stop_reason not in (None, *STOP_REASONS):
            status, stop_reason, error = FAILED, None, "The cluster sent back a result this app cannot read."
        error = error[:2000] if isinstance(error, str) else None
        metrics = None
        if item.get("metrics") is not None:
            try:
                metrics = RunMetrics.from_dict(item["metrics"])
            except MetricsError as problem:
                status, error = FAILED, f"The cluster sent back results this app cannot read ({problem})."
        if isinstance(item.get("model"), bytes):
            self._save_model(item["model"])
        if metrics is not None and status != FAILED:
            self.store.save_metrics(self.run_id, metrics)
        self.store.update_status(self.run_id, status=status, finished=time.time(), stop_reason=stop_reason, error=error)
        return {
            "event": "done",
            "status": status,
            "stop_reason": stop_reason,
            "error": error,
            "metrics": metrics.to_dict() if metrics is not None and status != FAILED else None,
        }

    def _end(self, status: str, error: str) -> dict:
        self._outcome = {"status": status, "error": error}
        try:
            self.store.update_status(self.run_id, status=status, finished=time.time(), error=error)
        except StoreError as problem:
            log.error("run %s ended (%s) but its status could not be saved: %s", self.run_id, status, problem)
        return self._outcome

    def _clean_up(self, queue, future, finished: bool) -> None:
        """Free what the run holds on the scheduler. After a loss the task is cancelled (no retry trains it again)
        and its "started" flag stays set, so a retry already on its way finds it and returns."""
        from distributed import Event

        try:
            if not future.done():
                future.cancel()
            queue.close()
            Event(f"{self.name}-stop", client=self._client).clear()
            if finished:
                Event(f"{self.name}-started", client=self._client).clear()
            future.release()
        except (OSError, RuntimeError) as error:
            log.warning("run %s: the cluster's leftovers were not freed: %s", self.run_id, error)


def _as_json(value):
    """What msgpack brought back, as JSON would have it: its arrays come back as tuples; made lists again."""
    if isinstance(value, dict):
        return {key: _as_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_json(item) for item in value]
    return value


def _whole(value) -> bool:
    return is_int(value) and 0 <= value <= 10**9


def _fields(item: dict) -> dict:
    return {key: value for key, value in item.items() if key != "event"}


# --- on a Dask worker ---------------------------------------------------------------------------


def train_on_cluster(name: str, config: dict) -> str:
    """Run one training on this Dask worker's machine and send everything back through the scheduler.

    Runs `python -m core.training.worker` on a temporary run store here, with this machine's cores shared by the
    trainings this Dask worker runs at once (its --nthreads). Returns "finished", or "not retried" when
    this is Dask's retry of a training whose first worker was lost.
    """
    from distributed import Event, Queue, get_client, get_worker

    worker, client = get_worker(), get_client()
    started = Event(f"{name}-started", client=client)
    if started.is_set():
        return "not retried"
    started.set()
    events = Queue(f"{name}-events", client=client)
    stop = Event(f"{name}-stop", client=client)
    events.put({"event": "host", "worker": worker.address, "folder": worker.local_directory})
    threads = threads_per_training(available_cores(), worker.state.nthreads)
    with tempfile.TemporaryDirectory(prefix="mnist-cluster-run-") as folder:
        store = RunStore(folder)
        execution = LocalExecution(store.create_run(TrainConfig.from_dict(config)), store, threads)
        finished = threading.Event()
        threading.Thread(target=_stop_when_asked, args=(stop, execution, finished), daemon=True).start()
        try:
            ended = False
            for event in execution.events():
                if event.get("event") in ("checkpoint", "done"):
                    path = store.model_path(execution.run_id)
                    if path is not None:
                        event["model"] = path.read_bytes()
                events.put(event)
                ended = ended or event.get("event") in ("done", "refused")
            if not ended:
                events.put({"event": "done", "metrics": None, **execution.ended_without_result()})
        finally:
            finished.set()
    return "finished"


def _stop_when_asked(stop, execution: LocalExecution, finished: threading.Event) -> None:
    while not finished.is_set():
        try:
            if stop.wait(timeout=POLL_SECONDS):
                execution.stop()
                return
        except OSError:  # the scheduler is gone: the training ends on its own, or with this worker
            return
