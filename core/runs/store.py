"""The run store: one folder per training run, shared safely by every process that writes to it.

    runs/<run id>/
        config.json     the TrainConfig
        status.json     status, owning process, timestamps, stop reason, error, label, owner and their name
        history.jsonl   one line per finished epoch, flushed as it happens
        batches.jsonl   one line per finished epoch with that epoch's batch curve
        snapshots/      a look inside the network before training and after each epoch (core.runs.snapshots)
        model.keras     the trained model (best validation epoch), replaced atomically
        metrics.json    held-out test results, written once at the end
        drawings.json   with your drawings only: which of them it trained on (core.runs.drawings_record)
        .lock           locked (flock) around every change of status.json
    runs/classroom.json the class's display names (by owner), whether the class view is shown, the teacher's browsers,
                        the current lesson
    runs/lessons/       the teacher's lessons (core.runs.lessons)

When the app is hosted for a class, many processes (app servers, their workers,
the command line) write to one store at once, so:

- Every JSON file and the model are written to a temporary file in the same
  folder and moved into place with `os.replace`: a killed process leaves the old
  file or the new one, never a torn one. It can leave its temporary file behind;
  `remove_leftovers` clears those at start-up, only in runs no live process owns.
- status.json is changed read-modify-write under the run's lock, so a label
  edit and a worker's final status never overwrite each other.
- A run id is taken by creating its folder (mkdir fails if it exists), so two
  processes that draw the same id never share, or delete, each other's folder.
- Training claims a run under its lock and only from "queued": one worker per run.
- Nothing read from disk is trusted. A run whose files are missing, cut off or
  of the wrong shape is listed as damaged, with the reason, and can be deleted;
  it never stops the other runs, or the pages, from being read.
"""

from __future__ import annotations

import dataclasses
import fcntl
import functools
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.config import PROJECT_ROOT, TrainConfig, is_lesson_id, is_run_id
from core.runs import snapshots
from core.runs.atomic_files import explain_os_error, file_in_the_way, write_bytes_atomic, write_json_atomic
from core.runs.classroom import clean_name, is_clean_name, is_owner
from core.runs.drawings_record import DrawingsRecord, RecordError
from core.runs.files import (
    Damaged,
    check_config,
    check_metrics,
    check_status,
    is_batches_line,
    is_epoch_record,
    is_file,
    is_time,
    read_json,
    read_jsonl,
)
from core.runs.processes import owner_alive, this_process
from core.runs.results import RunMetrics
from core.runs.states import ACTIVE_STATUSES, DAMAGED, INTERRUPTED, QUEUED, RUNNING

RUNS_DIR_ENV = "MNIST_RUNS_DIR"
MAX_LABEL_CHARS = 80
# The files a run's training writes (core.training.worker), which a training elsewhere sends back (core.engine.cluster).
RECORD_FILE = re.compile(
    r"(?:config|drawings|metrics)\.json|model\.keras|(?:history|batches)\.jsonl|snapshots/(?:epoch-[0-9]{3}|digits)\.npz"
)
DEFAULT_RUNS_DIR = PROJECT_ROOT / "runs"

LOCK_NAME = ".lock"
CLASSROOM_FILE = "classroom.json"
CLASSROOM_LOCK = ".classroom.lock"
# What `write_bytes_atomic` and `save_model` name their temporary files; nothing else in a run matches.
LEFTOVER_PATTERNS = (".*.tmp", ".model.*.tmp.keras", f"{snapshots.FOLDER}/.*.tmp")
_CREATE_ATTEMPTS = 100


@dataclass(frozen=True)
class Classroom:
    """What runs/classroom.json holds: display names by owner, and whether Home shows the class view."""

    names: dict[str, str] = dataclasses.field(default_factory=dict)
    leaderboard: bool = True
    teachers: dict[str, str] = dataclasses.field(default_factory=dict)  # owner: mark (core.runs.classroom.teacher_mark)
    lesson: str | None = None  # the lesson Home shows everyone (core.runs.lessons), None for none


class StoreError(RuntimeError):
    """A run could not be read or written; the message says what to do."""


