import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from core.config import TrainConfig  # noqa: E402
from core.store import RunStore  # noqa: E402


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs")


@pytest.fixture
def tiny_config() -> TrainConfig:
    """A model that trains in a second or two on 1,000 images."""
    return TrainConfig(hidden_layers=(32,), epochs=2, train_limit=1_000, batch_size=100, seed=1)


# --- your drawings ------------------------------------------------------------------------------


def square_canvas(rng) -> np.ndarray:
    """A hollow square drawn on a black 280x280 canvas: a "digit" no MNIST writer drew, for teaching tests."""
    side = int(rng.integers(110, 220))
    left, top = (int(v) for v in rng.integers(10, 270 - side, size=2))
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(image).rectangle(
        (left, top, left + side, top + side), outline=(255, 255, 255, 255), width=int(rng.integers(14, 26))
    )
    return np.asarray(image)


def line_canvas(rng) -> np.ndarray:
    """A 1 as a vertical stroke with a little slant, on a black 280x280 canvas."""
    x, lean = int(rng.integers(100, 180)), int(rng.integers(-20, 20))
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(image).line((x + lean, 40, x - lean, 240), fill=(255, 255, 255, 255), width=20)
    return np.asarray(image)
