"""A random stroke-thickness layer: the one augmentation Keras does not ship."""

from __future__ import annotations

import keras


class RandomStrokeThickness(keras.layers.Layer):
    """Make each image's strokes randomly thicker or thinner, in training only.

    Thicker is a blend towards a 3x3 grey dilation (max pool), thinner towards
    a 3x3 erosion; `factor` is the largest blend (0.6 = up to 60% of the way).
    Inputs are (batch, 28, 28, 1) images in [0, 1]. At inference it returns
    its input unchanged, like Keras's own Random* layers.

    Example:
        layer = RandomStrokeThickness(0.6)
        thicker_or_thinner = layer(images, training=True)
    """

    def __init__(self, factor: float = 0.6, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images
        ops = keras.ops
        dilated = ops.max_pool(images, 3, strides=1, padding="same")
        eroded = -ops.max_pool(-images, 3, strides=1, padding="same")
        amount = keras.random.uniform(
            (ops.shape(images)[0], 1, 1, 1), -self.factor, self.factor, seed=self.seed_generator, dtype=images.dtype
        )
        return images + ops.maximum(amount, 0) * (dilated - images) + ops.minimum(amount, 0) * (images - eroded)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "seed": self.seed}
