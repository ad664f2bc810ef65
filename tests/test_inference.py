import numpy as np
import pytest

from core.config import TrainConfig
from core.inference import Classifier, ModelLoadError
from core.model import build_model


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.keras"
    model = build_model(TrainConfig(hidden_layers=(32, 16)))
    model.save(path)
    return model, path


def test_classify_matches_the_model_and_shows_each_hidden_layer(saved_model):
    model, path = saved_model
    classifier = Classifier.load(path)
    image = np.random.default_rng(0).random((28, 28), dtype=np.float32)
    prediction = classifier.classify(image)
    np.testing.assert_allclose(prediction.probabilities, np.asarray(model(image[None]))[0], rtol=1e-5, atol=1e-6)
    assert prediction.layer_names == ["hidden_1", "hidden_2"]
    assert [a.shape for a in prediction.activations] == [(32,), (16,)]
    assert prediction.digit == int(prediction.probabilities.argmax())
    assert [d for d, _ in prediction.top(3)][0] == prediction.digit


@pytest.mark.parametrize("content, words", [(b"not a zip at all", "not a Keras model file"),
                                            (None, "damaged")])
def test_a_damaged_model_file_gives_a_clear_message(saved_model, tmp_path, content, words):
    bad = tmp_path / "model.keras"
    bad.write_bytes(content if content is not None else saved_model[1].read_bytes()[:2000])
    with pytest.raises(ModelLoadError, match=words):
        Classifier.load(bad)


def test_a_missing_model_file_says_to_train_again(tmp_path):
    with pytest.raises(ModelLoadError, match="missing"):
        Classifier.load(tmp_path / "model.keras")
