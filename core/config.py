"""Training configuration: every knob of the MLP, checked before anything runs.

Defaults reproduce the classic Keras MNIST MLP (784-512-512-10, ReLU,
dropout 0.2, softmax: 669,706 parameters).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "gelu")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
MAX_LAYERS = 6
MAX_UNITS = 4096
MAX_EPOCHS = 200
MAX_BATCH_SIZE = 8192


class ConfigError(ValueError):
    """A hyperparameter a person chose is out of range.

    `field` names the offending setting so a form can show the message next to it.
    """

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class TrainConfig:
    """Everything needed to build, train and reproduce one MLP.

    Args:
        hidden_layers: units of each hidden Dense layer, 1 to 6 layers of 1 to 4096 units.
        dropout: dropout rate after each hidden layer, 0 <= p < 1 (0 = no dropout layer).
        activation: hidden-layer activation, one of ACTIVATIONS.
        optimizer: "adam", "rmsprop" or "sgd" (SGD uses momentum 0.9).
        learning_rate: step size, 0 < lr <= 1.
        batch_size: images per gradient step, 1 to 8192.
        epochs: the most passes over the training set, 1 to 200.
        patience: epochs without validation-loss improvement before stopping; 0 = never stop early.
            The weights of the best validation epoch are kept either way.
        validation_size: images held back from training for validation, 1,000 to 20,000.
        train_limit: use only the first N training images (None = all 55,000 by default).
        seed: makes weights, shuffling and dropout reproducible.
        augment: during training only, randomly shift, rotate, zoom and thicken or thin each
            image, so the network copes with how people really draw. Off: the classic model.
        fast_mode: compute the hidden layers in 16-bit floats (bfloat16 on CPUs, float16 on GPUs)
            where the hardware has units for it; the output and the saved model stay float32.
    """

    hidden_layers: tuple[int, ...] = (512, 512)
    dropout: float = 0.2
    activation: str = "relu"
    optimizer: str = "rmsprop"
    learning_rate: float = 0.001
    batch_size: int = 128
    epochs: int = 20
    patience: int = 3
    validation_size: int = 5_000
    train_limit: int | None = None
    seed: int = 0
    augment: bool = False
    fast_mode: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_layers", tuple(self.hidden_layers))
        validate(self)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["hidden_layers"] = list(self.hidden_layers)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Build a config from JSON-like data, ignoring unknown keys (older or newer files)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def replace(self, **changes) -> "TrainConfig":
        return TrainConfig.from_dict({**self.to_dict(), **changes})

    def summary(self) -> str:
        """One line a learner can read: the shape of the network and how it learns."""
        shape = " → ".join(str(n) for n in (784, *self.hidden_layers, 10))
        parts = [shape, self.activation, f"dropout {self.dropout:g}",
                 f"{self.optimizer} at learning rate {self.learning_rate:g}", f"batch {self.batch_size}",
                 f"{training_images(self):,} training images"]
        parts += ["augmented"] * self.augment + ["fast mode"] * self.fast_mode
        return " · ".join(parts)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) and math.isfinite(value)


def _check_int(name: str, value, low: int, high: int, label: str) -> None:
    if not _is_int(value) or not low <= value <= high:
        raise ConfigError(name, f"{label} must be a whole number from {low:,} to {high:,} (got {value!r}).")


def validate(config: TrainConfig) -> None:
    """Raise ConfigError for the first setting that is out of range."""
    layers = config.hidden_layers
    if not 1 <= len(layers) <= MAX_LAYERS:
        raise ConfigError("hidden_layers", f"Use 1 to {MAX_LAYERS} hidden layers (got {len(layers)}).")
    for i, units in enumerate(layers, start=1):
        if not _is_int(units) or not 1 <= units <= MAX_UNITS:
            raise ConfigError(
                "hidden_layers", f"Hidden layer {i} needs 1 to {MAX_UNITS:,} units (got {units!r})."
            )
    if not _is_number(config.dropout) or not 0 <= config.dropout < 1:
        raise ConfigError(
            "dropout", f"Dropout is the fraction of units switched off: at least 0 and below 1 (got {config.dropout!r})."
        )
    if config.activation not in ACTIVATIONS:
        raise ConfigError("activation", f"Activation must be one of {', '.join(ACTIVATIONS)} (got {config.activation!r}).")
    if config.optimizer not in OPTIMIZERS:
        raise ConfigError("optimizer", f"Optimizer must be one of {', '.join(OPTIMIZERS)} (got {config.optimizer!r}).")
    if not _is_number(config.learning_rate) or not 0 < config.learning_rate <= 1:
        raise ConfigError(
            "learning_rate", f"Learning rate must be above 0 and at most 1; 0.001 is a good start (got {config.learning_rate!r})."
        )
    _check_int("batch_size", config.batch_size, 1, MAX_BATCH_SIZE, "Batch size")
    _check_int("epochs", config.epochs, 1, MAX_EPOCHS, "Epochs")
    _check_int("patience", config.patience, 0, MAX_EPOCHS, "Early-stopping patience")
    _check_int("validation_size", config.validation_size, 1_000, 20_000, "Validation size")
    if config.train_limit is not None:
        most = 60_000 - config.validation_size
        _check_int("train_limit", config.train_limit, 100, most, "Training-set limit")
    _check_int("seed", config.seed, 0, 2**31 - 1, "Seed")
    for name in ("augment", "fast_mode"):
        if not isinstance(getattr(config, name), bool):
            raise ConfigError(name, f"{name.replace('_', ' ').capitalize()} is on or off (got {getattr(config, name)!r}).")


def training_images(config: TrainConfig) -> int:
    """How many images one epoch trains on."""
    available = 60_000 - config.validation_size
    return available if config.train_limit is None else min(config.train_limit, available)
