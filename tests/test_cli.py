import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # so `-m core.cli` is found from any working folder
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_cli_trains_into_the_store_and_reports_held_out_accuracy(tmp_path):
    result = run_cli("--hidden", "32", "--epochs", "1", "--train-limit", "1000", "--runs-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Total parameters: 25,450" in result.stdout
    assert "held-out test accuracy" in result.stdout
    # Into a log (not a terminal): one line per epoch, no progress bar redrawn with carriage returns.
    assert "epoch 1: loss" in result.stdout and "\r" not in result.stdout + result.stderr
    runs = list(tmp_path.iterdir())
    assert len(runs) == 1 and (runs[0] / "model.keras").exists() and (runs[0] / "metrics.json").exists()


def test_cli_bad_flags_exit_nonzero_with_the_same_message(tmp_path):
    result = run_cli("--dropout", "1.5", "--runs-dir", str(tmp_path))
    assert result.returncode == 2
    assert "Dropout is the fraction of units switched off" in result.stderr
    assert not tmp_path.exists() or not any(tmp_path.iterdir())
    result = run_cli("--hidden", "512", "0", "--runs-dir", str(tmp_path))
    assert result.returncode == 2 and "Hidden layer 2 needs 1 to 4,096 units" in result.stderr


def test_cli_trains_what_a_train_page_link_says(tmp_path):
    from core.config import TrainConfig
    from core.runs.store import RunStore

    link = "http://class.example:8501/train?hidden=32,16&activation=tanh&epochs=1&train-limit=1000&reduce-lr=off"
    result = run_cli("--link", link, "--dropout", "0.1", "--runs-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    (run,) = RunStore(tmp_path).list_runs()
    expected = TrainConfig(
        hidden_layers=(32, 16), activation="tanh", epochs=1, train_limit=1000, reduce_lr=False, dropout=0.1
    )
    assert run.config == expected


@pytest.mark.parametrize(
    "link, message",
    [
        ("/train?hidden=64&epochs=500", "Max epochs must be a whole number from 1 to 200"),
        ("hidden=64&colour=red", "the link names no such setting: colour"),
        ("/train?dropout=lots", "in the link, dropout=lots: Dropout is a number"),
    ],
)
def test_cli_refuses_a_link_it_cannot_follow_and_trains_nothing(tmp_path, link, message):
    result = run_cli("--link", link, "--runs-dir", str(tmp_path))
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_cli_run_from_another_folder_trains_into_its_relative_runs_dir_and_clears_leftovers(tmp_path):
    from core.config import TrainConfig
    from core.runs.store import RunStore

    store = RunStore(tmp_path / "myruns")
    crashed = store.create_run(TrainConfig())
    store.update_status(crashed, status="running", pid=4_194_304, pid_start="0")  # a worker killed mid-save
    leftover = store.run_dir(crashed) / ".model.1a2b3c4d.tmp.keras"
    leftover.write_bytes(b"half a model")
    result = run_cli("--hidden", "16", "--epochs", "1", "--train-limit", "500", "--runs-dir", "myruns", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"in {tmp_path / 'myruns'}" in result.stdout
    (new,) = [run for run in store.list_runs() if run.run_id != crashed]
    assert new.status == "completed" and new.has_model and new.metrics
    assert not leftover.exists() and not (ROOT / "myruns").exists()


def unwritable(path: Path) -> bool:
    """Whether `path` can neither be made nor written in: tries both, and undoes whatever worked."""
    try:
        if path.is_dir():
            probe = path / ".mnist-write-probe"
            probe.touch()
            probe.unlink()
        else:
            path.mkdir()
            path.rmdir()
    except OSError:
        return True
    return False


@pytest.fixture
def read_only_place(tmp_path) -> Path:
    """A folder nobody, root included, may store runs in. chmod does not stop root (tests and CI run as root);
    /sys and /proc refuse new files from anyone, so one of them is used, if the probe says so here."""
    candidates = [Path("/sys/kernel/mnist-runs"), Path("/proc/mnist-runs"), Path("/sys/kernel")]
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        candidates.insert(0, locked / "runs")
    place = next((path for path in candidates if unwritable(path)), None)
    if place is None:
        pytest.skip("no folder here refuses writes from this user (checked /sys and /proc)")
    return place


@pytest.mark.parametrize("case", ["a file", "under a file", "read-only"])
def test_a_bad_runs_dir_gets_one_line_naming_it_exit_2_and_nothing_written(tmp_path, case, request):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a folder")
    runs_dir, says = {
        "a file": (notes, f"{notes}: it is a file, not a folder"),
        "under a file": (notes / "runs", f"{notes} is a file, so no folder can be made under it"),
        "read-only": (None, "not allowed to write to"),
    }[case]
    if runs_dir is None:
        runs_dir = request.getfixturevalue("read_only_place")
    before = sorted(tmp_path.rglob("*"))
    result = run_cli("--hidden", "16", "--epochs", "1", "--runs-dir", str(runs_dir))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and str(runs_dir) in line, line
    assert says in line or (case == "read-only" and "does not exist, and cannot be made" in line), line
    assert "disk space" not in line and "Traceback" not in result.stderr
    assert sorted(tmp_path.rglob("*")) == before and notes.read_text() == "not a folder"
    assert not (runs_dir.exists() and runs_dir.is_dir() and any(runs_dir.glob("2*")))


def test_cli_trains_a_lesson_by_its_title_and_says_whether_it_keeps_the_challenge(tmp_path):
    from core.config import TrainConfig
    from core.runs.lessons import Challenge, LessonBook
    from core.runs.store import RunStore

    start = TrainConfig(hidden_layers=(16,), epochs=1, train_limit=800, patience=0)
    lesson = LessonBook(tmp_path).create("Tiny nets", "", start, {"hidden_layers"}, Challenge(parameters=13_000))
    # The lesson leaves the hidden layers to learners, not the epochs: the link may change only the first.
    result = run_cli("--lesson", "tiny NETS", "--link", "hidden=8&epochs=9", "--runs-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    (run,) = RunStore(tmp_path).list_runs()
    assert run.lesson == lesson.lesson_id and run.config == start.replace(hidden_layers=(8,))
    assert "challenge: at most 13,000 parameters" in result.stdout and "challenge: kept" in result.stdout
    # The same lesson from a Train page link, past the challenge this time.
    result = run_cli("--link", f"/train?lesson={lesson.lesson_id}&hidden=32", "--runs-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "challenge: broken (25,450 parameters, over 13,000)" in result.stdout
    result = run_cli("--lesson", "no such lesson", "--runs-dir", str(tmp_path))
    assert result.returncode == 2 and f"lessons there: {lesson.lesson_id} (Tiny nets)" in result.stderr
    result = run_cli("--lesson", "Tiny nets", "--fine-tune", run.run_id, "--runs-dir", str(tmp_path))
    assert result.returncode == 2 and "--fine-tune does not go with it" in result.stderr
    assert len(RunStore(tmp_path).list_runs()) == 2
