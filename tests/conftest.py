import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One training at a time, whatever the machine's cores, unless a test says otherwise: tests of the queue (and the
# servers they start, which inherit this) then behave the same on 2 cores and on 64.
os.environ.setdefault("MNIST_MAX_CONCURRENT", "1")

from core.config import TrainConfig  # noqa: E402
from core.store import RunStore  # noqa: E402


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs")


@pytest.fixture
def tiny_config() -> TrainConfig:
    """A model that trains in a second or two on 1,000 images."""
    return TrainConfig(hidden_layers=(32,), epochs=2, train_limit=1_000, batch_size=100, seed=1)
