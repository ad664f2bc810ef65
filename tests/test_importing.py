"""Importing uploaded .keras files: only our own kind of MLP gets in, and a refusal stores nothing."""

import io
import json
import zipfile

import numpy as np
import pytest

from core.config import TrainConfig
from core.importing import ModelImportError, import_model
from core.model import build_model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A model as the app saves it (trained one step, so its weights are not the initial ones)."""
    model = build_model(TrainConfig(hidden_layers=(32, 16), dropout=0.3, activation="tanh"))
    model.fit(np.random.default_rng(0).random((64, 28, 28), dtype=np.float32), np.arange(64) % 10, verbose=0)
    path = tmp_path_factory.mktemp("export") / "model.keras"
    model.save(path)
    return model, path.read_bytes()


def with_config(data: bytes, change) -> bytes:
    """The same archive with its config.json edited, as an attacker or another tool might."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if name == "config.json":
                config = json.loads(content)
                change(config)
                content = json.dumps(config).encode()
            target.writestr(name, content)
    return out.getvalue()


def saved(model, folder) -> bytes:
    path = folder / f"{model.name}.keras"
    model.save(path)
    return path.read_bytes()


def snapshot(store):
    return sorted(p.name for p in store.root.iterdir()) if store.root.exists() else []


def test_a_model_exported_by_the_app_round_trips(store, exported):
    model, data = exported
    run_id = import_model(data, "model.keras", store)
    import keras

    imported = keras.models.load_model(store.model_path(run_id))
    images = np.random.default_rng(1).random((5, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(imported(images)), np.asarray(model(images)), rtol=1e-5, atol=1e-6)
    info = store.info(run_id)
    assert info.status == "completed" and info.config.hidden_layers == (32, 16)
    assert info.config.dropout == pytest.approx(0.3) and info.config.activation == "tanh"
    assert info.metrics["test_images"] == 10_000 and info.label == "imported: model.keras"


def add_lambda(config):
    config["config"]["layers"].insert(2, {"class_name": "Lambda", "config": {"name": "evil", "function": "..."}})


def wrong_output(config):
    config["config"]["layers"][-1]["config"]["units"] = 5


def other_class(config):
    config["class_name"] = "Functional"


@pytest.mark.parametrize("change, words", [
    (add_lambda, "Lambda layer"),
    (wrong_output, "10 softmax outputs"),
    (other_class, "Sequential model"),
])
def test_edited_configs_are_refused_and_store_nothing(store, exported, change, words):
    with pytest.raises(ModelImportError, match=words):
        import_model(with_config(exported[1], change), "x.keras", store)
    assert snapshot(store) == []


def test_foreign_architectures_are_refused(store, tmp_path):
    import keras

    wrong_input = keras.Sequential([keras.Input((32, 32)), keras.layers.Flatten(), keras.layers.Dense(8),
                                    keras.layers.Dense(10, activation="softmax")])
    convolutional = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(),
                                      keras.layers.Dense(10, activation="softmax")])
    with pytest.raises(ModelImportError, match="28x28 images"):
        import_model(saved(wrong_input, tmp_path), "a.keras", store)
    with pytest.raises(ModelImportError, match="Conv2D layer"):
        import_model(saved(convolutional, tmp_path), "b.keras", store)
    assert snapshot(store) == []


def test_damaged_foreign_and_oversize_files_are_refused(store, exported, monkeypatch):
    data = exported[1]
    with pytest.raises(ModelImportError, match="damaged"):
        import_model(data[: len(data) // 2], "cut.keras", store)
    with pytest.raises(ModelImportError, match="not a .keras model file"):
        import_model(b"GIF89a not a model", "cat.gif", store)
    monkeypatch.setenv("MNIST_MAX_UPLOAD_MB", "0.01")
    with pytest.raises(ModelImportError, match="are accepted"):
        import_model(data, "big.keras", store)
    assert snapshot(store) == []