class ClaimError(StoreError):
    """A run cannot be trained here: another worker has it, or it is no longer waiting to be trained."""


@dataclass(frozen=True)
class RunInfo:
    """What the app lists about a run, read from its folder.

    A damaged run (status DAMAGED) has `problem` set to the reason, in words a learner can follow;
    its `config` is None when config.json is what is damaged, and it has no metrics.
    `owner` is the hash of who started it (core.runs.classroom), None for runs from before owners or the
    command line; `owner_name` the display name they had then (or have set since).
    """

    run_id: str
    config: TrainConfig | None
    status: str
    created: float
    started: float | None
    finished: float | None
    stop_reason: str | None
    error: str | None
    label: str
    has_model: bool
    metrics: RunMetrics | None
    problem: str | None = None
    owner: str | None = None
    owner_name: str = ""
    lesson: str | None = None  # the lesson it was started under (core.runs.lessons)

    @property
    def display_name(self) -> str:
        return self.label or self.run_id


def best_run(runs: list[RunInfo]) -> RunInfo | None:
    """The run with the best held-out test accuracy, among those with a saved model; None if none has one."""
    scored = [run for run in runs if run.has_model and run.metrics is not None]
    return max(scored, key=lambda run: run.metrics.test_accuracy, default=None)


def default_root() -> Path:
    return Path(os.environ.get(RUNS_DIR_ENV) or DEFAULT_RUNS_DIR)


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def _save_error(what: str, error: OSError) -> StoreError:
    return StoreError(f"Could not save {what}: {explain_os_error(error)}; nothing already saved was changed.")


def _lock_is_held(folder: Path) -> bool:
    """Whether some process holds the run's lock right now (without taking it, or creating the file)."""
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


