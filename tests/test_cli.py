import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "core.train", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_cli_trains_into_the_store_and_reports_held_out_accuracy(tmp_path):
    result = run_cli("--hidden", "32", "--epochs", "1", "--train-limit", "1000", "--runs-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Total parameters: 25,450" in result.stdout
    assert "held-out test accuracy" in result.stdout
    runs = list(tmp_path.iterdir())
    assert len(runs) == 1 and (runs[0] / "model.keras").exists() and (runs[0] / "metrics.json").exists()


def test_cli_bad_flags_exit_nonzero_with_the_same_message(tmp_path):
    result = run_cli("--dropout", "1.5", "--runs-dir", str(tmp_path))
    assert result.returncode == 2
    assert "Dropout is the fraction of units switched off" in result.stderr
    assert not tmp_path.exists() or not any(tmp_path.iterdir())
    result = run_cli("--hidden", "512", "0", "--runs-dir", str(tmp_path))
    assert result.returncode == 2 and "Hidden layer 2 needs 1 to 4,096 units" in result.stderr
