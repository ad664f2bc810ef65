"""Many writers, one run store: races forced and repeated, with real threads, processes and files.

Each trial function takes the store (and, where it needs it, the store's module) so the same trial can
be run against an older core/runs/store.py to measure what it lost; the tests run them against this one.
"""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import core.runs.store
from core.config import TrainConfig
from core.engine.jobs import TrainingJob, shared_manager
from core.runs.states import COMPLETED, FAILED, RUNNING
from core.runs.store import ClaimError, RunStore

ROOT = Path(__file__).resolve().parent.parent
CONFIG = TrainConfig(hidden_layers=(16,), epochs=1, train_limit=1_000)
TRIALS = 50


def status_of(store, run_id: str) -> dict:
    return json.loads((store.run_dir(run_id) / "status.json").read_text())


def at_once(*actions) -> list:
    """Run each action in its own thread, released together; returns each one's result or exception."""
    barrier = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def run(i, action):
        barrier.wait()
        try:
            results[i] = action()
        except Exception as error:  # the trial judges it
            results[i] = error

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def label_versus_final_status_trial(store) -> bool:
    """A person edits the label while the worker writes the final status: True if both changes are kept."""
    run_id = store.create_run(CONFIG)
    at_once(
        lambda: store.set_label(run_id, "dropout test"),
        lambda: store.update_status(run_id, status=COMPLETED, finished=time.time(), stop_reason="max_epochs"),
    )
    status = status_of(store, run_id)
    return status["status"] == COMPLETED and status.get("label") == "dropout test"


def same_id_trial(store, module) -> bool:
    """Two runs created at once draw the same id: True if both runs exist, whole, under different ids."""
    real = module.new_run_id
    first = real()
    drawn = threading.local()
    together = threading.Barrier(2)

    def colliding() -> str:  # both threads' first draw is the same id, at the same moment; later draws are fresh
        if getattr(drawn, "once", False):
            return real()
        drawn.once = True
        together.wait(10)
        return first

    module.new_run_id = colliding
    try:
        results = at_once(lambda: store.create_run(CONFIG), lambda: store.create_run(CONFIG))
    finally:
        module.new_run_id = real
    made = [r for r in results if isinstance(r, str)]
    whole = all(
        (store.run_dir(r) / "config.json").is_file() and (store.run_dir(r) / "status.json").is_file() for r in made
    )
    return len(set(made)) == 2 and whole


# One claimer process: reads run ids on stdin, claims each with the given store module, answers won/refused.
CLAIMER = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("store_under_test", sys.argv[1])
module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
store = module.RunStore(sys.argv[2])
print("ready", flush=True)
for line in sys.stdin:
    try:
        store.claim(line.strip())
        print("won", flush=True)
    except module.StoreError as error:
        print("refused", flush=True)
"""


class Claimers:
    """Two processes that claim the same run at the same moment, as two workers would."""

    def __init__(self, store_file: Path, root: Path, count: int = 2):
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-c", CLAIMER, str(store_file), str(root)],
                cwd=ROOT,
                text=True,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            for _ in range(count)
        ]
        assert all(p.stdout.readline().strip() == "ready" for p in self.processes)

    def claim(self, run_id: str) -> list[str]:
        for process in self.processes:
            process.stdin.write(run_id + "\n")
        for process in self.processes:
            process.stdin.flush()
        return sorted(process.stdout.readline().strip() for process in self.processes)

    def close(self) -> None:
        for process in self.processes:
            process.stdin.close()
            process.wait(30)


def two_claimers_trial(store, claimers: Claimers) -> bool:
    """True if exactly one of two processes claiming one queued run wins."""
    run_id = store.create_run(CONFIG)
    return claimers.claim(run_id) == ["refused", "won"]


def test_a_label_edit_racing_the_final_status_write_loses_neither(store):
    kept = sum(label_versus_final_status_trial(store) for _ in range(TRIALS))
    assert kept == TRIALS


def test_runs_drawing_the_same_id_never_delete_each_other(store):
    kept = sum(same_id_trial(store, core.runs.store) for _ in range(100))
    assert kept == 100
    assert len(store.list_runs()) == 200 and all(run.problem is None for run in store.list_runs())


def test_two_processes_claiming_one_run_exactly_one_wins(store):
    store.root.mkdir(parents=True)
    claimers = Claimers(Path(core.runs.store.__file__), store.root)
    try:
        won_once = sum(two_claimers_trial(store, claimers) for _ in range(TRIALS))
    finally:
        claimers.close()
    assert won_once == TRIALS
    assert all(run.status == "interrupted" for run in store.list_runs())  # claimed, by processes now gone


def test_a_run_is_claimed_only_from_queued(store):
    run_id = store.create_run(CONFIG)
    store.claim(run_id)
    with pytest.raises(ClaimError, match="being trained by process"):
        store.claim(run_id)
    cancelled = store.create_run(CONFIG)
    store.update_status(cancelled, status="cancelled")
    with pytest.raises(ClaimError, match="cancelled"):
        store.claim(cancelled)
    gone = store.create_run(CONFIG)
    store.update_status(gone, status="cancelled")
    store.delete_run(gone)
    with pytest.raises(ClaimError, match="does not exist"):
        store.claim(gone)


def test_a_second_worker_for_a_claimed_run_trains_nothing_and_leaves_it_to_the_first(store):
    run_id = store.create_run(CONFIG)
    store.claim(run_id)  # this test process is the first worker
    before = sorted(p.name for p in store.run_dir(run_id).iterdir())
    status = status_of(store, run_id)
    # stdin stays open, as the app keeps it: its end would tell the worker that the app died.
    worker = subprocess.Popen(
        [sys.executable, "-m", "core.training.worker", run_id, "--runs-dir", str(store.root)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.wait(120) == 4, worker.stderr.read()
        assert [json.loads(line)["event"] for line in worker.stdout.read().splitlines()] == ["refused"]
    finally:
        worker.stdin.close()
        worker.stdout.close()
        worker.stderr.close()
    job = TrainingJob(run_id, CONFIG, store)  # as the app would start it
    job.run()
    assert job.status == FAILED and "not waiting to be trained" in job.error
    assert status_of(store, run_id) == status and store.info(run_id).status == RUNNING
    after = sorted(p.name for p in store.run_dir(run_id).iterdir())
    assert after == before + ["worker.log"]  # the job's log of the refusal; no history, no model


# A live owner: claims a run, then keeps saving into it (temporary file, then rename) until told to stop.
OWNER = """
import sys
from core.runs.atomic_files import write_json_atomic
from core.runs.store import RunStore
store, run_id = RunStore(sys.argv[1]), sys.argv[2]
store.claim(run_id)
(store.run_dir(run_id) / ".model.0123abcd.tmp.keras").write_bytes(b"half a model")
print("ready", flush=True)
saves = 0
while not sys.stdin.readline().strip() == "stop":
    for _ in range(20):
        write_json_atomic(store.run_dir(run_id) / "metrics.json", {"saves": saves})
        saves += 1
    print(saves, flush=True)
