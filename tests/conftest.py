import os
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One training at a time, whatever the machine's cores, unless a test says otherwise: tests of the queue (and the
# servers they start, which inherit this) then behave the same on 2 cores and on 64.
os.environ.setdefault("MNIST_MAX_CONCURRENT", "1")

from core.config import TrainConfig  # noqa: E402
from core.runs.store import RunStore  # noqa: E402


def theme_backgrounds() -> dict[str, tuple[int, int, int]]:
    """The page colour of the app's light and dark themes (.streamlit/config.toml), as RGB."""
    with open(ROOT / ".streamlit" / "config.toml", "rb") as f:
        theme = tomllib.load(f)["theme"]
    colour = {scheme: theme[scheme]["backgroundColor"] for scheme in ("light", "dark")}
    return {scheme: tuple(int(value[i : i + 2], 16) for i in (1, 3, 5)) for scheme, value in colour.items()}


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


SQUARES, LINES = 15, 5  # drawings of a "7" that is a square, and of a 1


@pytest.fixture(scope="session")
def taught(tmp_path_factory):
    """A store taught from a drawings folder (15 squares labelled 7, 5 lines labelled 1, one stray text file)
    by three tiny real trainings: MNIST only ("plain"), the same with the drawings included ("include"), and a
    fine-tune of the first ("fine_tune"). Tests that change the folder or the store work on a copy."""
    import types

    from core.drawings.folder import DrawingSet
    from core.engine.jobs import JobManager
    from core.runs.drawings_record import DrawingsRecord
    from core.training.teaching import fine_tune_config

    root = tmp_path_factory.mktemp("taught")
    drawings = DrawingSet(root / "drawings")
    rng = np.random.default_rng(7)
    for _ in range(SQUARES):
        drawings.save(7, square_canvas(rng))
    for _ in range(LINES):
        drawings.save(1, line_canvas(rng))
    (root / "drawings" / "notes.txt").write_text("not a drawing")
    store = RunStore(root / "runs")
    manager = JobManager(store)
    # 5,000 MNIST images: enough for a fine-tune's three slow epochs to repeat each drawing about a hundred times.
    config = TrainConfig(hidden_layers=(32,), epochs=1, train_limit=5_000, batch_size=100, seed=1)
    plain = manager.submit(config)
    include = manager.submit(config.replace(include_drawings=True))
    fine_tune = manager.submit(fine_tune_config(config), DrawingsRecord(str(drawings.folder), parent=plain.run_id))
    for job in (plain, include, fine_tune):
        assert job.wait(300) and job.status == "completed", job.error
    return types.SimpleNamespace(
        root=root,
        store=store,
        drawings=drawings,
        config=config,
        plain=plain.run_id,
        include=include.run_id,
        fine_tune=fine_tune.run_id,
    )
