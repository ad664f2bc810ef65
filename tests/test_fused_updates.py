"""TensorFlow's fused update kernels train exactly as Keras's own optimizers do, and saved models stay plain."""

import keras
import numpy as np
import pytest

from core.config import TrainConfig
from core.training.data import bundled_mnist, split_mnist
from core.training.model import build_model, export_model


def trained_weights(config: TrainConfig, fused: bool, data) -> list[np.ndarray]:
    keras.utils.set_random_seed(config.seed)
    model = build_model(config, steps_per_execution=3, fused_updates=fused)
    model.fit(data.x_train, data.y_train, batch_size=config.batch_size, epochs=config.epochs, verbose=0)
    return model.get_weights()


@pytest.fixture(scope="module")
def data():
    return split_mnist(bundled_mnist(), validation_size=100, train_limit=600)


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam", "sgd"])
def test_fused_updates_give_the_weights_keras_gives(optimizer, data):
    # No dropout: the comparison is of the update arithmetic, over 12 steps of real digits.
    config = TrainConfig(hidden_layers=(32, 16), dropout=0.0, optimizer=optimizer, epochs=2, batch_size=100, seed=3)
    keras_weights = trained_weights(config, fused=False, data=data)
    fused_weights = trained_weights(config, fused=True, data=data)
    keras.utils.set_random_seed(config.seed)
    start = build_model(config).get_weights()
    for stock, fused in zip(keras_weights, fused_weights):
        np.testing.assert_allclose(fused, stock, rtol=1e-4, atol=1e-6)
    assert any(not np.allclose(stock, initial) for stock, initial in zip(keras_weights, start))


def test_a_model_trained_with_fused_updates_is_saved_naming_keras_stock_optimizer(tmp_path):
    import json
    import zipfile

    config = TrainConfig(hidden_layers=(8,))
    export_model(build_model(config, fused_updates=True), config).save(tmp_path / "model.keras")
    with zipfile.ZipFile(tmp_path / "model.keras") as archive:
        optimizer = json.loads(archive.read("config.json"))["compile_config"]["optimizer"]
    assert (optimizer["module"], optimizer["class_name"]) == ("keras.optimizers", "RMSprop")