class RunStore:
    """Reads and writes runs under `root` (default: $MNIST_RUNS_DIR or the project's runs/).

    `root` is made absolute at once, so a worker process started in another folder, or anything
    else handed `root`, finds the same store.
    """

    def __init__(self, root: Path | str | None = None):
        root = Path(root) if root is not None else default_root()
        self.root = Path(os.path.abspath(root.expanduser()))

    def run_dir(self, run_id: str) -> Path:
        if not is_run_id(run_id):
            raise StoreError(f"{run_id!r} is not a run id.")
        return self.root / run_id

    def prepare(self) -> None:
        """Make the store's folder if needed and prove a file can be written in it.

        Raises StoreError naming the folder and what is wrong with it (a file, under a file,
        read-only, not ours to write); nothing is left behind when it does.
        """
        blocker = file_in_the_way(self.root)
        if blocker == self.root:
            raise StoreError(f"Cannot store runs in {self.root}: it is a file, not a folder.")
        if blocker is not None:
            raise StoreError(
                f"Cannot store runs in {self.root}: {blocker} is a file, so no folder can be made under it."
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=self.root, prefix=".write-test-", suffix=".tmp")
            os.close(fd)
            os.unlink(probe)
        except OSError as error:
            raise StoreError(f"Cannot store runs in {self.root}: {explain_os_error(error, self.root)}.") from None

    @contextmanager
    def _locked(self, run_id: str) -> Iterator[Path]:
        """Hold the run's lock (other processes' and threads' changes wait); yields the run's folder."""
        folder = self.run_dir(run_id)
        try:
            fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            raise StoreError(f"Run {run_id} does not exist (it may have been deleted).") from None
        except OSError as error:
            raise StoreError(f"Could not change run {run_id}: {explain_os_error(error)}.") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield folder
        finally:
            os.close(fd)  # releases the lock

    def _status_to_change(self, folder: Path) -> dict:
        """The status, read under the lock for a change; StoreError if it is gone or damaged."""
        if not folder.is_dir():
            raise StoreError(f"Run {folder.name} does not exist (it may have been deleted).")
        try:
            return check_status(read_json(folder, "status.json"))
        except Damaged as damage:
            raise StoreError(f"Run {folder.name} is damaged ({damage}); it can only be deleted.") from None

    # --- writing -------------------------------------------------------
    def create_run(
        self,
        config: TrainConfig,
        *,
        drawings: DrawingsRecord | None = None,
        owner: str | None = None,
        owner_name: str = "",
        lesson: str | None = None,
    ) -> str:
        """Make a new run folder holding its config (and, to train on your drawings, where they are), queued
        and owned by this process.

        `owner` (a hash, see core.runs.classroom) and `owner_name` say whose run it is; None for nobody's.
        `lesson`: the id of the lesson it is started under, if any.
        The id is taken by creating its folder, which fails if another process made it first;
        then another id is drawn. So this never touches, or removes, a folder it did not make.
        """
        if owner is not None and not is_owner(owner):
            raise ValueError("owner must be 64 hexadecimal digits (core.runs.classroom makes them)")
        if lesson is not None and not is_lesson_id(lesson):
            raise ValueError("lesson must be a lesson id (core.runs.lessons makes them)")
        whose = {"owner": owner, "owner_name": clean_name(owner_name)} if owner is not None else {}
        whose |= {"lesson": lesson} if lesson is not None else {}
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise _save_error("the new run", error) from error
        for _ in range(_CREATE_ATTEMPTS):
            run_id = new_run_id()
            folder = self.root / run_id
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            except OSError as error:
                raise _save_error("the new run", error) from error
            break
        else:
            raise StoreError(f"Could not find a free run id in {self.root} after {_CREATE_ATTEMPTS} tries.")
        try:
            # Locked until status.json exists, so a listing meanwhile skips the folder instead of calling it damaged.
            with self._locked(run_id):
                write_json_atomic(folder / "config.json", config.to_dict())
                if drawings is not None:
                    write_json_atomic(folder / "drawings.json", drawings.to_dict())
                write_json_atomic(
                    folder / "status.json", {"status": QUEUED, "created": time.time(), **this_process(), **whose}
                )
        except (OSError, StoreError) as error:
            shutil.rmtree(folder, ignore_errors=True)  # ours: made just above
            if isinstance(error, StoreError):
                raise
            raise _save_error("the new run", error) from error
        return run_id

    def update_status(self, run_id: str, **fields) -> dict:
        """Change some status fields, keeping the others: read, change and write under the run's lock."""
        with self._locked(run_id) as folder:
            status = {**self._status_to_change(folder), **fields}
            try:
                write_json_atomic(folder / "status.json", status)
            except OSError as error:
                raise _save_error(f"the status of run {run_id}", error) from error
        return status

    def claim(self, run_id: str) -> None:
        """Mark a queued run running, owned by this process.

        ClaimError if it is not queued (another worker claimed it first; it was cancelled), deleted or
        damaged: then nothing is written. StoreError if the new status cannot be saved (disk full).
        """
        try:
            with self._locked(run_id) as folder:
                status = self._status_to_change(folder)
                if status["status"] != QUEUED:
                    state = "being trained" if status["status"] == RUNNING else status["status"]
                    owner = f" by process {status['pid']}" if status["status"] == RUNNING and status.get("pid") else ""
                    raise ClaimError(
                        f"Run {run_id} is {state}{owner}, not waiting to be trained, so this worker leaves it alone."
                    )
                status.update(status=RUNNING, started=time.time(), **this_process())
                write_json_atomic(folder / "status.json", status)
        except ClaimError:
            raise
        except StoreError as error:  # gone or damaged: nothing to train
            raise ClaimError(str(error)) from None
        except OSError as error:
            raise _save_error(f"the status of run {run_id}", error) from error

    def append_epoch(self, run_id: str, epoch_record: dict, batch_records: list[dict]) -> None:
        """Append one finished epoch (and its batch curve); flushed so a crash loses at most this epoch."""
        folder = self.run_dir(run_id)
        for name, record in (("batches.jsonl", batch_records), ("history.jsonl", epoch_record)):
            with open(folder / name, "a") as f:
                f.write(json.dumps(record) + "\n")
                f.flush()
                os.fsync(f.fileno())

    def save_model(self, run_id: str, model) -> Path:
        """Save a Keras model as model.keras, atomically: the previous file stays if this fails."""
        path = self.run_dir(run_id) / "model.keras"
        tmp = path.with_name(f".model.{secrets.token_hex(4)}.tmp.keras")
        try:
            model.save(tmp)
            os.replace(tmp, path)
        except OSError as error:
            raise _save_error("the model", error) from error
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def save_snapshot(self, run_id: str, snapshot: snapshots.Snapshot) -> None:
        """Keep one epoch's look inside the network (core.runs.snapshots), atomically."""
        self._save_in_snapshots(run_id, snapshots.epoch_file_name(snapshot.epoch), snapshots.encode_snapshot(snapshot))

    def save_guess_digits(self, run_id: str, digits: snapshots.GuessDigits) -> None:
        """Keep the fixed validation digits whose guesses every snapshot holds, atomically."""
        self._save_in_snapshots(run_id, snapshots.DIGITS_FILE, snapshots.encode_digits(digits))

    def _save_in_snapshots(self, run_id: str, name: str, data: bytes) -> None:
        folder = self.run_dir(run_id) / snapshots.FOLDER
        try:
            folder.mkdir(exist_ok=True)
            write_bytes_atomic(folder / name, data)
        except OSError as error:
            raise _save_error("a look inside the network", error) from error

    def save_model_bytes(self, run_id: str, data: bytes) -> Path:
        """Save a model that arrived as the bytes of a .keras file (from a training elsewhere), atomically.

        StoreError if it is not one: a .keras file is a zip archive. What is inside is checked by whoever
        reads it (core.drawings.inference reads it as data).
        """
        if not isinstance(data, bytes) or not data.startswith(b"PK\x03\x04"):
            raise StoreError(f"The model sent for run {run_id} is not a .keras file; it was not saved.")
        path = self.run_dir(run_id) / "model.keras"
        try:
            write_bytes_atomic(path, data)
        except OSError as error:
            raise _save_error("the model", error) from error
        return path

    def save_metrics(self, run_id: str, metrics: RunMetrics) -> None:
        try:
            write_json_atomic(self.run_dir(run_id) / "metrics.json", metrics.to_dict())
        except OSError as error:
            raise _save_error("the test results", error) from error

    def save_drawings_record(self, run_id: str, record: DrawingsRecord) -> None:
        try:
            write_json_atomic(self.run_dir(run_id) / "drawings.json", record.to_dict())
        except OSError as error:
            raise _save_error("the record of the drawings it trains on", error) from error

    def record_files(self, run_id: str) -> dict[str, tuple[int, int]]:
        """The files of the run's record that are there now, by name (RECORD_FILE), with (size, modified ns)."""
        folder, found = self.run_dir(run_id), {}
        names = ["config.json", "drawings.json", "metrics.json", "model.keras", "history.jsonl", "batches.jsonl"]
        names += [f"{snapshots.FOLDER}/{path.name}" for _, path in snapshots.epoch_files(folder / snapshots.FOLDER)]
        names.append(f"{snapshots.FOLDER}/{snapshots.DIGITS_FILE}")
        for name in names:
            try:
                info = (folder / name).stat()
            except OSError:
                continue
            found[name] = (info.st_size, info.st_mtime_ns)
        return found

    def write_record_file(self, run_id: str, name: str, data: bytes, append_at: int | None = None) -> None:
        """Write one file of the run's record as its training wrote it elsewhere (a Dask worker's copy of the run):
        whole and atomically, or, for a log (.jsonl) with `append_at`, its new lines after the first `append_at`
        bytes, which must be what the file holds. ValueError for a name that is not a record file's or a log that
        does not hold what the sender had; StoreError if it cannot be written."""
        if not isinstance(name, str) or RECORD_FILE.fullmatch(name) is None or not isinstance(data, bytes):
            raise ValueError(f"{str(name)[:80]!r} is not a file of a run's record")
        path = self.run_dir(run_id) / name
        try:
            path.parent.mkdir(exist_ok=True)
            if append_at is None:
                write_bytes_atomic(path, data)
                return
            if not name.endswith(".jsonl") or (path.stat().st_size if path.exists() else 0) != append_at:
                raise ValueError(f"{name} of run {run_id} does not hold what the training's own copy had")
            with open(path, "ab") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except OSError as error:
            raise _save_error(f"the training's {name}", error) from error

    def set_label(self, run_id: str, label: str) -> None:
        self.update_status(run_id, label=clean_name(label, most=MAX_LABEL_CHARS))

    def runs_of(self, owner: str) -> list[str]:
        """The ids of the runs `owner` started (damaged ones too, where their owner can still be read)."""
        return [run.run_id for run in self.list_runs() if run.owner == owner]

    # --- the class: display names and the class view ---------------------
    @contextmanager
    def _classroom_locked(self) -> Iterator[dict]:
        """The class file's content, to change in place; written back atomically under its lock."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / CLASSROOM_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise _save_error("the class settings", error) from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            classroom = self.classroom()
            data = {
                "names": dict(classroom.names),
                "leaderboard": classroom.leaderboard,
                "teachers": dict(classroom.teachers),
                "lesson": classroom.lesson,
            }
            yield data
            try:
                write_json_atomic(self.root / CLASSROOM_FILE, data)
            except OSError as error:
                raise _save_error("the class settings", error) from error
        finally:
            os.close(fd)

    def classroom(self) -> Classroom:
        """The class's display names and settings; defaults for whatever is missing or not what this app writes.

        Read once per state of the file (a page run asks several times, and a class's file can hold thousands of
        names): the file is replaced whole on every change, so its identity, size and time tell a change."""
        try:
            info = (self.root / CLASSROOM_FILE).stat()
        except OSError:
            return Classroom()
        return _read_classroom(self.root, (info.st_ino, info.st_size, info.st_mtime_ns))

    def set_person_name(self, owner: str, name: str) -> str:
        """Set the display name of `owner` for their future runs and on every run they have; returns it cleaned.

        "" removes it (they are shown by a placeholder again). A run that cannot be changed (being
        deleted, damaged) keeps its old name.
        """
        if not is_owner(owner):
            raise ValueError("owner must be 64 hexadecimal digits (core.runs.classroom makes them)")
        name = clean_name(name)
        with self._classroom_locked() as data:
            if name:
                data["names"][owner] = name
            else:
                data["names"].pop(owner, None)
        for run_id in self.runs_of(owner):
            try:
                self.update_status(run_id, owner_name=name)
            except StoreError:
                continue
        return name

    def remember_teacher(self, owner: str, mark: str | None) -> None:
        """Keep `owner` as the teacher's (with the mark that proves it, core.runs.classroom), or forget it (None)."""
        if not is_owner(owner) or not (mark is None or is_owner(mark)):
            raise ValueError("owner and mark must be 64 hexadecimal digits (core.runs.classroom makes them)")
        with self._classroom_locked() as data:
            if mark is None:
                data["teachers"].pop(owner, None)
            else:
                data["teachers"][owner] = mark

    def show_class_view(self, shown: bool) -> None:
        """Switch the class view (each person's best, on Home) on or off for everyone."""
        with self._classroom_locked() as data:
            data["leaderboard"] = bool(shown)

    def set_current_lesson(self, lesson_id: str | None) -> None:
        """The lesson Home shows everyone (None: none)."""
        if lesson_id is not None and not is_lesson_id(lesson_id):
            raise ValueError("lesson_id must be a lesson id (core.runs.lessons makes them)")
        with self._classroom_locked() as data:
            data["lesson"] = lesson_id

    def delete_run(self, run_id: str) -> None:
        """Delete a run for good; a damaged run can always go.

        StoreError if a live process is training it, or has it queued to train.
        """
        with self._locked(run_id) as folder:
            if not folder.is_dir():
                raise StoreError(f"Run {run_id} does not exist (it may have been deleted already).")
            run = self._read_run(folder)  # None: no status.json, and nobody is still creating it (we hold the lock)
            if run is not None and run.status in ACTIVE_STATUSES:  # a dead owner's run reads as interrupted
                doing = "training" if run.status == RUNNING else "queued to train"
                raise StoreError(
                    f"Run {run_id} is {doing} in a process that is still running; stop it first, then delete it."
                )
            try:
                shutil.rmtree(folder)
            except OSError as error:
                raise StoreError(f"Could not delete run {run_id}: {explain_os_error(error)}.") from error

    def remove_leftovers(self) -> list[Path]:
        """Delete the temporary files that killed processes left behind; returns what was removed.

        Only in runs that no live process owns: a live worker may be writing its temporary file right
        now. The check and the removal happen under the run's lock, so a worker cannot claim the run
        in between. Call it at start-up; a file that cannot be removed is left for next time.
        """
        removed = []
        for folder in self._run_folders():
            try:
                leftovers = [path for pattern in LEFTOVER_PATTERNS for path in folder.glob(pattern)]
                if not leftovers:
                    continue
                with self._locked(folder.name):
                    try:
                        status = check_status(read_json(folder, "status.json"))
                    except Damaged:
                        status = {}  # no owner anyone can name
                    if owner_alive(status):
                        continue
                    for path in leftovers:
                        try:
                            path.unlink()
                            removed.append(path)
                        except FileNotFoundError:
                            pass  # it was a live write that has since been moved into place
            except (StoreError, OSError):
                continue
        return removed

    # --- reading -------------------------------------------------------
    def load_config(self, run_id: str) -> TrainConfig:
        try:
            return check_config(read_json(self.run_dir(run_id), "config.json"))
        except Damaged as damage:
            raise StoreError(f"Run {run_id} cannot be used: {damage}.") from None

    def load_history(self, run_id: str) -> list[dict]:
        return read_jsonl(self.run_dir(run_id) / "history.jsonl", is_epoch_record)

    def load_batches(self, run_id: str) -> list[dict]:
        return [b for epoch in read_jsonl(self.run_dir(run_id) / "batches.jsonl", is_batches_line) for b in epoch]

    def load_metrics(self, run_id: str) -> RunMetrics | None:
        """The held-out results, or None if there are none yet; StoreError if metrics.json is damaged."""
        try:
            data = read_json(self.run_dir(run_id), "metrics.json", required=False)
            return None if data is None else check_metrics(data)
        except Damaged as damage:
            raise StoreError(f"Run {run_id} cannot be used: {damage}.") from None

    def load_drawings_record(self, run_id: str) -> DrawingsRecord | None:
        """Which of your drawings the run trained on; None if it has no record (it never used them).

        StoreError if drawings.json is damaged: then nobody can tell which drawings the run saw.
        """
        try:
            data = read_json(self.run_dir(run_id), "drawings.json", required=False)
            return None if data is None else DrawingsRecord.from_dict(data)
        except (Damaged, RecordError) as damage:
            raise StoreError(f"Run {run_id}'s record of your drawings cannot be used: {damage}.") from None

    def model_path(self, run_id: str) -> Path | None:
        path = self.run_dir(run_id) / "model.keras"
        return path if is_file(path) else None

    def snapshots_folder(self, run_id: str) -> Path:
        """Where a run's snapshots are (core.runs.snapshots.read_series reads them, checked)."""
        return self.run_dir(run_id) / snapshots.FOLDER

    def load_snapshots(self, run_id: str) -> snapshots.SnapshotSeries:
        """Every readable snapshot of the run; files that fail the checks are left out. Never raises for content."""
        return snapshots.read_series(self.snapshots_folder(run_id))

    def info(self, run_id: str) -> RunInfo:
        """A usable run; StoreError if it does not exist or is damaged (list_runs shows damaged runs)."""
        folder = self.run_dir(run_id)
        run = self._read_run(folder) if folder.is_dir() else None
        if run is None:
            raise StoreError(f"Run {run_id} does not exist.")
        if run.problem is not None:
            raise StoreError(f"Run {run_id} is damaged: {run.problem}.")
        return run

    def list_runs(self) -> list[RunInfo]:
        """Every run, newest first, damaged ones included (status DAMAGED, with the reason).

        Never raises for what is inside one run's folder. StoreError only if the store's own folder
        cannot be read.
        """
        runs = [run for run in map(self._read_run, self._run_folders()) if run is not None]
        return sorted(runs, key=lambda run: run.created, reverse=True)

    def _run_folders(self) -> list[Path]:
        try:
            entries = list(self.root.iterdir())
        except FileNotFoundError:
            return []
        except OSError as error:
            raise StoreError(f"Cannot read the runs in {self.root}: {explain_os_error(error, self.root)}.") from None
        return [entry for entry in entries if is_run_id(entry.name) and entry.is_dir()]

    def _read_run(self, folder: Path) -> RunInfo | None:
        """The run in `folder`, damaged or not; None while it is being created (or if it was just deleted)."""
        status: dict = {}
        config = None
        try:
            status = read_json(folder, "status.json", required=False)
            if status is None:
                if _lock_is_held(folder) or not folder.exists():
                    return None  # create_run holds the lock until status.json is written
                raise Damaged("status.json is missing")
            check_status(status)
            config = _checked_once(folder / "config.json", required=True)
            metrics = _checked_once(folder / "metrics.json", required=False)
        except Damaged as damage:
            return self._damaged(folder, status, config, str(damage))
        state = status["status"]
        if state in ACTIVE_STATUSES and not owner_alive(status):
            state = INTERRUPTED
        return RunInfo(
            run_id=folder.name,
            config=config,
            status=state,
            created=status["created"],
            started=status.get("started"),
            finished=status.get("finished"),
            stop_reason=status.get("stop_reason"),
            error=status.get("error"),
            label=status.get("label", ""),
            has_model=is_file(folder / "model.keras"),
            metrics=metrics,
            owner=status.get("owner"),
            owner_name=status.get("owner_name", ""),
            lesson=status.get("lesson"),
        )

    @staticmethod
    def _damaged(folder: Path, status, config: TrainConfig | None, problem: str) -> RunInfo:
        """A damaged run, with whatever could still be trusted (its time, for sorting; its label)."""
        status = status if isinstance(status, dict) else {}
        created = status.get("created")
        if not is_time(created):
            try:
                created = folder.stat().st_mtime
            except OSError:
                created = 0.0
        label = status.get("label")
        owner = status.get("owner")
        owner_name = status.get("owner_name")
        return RunInfo(
            run_id=folder.name,
            config=config,
            status=DAMAGED,
            created=float(created),
            started=None,
            finished=None,
            stop_reason=None,
            error=None,
            label=label if isinstance(label, str) else "",
            has_model=is_file(folder / "model.keras"),
            metrics=None,
            problem=problem,
            owner=owner if is_owner(owner) else None,  # who may delete it: its owner, if that much can be read
            owner_name=owner_name if is_clean_name(owner_name) else "",
        )


