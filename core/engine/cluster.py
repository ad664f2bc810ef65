"""Trainings on a Dask cluster: the same worker process, on another machine, its record sent back file by file.

Used only when MNIST_DASK_SCHEDULER names a scheduler (core.engine.execution.backend_from_environment); the
default runs every training on this machine, with nothing to start. Why Dask distributed, not Ray: it is
pure Python (one `pip install distributed`, nothing compiled, no services of its own besides its scheduler
and workers), its Queue and Event carry exactly what a training needs (a stream of small events, one flag),
and a worker machine needs only this project installed. Ray would bring a large native runtime and its own
object store to move a few kilobytes a second.

One writer of a run's record: the training worker (core.training.worker), wherever it runs. On a Dask
worker it writes into a copy of the run in a scratch run store; what it wrote there comes back as files, and
the app puts them into its own run store as they are (RunStore.write_record_file). So a cluster run has all
that a local one has (history, snapshots, best and final model, results, the drawings it trained on) and
nothing here decides what a record holds.

    DaskExecution (here)                                      train_on_cluster (on a Dask worker)
      claims the run in the run store
      submits train_on_cluster(name, bundle)  ──────────────>  a scratch run store with the run, its drawings
        bundle: the run's config and drawings record, the      and, for a fine-tune, the run it starts from;
        drawings, the run a fine-tune starts from              runs core.training.worker there (LocalExecution)
      <──── Queue "<name>-events": host, then each event of the worker, after the files it changed
      writes the files into the run store, the final status
      Stop sets Event "<name>-stop"  ────────────────────────>  "stop" on the worker's stdin

The app collects what came back every LISTEN_SECONDS without waiting on the scheduler (a Queue.get that
times out logs an error there). Everything from the cluster is checked as any input is: an event that is not
one the worker sends ends the run as failed, with the reason. Lost machines: when nothing has come for
POLL_SECONDS, the app asks the scheduler whether the Dask worker that took the training (its address and
scratch folder) is still there. Gone, or the task failed: the run ends *interrupted*, with the history and
the best model that had come back. Dask reschedules a task whose worker died; the retry finds
"<name>-started" set and returns at once, so a training never silently starts again from scratch elsewhere.

The app's process imports `distributed` only here, and never TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import secrets
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from core.config import is_int, is_run_id
from core.drawings.folder import MAX_FILE_BYTES as MAX_DRAWING_BYTES
from core.engine.local import LocalExecution, threads_per_training
from core.runs import snapshots
from core.runs.atomic_files import write_bytes_atomic, write_json_atomic
from core.runs.drawings_record import DrawingsRecord, RecordError
from core.runs.files import is_batch_record, is_epoch_record
from core.runs.results import MetricsError, RunMetrics
from core.runs.states import COMPLETED, FAILED, INTERRUPTED, QUEUED, STOP_REASONS, STOPPED
from core.runs.store import RECORD_FILE, ClaimError, RunStore, StoreError
from core.training.machine import available_cores

log = logging.getLogger(__name__)

LISTEN_SECONDS = 0.2  # how often the app collects what came back: more often than the live feed sends
POLL_SECONDS = 1.0  # with no event for this long, check that the training's worker is still there
CONNECT_SECONDS = 10
MAX_MODEL_BYTES = 400 * 2**20  # above the largest network the form allows (334 MB as saved)
MAX_FILE_BYTES = {".keras": MAX_MODEL_BYTES, ".npz": snapshots.MAX_FILE_BYTES, ".json": 2**20, ".jsonl": 64 * 2**20}
MAX_FILES_AN_EVENT = 64
MAX_DRAWINGS_BYTES = 256 * 2**20  # the drawings a training takes to the cluster, together
MAX_EVENT_DEPTH = 6  # an event and its records nest three deep; anything deeper is not the worker's
# What the run a fine-tune starts from needs on the cluster: enough for the worker to check it and start from it.
PARENT_FILES = ("config.json", "status.json", "metrics.json", "drawings.json", "model.keras")
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
    """One training on the cluster, seen from the app: the worker's events, its record written into the store here."""

    pid = None  # nothing runs on this machine

    def __init__(self, backend: DaskBackend, run_id: str, store: RunStore):
        self.backend, self.run_id, self.store = backend, run_id, store
        self.name = f"mnist-train-{run_id}-{secrets.token_hex(4)}"
        self.worker: str | None = None  # the Dask worker's address, once it has said
        self.worker_folder: str | None = None  # and its scratch folder: the same address restarted has another
        self._client = None
        self._stop = threading.Event()
        self._outcome: dict | None = None

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
            bundle = run_bundle(self.store, self.run_id)
            client = self.backend.client()
            queue = Queue(f"{self.name}-events", client=client)
            future = client.submit(train_on_cluster, self.name, bundle, key=self.name, pure=False)
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
                except (StoreError, ValueError) as error:  # not recorded: no use training on
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

        Everything from the cluster is checked as any input is: ValueError, naming what is wrong, for anything
        that is not an event the worker sends (the run then ends as failed).
        """
        item = checked_event(item)
        kind = item["event"]
        if kind == "host":
            self.worker, self.worker_folder = item["worker"], item["folder"]
            return None
        if kind == "files":
            for file in item["files"]:
                self._receive(file)
            return None
        if kind == "done":
            return self._finish(item)
        if kind == "refused":
            raise ValueError(f"The cluster's copy of the run could not be trained: {str(item.get('error'))[:300]}")
        return item

    def _receive(self, file: dict) -> None:
        """One file of the run's record, as the worker wrote it on the cluster, into the store here. The drawings
        record keeps this machine's folder (the cluster's copy names its scratch one)."""
        name, data = file["name"], file["data"]
        if name == "drawings.json":
            try:
                sent = DrawingsRecord.from_dict(json.loads(data))
            except (ValueError, RecordError) as error:
                raise ValueError(f"The cluster sent back a drawings record this app cannot read ({error}).") from None
            here = self.store.load_drawings_record(self.run_id)
            folder = here.folder if here is not None else sent.folder
            data = json.dumps(dataclasses.replace(sent, folder=folder).to_dict()).encode()
        self.store.write_record_file(self.run_id, name, data, file.get("at"))

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


# --- what travels -------------------------------------------------------------------------------


def run_bundle(store: RunStore, run_id: str) -> dict:
    """What a Dask worker needs to train the run as this machine would: the run's config and drawings record,
    the drawings in its folder and, for a fine-tune, the run it starts from. StoreError if they cannot be read."""
    folder = store.run_dir(run_id)
    try:
        files = {
            name: (folder / name).read_bytes() for name in ("config.json", "drawings.json") if (folder / name).exists()
        }
        record = store.load_drawings_record(run_id)
        drawings, parent = {}, None
        if record is not None:
            drawings = _drawing_files(Path(record.folder))
            if record.parent is not None:
                parent_folder = store.run_dir(record.parent)
                parent_files = {
                    name: (parent_folder / name).read_bytes()
                    for name in PARENT_FILES
                    if (parent_folder / name).exists()
                }
                parent = {"run_id": record.parent, "files": parent_files}
    except OSError as error:
        raise StoreError(f"Run {run_id}'s files could not be read to send to the cluster: {error}") from error
    return {"run_id": run_id, "files": files, "drawings": drawings, "parent": parent}


def _drawing_files(folder: Path) -> dict[str, bytes]:
    """The plain files of a drawings folder, by name, as the folder's own reader would look at them (dot files,
    links and folders left out; larger files than it reads, too)."""
    found, total = {}, 0
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except FileNotFoundError:
        return found
    for entry in entries:
        if entry.name.startswith(".") or not entry.name.isprintable() or entry.is_symlink():
            continue
        info = entry.stat(follow_symlinks=False)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_DRAWING_BYTES:
            continue
        total += info.st_size
        if total > MAX_DRAWINGS_BYTES:
            raise StoreError(f"The drawings in {folder} are more than a training can take to the cluster.")
        found[entry.name] = Path(entry.path).read_bytes()
    return found


def checked_event(item) -> dict:
    """An event from the cluster if it is one the worker (or train_on_cluster) sends, with lists made of msgpack's
    tuples; ValueError naming what is wrong otherwise."""
    item = _as_json(item)
    if not isinstance(item, dict):
        raise ValueError("The cluster sent something that is not an event.")
    kind = item.get("event")
    fields = {key: value for key, value in item.items() if key != "event"}
    if kind == "host":
        if isinstance(item.get("worker"), str) and isinstance(item.get("folder"), str):
            if len(item["worker"]) <= 300 and len(item["folder"]) <= 4096:
                return item
    elif kind == "begin":
        threads = item.get("threads")
        if _whole(item.get("epochs")) and _whole(item.get("steps")) and (threads is None or _whole(threads)):
            return {"event": "begin", "epochs": item["epochs"], "steps": item["steps"], "threads": threads}
    elif kind == "batch":
        if is_batch_record(fields) and _whole(item.get("step")) and len(fields) <= 16:
            return item
    elif kind == "epoch":
        if is_epoch_record(fields) and len(fields) <= 16:
            return item
    elif kind == "checkpoint":
        if _whole(item.get("epoch")):
            return {"event": "checkpoint", "epoch": item["epoch"]}
    elif kind == "files":
        files = item.get("files")
        if isinstance(files, list) and len(files) <= MAX_FILES_AN_EVENT:
            for file in files:
                if not _is_record_file(file):
                    name = file.get("name") if isinstance(file, dict) else None
                    raise ValueError(f"The cluster sent a file this app does not take ({str(name)[:60]!r}).")
            return item
    elif kind in ("done", "refused"):
        return item
    raise ValueError(f"The cluster sent an event this app does not send ({str(kind)[:40]!r}); the run was stopped.")


def _is_record_file(file) -> bool:
    """A file of the run's record as train_on_cluster sends it: a name it may write, bytes within that kind of
    file's size, and where a log's new lines go (`at`) or nothing for a whole file."""
    if not isinstance(file, dict) or set(file) - {"name", "data", "at"}:
        return False
    name, data, at = file.get("name"), file.get("data"), file.get("at")
    if not isinstance(name, str) or RECORD_FILE.fullmatch(name) is None or name == "config.json":
        return False
    limit = MAX_FILE_BYTES[name[name.rindex(".") :]]
    return isinstance(data, bytes) and len(data) <= limit and (at is None or (_whole(at) and name.endswith(".jsonl")))


def _as_json(value, depth: int = 0):
    """What msgpack brought back, as JSON would have it: its arrays come back as tuples; made lists again. Deeper
    than any event the worker sends is refused (ValueError), not followed down."""
    if depth > MAX_EVENT_DEPTH:
        raise ValueError("The cluster sent an event nested deeper than any this app sends; the run was stopped.")
    if isinstance(value, dict):
        return {key: _as_json(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_json(item, depth + 1) for item in value]
    return value


def _whole(value) -> bool:
    return is_int(value) and 0 <= value <= 10**9


# --- on a Dask worker ---------------------------------------------------------------------------


def train_on_cluster(name: str, bundle: dict) -> str:
    """Run one training on this Dask worker's machine and send everything back through the scheduler.

    Lays the run out in a scratch run store here (with its drawings, and the run a fine-tune starts from), runs
    `python -m core.training.worker` on it with this machine's cores shared by the trainings this Dask worker
    runs at once (its --nthreads), and sends each of the worker's events after the files of the record it
    changed. Returns "finished", or "not retried" when this is Dask's retry of a training whose first worker
    was lost.
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
        store = RunStore(Path(folder) / "runs")
        run_id = lay_out(store, Path(folder) / "drawings", bundle)
        execution = LocalExecution(run_id, store, threads)
        finished = threading.Event()
        threading.Thread(target=_stop_when_asked, args=(stop, execution, finished), daemon=True).start()
        sent = store.record_files(run_id)  # what the app sent is what it has
        try:
            ended = False
            for event in execution.events():
                if event.get("event") != "batch":  # the record changes at the epochs, checkpoints and the end
                    changed, sent = changed_files(store, run_id, sent)
                    if changed:
                        events.put({"event": "files", "files": changed})
                events.put(event)
                ended = ended or event.get("event") in ("done", "refused")
            if not ended:
                events.put({"event": "done", "metrics": None, **execution.ended_without_result()})
        finally:
            finished.set()
    return "finished"


