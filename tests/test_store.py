"""The run store: atomic files, interrupted runs, safe ids."""

import json
import subprocess
import sys

import pytest

from core.config import TrainConfig
from core.store import INTERRUPTED, RUNNING, RunStore, StoreError


class HalfWritingModel:
    """Writes part of a file, then fails as a full disk or a killed process would."""

    def __init__(self, payload=b"PK-partial", fail=True):
        self.payload, self.fail = payload, fail

    def save(self, path):
        with open(path, "wb") as f:
            f.write(self.payload)
        if self.fail:
            raise OSError(28, "No space left on device")


def test_a_model_being_written_is_never_listed(store):
    run_id = store.create_run(TrainConfig())
    with pytest.raises(StoreError, match="No space left on device"):
        store.save_model(run_id, HalfWritingModel())
    assert store.model_path(run_id) is None and not store.info(run_id).has_model
    assert sorted(p.name for p in store.run_dir(run_id).iterdir()) == ["config.json", "status.json"]


def test_a_failed_save_keeps_the_previous_model(store):
    run_id = store.create_run(TrainConfig())
    store.save_model(run_id, HalfWritingModel(b"good model", fail=False))
    with pytest.raises(StoreError):
        store.save_model(run_id, HalfWritingModel(b"torn"))
    assert store.model_path(run_id).read_bytes() == b"good model"


def test_run_left_running_by_a_dead_process_is_interrupted(store):
    run_id = store.create_run(TrainConfig())
    store.claim(run_id)
    assert store.info(run_id).status == RUNNING  # owned by this live process
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    store.update_status(run_id, pid=int(dead.stdout), pid_start="0")
    assert store.info(run_id).status == INTERRUPTED


def test_history_survives_a_torn_last_line(store):
    run_id = store.create_run(TrainConfig())
    store.append_epoch(run_id, {"epoch": 1, "loss": 0.3}, [{"epoch": 0.5, "step": 1}])
    with open(store.run_dir(run_id) / "history.jsonl", "a") as f:
        f.write('{"epoch": 2, "lo')  # killed mid-append
    assert store.load_history(run_id) == [{"epoch": 1, "loss": 0.3}]
    assert store.load_batches(run_id) == [{"epoch": 0.5, "step": 1}]


def test_run_ids_are_never_taken_from_user_text_as_paths(store):
    for bad in ("../../etc", "20260101-000000-abcdef/../x", "", "runs"):
        with pytest.raises(StoreError):
            store.run_dir(bad)


def test_listing_skips_unreadable_and_foreign_folders(store):
    good = store.create_run(TrainConfig())
    broken = store.create_run(TrainConfig())
    (store.run_dir(broken) / "config.json").write_text("{not json")
    (store.root / "notes").mkdir()
    assert [run.run_id for run in store.list_runs()] == [good]


def test_root_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_RUNS_DIR", str(tmp_path / "elsewhere"))
    assert RunStore().root == tmp_path / "elsewhere"


def test_label_is_saved_and_trimmed(store):
    run_id = store.create_run(TrainConfig())
    store.set_label(run_id, "  dropout 0.5 try  ")
    assert store.info(run_id).label == "dropout 0.5 try"
    assert json.loads((store.run_dir(run_id) / "status.json").read_text())["label"] == "dropout 0.5 try"
