import pytest

from core.config import TrainConfig
from core.training.model import build_model, describe_layers


@pytest.mark.parametrize(
    "config",
    [TrainConfig(), TrainConfig(hidden_layers=(64, 32, 16), dropout=0.0, activation="gelu", optimizer="sgd")],
)
def test_summary_without_tensorflow_matches_the_keras_model(config):
    model = build_model(config)
    rows = describe_layers(config)
    assert [row.name for row in rows] == [layer.name for layer in model.layers]
    assert [row.params for row in rows] == [layer.count_params() for layer in model.layers]
    assert [row.output_shape for row in rows] == [tuple(layer.output.shape) for layer in model.layers]
    assert sum(row.params for row in rows) == model.count_params()


def test_output_is_ten_probabilities():
    import numpy as np

    model = build_model(TrainConfig(hidden_layers=(8,)))
    probabilities = np.asarray(model(np.zeros((3, 28, 28), "float32")))
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
