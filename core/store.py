"""The run store: one folder per training run, written so nothing is ever half-saved.

    runs/<run id>/
        config.json     the TrainConfig
        status.json     status, owning process, timestamps, stop reason, error, label
        history.jsonl   one line per finished epoch, flushed as it happens
        batches.jsonl   one line per finished epoch with that epoch's batch curve
        model.keras     the trained model (best validation epoch), replaced atomically
        metrics.json    held-out test results, written once at the end

Every JSON file and the model are written to a temporary file in the same
folder and moved into place with `os.replace`, so a killed process leaves the
old file or the new one, never a torn one. Run ids are generated here and
checked against a strict pattern before use as a path.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from core.config import TrainConfig

RUNS_DIR_ENV = "MNIST_RUNS_DIR"
DEFAULT_RUNS_DIR = Path(__file__).resolve().parent.parent / "runs"
_RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")

QUEUED, RUNNING, COMPLETED, STOPPED, FAILED, INTERRUPTED, CANCELLED = (
    "queued", "running", "completed", "stopped", "failed", "interrupted", "cancelled",
)
ACTIVE_STATUSES = (QUEUED, RUNNING)


class StoreError(RuntimeError):
    """A run could not be read or written; the message says what to do."""


@dataclass(frozen=True)
class RunInfo:
    """What the app lists about a run, read from its folder."""

    run_id: str
    config: TrainConfig
    status: str
    created: float
    started: float | None
    finished: float | None
    stop_reason: str | None
    error: str | None
    label: str
    has_model: bool
    metrics: dict | None

    @property
    def display_name(self) -> str:
        return self.label or self.run_id


def default_root() -> Path:
    return Path(os.environ.get(RUNS_DIR_ENV) or DEFAULT_RUNS_DIR)


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def is_run_id(text: str) -> bool:
    return bool(_RUN_ID.match(text or ""))


def _process_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (Linux), or None where there is none."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _process_start_ticks(pid: int) -> str | None:
    """Start time of a process, so a reused pid is not mistaken for the owner."""
    fields = _process_stat(pid)
    return fields[19] if fields else None


def _this_process() -> dict:
    return {"pid": os.getpid(), "pid_start": _process_start_ticks(os.getpid())}


def owner_alive(status: dict) -> bool:
    pid = status.get("pid")
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fields = _process_stat(pid)
    if fields and fields[0] in ("Z", "X"):
        return False  # exited, not yet reaped by its parent
    recorded = status.get("pid_start")
    return recorded is None or recorded == (fields[19] if fields else None)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data) -> None:
    write_bytes_atomic(path, json.dumps(data, indent=1).encode())


def _read_json(path: Path):
    with open(path) as f:
        return json.load(f)


def _read_jsonl(path: Path) -> list[dict]:
    """Every complete line; a line torn by a crash mid-append is skipped."""
    if not path.exists():
        return []
    records = []
    with open(path) as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def _disk_error(what: str, error: OSError) -> StoreError:
    return StoreError(f"Could not save {what}: {error.strerror or error}. Free some disk space and try again; "
                      "nothing already saved was changed.")


class RunStore:
    """Reads and writes runs under `root` (default: $MNIST_RUNS_DIR or ./runs)."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_root()

    def run_dir(self, run_id: str) -> Path:
        if not is_run_id(run_id):
            raise StoreError(f"{run_id!r} is not a run id.")
        return self.root / run_id

    # --- writing -------------------------------------------------------
    def create_run(self, config: TrainConfig) -> str:
        """Make a new run folder holding its config, queued and owned by this process."""
        self.root.mkdir(parents=True, exist_ok=True)
        run_id = new_run_id()
        while (self.root / run_id).exists():
            run_id = new_run_id()
        folder = self.root / run_id
        try:
            folder.mkdir()
            write_json_atomic(folder / "config.json", config.to_dict())
            write_json_atomic(folder / "status.json", {"status": QUEUED, "created": time.time(), **_this_process()})
        except OSError as error:
            shutil.rmtree(folder, ignore_errors=True)
            raise _disk_error("the new run", error) from error
        return run_id

    def update_status(self, run_id: str, **fields) -> dict:
        path = self.run_dir(run_id) / "status.json"
        status = {**_read_json(path), **fields}
        write_json_atomic(path, status)
        return status

    def claim(self, run_id: str) -> None:
        """Mark a run running, owned by this process."""
        self.update_status(run_id, status=RUNNING, started=time.time(), **_this_process())

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
            raise _disk_error("the model", error) from error
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def save_metrics(self, run_id: str, metrics: dict) -> None:
        try:
            write_json_atomic(self.run_dir(run_id) / "metrics.json", metrics)
        except OSError as error:
            raise _disk_error("the test results", error) from error

    def set_label(self, run_id: str, label: str) -> None:
        self.update_status(run_id, label=label.strip()[:80])

    def delete_run(self, run_id: str) -> None:
        shutil.rmtree(self.run_dir(run_id))

    # --- reading -------------------------------------------------------
    def load_config(self, run_id: str) -> TrainConfig:
        return TrainConfig.from_dict(_read_json(self.run_dir(run_id) / "config.json"))

    def load_history(self, run_id: str) -> list[dict]:
        return _read_jsonl(self.run_dir(run_id) / "history.jsonl")

    def load_batches(self, run_id: str) -> list[dict]:
        return [b for epoch in _read_jsonl(self.run_dir(run_id) / "batches.jsonl") for b in epoch]

    def load_metrics(self, run_id: str) -> dict | None:
        path = self.run_dir(run_id) / "metrics.json"
        return _read_json(path) if path.exists() else None

    def model_path(self, run_id: str) -> Path | None:
        path = self.run_dir(run_id) / "model.keras"
        return path if path.exists() else None

    def info(self, run_id: str) -> RunInfo:
        folder = self.run_dir(run_id)
        try:
            status = _read_json(folder / "status.json")
            config = TrainConfig.from_dict(_read_json(folder / "config.json"))
        except (OSError, ValueError) as error:
            raise StoreError(f"Run {run_id} is unreadable: {error}") from error
        state = status.get("status", FAILED)
        if state in ACTIVE_STATUSES and not owner_alive(status):
            state = INTERRUPTED
        return RunInfo(
            run_id=run_id,
            config=config,
            status=state,
            created=status.get("created", 0.0),
            started=status.get("started"),
            finished=status.get("finished"),
            stop_reason=status.get("stop_reason"),
            error=status.get("error"),
            label=status.get("label", ""),
            has_model=(folder / "model.keras").exists(),
            metrics=self.load_metrics(run_id),
        )

    def list_runs(self) -> list[RunInfo]:
        """Every readable run, newest first. Unreadable folders are skipped, not fatal."""
        if not self.root.exists():
            return []
        runs = []
        for folder in self.root.iterdir():
            if folder.is_dir() and is_run_id(folder.name):
                try:
                    runs.append(self.info(folder.name))
                except StoreError:
                    continue
        return sorted(runs, key=lambda run: run.created, reverse=True)
