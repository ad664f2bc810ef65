"""Trainings on a real local Dask cluster (a scheduler and two workers, each its own process, started with the
README's commands), from the app's job manager: live metrics, Stop, the final model, a worker killed
mid-training, and trainings with drawings and a fine-tune that end as local ones do."""

import os
import signal
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.config import TrainConfig
from core.drawings.folder import DrawingSet
from core.drawings.inference import Classifier
from core.engine.cluster import MAX_FILE_BYTES, checked_event
from core.engine.execution import SCHEDULER_ENV, ExecutionSetupError, backend_from_environment
from core.engine.jobs import JobManager
from core.engine.local import LocalBackend
from core.runs.drawings_record import DrawingsRecord
from core.runs.states import COMPLETED, INTERRUPTED, STOPPED, STOPPED_BY_USER
from core.runs.store import RunStore
from core.training.data import bundled_mnist
from core.training.teaching import FINE_TUNE_EPOCHS, fine_tune_config, score_run
from tests.browser import free_port
from tests.waiting import wait_until

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parent.parent
TINY = TrainConfig(hidden_layers=(16,), epochs=1, patience=0, train_limit=300, validation_size=1_000, batch_size=50)
LONG = TINY.replace(epochs=200, train_limit=2_000, batch_size=20)


class LocalCluster:
    """A Dask scheduler and workers started as the README says (`make dask-scheduler`, `make dask-worker`), each
    its own process on 127.0.0.1. The workers run without a nanny and on known addresses, so that the test can
    kill one (ARGS: Dask's own flags, which the README's commands take too)."""

    def __init__(self, folder: Path, workers: int = 2):
        self.folder = folder
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self.processes: dict[str, subprocess.Popen] = {}
        self.scheduler = self._make(
            "scheduler", "dask-scheduler", f"PORT={port}", "ARGS=--host 127.0.0.1 --no-dashboard"
        )
        for _ in range(workers):
            address = f"tcp://127.0.0.1:{free_port()}"
            flags = f"--no-nanny --no-dashboard --listen-address {address} --local-directory {folder}"
            self.processes[address] = self._make(
                f"worker-{address.rsplit(':', 1)[1]}",
                "dask-worker",
                f"SCHEDULER={self.address}",
                "THREADS=1",
                f"ARGS={flags}",
            )

    def wait_until_listening(self) -> None:
        """Until the scheduler accepts connections (starting Python and Dask takes a while on busy cores)."""

        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", int(self.address.rsplit(":", 1)[1])), timeout=1).close()
            except OSError:
                return False
            return True

        assert wait_until(listening, timeout=120), self.logs()[-2000:]

    def _make(self, name: str, *target: str) -> subprocess.Popen:
        """`make TARGET VAR=...` in the project folder, from a shell whose PYTHONPATH does not name the project."""
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 -- the process writes to it until stop()
        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        return subprocess.Popen(
            ["make", "--no-print-directory", *target], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )

    def dask_process(self, address: str) -> int:
        """The pid of the Dask worker that `make` started for `address` (make's child, or its shell's)."""
        pending = [self.processes[address].pid]
        while pending:
            pid = pending.pop()
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            if b"distributed.cli.dask_worker" in command:
                return pid
            pending += map(int, children)
        raise AssertionError(f"no Dask worker for {address}")

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.folder.glob("*.log")))

    def stop(self) -> None:
        for process in [*self.processes.values(), self.scheduler]:
            if process.poll() is None:
                process.kill()
        for process in [*self.processes.values(), self.scheduler]:
            process.wait(10)
        for leftover in _dask_processes(self.address):  # make's children outlive it when make alone is killed
            os.kill(leftover, signal.SIGKILL)


def _dask_processes(address: str) -> list[int]:
    """Dask scheduler and worker processes of this test's cluster (by the scheduler's address or port)."""
    port = address.rsplit(":", 1)[1].encode()
    found = []
    for entry in os.listdir("/proc"):
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if b"distributed.cli.dask_" in command and port in command:
            found.append(int(entry))
    return found


@pytest.fixture
def cluster(tmp_path):
    cluster = LocalCluster(tmp_path)
    cluster.wait_until_listening()
    yield cluster
    cluster.stop()


