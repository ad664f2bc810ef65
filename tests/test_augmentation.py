"""Augmentation and fast mode: active only in training, saved as a plain float32 model."""

import numpy as np
import pytest

from core.config import ConfigError, TrainConfig
from core.training.data import bundled_mnist, to_float
from core.training.model import build_model, describe_layers, export_model


@pytest.fixture(scope="module")
def digits():
    return to_float(bundled_mnist()["x_test"][:16])


def test_augmentation_changes_images_in_training_only(digits):
    import keras

    from core.training.model import augmentation_layers

    keras.utils.set_random_seed(0)
    stack = keras.Sequential(augmentation_layers())
    unchanged = np.asarray(stack(digits, training=False))[..., 0]
    changed = np.asarray(stack(digits, training=True))[..., 0]
    np.testing.assert_array_equal(unchanged, digits)
    assert np.abs(changed - digits).mean() > 0.02
    assert changed.min() >= -1e-6 and changed.max() <= 1 + 1e-6


def test_an_augmented_model_predicts_like_its_plain_export(digits):
    config = TrainConfig(hidden_layers=(32,), augment=True)
    model = build_model(config)
    exported = export_model(model, config)
    assert not any("augment" in layer.name for layer in exported.layers)
    np.testing.assert_allclose(
        np.asarray(model(digits, training=False)), np.asarray(exported(digits)), rtol=1e-5, atol=1e-6
    )


def test_the_summary_lists_the_augmentation_layers(digits):
    config = TrainConfig(hidden_layers=(32,), augment=True)
    model = build_model(config)
    rows = describe_layers(config)
    assert [row.name for row in rows] == [layer.name for layer in model.layers]
    assert [row.output_shape for row in rows] == [tuple(layer.output.shape) for layer in model.layers]


def test_fast_mode_trains_and_saves_a_float32_model(store):
    import keras

    from core.drawings.inference import Classifier
    from core.training.worker import train_run

    run_id = store.create_run(
        TrainConfig(hidden_layers=(32,), epochs=1, train_limit=1_000, fast_mode=True, augment=True)
    )
    outcome = train_run(store, run_id, lambda event: None, lambda: False)
    assert outcome["status"] == "completed", outcome["error"]
    assert outcome["metrics"]["test_accuracy"] > 0.2  # learned something (chance is 0.1)
    model = keras.models.load_model(store.model_path(run_id))
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    prediction = Classifier.load(store.model_path(run_id)).classify(np.zeros((28, 28), np.float32))
    assert prediction.probabilities.dtype == np.float32


def test_the_switches_are_on_or_off():
    with pytest.raises(ConfigError, match="on or off"):
        TrainConfig(augment="yes")
