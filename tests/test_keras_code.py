"""The Keras code of a network (core/views/keras_code.py): run as a learner would, in a fresh Python process with
Keras and numpy only, it builds the app's network (the same layers and parameters) and trains it."""

import json
import re
import subprocess
import sys

import pytest

from core.config import PROJECT_ROOT, TrainConfig, count_parameters
from core.training.model import describe_layers
from core.views.keras_code import keras_code

SHOW_MODEL = "import json, runpy; m = runpy.run_path('network.py')['model']; " + (
    "print(json.dumps([[layer.name, layer.count_params()] for layer in m.layers]))"
)


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(hidden_layers=(64, 32), dropout=0.3, optimizer="adam", learning_rate=0.01, seed=3),
        TrainConfig(hidden_layers=(16,), dropout=0.0, optimizer="sgd", augment=True, reduce_lr=False),
    ],
    ids=["two-layers-adam", "augmented-sgd"],
)
def test_the_generated_code_trains_the_apps_network(config, tmp_path):
    code = keras_code(config)
    assert "core" not in re.findall(r"^(?:from|import) (\w+)", code, flags=re.M)  # Keras and numpy only
    # One epoch on a small slice, the rest as generated.
    code = re.sub(r"^EPOCHS = \d+", "EPOCHS = 1", code, flags=re.M)
    code = re.sub(r"^TRAINING_IMAGES = .*$", "TRAINING_IMAGES = 500", code, flags=re.M)
    (tmp_path / "network.py").write_text(code)
    (tmp_path / "mnist.npz").symlink_to(PROJECT_ROOT / "data" / "mnist.npz")
    done = subprocess.run(
        [sys.executable, "-c", SHOW_MODEL], cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.search(r"Held-out test accuracy: \d+\.\d+%", done.stdout)
    layers = json.loads(done.stdout.strip().splitlines()[-1])
    assert layers == [[row.name, row.params] for row in describe_layers(config)]
    assert sum(params for _, params in layers) == count_parameters(config)
