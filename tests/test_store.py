"""The run store: atomic files, interrupted runs, safe ids, damaged runs, errors that name the problem."""

import errno
import json
import os
import subprocess
import sys

import pytest

from core.config import TrainConfig
from core.runs.atomic_files import explain_os_error, write_json_atomic
from core.runs.results import RunMetrics
from core.runs.states import COMPLETED, DAMAGED, INTERRUPTED, QUEUED, RUNNING
from core.runs.store import RunStore, StoreError


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
    assert sorted(p.name for p in store.run_dir(run_id).iterdir()) == [".lock", "config.json", "status.json"]


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
    batch = {"epoch": 0.5, "step": 1, "loss": 0.4, "accuracy": 0.8}
    store.append_epoch(run_id, {"epoch": 1, "loss": 0.3}, [batch])
    with open(store.run_dir(run_id) / "history.jsonl", "a") as f:
        f.write('{"epoch": 2, "lo')  # killed mid-append
    assert store.load_history(run_id) == [{"epoch": 1, "loss": 0.3}]
    assert store.load_batches(run_id) == [batch]


def test_run_ids_are_never_taken_from_user_text_as_paths(store):
    for bad in ("../../etc", "20260101-000000-abcdef/../x", "", "runs"):
        with pytest.raises(StoreError):
            store.run_dir(bad)


def test_listing_shows_unreadable_runs_as_damaged_and_skips_foreign_folders(store):
    good = store.create_run(TrainConfig())
    broken = store.create_run(TrainConfig())
    (store.run_dir(broken) / "config.json").write_text("{not json")
    (store.root / "notes").mkdir()
    (store.root / "20260101-000000-abcdef.txt").write_text("a file named like a run")
    runs = {run.run_id: run for run in store.list_runs()}
    assert set(runs) == {good, broken}
    assert runs[good].problem is None and runs[good].status == QUEUED
    assert runs[broken].status == DAMAGED and "config.json is not valid JSON" in runs[broken].problem


def write(store, run_id, name, content):
    path = store.run_dir(run_id) / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())


def finished_run(store) -> str:
    """A completed run with test results, as the worker leaves one."""
    run_id = store.create_run(TrainConfig(hidden_layers=(32,)))
    store.save_metrics(run_id, RunMetrics.from_dict(METRICS))
    store.update_status(run_id, status=COMPLETED, started=1.7e9, finished=1.7e9 + 60, stop_reason="max_epochs")
    return run_id


METRICS = {
    "test_loss": 0.1,
    "test_accuracy": 0.97,
    "test_images": 10_000,
    "best_epoch": 2,
    "best_val_accuracy": 0.97,
    "best_val_loss": 0.1,
    "epochs_run": 2,
    "train_seconds": 12.5,
    "train_images": 1000,
    "parameters": 25_450,
    "confusion_matrix": [[100 if i == j else 1 for j in range(10)] for i in range(10)],
    "per_class_accuracy": [0.97] * 10,
    "misclassified": [{"index": 4, "true": 7, "predicted": 1, "confidence": 0.9}],
}
STATUS = '{{"status": "{status}", "created": {created}, "pid": {pid}}}'
DAMAGE = [  # file, content (None: remove it), what the reason says
    ("config.json", "[]", "config.json holds a list"),
    ("config.json", "null", "config.json holds null"),
    ("config.json", '"512-512"', "config.json holds text"),
    ("config.json", '{"hidden_layers": 5}', "hidden layers"),
    ("config.json", '{"hidden_layers": [0]}', "Hidden layer 1 needs 1 to 4,096 units"),
    ("config.json", '{"dropout": "0.2"}', "Dropout"),
    ("config.json", '{"hidden_lay', "config.json is not valid JSON"),
    ("config.json", b"\xff\xfe\x00", "config.json is not valid JSON"),
    ("config.json", "[" * 100_000, "config.json is not valid JSON"),
    ("config.json", None, "config.json is missing"),
    ("status.json", STATUS.format(status="running", created=1.7e9, pid=2**70), "pid must be a process id"),
    ("status.json", STATUS.format(status="running", created=1.7e9, pid=0), "pid must be a process id"),
    ("status.json", STATUS.format(status="running", created=1.7e9, pid=-1), "pid must be a process id"),
    ("status.json", STATUS.format(status="running", created=1.7e9, pid="true"), "pid must be a process id"),
    ("status.json", STATUS.format(status="running", created=1.7e9, pid='"123"'), "pid must be a process id"),
    ("status.json", STATUS.format(status="completed", created='"2026-01-01"', pid=5), "created must be a time"),
    ("status.json", STATUS.format(status="completed", created="NaN", pid=5), "created must be a time"),
    ("status.json", STATUS.format(status="completed", created="1e300", pid=5), "created must be a time"),
    ("status.json", STATUS.format(status="completed", created=-5, pid=5), "created must be a time"),
    ("status.json", STATUS.format(status="finished", created=1.7e9, pid=5), "status must be one of"),
    ("status.json", '{"status": "completed", "created": 1.7e9, "finished": [], "pid": 5}', "finished must be a time"),
    ("status.json", '{"status": "completed", "created": 1.7e9, "label": 5, "pid": 5}', "label must be text"),
    ("status.json", '{"status": "failed", "created": 1.7e9, "error": {}, "pid": 5}', "error must be text"),
    ("status.json", '{"created": 1.7e9}', "status.json has no status"),
    ("status.json", "[]", "status.json holds a list"),
    ("status.json", '{"status": "compl', "status.json is not valid JSON"),
    ("status.json", None, "status.json is missing"),
    ("metrics.json", '{"test_accuracy": 0.97, "test_lo', "metrics.json is not valid JSON"),
    ("metrics.json", "[0.97]", "metrics.json holds a list"),
    ("metrics.json", "{}", "metrics.json has no test_accuracy"),
    ("metrics.json", json.dumps({**METRICS, "test_accuracy": "97%"}), "test_accuracy must be a fraction"),
    ("metrics.json", json.dumps({**METRICS, "test_accuracy": 97}), "test_accuracy must be a fraction"),
    ("metrics.json", json.dumps({**METRICS, "confusion_matrix": [[1, 2], [3, 4]]}), "confusion_matrix must be"),
    ("metrics.json", json.dumps({**METRICS, "per_class_accuracy": [0.9] * 9}), "per_class_accuracy must be"),
    (
        "metrics.json",
        json.dumps({**METRICS, "misclassified": [{"index": 10**6, "true": 1, "predicted": 2, "confidence": 0.5}]}),
        "misclassified must be",
    ),
    ("metrics.json", json.dumps({**METRICS, "train_seconds": None}), "train_seconds must be"),
]


