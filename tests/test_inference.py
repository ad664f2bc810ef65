"""Reading a drawing with a saved model: numpy gives Keras's answer, and a bad file a clear message."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.config import ACTIVATIONS, TrainConfig
from core.drawings.inference import Classifier, ModelLoadError
from core.training.model import build_model, export_model


def trained(config: TrainConfig):
    """A model one step past its initial weights, so every layer holds learned values."""
    model = build_model(config)
    rng = np.random.default_rng(0)
    model.fit(rng.random((64, 28, 28), dtype=np.float32), np.arange(64) % 10, verbose=0)
    return model


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.keras"
    model = trained(TrainConfig(hidden_layers=(32, 16)))
    model.save(path)
    return model, path


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_numpy_forward_pass_matches_keras_for_every_activation(activation, tmp_path):
    import keras

    model = trained(TrainConfig(hidden_layers=(48, 24, 12), activation=activation, dropout=0.3))
    model.save(tmp_path / "model.keras")
    classifier = Classifier.load(tmp_path / "model.keras")
    images = np.random.default_rng(1).random((20, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(classifier.predict(images), np.asarray(model(images)), rtol=1e-5, atol=1e-6)
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers if "hidden" in layer.name])
    for ours, theirs in zip(classifier.forward(images)[0], probe(images)):
        np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-5, atol=1e-5)


def test_augmented_and_fast_models_read_as_their_plain_export(tmp_path):
    config = TrainConfig(hidden_layers=(32,), augment=True, fast_mode=True)
    model = export_model(trained(config), config)
    model.save(tmp_path / "model.keras")
    images = np.random.default_rng(2).random((8, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(
        Classifier.load(tmp_path / "model.keras").predict(images), np.asarray(model(images)), rtol=1e-5, atol=1e-6
    )


def test_classify_shows_each_hidden_layer_and_the_ranking(saved_model):
    model, path = saved_model
    prediction = Classifier.load(path).classify(np.random.default_rng(0).random((28, 28), dtype=np.float32))
    assert prediction.layer_names == ["hidden_1", "hidden_2"]
    assert [a.shape for a in prediction.activations] == [(32,), (16,)]
    assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert prediction.digit == int(prediction.probabilities.argmax()) == prediction.top(3)[0][0]


def test_reading_a_drawing_never_imports_tensorflow(saved_model):
    script = (
        "import sys, numpy as np; from core.drawings.inference import Classifier; "
        f"Classifier.load({str(saved_model[1])!r}).classify(np.zeros((28, 28))); "
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "content, words", [(b"not a zip at all", "not a model this app can use"), (None, "not a model this app can use")]
)
def test_a_damaged_model_file_gives_a_clear_message(saved_model, tmp_path, content, words):
    bad = tmp_path / "model.keras"
    bad.write_bytes(content if content is not None else saved_model[1].read_bytes()[:2000])
    with pytest.raises(ModelLoadError, match=words):
        Classifier.load(bad)


def test_a_missing_model_file_says_to_train_again(tmp_path):
    with pytest.raises(ModelLoadError, match="missing"):
        Classifier.load(tmp_path / "model.keras")