def lay_out(store: RunStore, drawings_folder: Path, bundle: dict) -> str:
    """The run of `bundle` in `store`, queued, as the app has it (its drawings in `drawings_folder`, which its
    drawings record now names), and the run a fine-tune starts from; returns the run's id."""
    run_id, parent = bundle["run_id"], bundle.get("parent")
    for some_id in [run_id] + ([parent["run_id"]] if parent else []):
        if not is_run_id(some_id):
            raise ValueError(f"{str(some_id)[:40]!r} is not a run id")
    store.root.mkdir(parents=True, exist_ok=True)
    if parent is not None:
        (store.root / parent["run_id"]).mkdir()
        for file_name, data in parent["files"].items():
            if file_name not in PARENT_FILES:
                raise ValueError(f"{file_name[:40]!r} is not a file of the run a fine-tune starts from")
            write_bytes_atomic(store.run_dir(parent["run_id"]) / file_name, data)
    (store.root / run_id).mkdir()
    drawings_folder.mkdir()
    for file_name, data in bundle["drawings"].items():
        if "/" in file_name or file_name.startswith(".") or not file_name.isprintable():
            raise ValueError(f"{file_name[:40]!r} is not a drawing's file name")
        write_bytes_atomic(drawings_folder / file_name, data)
    for file_name, data in bundle["files"].items():
        if file_name == "drawings.json":
            record = dataclasses.replace(DrawingsRecord.from_dict(json.loads(data)), folder=str(drawings_folder))
            data = json.dumps(record.to_dict()).encode()
        store.write_record_file(run_id, file_name, data)
    write_json_atomic(store.run_dir(run_id) / "status.json", {"status": QUEUED, "created": time.time()})
    return run_id


def changed_files(store: RunStore, run_id: str, sent: dict) -> tuple[list[dict], dict]:
    """The files of the run's record changed since `sent` (name: (size, modified ns) as last sent), as they go to
    the app: a log's new lines with where they start (`at`), any other file whole; and the new `sent`."""
    now = store.record_files(run_id)
    changed = []
    for name, state in now.items():
        before = sent.get(name)
        if state == before:
            continue
        data = (store.run_dir(run_id) / name).read_bytes()
        if name.endswith(".jsonl") and before is not None and before[0] <= len(data):
            changed.append({"name": name, "data": data[before[0] :], "at": before[0]})
        else:
            changed.append({"name": name, "data": data, "at": 0 if name.endswith(".jsonl") else None})
    return changed, {**sent, **now}


def _stop_when_asked(stop, execution: LocalExecution, finished: threading.Event) -> None:
    while not finished.is_set():
        try:
            if stop.wait(timeout=POLL_SECONDS):
                execution.stop()
                return
        except OSError:  # the scheduler is gone: the training ends on its own, or with this worker
            return
