"""Build the MLP from a TrainConfig, and describe it without building it.

`describe_layers` is plain arithmetic so a form can show the layer table and
parameter count on every keystroke without importing TensorFlow; a test checks
it against the real Keras model.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config import TrainConfig
from core.data import IMAGE_SIZE, NUM_CLASSES

INPUT_UNITS = IMAGE_SIZE * IMAGE_SIZE


@dataclass(frozen=True)
class LayerRow:
    """One line of the model summary: Keras layer name, output shape, trainable parameters."""

    name: str
    kind: str
    output_shape: tuple[int | None, ...]
    params: int


def describe_layers(config: TrainConfig) -> list[LayerRow]:
    """The layers `build_model(config)` makes, with output shapes and parameter counts."""
    rows = [LayerRow("flatten", "Flatten", (None, INPUT_UNITS), 0)]
    previous = INPUT_UNITS
    for i, units in enumerate(config.hidden_layers, start=1):
        rows.append(LayerRow(f"hidden_{i}", "Dense", (None, units), previous * units + units))
        if config.dropout > 0:
            rows.append(LayerRow(f"dropout_{i}", "Dropout", (None, units), 0))
        previous = units
    rows.append(LayerRow("output", "Dense", (None, NUM_CLASSES), previous * NUM_CLASSES + NUM_CLASSES))
    return rows


def count_parameters(config: TrainConfig) -> int:
    return sum(row.params for row in describe_layers(config))


def build_model(config: TrainConfig):
    """Build and compile the Keras MLP described by `config`.

    Input is a 28x28 float image in [0, 1]; output is ten softmax probabilities
    (float32 even under a mixed-precision policy, so saved models predict in float32).
    """
    import keras

    layers = [keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE), name="image"), keras.layers.Flatten(name="flatten")]
    for i, units in enumerate(config.hidden_layers, start=1):
        layers.append(keras.layers.Dense(units, activation=config.activation, name=f"hidden_{i}"))
        if config.dropout > 0:
            layers.append(keras.layers.Dropout(config.dropout, name=f"dropout_{i}"))
    layers.append(keras.layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="output"))
    model = keras.Sequential(layers, name="mnist_mlp")
    model.compile(
        optimizer=make_optimizer(config),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def make_optimizer(config: TrainConfig):
    import keras

    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=config.learning_rate)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=config.learning_rate)
    return keras.optimizers.SGD(learning_rate=config.learning_rate, momentum=0.9)
