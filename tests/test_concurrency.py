"""Several trainings at once where the machine allows (MNIST_MAX_CONCURRENT), each with its share of the cores."""

import pytest

from core.config import TrainConfig
from core.engine.execution import ExecutionSetupError, max_concurrent_from_environment
from core.engine.jobs import JobManager, ShareError
from core.engine.local import LocalBackend, threads_per_training
from core.runs.states import COMPLETED, QUEUED
from core.training.machine import available_cores
from tests.waiting import wait_until

TINY = TrainConfig(hidden_layers=(16,), epochs=1, patience=0, train_limit=300, validation_size=1_000, batch_size=50)


def test_two_trainings_run_at_the_same_time_with_max_concurrent_2(store, monkeypatch):
    monkeypatch.setenv("MNIST_MAX_CONCURRENT", "2")
    manager = JobManager(store)
    assert manager.max_concurrent == 2
    first, second = manager.submit(TINY), manager.submit(TINY.replace(seed=2))
    assert manager.jobs_ahead(second.run_id) == 0 and second.status != QUEUED
    # Both worker processes exist at once (each takes seconds just to start TensorFlow).
    assert wait_until(lambda: first.worker_pid and second.worker_pid, timeout=120)
    assert first.wait(180) and second.wait(180)
    assert first.status == second.status == COMPLETED, (first.error, second.error)
    assert first.started < second.finished and second.started < first.finished  # their spans overlap
    # Each got its share of the cores, not the whole machine.
    assert first.threads == second.threads == threads_per_training(available_cores(), 2)


def test_one_training_at_a_time_with_max_concurrent_1(store, monkeypatch):
    monkeypatch.setenv("MNIST_MAX_CONCURRENT", "1")
    manager = JobManager(store)
    first, second = manager.submit(TINY), manager.submit(TINY.replace(seed=2))
    assert second.status == QUEUED and manager.jobs_ahead(second.run_id) == 1
    assert wait_until(lambda: first.worker_pid is not None, timeout=120)
    assert second.worker_pid is None and second.status == QUEUED
    assert first.wait(180) and second.wait(180)
    assert first.status == second.status == COMPLETED, (first.error, second.error)
    assert first.finished <= second.started
    assert first.threads == available_cores()  # alone, it has every core


def test_the_default_is_one_training_per_two_cores_and_a_bad_setting_says_why(monkeypatch):
    monkeypatch.delenv("MNIST_MAX_CONCURRENT", raising=False)
    assert LocalBackend(cores=16).slots() == 8 and LocalBackend(cores=1).slots() == 1
    assert max_concurrent_from_environment(default=3) == 3
    assert threads_per_training(16, 8) == 2 and threads_per_training(2, 4) == 1
    for bad in ("0", "two", "-1", "1.5", "100000"):
        monkeypatch.setenv("MNIST_MAX_CONCURRENT", bad)
        with pytest.raises(ExecutionSetupError, match="MNIST_MAX_CONCURRENT must be a whole number from 1 to 256"):
            max_concurrent_from_environment(default=1)


def test_each_person_has_a_share_of_the_queue_and_the_teacher_can_stop_all_of_ones(store, monkeypatch):
    monkeypatch.setenv("MNIST_MAX_CONCURRENT", "1")
    manager = JobManager(store)
    ada, bob = "a" * 64, "b" * 64
    long = TINY.replace(epochs=200, train_limit=2_000)
    first, second = (manager.submit(long.replace(seed=s), owner=ada, share=2) for s in (1, 2))
    with pytest.raises(ShareError) as refused:  # a third tab (or session) of hers: refused, naming hers
        manager.submit(long, owner=ada, share=2)
    told = str(refused.value)
    assert "2 trainings running or waiting at once" in told and first.run_id in told and second.run_id in told
    assert "1 ahead" in told
    assert len(store.list_runs()) == 2  # nothing recorded for the refused one
    others = manager.submit(TINY, owner=bob, share=2)  # someone else still can, and so can the teacher
    teachers = manager.submit(TINY, owner=ada, share=None)
    assert sorted(manager.stop_all(ada)) == sorted([first.run_id, second.run_id, teachers.run_id])
    assert all(job.wait(120) for job in (first, second, teachers, others))
    assert not [job for job in manager.active() if job.owner == ada]