"""


def dead_pid() -> int:
    return int(
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    )


def leave_leftovers(store, run_id: str) -> list[Path]:
    folder = store.run_dir(run_id)
    paths = [folder / ".model.5a5a5a5a.tmp.keras", folder / ".status.json.77aa77aa.tmp", folder / ".metrics.json.1.tmp"]
    for path in paths:
        path.write_bytes(b"x" * 1000)
    return paths


def test_leftover_temporary_files_are_removed_only_where_no_live_process_owns_the_run(store):
    crashed = store.create_run(CONFIG)
    store.claim(crashed)
    store.update_status(crashed, pid=dead_pid(), pid_start="0")  # a worker killed mid-save
    finished = store.create_run(CONFIG)
    store.update_status(finished, status=COMPLETED, pid=dead_pid(), pid_start="0")
    dead_leftovers = leave_leftovers(store, crashed) + leave_leftovers(store, finished)
    (store.run_dir(finished) / "model.keras").write_bytes(b"a model")

    live = store.create_run(CONFIG)
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(store.root), live],
        cwd=ROOT,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert owner.stdout.readline().strip() == "ready"
        live_temp = store.run_dir(live) / ".model.0123abcd.tmp.keras"
        removed = store.remove_leftovers()
        assert sorted(removed) == sorted(dead_leftovers)
        assert live_temp.exists() and not any(path.exists() for path in dead_leftovers)
        for _ in range(TRIALS):  # the owner keeps writing temporary files while start-ups clear leftovers
            owner.stdin.write("go\n")
            owner.stdin.flush()
            assert store.remove_leftovers() == []
            assert owner.stdout.readline().strip().isdigit(), "the owner's save failed"
        assert live_temp.exists()
    finally:
        owner.stdin.write("stop\n")
        owner.stdin.close()
        owner.wait(30)
    assert owner.returncode == 0
    assert sorted(p.name for p in store.run_dir(finished).iterdir()) == [
        ".lock",
        "config.json",
        "model.keras",
        "status.json",
    ]
    assert store.remove_leftovers() == [live_temp]  # its owner has exited now


def test_the_app_clears_leftovers_when_it_first_opens_a_store(tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id = store.create_run(CONFIG)
    store.update_status(run_id, status="failed", pid=dead_pid(), pid_start="0")
    leftovers = leave_leftovers(store, run_id)
    shared_manager(RunStore(store.root))
    assert not any(path.exists() for path in leftovers)


def test_a_damaged_run_never_blocks_the_clean_up(store):
    run_id = store.create_run(CONFIG)
    (store.run_dir(run_id) / "status.json").write_text('{"status": "running", "pid": 0')
    leftovers = leave_leftovers(store, run_id)
    store.remove_leftovers()
    assert not any(path.exists() for path in leftovers)
