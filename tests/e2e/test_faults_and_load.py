"""The app's promises under faults and load, against a real server process."""

import json
import os
import re
import signal
import time

from core.drawings.inference import Classifier
from core.runs.store import RunStore
from tests.browser import Server, set_number, wait_idle
from tests.waiting import wait_until


def small_training(page, url: str, epochs: int, limit: int, units: int = 64) -> None:
    page.goto(f"{url}/train")
    wait_idle(page)
    set_number(page, "Hidden layers", 1)
    set_number(page, "Layer 1 units", units)
    set_number(page, "Max epochs", epochs)
    set_number(page, "Early-stopping patience", 0)
    set_number(page, "Training images", limit)
    page.get_by_role("button", name="Start training").click()
    page.wait_for_url(re.compile(r"run="))


def history_lines(store: RunStore, run_id: str) -> int:
    return len(store.load_history(run_id))


def worker_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if b"core.training.worker" in f.read():
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def test_kill_9_during_training_leaves_an_interrupted_run_with_its_best_model(tmp_path, page):
    runs = tmp_path / "runs"
    server = Server(runs, tmp_path / "server.log").start()
    store = RunStore(runs)
    try:
        small_training(page, server.url, epochs=40, limit=20_000)
        run_id = page.url.split("run=")[1]
        assert wait_until(lambda: history_lines(store, run_id) >= 2)
        os.kill(server.process.pid, signal.SIGKILL)  # the server only: its worker must notice and end
        server.process.wait(10)
        assert wait_until(lambda: not worker_pids(), timeout=20), "the training worker outlived its server"
    finally:
        server.stop()

    # The worker may still be tearing down for a moment after its command line is gone.
    assert wait_until(lambda: store.info(run_id).status == "interrupted", timeout=20), store.info(run_id).status
    info = store.info(run_id)
    assert history_lines(store, run_id) >= 2
    assert info.has_model
    Classifier.load(store.model_path(run_id)).classify(__import__("numpy").zeros((28, 28)))

    again = Server(runs, tmp_path / "server2.log").start()
    try:
        page.goto(f"{again.url}/train?run={run_id}")
        page.get_by_text("was interrupted").wait_for()
        page.goto(f"{again.url}/draw")
        page.locator("canvas.upper-canvas").wait_for()  # its checkpoint is offered and loads
        small_training(page, again.url, epochs=1, limit=1_000, units=16)
        page.get_by_text("Held-out test results").wait_for(timeout=120_000)
        assert "Traceback" not in again.log()
    finally:
        again.stop()


def test_kills_at_any_moment_never_leave_a_listed_model_that_does_not_load(tmp_path):
    """Kill the worker at staggered moments of trainings that checkpoint every few milliseconds."""
    from core.config import TrainConfig
    from core.engine.jobs import JobManager

    store = RunStore(tmp_path / "runs")
    manager = JobManager(store)
    for delay in (4.0, 4.3, 4.6, 4.9, 5.2):
        job = manager.submit(
            TrainConfig(
                hidden_layers=(64,), epochs=200, patience=0, train_limit=100, batch_size=100, validation_size=1_000
            )
        )
        assert wait_until(lambda job=job: job.worker_pid is not None and job.log.records()[1], timeout=60)
        time.sleep(delay - 4.0)
        os.kill(job.worker_pid, signal.SIGKILL)
        assert job.wait(30)
    for run in store.list_runs():
        assert run.problem is None
        if run.has_model:
            Classifier.load(store.model_path(run.run_id))  # raises if torn
    # A kill mid-save can leave a temporary file; the next start-up removes it (no live process owns these runs).
    store.remove_leftovers()
    assert not [path for path in store.root.rglob("*") if ".tmp" in path.name]


def test_five_sessions_at_once_queue_their_trainings_in_order(tmp_path, browser):
    runs = tmp_path / "runs"
    server = Server(runs, tmp_path / "server.log").start()
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(5)]
    try:
        pages = [context.new_page() for context in contexts]
        for page in pages:
            page.set_default_timeout(90_000)
            small_training(page, server.url, epochs=1, limit=1_000, units=16)
        run_ids = [page.url.split("run=")[1] for page in pages]
        pages[-1].get_by_text(re.compile(r"ahead in the queue|Epoch \d of 1")).first.wait_for()
        for page in pages:
            page.get_by_text("Held-out test results").wait_for(timeout=180_000)
        for path in ("", "/runs", "/draw"):
            pages[0].goto(f"{server.url}{path}")
            wait_idle(pages[0])
        store = RunStore(runs)
        infos = [store.info(run_id) for run_id in run_ids]
        assert [info.status for info in infos] == ["completed"] * 5
        starts = [json.loads((store.run_dir(r) / "status.json").read_text())["started"] for r in run_ids]
        assert starts == sorted(starts)  # they ran in the order they were started
        spans = sorted((info.started, info.finished) for info in infos)
        assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:]))  # one at a time
        assert "Traceback" not in server.log() and "Exception" not in server.log()
    finally:
        for context in contexts:
            context.close()
        server.stop()
