"""Examples of augmented training digits, for the Train page to show what augmentation does."""

from __future__ import annotations

import numpy as np

from core.training.data import bundled_mnist, to_float
from core.training.model import augmentation_layers


def augmented_strip(count: int = 6, variants: int = 3, seed: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
    """`count` training digits and, for each, `variants` random augmentations (28x28 floats in [0, 1])."""
    import keras

    originals = to_float(bundled_mnist()["x_train"][:count])
    keras.utils.set_random_seed(seed)
    stack = keras.Sequential(augmentation_layers())
    outputs = [np.asarray(stack(originals, training=True))[..., 0] for _ in range(variants)]
    return originals, [np.stack([out[i] for out in outputs]).clip(0, 1) for i in range(count)]
