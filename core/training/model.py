"""Build the MLP from a TrainConfig, and describe it without building it.

`describe_layers` is plain arithmetic so a form can show the layer table and
parameter count on every keystroke without importing TensorFlow; a test checks
it against the real Keras model.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config import IMAGE_SIZE, INPUT_UNITS, NUM_CLASSES, TrainConfig
from core.training.isolated import run_isolated
from core.training.machine import fast_mode_support


@dataclass(frozen=True)
class LayerRow:
    """One line of the model summary: Keras layer name, output shape, trainable parameters."""

    name: str
    kind: str
    output_shape: tuple[int | None, ...]
    params: int


AUGMENTATION_LAYERS = (
    ("augment_shift", "RandomTranslation"),
    ("augment_rotate", "RandomRotation"),
    ("augment_zoom", "RandomZoom"),
    ("augment_thickness", "RandomStrokeThickness"),
)
SHIFT, ROTATION, ZOOM, THICKNESS = 0.1, 12 / 360, 0.15, 0.6  # image fractions, turns, zoom, stroke blend


def describe_layers(config: TrainConfig) -> list[LayerRow]:
    """The layers `build_model(config)` makes, with output shapes and parameter counts."""
    rows = []
    if config.augment:
        image = (None, IMAGE_SIZE, IMAGE_SIZE, 1)
        rows.append(LayerRow("as_image", "Reshape", image, 0))
        rows += [LayerRow(name, kind, image, 0) for name, kind in AUGMENTATION_LAYERS]
    rows.append(LayerRow("flatten", "Flatten", (None, INPUT_UNITS), 0))
    previous = INPUT_UNITS
    for i, units in enumerate(config.hidden_layers, start=1):
        rows.append(LayerRow(f"hidden_{i}", "Dense", (None, units), previous * units + units))
        if config.dropout > 0:
            rows.append(LayerRow(f"dropout_{i}", "Dropout", (None, units), 0))
        previous = units
    rows.append(LayerRow("output", "Dense", (None, NUM_CLASSES), previous * NUM_CLASSES + NUM_CLASSES))
    return rows


def build_model(
    config: TrainConfig, steps_per_execution: int = 1, fused_updates: bool = False, soft_targets: bool = False
):
    """Build and compile the Keras MLP described by `config`.

    Input is a 28x28 float image in [0, 1]; output is ten softmax probabilities,
    always computed in float32. With `augment`, Keras's random image layers (active
    only in training) come first; with `fast_mode`, hidden layers compute in 16 bits.
    `steps_per_execution` training steps run per call into TensorFlow (core.training.machine), and
    `fused_updates` has TensorFlow's fused kernels update the weights (core.training.fused_updates): for
    training; a model to be saved keeps Keras's stock optimizer, which any Keras can load. With
    `soft_targets` it trains on ten probabilities per image instead of its digit (your drawings' variants are
    taught less than sure: core.training.teaching.training_arrays).
    """
    import keras

    layers = [keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE), name="image")]
    if config.augment:
        layers += augmentation_layers()
    layers.append(keras.layers.Flatten(name="flatten"))
    hidden_dtype = fast_policy() if config.fast_mode else None
    for i, units in enumerate(config.hidden_layers, start=1):
        layers.append(keras.layers.Dense(units, activation=config.activation, name=f"hidden_{i}", dtype=hidden_dtype))
        if config.dropout > 0:
            layers.append(keras.layers.Dropout(config.dropout, name=f"dropout_{i}", dtype=hidden_dtype))
    layers.append(keras.layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="output"))
    model = keras.Sequential(layers, name="mnist_mlp")
    optimizer = make_optimizer(config, fused_updates)
    if hidden_dtype == "mixed_float16":  # float16 gradients underflow without loss scaling
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(
        optimizer=optimizer,
        loss="categorical_crossentropy" if soft_targets else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def make_optimizer(config: TrainConfig, fused_updates: bool = False):
    import keras

    optimizers = keras.optimizers
    if fused_updates:
        from core.training import fused_updates as optimizers  # imports TensorFlow: only when training
    if config.optimizer == "adam":
        return optimizers.Adam(learning_rate=config.learning_rate)
    if config.optimizer == "rmsprop":
        return optimizers.RMSprop(learning_rate=config.learning_rate)
    return optimizers.SGD(learning_rate=config.learning_rate, momentum=0.9)


def augmentation_layers() -> list:
    """Random shift, rotation, zoom and stroke thickness; Keras runs them in training only."""
    import keras

    from core.training.augmentation import RandomStrokeThickness  # a Keras layer: only when building

    fill = dict(fill_mode="constant", fill_value=0.0)
    return [
        keras.layers.Reshape((IMAGE_SIZE, IMAGE_SIZE, 1), name="as_image"),
        keras.layers.RandomTranslation(SHIFT, SHIFT, name="augment_shift", **fill),
        keras.layers.RandomRotation(ROTATION, name="augment_rotate", **fill),
        keras.layers.RandomZoom((-ZOOM, ZOOM), name="augment_zoom", **fill),
        RandomStrokeThickness(THICKNESS, name="augment_thickness"),
    ]


def fast_policy() -> str | None:
    """The mixed-precision policy that helps this machine, or None where 16-bit buys nothing."""
    support = fast_mode_support()
    return support.policy if support.available else None


def export_model(model, config: TrainConfig):
    """The trained network as the app saves it: no augmentation layers, float32, no optimizer state.

    A saved model then loads anywhere (no custom layers), predicts in float32 whichever way it was
    trained, and is only as large as its weights: the optimizer's state (one or two more arrays per
    weight) is of no use to someone who draws with it, downloads it or fine-tunes it from scratch.
    """
    import keras

    plain = build_model(config.replace(augment=False, fast_mode=False))
    trained = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    for target, source in zip((layer for layer in plain.layers if isinstance(layer, keras.layers.Dense)), trained):
        target.set_weights([w.astype("float32") for w in source.get_weights()])
    return plain


def set_dense_weights(model, weights: list) -> None:
    """Give `model`'s Dense layers, in order, the kernels and biases of `weights` (kernel, bias, kernel, ...).

    A fine-tune starts from a saved model this way, whether or not its own network has augmentation layers.
    """
    import keras

    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if len(weights) != 2 * len(dense):
        raise ValueError(f"{len(weights)} weight arrays for {len(dense)} Dense layers (need 2 each).")
    for layer, kernel, bias in zip(dense, weights[0::2], weights[1::2]):
        layer.set_weights([kernel, bias])


def save_model_file(config: dict, weights: list, path: str) -> None:
    """Build the plain network of `config` (a TrainConfig's dict), give it `weights`, and save it at `path`.

    For core.training.isolated: the app's server saves an imported model this way, in a child process.
    """
    model = build_model(TrainConfig.from_dict(config).replace(augment=False, fast_mode=False))
    model.set_weights(weights)
    model.save(path)


class PlainModelFile:
    """A network given as weights, saved like a Keras model (`.save(path)`) by a child process (core.training.isolated).

    The run store saves it as it saves a trained model: to a temporary file, then moved into place.
    """

    def __init__(self, config: TrainConfig, weights: list):
        self.config, self.weights = config, weights

    def save(self, path) -> None:
        run_isolated("core.training.model", "save_model_file", self.config.to_dict(), self.weights, str(path))