@pytest.mark.parametrize("name, content, reason", DAMAGE, ids=[f"{n}:{str(c)[:30]}" for n, c, _ in DAMAGE])
def test_one_damaged_run_is_listed_with_its_reason_and_the_rest_still_read(store, name, content, reason):
    good = finished_run(store)
    bad = finished_run(store)
    if content is None:
        (store.run_dir(bad) / name).unlink()
    else:
        write(store, bad, name, content)
    runs = {run.run_id: run for run in store.list_runs()}
    assert (
        runs[good].problem is None
        and runs[good].status == COMPLETED
        and runs[good].metrics == RunMetrics.from_dict(METRICS)
    )
    assert runs[bad].status == DAMAGED and reason in runs[bad].problem
    assert runs[bad].metrics is None and isinstance(runs[bad].created, float)
    with pytest.raises(StoreError, match="is damaged"):
        store.info(bad)
    if name == "status.json":
        with pytest.raises(StoreError, match="can only be deleted"):
            store.set_label(bad, "mine")  # a change would keep the damage, or guess what was lost
    store.delete_run(bad)
    assert not store.run_dir(bad).exists() and [run.run_id for run in store.list_runs()] == [good]


def test_a_file_where_a_folder_or_a_folder_where_a_file_belongs_is_damage_too(store):
    good = finished_run(store)
    bad = finished_run(store)
    (store.run_dir(bad) / "metrics.json").unlink()
    (store.run_dir(bad) / "metrics.json").mkdir()
    (store.root / "20260101-000000-abcdef").write_text("a file named like a run")
    runs = {run.run_id: run for run in store.list_runs()}
    assert set(runs) == {good, bad}
    assert "metrics.json cannot be read" in runs[bad].problem


def test_a_run_left_running_with_pid_0_is_damaged_and_can_be_deleted(store):
    run_id = store.create_run(TrainConfig())
    write(store, run_id, "status.json", STATUS.format(status="running", created=1.7e9, pid=0))
    (run,) = store.list_runs()
    assert run.status == DAMAGED  # os.kill(0, 0) would have said "alive": it signals our own process group
    store.delete_run(run_id)
    assert store.list_runs() == []


def test_a_run_a_live_process_trains_cannot_be_deleted(store):
    run_id = store.create_run(TrainConfig())
    store.claim(run_id)  # this live process trains it
    with pytest.raises(StoreError, match="is training in a process that is still running; stop it first"):
        store.delete_run(run_id)
    store.update_status(run_id, status=COMPLETED)
    store.delete_run(run_id)
    assert not store.run_dir(run_id).exists()


