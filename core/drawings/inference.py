"""Classify one drawing with a saved model, in numpy, and show what each hidden layer made of it.

The app's server never imports TensorFlow to read a drawing: a saved model is
an MLP, so its forward pass is a few matrix products. The weights come from
the same checked reader the importer uses (core.keras_file.reading.read_model), so a
model file is read as numbers only, whoever wrote the run folder. Without
TensorFlow the server stays small (its memory is the web server's, not a deep
learning runtime's), and Streamlit has no Keras session to clear after each
rerun. A test holds this forward pass to Keras's own output within 1e-5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.config import IMAGE_SIZE, TrainConfig
from core.keras_file.errors import ModelImportError
from core.keras_file.reading import read_stored_model


class ModelLoadError(RuntimeError):
    """A saved model could not be loaded; the message says why in plain words."""


ERF = np.frompyfunc(math.erf, 1, 1)  # elementwise erf (numpy has none); also core.drawings.evidence


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # Split by sign so exp never overflows.
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1 / (1 + np.exp(-x[positive]))
    exp = np.exp(x[~positive])
    out[~positive] = exp / (1 + exp)
    return out


ACTIVATION_FUNCTIONS = {
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    # Keras's "gelu" is the exact one (approximate=False): x * P(X <= x) for a standard normal X.
    "gelu": lambda x: 0.5 * x * (1 + ERF(x / math.sqrt(2)).astype(x.dtype)),
}


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class Prediction:
    """Ten probabilities (float32) and each hidden layer's activations for one image."""

    probabilities: np.ndarray
    activations: list[np.ndarray]
    layer_names: list[str]

    @property
    def digit(self) -> int:
        return int(self.probabilities.argmax())

    @property
    def confidence(self) -> float:
        return float(self.probabilities.max())

    def top(self, k: int = 3) -> list[tuple[int, float]]:
        order = np.argsort(-self.probabilities)[:k]
        return [(int(d), float(self.probabilities[d])) for d in order]


class Classifier:
    """A saved MLP as numpy arrays: probabilities and hidden activations for any batch of images.

    Read-only after construction and free of locks, so one instance serves every browser session.

    Args:
        config: the network's TrainConfig (its activation and hidden layer sizes).
        weights: kernel, bias, kernel, bias, ... of each Dense layer in order, the last one the output.

    Example:
        classifier = Classifier.load("runs/<run id>/model.keras")
        classifier.classify(image).digit
    """

    def __init__(self, config: TrainConfig, weights: list[np.ndarray]):
        self.config = config
        self.kernels = [np.ascontiguousarray(w, dtype=np.float32) for w in weights[0::2]]
        self.biases = [np.asarray(b, dtype=np.float32) for b in weights[1::2]]
        self.layer_names = [f"hidden_{i}" for i in range(1, len(self.kernels))]
        self._activation = ACTIVATION_FUNCTIONS[config.activation]

    @classmethod
    def load(cls, path: Path | str) -> Classifier:
        """Read a `.keras` file (checked as data, never deserialised); ModelLoadError if unusable."""
        path = Path(path)
        try:
            archive = read_stored_model(path)
        except FileNotFoundError:
            raise ModelLoadError(f"The model file {path.name} is missing; train the run again.") from None
        except OSError as error:
            raise ModelLoadError(f"The model file {path.name} cannot be read: {error.strerror or error}.") from error
        except ModelImportError as error:
            raise ModelLoadError(f"{path.name} is not a model this app can use: {error}") from error
        return cls(archive.config, archive.weights)

    def forward(self, images: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """(each hidden layer's activations, probabilities) for a batch of 28x28 images in [0, 1]."""
        x = np.asarray(images, dtype=np.float32).reshape(-1, IMAGE_SIZE * IMAGE_SIZE)
        hidden = []
        for kernel, bias in zip(self.kernels[:-1], self.biases[:-1]):
            x = self._activation(x @ kernel + bias)
            hidden.append(x)
        return hidden, softmax(x @ self.kernels[-1] + self.biases[-1])

    def predict(self, images: np.ndarray, batch_size: int = 2048) -> np.ndarray:
        """Probabilities for many images, in batches so memory stays small."""
        images = np.asarray(images)
        return np.concatenate(
            [self.forward(images[i : i + batch_size])[1] for i in range(0, len(images), batch_size)]
            or [np.zeros((0, 10), np.float32)]
        )

    def classify(self, image: np.ndarray) -> Prediction:
        """Probabilities and activations for one 28x28 float image in [0, 1]."""
        hidden, probabilities = self.forward(image)
        return Prediction(
            probabilities=probabilities[0].astype(np.float32),
            activations=[layer[0] for layer in hidden],
            layer_names=self.layer_names,
        )
