"""How long does one drawing take, from canvas pixels to probabilities?

Preprocessing plus a direct model call (what the Draw page does) against
preprocessing plus `model.predict`, interleaved call by call, over the same
drawings; prints p50 and p95 of each in milliseconds.

    python -m bench.inference_latency [--calls 300] [--model PATH]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from PIL import Image

from core.data import bundled_mnist
from core.drawing import preprocess_drawing
from core.inference import Classifier


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
        canvas[top: top + height, left: left + height, :3] = big[..., None]
        out.append(canvas)
    return out


def default_model(folder: str):
    """A default-architecture model (512-512): its speed does not depend on how well it was trained."""
    from core.config import TrainConfig
    from core.model import build_model

    path = f"{folder}/model.keras"
    build_model(TrainConfig()).save(path)
    return path


def measure(calls: int = 300, model_path: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        classifier = Classifier.load(model_path or default_model(folder))
    drawings = canvases(calls)
    for canvas in drawings[:10]:  # warm up both paths
        classifier.classify(preprocess_drawing(canvas).image)
        classifier.model.predict(preprocess_drawing(canvas).image[None], verbose=0)
    direct, predict = [], []
    for canvas in drawings:
        start = time.perf_counter()
        classifier.classify(preprocess_drawing(canvas).image)
        direct.append(time.perf_counter() - start)
        start = time.perf_counter()
        classifier.model.predict(preprocess_drawing(canvas).image[None], verbose=0)
        predict.append(time.perf_counter() - start)
    ms = lambda values, q: float(np.percentile(values, q) * 1000)  # noqa: E731
    return {"direct_p50_ms": ms(direct, 50), "direct_p95_ms": ms(direct, 95),
            "predict_p50_ms": ms(predict, 50), "predict_p95_ms": ms(predict, 95), "calls": calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    r = measure(args.calls, args.model)
    print(f"preprocess + model call      p50 {r['direct_p50_ms']:.2f} ms  p95 {r['direct_p95_ms']:.2f} ms")
    print(f"preprocess + model.predict   p50 {r['predict_p50_ms']:.2f} ms  p95 {r['predict_p95_ms']:.2f} ms")
    print(f"over {r['calls']} drawings each, interleaved")


if __name__ == "__main__":
    main()