def cluster_trainings() -> list[str]:
    """Command lines of training processes that Dask workers started (in their temporary run stores)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read().decode(errors="replace")
        except OSError:
            continue
        if "core.training.worker" in command and "mnist-cluster-run-" in command:
            found.append(command)
    return found


def test_trainings_on_a_dask_cluster_stream_stop_come_back_and_survive_a_lost_worker(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv(SCHEDULER_ENV, cluster.address)
    monkeypatch.delenv("MNIST_MAX_CONCURRENT", raising=False)
    backend = backend_from_environment()
    backend.client().wait_for_workers(2, timeout=120)
    store = RunStore(tmp_path / "runs")
    manager = JobManager(store, backend=backend)
    try:
        assert manager.max_concurrent == 2  # one per thread of each Dask worker

        # A small training, all the way: its events came back live, its record is in this app's store.
        small = manager.submit(TINY)
        assert small.wait(180) and small.status == COMPLETED, (small.error, cluster.logs()[-3000:])
        batches, epochs = small.log.records()
        assert len(batches) == 6 and len(epochs) == 1  # 300 images in batches of 50
        assert store.load_history(small.run_id) == epochs and store.load_batches(small.run_id) == batches
        assert store.load_metrics(small.run_id) == small.metrics and small.metrics.test_images == 10_000
        info = store.info(small.run_id)
        assert info.status == COMPLETED and info.has_model
        Classifier.load(store.model_path(small.run_id)).classify(np.zeros((28, 28)))

        # Two long ones at once, on the two workers: one stopped, the other's worker killed mid-training.
        stopped, lost = manager.submit(LONG), manager.submit(LONG.replace(seed=3))
        assert wait_until(lambda: not stopped.done and len(stopped.log.records()[0]) >= 3, timeout=180)  # live
        assert wait_until(
            lambda: len(store.load_history(lost.run_id)) >= 1 and store.model_path(lost.run_id), timeout=180
        )
        stopped.stop()
        assert stopped.wait(120) and stopped.status == STOPPED and stopped.stop_reason == STOPPED_BY_USER
        assert store.info(stopped.run_id).status == STOPPED and store.load_metrics(stopped.run_id) is not None
        assert len(store.load_history(stopped.run_id)) < 200

        killed = lost._execution.worker
        os.kill(cluster.dask_process(killed), signal.SIGKILL)
        assert lost.wait(120), "the run hung after its worker was killed"
        assert lost.status == INTERRUPTED and killed in lost.error
        info = store.info(lost.run_id)
        assert info.status == INTERRUPTED and "was lost during training" in info.error
        assert len(store.load_history(lost.run_id)) >= 1 and info.has_model  # its history and best model so far
        Classifier.load(store.model_path(lost.run_id)).classify(np.zeros((28, 28)))
        # The training process on the lost machine ended with it (its stdin closed), and nothing was retried.
        assert wait_until(lambda: not cluster_trainings(), timeout=60), cluster_trainings()
        assert manager.active() == []
    finally:
        backend.close()


def test_trainings_with_drawings_and_a_fine_tune_on_a_dask_cluster_end_as_local_ones_do(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv(SCHEDULER_ENV, cluster.address)
    backend = backend_from_environment()
    backend.client().wait_for_workers(2, timeout=120)
    store = RunStore(tmp_path / "runs")
    manager = JobManager(store, backend=backend)
    drawings = tmp_path / "drawings"  # real people's digits: MNIST's test set, as the Draw page saves drawings
    drawings.mkdir()
    test = bundled_mnist()
    for i in range(60):
        Image.fromarray(test["x_test"][i]).save(drawings / f"{test['y_test'][i]}_{i:02d}.png")
    try:
        include = manager.submit(TINY.replace(include_drawings=True), DrawingsRecord(folder=str(drawings)))
        assert include.wait(240) and include.status == COMPLETED, (include.error, cluster.logs()[-3000:])
        tune = manager.submit(
            fine_tune_config(include.config), DrawingsRecord(folder=str(drawings), parent=include.run_id)
        )
        assert tune.wait(240) and tune.status == COMPLETED, (tune.error, cluster.logs()[-3000:])
        for job, epochs in ((include, 1), (tune, FINE_TUNE_EPOCHS)):
            info = store.info(job.run_id)
            assert info.status == COMPLETED and info.has_model and info.metrics == job.metrics
            Classifier.load(store.model_path(job.run_id)).classify(np.zeros((28, 28)))
            assert len(store.load_history(job.run_id)) == epochs
            assert store.load_snapshots(job.run_id).epochs == list(range(epochs + 1))  # before training, each epoch
            record = store.load_drawings_record(job.run_id)
            assert record.folder == str(drawings) and record.trained_on and record.held_out  # this machine's folder
        assert store.load_drawings_record(tune.run_id).parent == include.run_id
        assert score_run(store, store.info(tune.run_id), Classifier.load(store.model_path(tune.run_id)),
                         DrawingSet(drawings).scan().drawings).tested > 0  # fmt: skip
    finally:
        backend.close()


def test_an_event_the_worker_does_not_send_ends_the_run_failed_with_the_reason():
    deep = {"event": "epoch", "epoch": 1}
    for _ in range(100_000):  # deeper than Python's recursion
        deep = {"event": "epoch", "nested": deep}
    for event in [
        deep,
        {"event": "host", "worker": "x" * 10_000, "folder": "/tmp"},
        {"event": "begin", "epochs": 3, "steps": 10, "threads": "all"},
        {"event": "files", "files": [{"name": "status.json", "data": b"{}"}]},
        {"event": "files", "files": [{"name": "../../etc/passwd", "data": b""}]},
        {"event": "files", "files": [{"name": "model.keras", "data": b"PK" + b"0" * MAX_FILE_BYTES[".keras"]}]},
        {"event": "files", "files": [{"name": "history.jsonl", "data": b"{}", "at": -1}]},
        {"event": "whatever"},
        ["not", "an", "event"],
    ]:
        with pytest.raises(ValueError, match="The cluster sent"):
            checked_event(event)
    assert checked_event({"event": "checkpoint", "epoch": 2}) == {"event": "checkpoint", "epoch": 2}


def test_the_cluster_is_used_only_when_configured(monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert isinstance(backend_from_environment(), LocalBackend)
    monkeypatch.setenv(SCHEDULER_ENV, "http://example.invalid/x y")
    with pytest.raises(ExecutionSetupError, match="MNIST_DASK_SCHEDULER: .* is not a scheduler address"):
        backend_from_environment()
