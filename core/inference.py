"""Classify one drawing with a saved model, and show what each hidden layer made of it."""

from __future__ import annotations

import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def _compiled(probe):
    """The probe as one traced graph: about 7x faster per single image than eager calls (bench/)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return lambda batch: probe([batch], training=False)
    import tensorflow as tf

    traced = tf.function(lambda batch: probe([batch], training=False), autograph=False,
                         input_signature=[tf.TensorSpec((1, 28, 28), tf.float32)])
    return lambda batch: traced(tf.constant(batch))


class ModelLoadError(RuntimeError):
    """A saved model could not be loaded; the message says why in plain words."""


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
    """A loaded model plus a probe that returns hidden activations and the output in one call.

    Single images are classified by calling the model, not `model.predict`,
    which sets up a whole batched loop each time (about 15x slower per image).
    Calls are serialised with a lock: Keras models are not documented as
    thread-safe, and one instance is shared by every browser session.
    """

    def __init__(self, model):
        import keras

        self.model = model
        hidden = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)][:-1]
        self.layer_names = [layer.name for layer in hidden]
        probe = keras.Model(model.inputs, [layer.output for layer in hidden] + [model.outputs[0]])
        self._probe = _compiled(probe)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path | str) -> "Classifier":
        """Load a `.keras` file written by this app; ModelLoadError if it is missing or damaged."""
        import keras

        path = Path(path)
        if not path.exists():
            raise ModelLoadError(f"The model file {path.name} is missing; train the run again.")
        if not zipfile.is_zipfile(path):
            raise ModelLoadError(f"{path.name} is not a Keras model file (it is damaged or something else).")
        try:
            model = keras.models.load_model(path, compile=False, safe_mode=True)
        except Exception as error:  # Keras raises many types for a bad archive; all mean "unusable"
            raise ModelLoadError(f"{path.name} could not be loaded: {error}") from error
        return cls(model)

    def classify(self, image: np.ndarray) -> Prediction:
        """Probabilities and activations for one 28x28 float image in [0, 1]."""
        batch = np.asarray(image, dtype=np.float32).reshape(1, 28, 28)
        with self._lock:
            outputs = self._probe(batch)
        arrays = [np.asarray(output)[0] for output in outputs]
        return Prediction(probabilities=arrays[-1].astype(np.float32), activations=arrays[:-1],
                          layer_names=self.layer_names)
