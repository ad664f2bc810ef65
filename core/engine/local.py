"""Trainings on this machine: `python -m core.training.worker` per training, each with an equal share of the cores.

The worker claims the run and writes its record itself (core.training.worker); its events come on its stdout,
one JSON object a line, and "stop" on its stdin stops it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from core.config import PROJECT_ROOT
from core.runs.states import FAILED
from core.runs.store import RunStore
from core.training.machine import available_cores

CORES_PER_TRAINING = 2  # the default: one training per two cores; more at once only share the same cores


def threads_per_training(cores: int, at_once: int) -> int:
    """TensorFlow threads for each of `at_once` trainings sharing `cores`: an equal share, at least one."""
    return max(1, cores // max(1, at_once))


class LocalExecution:
    """A training in a worker process on this machine: `python -m core.training.worker RUN_ID --runs-dir ...`.

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
        command = [sys.executable, "-m", "core.training.worker", self.run_id, "--runs-dir", str(self.store.root)]
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
