"""How long does one drawing take, from canvas pixels to probabilities?

Three ways over the same drawings, interleaved call by call: the Draw page's
numpy forward pass (core.drawings.inference), the Keras model called directly as a
traced function (what the page did before it dropped TensorFlow), and
`model.predict`. Each includes the MNIST-style preprocessing; prints p50 and
p95 of each in milliseconds.

    python -m bench.inference_latency [--calls 300] [--model PATH]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from PIL import Image

from core.drawings.inference import Classifier
from core.drawings.preprocessing import preprocess_drawing
from core.training.data import bundled_mnist


def canvases(count: int, size: int = 280) -> list[np.ndarray]:
    """MNIST test digits enlarged onto RGBA canvases at varied sizes and places."""
    rng = np.random.default_rng(0)
    digits = bundled_mnist()["x_test"]
    out = []
    for i in range(count):
        height = int(rng.integers(120, 240))
        big = np.asarray(Image.fromarray(digits[i]).resize((height, height), Image.Resampling.BILINEAR))
        canvas = np.zeros((size, size, 4), np.uint8)
        canvas[..., 3] = 255
        top, left = rng.integers(0, size - height, size=2)
        canvas[top : top + height, left : left + height, :3] = big[..., None]
        out.append(canvas)
    return out


def default_model(folder: str):
    """A default-architecture model (512-512): its speed does not depend on how well it was trained."""
    from core.config import TrainConfig
    from core.training.model import build_model

    path = f"{folder}/model.keras"
    build_model(TrainConfig()).save(path)
    return path


def keras_call(path: str):
    """The model as one traced TensorFlow function for a single image: the fastest way through Keras."""
    import keras
    import tensorflow as tf

    model = keras.models.load_model(path, compile=False)
    traced = tf.function(
        lambda batch: model(batch, training=False),
        autograph=False,
        input_signature=[tf.TensorSpec((1, 28, 28), tf.float32)],
    )
    return model, lambda image: np.asarray(traced(tf.constant(image[None])))


def measure(calls: int = 300, model_path: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = model_path or default_model(folder)
        classifier = Classifier.load(path)
        model, call = keras_call(path)
    drawings = canvases(calls)
    ways = {
        "numpy": lambda canvas: classifier.classify(preprocess_drawing(canvas).image),
        "keras": lambda canvas: call(preprocess_drawing(canvas).image),
        "predict": lambda canvas: model.predict(preprocess_drawing(canvas).image[None], verbose=0),
    }
    for canvas in drawings[:10]:  # warm up every way
        for way in ways.values():
            way(canvas)
    times = {name: [] for name in ways}
    for canvas in drawings:
        for name, way in ways.items():
            start = time.perf_counter()
            way(canvas)
            times[name].append(time.perf_counter() - start)
    result = {"calls": calls}
    for name, values in times.items():
        result[f"{name}_p50_ms"] = float(np.percentile(values, 50) * 1000)
        result[f"{name}_p95_ms"] = float(np.percentile(values, 95) * 1000)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    r = measure(args.calls, args.model)
    for name, what in (("numpy", "numpy forward pass"), ("keras", "Keras model call"), ("predict", "model.predict")):
        print(f"preprocess + {what:20s} p50 {r[f'{name}_p50_ms']:.2f} ms  p95 {r[f'{name}_p95_ms']:.2f} ms")
    print(f"over {r['calls']} drawings each, interleaved")


if __name__ == "__main__":
    main()
