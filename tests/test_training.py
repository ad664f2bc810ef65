"""The training engine with real Keras on small data."""

import numpy as np

from core.engine.jobs import JobManager, shared_manager
from core.runs.states import CANCELLED, COMPLETED, QUEUED, RUNNING, STOPPED, STOPPED_BY_USER
from core.training.machine import steps_per_execution
from tests.waiting import wait_until


def load(path):
    import keras

    return keras.models.load_model(path)


def test_job_trains_evaluates_on_test_set_and_saves(store, tiny_config):
    manager = JobManager(store)
    job = manager.submit(tiny_config)
    assert job.wait(120), "training did not finish"
    assert job.status == COMPLETED, job.error
    batches, epochs = job.log.records()
    # Several steps run per call into TensorFlow; the page still hears of each call, several per epoch.
    every = steps_per_execution(tiny_config, 10)
    assert every > 1 and len(epochs) == 2
    assert [b["step"] for b in batches] == list(range(every, 11, every)) * 2
    assert [b["epoch"] for b in batches][-1] == 2.0  # x positions: fractional epochs, the last at its end
    assert store.load_history(job.run_id) == epochs  # persisted epoch by epoch
    assert store.load_batches(job.run_id) == batches
    metrics = store.load_metrics(job.run_id)
    assert metrics == job.metrics  # what the page was told is what was saved
    assert np.sum(metrics.confusion_matrix) == 10_000 == metrics.test_images
    assert 0.5 < metrics.test_accuracy <= 1.0 and len(metrics.per_class_accuracy) == 10
    assert all(m.true != m.predicted for m in metrics.misclassified)
    info = store.info(job.run_id)
    assert info.status == COMPLETED and info.has_model and info.stop_reason == "max_epochs"
    probabilities = np.asarray(load(store.model_path(job.run_id))(np.zeros((1, 28, 28), "float32")))
    assert probabilities.shape == (1, 10)


def test_stop_mid_epoch_keeps_a_usable_model(store, tiny_config):
    manager = JobManager(store)
    config = tiny_config.replace(epochs=50, batch_size=10, train_limit=20_000)
    job = manager.submit(config)
    assert wait_until(lambda: len(job.log.records()[0]) >= 3)
    job.stop()
    assert job.wait(120)
    assert job.status == STOPPED and job.stop_reason == STOPPED_BY_USER
    batches, epochs = job.log.records()
    assert len(epochs) == 1 and batches[-1]["step"] < 2_000  # ended inside the first epoch of 2,000 steps
    assert store.info(job.run_id).status == STOPPED
    model = load(store.model_path(job.run_id))
    assert np.asarray(model(np.zeros((2, 28, 28), "float32"))).shape == (2, 10)


def test_one_job_at_a_time_the_rest_wait_in_order(store, tiny_config):
    manager = JobManager(store, max_concurrent=1)
    first = manager.submit(tiny_config.replace(epochs=3))
    second = manager.submit(tiny_config)
    third = manager.submit(tiny_config)
    assert second.status == QUEUED and manager.jobs_ahead(second.run_id) == 1
    assert manager.jobs_ahead(third.run_id) == 2
    assert [j.run_id for j in manager.active()] == [first.run_id, second.run_id, third.run_id]
    manager.stop(third.run_id)  # a queued job is simply taken off the queue
    assert third.status == CANCELLED and store.info(third.run_id).status == CANCELLED
    assert second.wait(180) and first.done
    assert first.status == second.status == COMPLETED
    assert first.finished <= second.started  # never two at once
    assert manager.active() == []


def test_a_page_can_reattach_to_a_running_job_by_id(store, tiny_config):
    job = shared_manager(store).submit(tiny_config.replace(epochs=20))
    try:
        assert wait_until(lambda: job.status == RUNNING)
        again = shared_manager(type(store)(store.root))  # a fresh session, same store
        assert again.get(job.run_id) is job
        assert again.is_active(job.run_id)
    finally:
        job.stop()
        job.wait(120)


def test_progress_reports_epochs_steps_and_eta(store, tiny_config):
    job = JobManager(store).submit(tiny_config.replace(epochs=30, batch_size=20))
    assert wait_until(lambda: job.log.records()[1])
    progress = job.progress()
    job.stop()
    assert progress.epochs == 30 and progress.steps == 50
    assert progress.elapsed > 0 and progress.eta is not None and progress.eta > 0
    assert 0 < progress.fraction < 0.5
    assert job.wait(120)


def test_a_save_failure_is_reported_and_leaves_no_model(store, tiny_config, monkeypatch):
    from core.training.worker import train_run

    def disk_full(run_id, model):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "save_model", disk_full)
    run_id = store.create_run(tiny_config)
    events = []
    outcome = train_run(store, run_id, events.append, lambda: False)
    assert outcome["status"] == "failed" and "No space left on device" in outcome["error"]
    info = store.info(run_id)
    assert info.status == "failed" and not info.has_model and "No space" in info.error
    assert [e["event"] for e in events if e["event"] != "batch"] == ["begin", "epoch"]  # died at its checkpoint


def test_a_crashed_worker_fails_the_run_with_a_message(store, tiny_config):
    import os
    import signal

    job = JobManager(store).submit(tiny_config.replace(epochs=50, batch_size=10, train_limit=5_000))
    assert wait_until(lambda: len(job.log.records()[0]) >= 5)
    os.kill(job.worker_pid, signal.SIGKILL)
    assert job.wait(60)
    assert job.status == "failed" and "ended unexpectedly" in job.error
    assert store.info(job.run_id).status == "failed"