@functools.lru_cache(maxsize=16)
def _read_classroom(root: Path, state: tuple) -> Classroom:
    """The class file in `root` as it is in `state` (its inode, size and time), checked."""
    try:
        data = read_json(root, CLASSROOM_FILE, required=False)
    except Damaged:
        data = None
    if not isinstance(data, dict):
        return Classroom()
    names = data.get("names")
    names = names if isinstance(names, dict) else {}
    kept = {owner: name for owner, name in names.items() if is_owner(owner) and is_clean_name(name) and name}
    leaderboard = data.get("leaderboard")
    teachers = data.get("teachers")
    teachers = teachers if isinstance(teachers, dict) else {}
    marks = {owner: mark for owner, mark in teachers.items() if is_owner(owner) and is_owner(mark)}
    lesson = data.get("lesson")
    return Classroom(
        names=kept,
        leaderboard=leaderboard if isinstance(leaderboard, bool) else True,
        teachers=marks,
        lesson=lesson if is_lesson_id(lesson) else None,
    )


def _checked_once(path: Path, required: bool):
    """config.json or metrics.json of a run, checked (Damaged if it is not what this app writes); None if it is
    missing and not `required`. Each is written once, whole (a replace), so a class's Runs page checks each
    file once per state, not once per page run."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if required:
            raise Damaged(f"{path.name} is missing") from None
        return None
    except OSError as error:
        raise Damaged(f"{path.name} cannot be read ({error.strerror or error})") from None
    return _checked_file(str(path), (info.st_ino, info.st_size, info.st_mtime_ns))


@functools.lru_cache(maxsize=4096)
def _checked_file(path: str, state: tuple):
    folder, name = os.path.split(path)
    check = check_config if name == "config.json" else check_metrics
    return check(read_json(Path(folder), name))