def test_a_damaged_run_can_be_deleted_even_while_its_owner_lives(store):
    run_id = store.create_run(TrainConfig())  # queued by this live process
    write(store, run_id, "config.json", "[]")
    store.delete_run(run_id)
    assert store.list_runs() == []


def test_a_run_queued_by_a_process_that_died_can_be_deleted(store):
    run_id = store.create_run(TrainConfig())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    store.update_status(run_id, pid=int(dead.stdout), pid_start="0")
    assert store.info(run_id).status == INTERRUPTED
    store.delete_run(run_id)
    assert store.list_runs() == []


def test_curves_skip_lines_of_the_wrong_shape(store):
    run_id = store.create_run(TrainConfig())
    batch = {"epoch": 0.5, "loss": 0.4, "accuracy": 0.8}
    store.append_epoch(run_id, {"epoch": 1, "loss": 0.3, "accuracy": 0.9}, [batch])
    with open(store.run_dir(run_id) / "history.jsonl", "a") as f:
        f.write('5\n"text"\n{"loss": 0.2}\n{"epoch": "two", "loss": 0.2}\n')
        f.write('{"epoch": 2, "loss": "low"}\n[{"epoch": 3}]\n')
    with open(store.run_dir(run_id) / "batches.jsonl", "a") as f:
        f.write('{"epoch": 1.5, "loss": 0.3, "accuracy": 0.9}\n[{"epoch": 1.5}]\n[5]\n7\n')
    assert store.load_history(run_id) == [{"epoch": 1, "loss": 0.3, "accuracy": 0.9}]
    assert store.load_batches(run_id) == [batch]
    assert store.info(run_id).problem is None


def test_a_diverged_training_is_a_result_not_damage(store):
    run_id = finished_run(store)
    nan = float("nan")
    write_json_atomic(
        store.run_dir(run_id) / "metrics.json",
        {
            **METRICS,
            "test_loss": nan,
            "best_val_loss": nan,
            "best_val_accuracy": nan,
            "misclassified": [{"index": 1, "true": 2, "predicted": 0, "confidence": nan}],
        },
    )
    store.append_epoch(
        run_id, {"epoch": 1, "loss": nan, "val_loss": nan}, [{"epoch": 0.5, "loss": nan, "accuracy": 0.1}]
    )
    assert store.info(run_id).problem is None
    assert len(store.load_history(run_id)) == 1 and len(store.load_batches(run_id)) == 1


def test_the_root_is_absolute_whatever_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = RunStore("myruns")
    assert store.root == tmp_path / "myruns" and store.root.is_absolute()
    monkeypatch.setenv("MNIST_RUNS_DIR", "../elsewhere")
    assert RunStore().root == tmp_path.parent / "elsewhere"


def test_a_runs_folder_under_a_file_is_named_in_the_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not a folder")
    store = RunStore(tmp_path / "notes.txt" / "runs")
    with pytest.raises(StoreError) as raised:
        store.create_run(TrainConfig())
    message = str(raised.value)
    assert f"{tmp_path / 'notes.txt'} is a file" in message and "disk space" not in message
    with pytest.raises(StoreError, match="notes.txt is a file, so no folder can be made under it"):
        store.prepare()
    with pytest.raises(StoreError, match="notes.txt: it is a file, not a folder"):
        RunStore(tmp_path / "notes.txt").prepare()


@pytest.mark.parametrize(
    "code, says",
    [
        (errno.ENOSPC, "Free some disk space"),
        (errno.EDQUOT, "Free some disk space"),
        (errno.EROFS, "/data/runs is on a read-only disk"),
        (errno.EACCES, "you are not allowed to write to /data/runs"),
        (errno.EPERM, "you are not allowed to write to /data/runs"),
        (errno.EEXIST, "/data/runs already exists"),
        (errno.ENOENT, "/data/runs does not exist"),
        (errno.EIO, "/data/runs"),
    ],
)
def test_only_a_full_disk_is_told_to_free_space(code, says):
    message = explain_os_error(OSError(code, os.strerror(code), "/data/runs"))
    assert says in message
    assert ("disk space" in message) == (code in (errno.ENOSPC, errno.EDQUOT))


def test_root_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_RUNS_DIR", str(tmp_path / "elsewhere"))
    assert RunStore().root == tmp_path / "elsewhere"


def test_label_is_saved_and_trimmed(store):
    run_id = store.create_run(TrainConfig())
    store.set_label(run_id, "  dropout 0.5 try  ")
    assert store.info(run_id).label == "dropout 0.5 try"
    assert json.loads((store.run_dir(run_id) / "status.json").read_text())["label"] == "dropout 0.5 try"
