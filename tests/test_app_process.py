"""The app's own process stays small: no page brings TensorFlow into the server."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from core.config import TrainConfig
from core.drawings.folder import DrawingSet
from core.training.evaluation import evaluate
from core.training.model import build_model, export_model
from tests.conftest import line_canvas

ROOT = Path(__file__).resolve().parent.parent
VISIT_EVERY_PAGE = """
import sys
from streamlit.testing.v1 import AppTest
for page in ("pages/home.py", "pages/train.py", "pages/runs.py", "pages/draw.py", "pages/drawings.py"):
    app = AppTest.from_file("app.py", default_timeout=60)
    app.switch_page(page)
    app.run()
    assert not app.exception, (page, app.exception)
    assert not app.error, (page, [e.value for e in app.error])
print(sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
"""


def test_visiting_every_page_with_a_model_never_imports_tensorflow(store, tmp_path):
    config = TrainConfig(hidden_layers=(16,))
    run_id = store.create_run(config)
    store.save_model(run_id, export_model(build_model(config), config))
    store.save_metrics(
        run_id,
        evaluate([[0.1] * 10], [3], best_epoch=1, epochs_run=1, train_seconds=1.0, train_images=100, parameters=12_730),
    )
    store.update_status(run_id, status="completed")
    DrawingSet(store.root.parent / "drawings").save(1, line_canvas(np.random.default_rng(0)))  # Your drawings scores
    result = subprocess.run(
        [sys.executable, "-c", VISIT_EVERY_PAGE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MNIST_RUNS_DIR": str(store.root)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
