"""The Keras code of a network: a standalone Python script, with Keras and numpy only, that builds and trains
the network a TrainConfig describes as the app does (the same layers, optimizer, split of MNIST, seed, early
stopping, learning-rate schedule and augmentation), for a learner to read, copy and run elsewhere.

What the app adds around `model.fit` (the live page, checkpoints, the look inside, fused weight updates, your
drawings) is left out; the script says so where it matters. The stroke-thickness layer is this project's own
Keras layer, copied from core/training/augmentation.py as it is (read as text: the server never imports Keras).
"""

from __future__ import annotations

from core.config import PROJECT_ROOT, TrainConfig, count_parameters
from core.training.model import ROTATION, SHIFT, THICKNESS, ZOOM
from core.training.worker import LR_FACTOR, LR_PATIENCE, MIN_LEARNING_RATE, MONITOR

_OPTIMIZERS = {
    "adam": "keras.optimizers.Adam(learning_rate=LEARNING_RATE)",
    "rmsprop": "keras.optimizers.RMSprop(learning_rate=LEARNING_RATE)",
    "sgd": "keras.optimizers.SGD(learning_rate=LEARNING_RATE, momentum=0.9)",
}


def _stroke_thickness_layer() -> str:
    source = (PROJECT_ROOT / "core" / "training" / "augmentation.py").read_text()
    return source[source.index("class RandomStrokeThickness") :].rstrip() + "\n"


def keras_code(config: TrainConfig) -> str:
    """The script for `config` (its text; a .py file as it stands)."""
    shape, parameters = config.shape_label(), count_parameters(config)
    lines = [
        f'"""Train the {shape} network of the MNIST trainer with Keras alone ({parameters:,} parameters).',
        "",
        "Made by the app from its settings: the same layers, optimizer, split of MNIST, seed and stopping rules.",
        "Run it with Python, Keras and numpy installed; put the app's data/mnist.npz beside it to work offline.",
        '"""',
        "",
        "import numpy as np",
        "import keras",
        "",
        "# The settings, as on the Train page",
        f"HIDDEN_LAYERS = {tuple(config.hidden_layers)!r}",
        f'ACTIVATION = "{config.activation}"',
        f"DROPOUT = {config.dropout!r}",
        f"LEARNING_RATE = {config.learning_rate!r}",
        f"BATCH_SIZE = {config.batch_size!r}",
        f"EPOCHS = {config.epochs!r}",
        f"PATIENCE = {config.patience!r}  # epochs without a better validation accuracy before stopping (0: never)",
        f"SEED = {config.seed!r}",
        f"VALIDATION_IMAGES = {config.validation_size!r}  # the last ones of MNIST's training file",
        f"TRAINING_IMAGES = {config.train_limit!r}  # None: all the others",
        "",
        "keras.utils.set_random_seed(SEED)",
        "",
        "# MNIST: 60,000 training images (the last VALIDATION_IMAGES kept for validation) and 10,000 test images,",
        "# used once, at the end. Pixels scaled to [0, 1].",
        "try:",
        '    with np.load("mnist.npz") as data:',
        '        x_train, y_train, x_test, y_test = (data[k] for k in ("x_train", "y_train", "x_test", "y_test"))',
        "except FileNotFoundError:",
        "    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()",
        "x_train, x_test = x_train.astype(np.float32) / 255.0, x_test.astype(np.float32) / 255.0",
        "cut = len(x_train) - VALIDATION_IMAGES",
        "x_val, y_val = x_train[cut:], y_train[cut:]",
        "x_train, y_train = x_train[:cut][:TRAINING_IMAGES], y_train[:cut][:TRAINING_IMAGES]",
        "",
    ]
    if config.augment:
        lines += [
            "",
            "# Augmentation: random changes to each training image, in training only (Keras skips them otherwise).",
            _stroke_thickness_layer(),
            "",
            'fill = dict(fill_mode="constant", fill_value=0.0)',
            "augmentation = [",
            '    keras.layers.Reshape((28, 28, 1), name="as_image"),',
            f'    keras.layers.RandomTranslation({SHIFT!r}, {SHIFT!r}, name="augment_shift", **fill),',
            f'    keras.layers.RandomRotation({ROTATION!r}, name="augment_rotate", **fill),  # a fraction of a turn',
            f'    keras.layers.RandomZoom((-{ZOOM!r}, {ZOOM!r}), name="augment_zoom", **fill),',
            f'    RandomStrokeThickness({THICKNESS!r}, name="augment_thickness"),',
            "]",
            "",
        ]
    lines += [
        "# The network: the 28x28 image flattened to 784 inputs, the hidden layers (each followed by dropout),",
        "# and ten softmax outputs, one probability per digit.",
        'layers = [keras.Input(shape=(28, 28), name="image")]' + (" + augmentation" if config.augment else ""),
        'layers.append(keras.layers.Flatten(name="flatten"))',
        "for i, units in enumerate(HIDDEN_LAYERS, start=1):",
        '    layers.append(keras.layers.Dense(units, activation=ACTIVATION, name=f"hidden_{i}"))',
        "    if DROPOUT > 0:",
        '        layers.append(keras.layers.Dropout(DROPOUT, name=f"dropout_{i}"))',
        'layers.append(keras.layers.Dense(10, activation="softmax", name="output"))',
        'model = keras.Sequential(layers, name="mnist_mlp")',
        "model.compile(",
        f"    optimizer={_OPTIMIZERS[config.optimizer]},",
        '    loss="sparse_categorical_crossentropy",',
        '    metrics=["accuracy"],',
        ")",
        "model.summary()",
        "",
        "# Stop when validation accuracy has not improved for PATIENCE epochs, and keep the best epoch's weights.",
        "callbacks = [",
        "    keras.callbacks.EarlyStopping(",
        f'        monitor="{MONITOR}", mode="max", patience=PATIENCE or EPOCHS, restore_best_weights=True',
        "    ),",
    ]
    if config.reduce_lr:
        lines += [
            "    # Halve the learning rate each time validation accuracy stalls for an epoch.",
            "    keras.callbacks.ReduceLROnPlateau(",
            f'        monitor="{MONITOR}", mode="max", factor={LR_FACTOR!r}, patience={LR_PATIENCE!r}, '
            f"min_lr={MIN_LEARNING_RATE!r}",
            "    ),",
        ]
    lines += [
        "]",
        "model.fit(",
        "    x_train,",
        "    y_train,",
        "    batch_size=BATCH_SIZE,",
        "    epochs=EPOCHS,",
        "    validation_data=(x_val, y_val),",
        "    callbacks=callbacks,",
        ")",
        "",
        "test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)",
        'print(f"Held-out test accuracy: {test_accuracy:.2%}, test loss {test_loss:.4f}")',
    ]
    notes = []
    if config.include_drawings:
        notes.append("Your drawings are not in this script: it trains on MNIST only.")
    if config.fast_mode:
        notes.append("Fast mode (16-bit hidden layers) is left out: the script computes in float32.")
    if notes:
        lines[4:4] = ["", *notes]
    return "\n".join(lines) + "\n"
