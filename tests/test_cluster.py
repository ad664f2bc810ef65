"""Trainings on a real local Dask cluster (a scheduler and two workers, each its own process), from the app's
job manager: live metrics, Stop, the final model, and a worker killed mid-training."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.config import TrainConfig
from core.drawings.inference import Classifier
from core.engine.execution import SCHEDULER_ENV, ExecutionSetupError, backend_from_environment
from core.engine.jobs import JobManager
from core.engine.local import LocalBackend
from core.runs.states import COMPLETED, INTERRUPTED, STOPPED, STOPPED_BY_USER
from core.runs.store import RunStore
from tests.browser import free_port
from tests.waiting import wait_until

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parent.parent
TINY = TrainConfig(hidden_layers=(16,), epochs=1, patience=0, train_limit=300, validation_size=1_000, batch_size=50)
LONG = TINY.replace(epochs=200, train_limit=2_000, batch_size=20)


class LocalCluster:
    """`dask scheduler` and `dask worker`s as separate processes on 127.0.0.1, as a teacher would start them."""

    def __init__(self, folder: Path, workers: int = 2):
        self.folder = folder
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.processes: dict[str, subprocess.Popen] = {}
        self.scheduler = self._start("scheduler", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                     "--port", self.address.rsplit(":", 1)[1], "--no-dashboard")  # fmt: skip
        for _ in range(workers):
            address = f"tcp://127.0.0.1:{free_port()}"
            self.processes[address] = self._start(
                f"worker-{address.rsplit(':', 1)[1]}", "distributed.cli.dask_worker", self.address,
                "--nthreads", "1", "--no-nanny", "--no-dashboard", "--listen-address", address,
                "--local-directory", str(folder),
            )  # fmt: skip

    def wait_until_listening(self) -> None:
        """Until the scheduler accepts connections (starting Python and Dask takes a while on busy cores)."""

        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", int(self.address.rsplit(":", 1)[1])), timeout=1).close()
            except OSError:
                return False
            return True

        assert wait_until(listening, timeout=120), self.logs()[-2000:]

    def _start(self, name: str, module: str, *args: str) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 -- the process writes to it until stop()
        return subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.folder.glob("*.log")))

    def stop(self) -> None:
        for process in [*self.processes.values(), self.scheduler]:
            if process.poll() is None:
                process.kill()
                process.wait(10)


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
        os.kill(cluster.processes[killed].pid, signal.SIGKILL)
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


def test_the_cluster_is_used_only_when_configured(monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert isinstance(backend_from_environment(), LocalBackend)
    monkeypatch.setenv(SCHEDULER_ENV, "http://example.invalid/x y")
    with pytest.raises(ExecutionSetupError, match="MNIST_DASK_SCHEDULER: .* is not a scheduler address"):
        backend_from_environment()
